"""Benchmark: checking synthetic.config.ts in-process vs `tsc --noEmit` on the same files.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_config.py

It times ``check_config_text`` on the built-in example and on a generated
5,000-line config (targets: under 5 ms and under 50 ms in a running
process), then ``tsc --noEmit`` from npm on the same files against
``bench/synthetic-config.d.ts``, and prints the ratios. TypeScript is
installed with npm into ``bench/.work/`` (gitignored) on first run; without
npm the baseline is skipped.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthetic_ls.config import check_config_text  # noqa: E402

WORK = ROOT / "bench" / ".work"
EXAMPLE = ROOT / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"
DECLARATION = ROOT / "bench" / "synthetic-config.d.ts"


def generate(lines: int) -> str:
    """A realistic config (record form, process and docker services) of about ``lines`` lines."""
    out = [
        'import { defineSyntheticConfig } from "@synthetic/config";',
        "",
        "export default defineSyntheticConfig({",
        '  opencode: { defaultProvider: "opencode", token: process.env.OPENCODE_TOKEN },',
        "  templates: {",
    ]
    index = 0
    while len(out) < lines - 3:
        port = 3000 + index * 2
        out += [
            f'    "template-{index}": {{',
            f'      label: "Template {index}",',
            '      type: "implementation",',
            f'      env: {{ LOG_LEVEL: "debug", SLOT: "{index}" }},',
            '      setup: ["npm ci"],',
            "      services: {",
            "        api: {",
            '          run: "npm run dev",',
            '          cwd: "./api",',
            f'          ports: [{{ name: "http", preferred: {port}, env: "PORT" }}],',
            '          readyPattern: "listening on \\\\d+",',
            "          readyTimeoutMs: 5000,",
            "        },",
            "        db: {",
            '          type: "docker",',
            '          image: "postgres:16",',
            f'          ports: ["{port + 1}:5432"],',
            '          env: { POSTGRES_PASSWORD: process.env.PGPASSWORD ?? "dev" },',
            "        },",
            "      },",
            "    },",
        ]
        index += 1
    out += ["  },", "});", ""]
    return "\n".join(out)


def time_in_process(text: str, path: Path, repeat: int) -> tuple[float, float]:
    """Median and best seconds of one in-process check (after a warm-up run).

    Both are shown: on a shared machine the median moves with the load, the
    best is what the code costs when it has a core to itself.
    """
    check_config_text(text, path, None)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        check_config_text(text, path, None)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples)


def ensure_tsc() -> Path | None:
    """Path of tsc in bench/.work, installing typescript with npm if needed."""
    tsc = WORK / "node_modules" / ".bin" / "tsc"
    if tsc.exists():
        return tsc
    npm = shutil.which("npm")
    if npm is None:
        return None
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(WORK),
            "typescript@5",
        ],
        check=False,
        capture_output=True,
    )
    return tsc if tsc.exists() else None


def time_tsc(tsc: Path, file: Path, repeat: int) -> float:
    """Median wall-clock seconds of `tsc --noEmit` on ``file`` with the declaration."""
    command = [
        str(tsc),
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--target",
        "es2022",
        "--module",
        "esnext",
        "--moduleResolution",
        "bundler",
        str(DECLARATION),
        str(file),
    ]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    """Run the benchmark and print a table with ratios."""
    WORK.mkdir(parents=True, exist_ok=True)
    big = WORK / "big.synthetic.config.ts"
    big.write_text(generate(5000))
    files = [("example", EXAMPLE, 5.0), ("5,000 lines", big, 50.0)]
    tsc = ensure_tsc()
    print(
        f"{'file':<12} {'lines':>6} {'synthetic':>11} {'best':>9} {'target':>8} "
        f"{'tsc --noEmit':>13} {'ratio':>8}"
    )
    for label, path, target_ms in files:
        text = path.read_text()
        ours, best = time_in_process(text, path, repeat=50 if len(text) < 20_000 else 30)
        baseline = time_tsc(tsc, path, repeat=3) if tsc is not None else None
        ratio = f"{baseline / ours:7.0f}x" if baseline else "     n/a"
        shown = f"{baseline * 1000:10.0f} ms" if baseline else "          n/a"
        verdict = "ok" if ours * 1000 < target_ms else "SLOW"
        print(
            f"{label:<12} {text.count(chr(10)):>6} {ours * 1000:8.2f} ms {best * 1000:6.2f} ms "
            f"{target_ms:>5.0f} ms "
            f"{shown} {ratio}  {verdict}"
        )
    print(
        "synthetic = median, best = fastest run; the verdict uses the median. ratio = tsc time "
        "/ synthetic median (tsc includes node start-up, as in an editor's first check)"
    )


if __name__ == "__main__":
    main()
