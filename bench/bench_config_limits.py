"""Benchmark: the config checker on hostile inputs, against a normal config in the same run.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_config_limits.py [--repeat 3]

The tests (``tests/unit/config/test_config_limits.py``, ``test_config_paths.py``,
``test_config_inputs.py``) check that these inputs hit a limit and that the
work done is bounded (entries walked, segment matches, bytes read or
decoded); how long they take is measured here instead. Each figure is the
median CPU time of this process (other jobs on a shared machine do not
count) over ``--repeat`` runs, and its ratio against the baseline: checking
the generated 5,000-line config of ``bench_config.py`` (globs: a plain
``**/zz`` over the same folder tree).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "config"))  # the tests' hostile inputs

from test_config_limits import HOSTILE  # noqa: E402

from bench.bench_config import generate  # noqa: E402
from synthetic_ls.config import check_config_file, check_config_text  # noqa: E402
from synthetic_ls.repo_files import matches_any  # noqa: E402

HOSTILE_GLOBS = {
    "**/ x40": "**/" * 40 + "zz",
    "*a x40": "*a" * 40 + "z",
    "**/*a x20": "**/*a" * 20 + "z",
    "a/**/ x20": "a/**/" * 20 + "z",
    "[a]* x40": "[a]*" * 40 + "z",
    "**/*a/ x20": "**/" + "*a/**/" * 20 + "z",
}


def cpu(run: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``run()`` over ``repeat`` runs (after one warm-up)."""
    run()
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def line(what: str, seconds: float, baseline: float) -> None:
    print(f"   {what:32} {seconds * 1000:9.1f} ms   {seconds / baseline:6.2f}x")


def bench_configs(work: Path, repeat: int) -> None:
    big = generate(5_000)
    baseline = cpu(lambda: check_config_text(big, Path("synthetic.config.ts"), None), repeat)
    print(f"1. hostile configs (baseline: a 5,000-line config, {baseline * 1000:.1f} ms)")
    path = work / "synthetic.config.ts"
    for name, (make, _code) in sorted(HOSTILE.items()):
        path.write_text(make())
        line(name, cpu(lambda: check_config_file(path), repeat), baseline)

    checkout = work / "checkout"
    for folder in range(40):
        (checkout / f"pkg{folder}").mkdir(parents=True)
        for index in range(50):
            (checkout / f"pkg{folder}" / f"mod{index}.py").write_text("")
    distinct = "[" + ", ".join(f'"**/*.n{i}"' for i in range(50_000)) + "]"
    spread = ['const a0 = ["**/*.nope"];']
    spread += [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 16)]
    shapes = {
        "50,000 distinct patterns": (
            f"export default {{ templates: {{ t: {{ includePatterns: {distinct} }} }} }};\n"
        ),
        "one pattern used 32,768 times": (
            "\n".join(spread) + "\nexport default { templates: { t: { prompts: a15 } } };\n"
        ),
    }
    config = checkout / "synthetic.config.ts"
    for name, source in shapes.items():
        config.write_text(source)
        line(name, cpu(lambda: check_config_file(config, checkout), repeat), baseline)

    for name, pairs in {
        "150,000 duplicate keys, one line": ["a: 1"] * 150_000,
        "250 duplicate keys 4 KB apart": [f'a: "{"x" * 4000}"'] * 250,
    }.items():
        text = "export default { é: 1, " + ", ".join(pairs) + " };\n"
        line(name, cpu(lambda text=text: check_config_text(text, path, None), repeat), baseline)

    huge = work / "huge" / "synthetic.config.ts"
    huge.parent.mkdir()
    row = b'export default { templates: { a: { label: "x" } } };\n'
    huge.write_bytes(row * (10 * 1024 * 1024 // len(row) + 1))
    line("a 10 MB file (refused)", cpu(lambda: check_config_file(huge), repeat), baseline)


def bench_globs(work: Path, repeat: int) -> None:
    tree = work / "globs"
    folder = tree
    for _ in range(12):
        folder = folder / ("a" * 40)
    folder.mkdir(parents=True)
    (folder / ("a" * 200)).write_text("")
    baseline = cpu(lambda: matches_any(tree, "**/zz"), repeat)
    print(f"2. hostile globs on a 12-folder-deep path (baseline: **/zz, {baseline * 1e6:.0f} us)")
    for name, pattern in HOSTILE_GLOBS.items():
        line(name, cpu(lambda pattern=pattern: matches_any(tree, pattern), repeat), baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        bench_configs(Path(folder), repeat)
        bench_globs(Path(folder), repeat)


if __name__ == "__main__":
    main()
