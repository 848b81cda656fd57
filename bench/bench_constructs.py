"""Benchmark: listing and showing constructs at 100, 1,000 and 10,000 records.

Run by hand (timings are never asserted in the test suite)::

    .venv/bin/python bench/bench_constructs.py [--sizes 100,1000,10000] [--repeat 5]

Each figure is the best of ``--repeat`` runs, printed next to baselines measured
in the same run on the same files: ``cat`` of every record file, and a plain
``tomllib`` parse of every file in Python. ``synthetic ls`` / ``show`` are also
run end to end as subprocesses, next to ``synthetic --version`` (interpreter
start-up plus imports: the floor for any command). ``ls`` is timed warm (the
parse cache ``<state>/cache/constructs.json`` in place) and cold (cache deleted
before each run). ``--no-worktree-paths`` writes records without
``workspace_path``, so ``ls`` measures the records alone and not the worktree
inspection of 10,000 (non-existent) worktrees.

``--base DIR`` (repeatable) also times ``ls`` (warm) and ``show`` of earlier
code in the same run: ``DIR`` is a checkout, run as ``python -m synthetic_ls``
with its own ``.venv`` if it has one (else this Python) and ``DIR`` first on
``PYTHONPATH``, on a copy of each repository whose format marker says the
version that code writes. This tree runs the same way, and the trees take
turns every round; medians of ``--repeat`` rounds, wall and CPU time.
Bytecode is written and used in those children (``PYTHONDONTWRITEBYTECODE``
removed), as an installed package has it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from state_format.records import Construct, utc_now
from state_format.store import Store
from state_format.tomlio import render_new

SYNTHETIC = str(Path(sys.executable).with_name("synthetic"))


def best(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def format_of(tree: Path) -> int:
    """The state format version the code in ``tree`` writes."""
    text = (tree / "state_format" / "marker.py").read_text()
    match = re.search(r"^CURRENT_VERSION = (\d+)", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{tree}: no CURRENT_VERSION in state_format/marker.py")
    return int(match.group(1))


def compare_trees(
    repo: Path, target: str, trees: list[Path], repeat: int, tmp: Path
) -> None:
    """Time ``ls`` and ``show target`` of each tree on its own copy of ``repo``, in turns."""
    runs: dict[str, tuple[list[str], Path, dict[str, str]]] = {}
    for number, tree in enumerate(trees):
        tree = tree.resolve()
        own = tree / ".venv" / "bin" / "python"
        python = str(own) if own.exists() else sys.executable
        copy = repo
        if tree != ROOT:
            copy = tmp / f"{repo.name}-base{number}"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(repo, copy, symlinks=True)
            (copy / ".git" / "synthetic" / "format.toml").write_text(
                f"version = {format_of(tree)}\n")
            shutil.rmtree(copy / ".git" / "synthetic" / "cache", ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = str(tree)
        label = "this tree" if tree == ROOT else str(tree)
        runs[label] = ([python, "-m", "synthetic_ls"], copy, env)
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for argv, cwd, env in runs.values():  # warm-up: bytecode and the parse cache written
        for what in (["ls"], ["show", target]):
            subprocess.run([*argv, *what], cwd=cwd, env=env, capture_output=True, check=True)
    labels = list(runs)
    for number in range(repeat):
        for label in labels if number % 2 == 0 else reversed(labels):
            argv, cwd, env = runs[label]
            for what in (["ls"], ["show", target]):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run([*argv, *what], cwd=cwd, env=env, capture_output=True, check=True)
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                samples.setdefault((label, what[0]), []).append((wall, cpu))
    print(f"  same run, medians of {repeat} (load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}):")
    for label in labels:
        line = f"  {label:<40}"
        for what in ("ls", "show"):
            got = samples[(label, what)]
            wall = statistics.median(w for w, _ in got)
            cpu = statistics.median(c for _, c in got)
            line += f"  {what} {wall * 1000:6.0f} ms ({cpu * 1000:4.0f} ms CPU)"
        print(line)


ROOT = Path(__file__).resolve().parents[1]


def populate(repo: Path, count: int, worktree_paths: bool = True) -> list[str]:
    """A repo with ``count`` constructs in the real file format; returns their ids.

    The first one goes through the store (marker, folders); the rest are written
    directly in the same format to keep set-up fast (set-up is not measured).
    """
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    store = Store.open(repo)
    ids = []
    now = utc_now()
    for i in range(count):
        with store.lock():
            record = Construct(
                id=store.new_id(Construct, f"Construct number {i}"),
                name=f"Construct number {i} with a longer name",
                description="A description of moderate length, as a person would write it.",
                template_id="implementation",
                status="active",  # type: ignore[arg-type]
                workspace_path=f"/home/dev/worktrees/construct-{i}" if worktree_paths else None,
                opencode_session_id=f"ses_{i:08d}",
                branch=f"synthetic/construct-{i}",
                created_at=now,
                updated_at=now,
            )
        if i == 0:
            store.create(record)
        else:
            path = store.path_of(Construct, record.id)
            path.write_text(render_new(record.to_toml_values(), ("Synthetic construct record.",)))
        ids.append(record.id)
    return ids


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table of timings and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--worktree-paths",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give every record a workspace_path (ls then inspects each worktree)",
    )
    parser.add_argument(
        "--keep",
        default=None,
        metavar="DIR",
        help="build the repositories in DIR (repo<N>) and keep them, for profiling",
    )
    parser.add_argument(
        "--base",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also time ls and show of the earlier code checked out in DIR (repeatable)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    floor = best(lambda: subprocess.run([SYNTHETIC, "--version"], capture_output=True), 5)
    print(f"synthetic --version (start-up floor): {floor * 1000:.0f} ms\n")
    print(
        f"{'N':>6}  {'cat':>8}  {'tomllib':>8}  {'store.list':>10}  {'ls (cli)':>9}  "
        f"{'ls cold':>9}  "
        f"{'ls --json':>9}  {'list/tomllib':>12}  {'ls-floor':>9}  {'show (cli)':>10}  "
        f"{'resolve id':>10}"
    )
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            tmp = args.keep
            Path(tmp).mkdir(parents=True, exist_ok=True)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="synthetic-bench-"))
        for n in sizes:
            repo = Path(tmp) / f"repo{n}"
            if repo.exists():
                sys.exit(f"{repo} exists already; remove it or pick another --keep folder")
            ids = populate(repo, n, args.worktree_paths)
            store = Store.open(repo)
            folder = store.folder(Construct)
            files = sorted(str(folder / f) for f in os.listdir(folder))

            def parse_all(files: list[str] = files) -> None:
                for f in files:
                    with open(f, "rb") as fh:
                        tomllib.load(fh)

            def run_cli(*argv: str, repo: Path = repo) -> None:
                subprocess.run([SYNTHETIC, *argv], cwd=repo, capture_output=True, check=True)

            t_cat = best(
                lambda files=files: subprocess.run(
                    ["cat", *files], capture_output=True, check=True
                ),
                args.repeat,
            )
            t_toml = best(parse_all, args.repeat)
            t_list = best(store.list_constructs, args.repeat)
            cache = store.root / "cache" / "constructs.json"

            def cold_ls(cache: Path = cache) -> None:
                cache.unlink(missing_ok=True)
                run_cli("ls")

            t_cold = best(cold_ls, min(args.repeat, 2))
            run_cli("ls")  # leave a warm cache behind
            t_ls = best(lambda: run_cli("ls"), args.repeat)
            t_json = best(lambda: run_cli("ls", "--json"), args.repeat)
            target = ids[len(ids) // 2]
            t_show = best(lambda target=target: run_cli("show", target), args.repeat)
            t_res = best(lambda s=store, t=target: s.resolve_construct(t), args.repeat)
            print(
                f"{n:>6}  {t_cat * 1000:>6.0f}ms  {t_toml * 1000:>6.0f}ms  "
                f"{t_list * 1000:>8.0f}ms  {t_ls * 1000:>7.0f}ms  {t_cold * 1000:>7.0f}ms  "
                f"{t_json * 1000:>7.0f}ms  "
                f"{t_list / t_toml:>11.2f}x  {(t_ls - floor) * 1000:>7.0f}ms  "
                f"{t_show * 1000:>8.0f}ms  {t_res * 1e6:>8.0f}us"
            )
            if args.base:
                compare_trees(repo, target, [ROOT, *args.base], args.repeat, Path(tmp))
    print(
        "\nlist/tomllib: store.list_constructs() against parsing the same files with "
        "tomllib alone;\nls-floor: `synthetic ls` minus `synthetic --version`; "
        "show uses an exact id (no listing);\nls cold: `synthetic ls` with the parse cache "
        "deleted first (ls and ls --json: warm cache)."
    )


if __name__ == "__main__":
    main()
