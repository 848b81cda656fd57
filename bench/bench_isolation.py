"""Benchmark: an isolated construct against the same construct without isolation (issue 23).

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_isolation.py [--rounds 3] [--runtimes bubblewrap,container]

With the real ``opencode serve`` (.tools, from scripts/setup.sh) and the
offline model, in a temporary repository, each figure against its baseline
in the same run:

1. creation: ``synthetic new`` with a template that has an agent and a
   service, isolated, against the same template without isolation (whose
   agent uses the repository's shared server, already started: what a
   person's second construct costs);
2. a command round trip: a setup command (``true``) through the construct's
   runner (in its sandbox) against the same through the local runner;
3. a prompt round trip: ``session send --wait`` to the isolated agent
   against the same to the shared server;
4. memory: the resident size of an isolated construct's sandbox (its own
   OpenCode server) against the shared server's.

``container`` runs only when a Docker engine answers and the image
``synthetic-test/agent:2`` exists (tests/integration/docker_engine.py builds it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthetic_ls.opencode.offline_model import isolated_env, start_server_in_thread  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
ISOLATION = {
    "bubblewrap": '{ runtime: "bubblewrap" }',
    "container": '{ runtime: "container", image: "synthetic-test/agent:2" }',
}


def config(runtimes: list[str]) -> str:
    body = ('agent: { providerId: "offline", modelId: "echo" }, '
            'services: { web: { run: "echo ready; exec sleep 3000", readyPattern: "ready" } }')
    templates = [f"plain: {{ {body} }}"]
    templates += [f"{r}: {{ isolation: {ISOLATION[r]}, {body} }}" for r in runtimes]
    return "export default { templates: { " + ", ".join(templates) + " } };\n"


def synthetic(repo: Path, env: dict[str, str], *argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "synthetic_ls", *argv, "--json"], cwd=repo,
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"synthetic {' '.join(argv)} failed: {done.stdout}{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def timed(call: object, *args: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = call(*args)  # type: ignore[operator]
    return time.perf_counter() - start, result


def rss_mib(record: Path, container: str | None = None) -> float:
    """Resident size of the server a record names and of all its descendants, in MiB.

    ``container``: also the processes of that container (the recorded
    process is its ``docker run`` client; the server runs under the engine).
    """
    text = record.read_text()
    pid = int(next(line.split("=")[1] for line in text.splitlines()
                   if line.startswith("pid")).strip())
    roots = [pid]
    if container is not None:
        inspected = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container],
                                   capture_output=True, text=True, timeout=30)
        if inspected.returncode == 0 and inspected.stdout.strip().isdigit():
            roots.append(int(inspected.stdout.strip()))
    children: dict[int, list[int]] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in
                          (entry / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        children.setdefault(int(status["PPid"]), []).append(int(entry.name))
        sizes[int(entry.name)] = int(status.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, roots
    while todo:
        one = todo.pop()
        total += sizes.get(one, 0)
        todo += children.get(one, [])
    return total / 1024


def engine_ready() -> bool:
    done = subprocess.run(["docker", "image", "inspect", "synthetic-test/agent:2"],
                          capture_output=True, stdin=subprocess.DEVNULL, check=False)
    return done.returncode == 0


def runner_round_trip(repo: Path, cid: str | None, rounds: int) -> float:
    """Median seconds of ``true`` through the construct's runner (the local one for None)."""
    from state_format.store import Store
    from synthetic_ls.provision.context import Context
    from synthetic_ls.provision.work import Work

    store = Store.open(repo)
    ctx = Context(store)
    times = []
    for _ in range(rounds):
        if cid is None:
            runner = ctx.runner
            cwd = repo
        else:
            construct = store.get_construct(cid)
            runner = Work(ctx, construct, ctx.template_of(construct.template_id)).runner
            cwd = Path(construct.workspace_path or repo)
        log = Path(tempfile.mkstemp()[1])
        start = time.perf_counter()
        runner.run_commands(["true"], cwd=cwd, env=dict(os.environ), log=log, what="bench")
        times.append(time.perf_counter() - start)
        log.unlink()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runtimes", default="bubblewrap,container")
    args = parser.parse_args()
    runtimes = [r for r in args.runtimes.split(",") if r]
    if "container" in runtimes and not engine_ready():
        print("container: skipped (no engine, or no synthetic-test/agent:2 image)")
        runtimes.remove("container")
    model, stop_model = start_server_in_thread()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "app"
        repo.mkdir()
        env = {**os.environ, **GIT_ENV, **isolated_env(base / "home", model.url),
               "SYNTHETIC_OPENCODE_BIN": str(ROOT / ".tools/node_modules/.bin/opencode"),
               "SYNTHETIC_WORKTREES_DIR": str(base / "trees"), "XDG_DATA_HOME": str(base / "xdg"),
               "PYTHONPATH": str(ROOT)}
        env.pop("SYNTHETIC_OPENCODE_URL", None)
        os.environ.update({k: env[k] for k in ("XDG_DATA_HOME", "HOME")})
        for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
            if argv[0] == "add":
                (repo / "synthetic.config.ts").write_text(config(runtimes))
            subprocess.run(["git", *argv], cwd=repo, env=env, check=True)
        synthetic(repo, env, "trust", "--yes")
        synthetic(repo, env, "opencode", "start")  # the shared server, warm, as in daily use
        made: list[str] = []
        try:
            figures: dict[str, dict[str, float]] = {}
            for template in ["plain", *runtimes]:
                creations, prompts = [], []
                for n in range(args.rounds):
                    seconds, result = timed(synthetic, repo, env, "new", f"{template} {n}",
                                            "--template", template, "--trust")
                    cid = str(result["id"])  # type: ignore[index]
                    made.append(cid)
                    creations.append(seconds)
                    seconds, _ = timed(synthetic, repo, env, "session", "send", cid, "hello",
                                       "--wait")
                    prompts.append(seconds)
                figures[template] = {
                    "create": statistics.median(creations),
                    "prompt": statistics.median(prompts),
                    "command": runner_round_trip(repo, None if template == "plain" else made[-1],
                                                 10),
                    "rss": rss_mib(repo / ".git/synthetic" / (
                        "opencode" if template == "plain" else f"sandboxes/{made[-1]}/opencode")
                        / "server.toml",
                        f"synthetic-{made[-1]}-agent" if template == "container" else None),
                }
            plain = figures["plain"]
            print(f"rounds: {args.rounds} (medians)")
            print(f"{'':12} {'creation':>18} {'command':>18} {'prompt':>18} {'memory':>16}")
            for template, f in figures.items():
                print(f"{template:12} {f['create']:7.2f} s ({f['create'] / plain['create']:4.2f}x)"
                      f" {f['command'] * 1000:7.1f} ms ({f['command'] / plain['command']:4.2f}x)"
                      f" {f['prompt']:7.2f} s ({f['prompt'] / plain['prompt']:4.2f}x)"
                      f" {f['rss']:7.0f} MiB")
            print("(plain's memory is the shared server's, used by every plain construct; an "
                  "isolated construct's is its own)")
        finally:
            for cid in made:
                synthetic(repo, env, "rm", cid, "--yes", "--force", "--trust")
            synthetic(repo, env, "opencode", "stop")
            stop_model()


if __name__ == "__main__":
    main()
