"""Benchmark: the CLI's start-up floor (start, read one record, print), against bare Python.

``synthetic show ID --json`` of a record-only construct is the smallest thing
a command does: start the interpreter, import what reading a record needs,
read one file, print. In one run, alternating every round, it times:

* ``python -c pass`` (the interpreter alone, the floor of any Python CLI);
* ``python -c "import synthetic_ls.cli"`` (the package's entry point);
* ``synthetic show ID --json`` of this tree;
* the same command of each ``--base`` tree (earlier code: a checkout, run with
  its own ``.venv`` if it has one, else with this one's Python and the tree
  first on ``PYTHONPATH``), on a copy of the repository whose format marker
  says the version that tree writes (``CURRENT_VERSION`` in its
  ``state_format/marker.py``; at rest, formats 1 and 2 differ only there).

Each figure is the median wall time over ``--rounds`` runs, with the median
CPU time (user + system of the child) beside it: on a shared machine the
wall time swings with the load, the CPU time much less. Bytecode is written
and used (``PYTHONDONTWRITEBYTECODE`` is removed from the children's
environment, and one warm-up run of each command compiles it), as an
installed package has it. Target: ``show`` under 120 ms.

Run: ``.venv/bin/python bench/bench_startup.py [--rounds 20] [--base DIR ...]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_constructs import format_of  # noqa: E402  (one reading of the marker)

CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: { dev: { label: "Dev" } },
};
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid",
}


def child_env(tree: Path | None) -> dict[str, str]:
    """The environment of a timed child: bytecode cached, ``tree`` first on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(GIT_ENV)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def python_of(tree: Path) -> str:
    """The tree's own Python if it has a ``.venv``, else this one."""
    own = tree / ".venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


def run_timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def make_repo(repo: Path) -> str:
    """A repository with one record-only construct; its id."""
    repo.mkdir(parents=True)
    (repo / "synthetic.config.ts").write_text(CONFIG)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=child_env(None), check=True)
    made = subprocess.run(
        [sys.executable, "-m", "synthetic_ls", "new", "start-up floor", "--no-worktree", "--json"],
        cwd=repo, env=child_env(ROOT), check=True, capture_output=True, text=True,
    )
    import json

    return str(json.loads(made.stdout)["id"])


def main() -> int:
    """Run the benchmark and print one line per command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--base", type=Path, action="append", default=[],
                        help="a checkout of earlier code (repeatable)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        repo = tmp / "repo"
        cid = make_repo(repo)
        ours = child_env(ROOT)
        commands: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], repo, ours),
            "python -c 'import synthetic_ls.cli'": (
                [sys.executable, "-c", "import synthetic_ls.cli"], repo, ours),
            "synthetic show ID --json (this tree)": (
                [sys.executable, "-m", "synthetic_ls", "show", cid, "--json"], repo, ours),
        }
        for number, tree in enumerate(args.base):
            tree = tree.resolve()
            copy = tmp / f"base{number}"
            shutil.copytree(repo, copy, symlinks=True)
            (copy / ".git" / "synthetic" / "format.toml").write_text(
                f"version = {format_of(tree)}\n")
            shutil.rmtree(copy / ".git" / "synthetic" / "cache", ignore_errors=True)
            commands[f"synthetic show ID --json ({tree.name})"] = (
                [python_of(tree), "-m", "synthetic_ls", "show", cid, "--json"], copy,
                child_env(tree))
        for argv, cwd, env in commands.values():
            run_timed(argv, cwd, env)  # warm-up: bytecode written, files cached
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for number in range(args.rounds):
            for name in names if number % 2 == 0 else reversed(names):
                wall, cpu = run_timed(*commands[name])
                walls[name].append(wall)
                cpus[name].append(cpu)
        print(f"{args.rounds} rounds, medians (load average now: "
              f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
        floor = statistics.median(walls[names[0]])
        for name in names:
            wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
            print(f"{name:<44} {wall * 1000:7.1f} ms wall  {cpu * 1000:7.1f} ms CPU  "
                  f"({wall / floor:4.1f}x python -c pass)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
