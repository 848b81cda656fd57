"""Benchmark: `synthetic new --worktree` against plain `git worktree add -b`.

Builds a repository of 20,000 files (``--files``) in a temporary folder and,
in one run, times alternately:

* ``git worktree add -b B PATH COMMIT`` (the baseline),
* ``synthetic new NAME`` (creates record, branch, worktree, copies includes),
* pygit2's ``add_worktree`` (the alternative the git layer did not choose),
* the same operation in-process (``ops.create_construct`` in a warm process,
  as the language server calls it: no interpreter start or imports),

then creation with 1,000 constructs already present, and removal
(``synthetic rm --yes`` against ``git worktree remove`` + ``git branch -D``,
in turns, each round on worktrees made just before; ``--base DIR`` adds the
``rm`` of earlier code checked out in ``DIR``, which must read this state
format, e.g. main before a change; removal figures give CPU time too).
Figures are medians; ratios are against the git baseline of the same run.
Run: ``.venv/bin/python bench/bench_worktree.py [--files N] [--rounds N]``.
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYNTHETIC = [sys.executable, "-m", "synthetic_ls"]
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.invalid",
}
CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: { dev: { label: "Dev", includePatterns: [".env*"] } },
};
"""


def sh(cwd: Path, *args: str) -> None:
    subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> Path:
    repo = root / "big"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    per_dir = 100
    for i in range(files):
        d = repo / "src" / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(parents=True)
        (d / f"f{i % per_dir:03d}.txt").write_text(f"file {i}\n" * 20)
    (repo / "synthetic.config.ts").write_text(CONFIG)
    (repo / ".gitignore").write_text(".env*\n")
    (repo / ".env").write_text("TOKEN=x\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "init")
    # The bench's own repository: allowed (code from before consent ignores it).
    sh(repo, *SYNTHETIC, "trust", "--yes")
    return repo


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child_run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the children) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def removal(
    repo: Path, root: Path, env: dict[str, str], head: str, rounds: int, bases: list[Path]
) -> None:
    """``synthetic rm --yes`` of this tree (and of ``bases``) against git's removal, in turns.

    Each round makes a git worktree and one construct per tree first, then
    removes them in alternating order; medians of wall and CPU time.
    """
    import json

    trees = {"this tree": HERE.parent, **{str(b): b.resolve() for b in bases}}
    child = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    envs = {label: {**child, "PYTHONPATH": str(tree)} for label, tree in trees.items()}
    pythons = {
        label: str(tree / ".venv" / "bin" / "python")
        if (tree / ".venv" / "bin" / "python").exists() else sys.executable
        for label, tree in trees.items()
    }
    git_label = "git worktree remove + branch -D"
    times: dict[str, list[tuple[float, float]]] = {git_label: [], **{k: [] for k in trees}}
    for i in range(rounds):
        path = root / f"rm-git-{i}"
        sh(repo, "git", "worktree", "add", "-q", "-b", f"rm-git-{i}", str(path), head)
        made = {}
        for label in trees:
            out = subprocess.run(
                [pythons[label], "-m", "synthetic_ls", "new", f"rm {label} {i}", "--json"],
                cwd=repo, env=envs[label], check=True, capture_output=True, text=True,
            ).stdout
            made[label] = json.loads(out)["id"]
        order = [git_label, *trees]
        for label in order if i % 2 == 0 else reversed(order):
            if label == git_label:
                w1, c1 = child_run(["git", "worktree", "remove", str(path)], repo, ENV)
                w2, c2 = child_run(["git", "branch", "-D", f"rm-git-{i}"], repo, ENV)
                times[label].append((w1 + w2, c1 + c2))
            else:
                times[label].append(child_run(
                    [pythons[label], "-m", "synthetic_ls", "rm", made[label], "--yes"],
                    repo, envs[label]))
    base_wall = statistics.median(w for w, _ in times[git_label])
    base_cpu = statistics.median(c for _, c in times[git_label])
    print(f"removal, {rounds} rounds in turns (load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}):")
    for label, got in times.items():
        wall = statistics.median(w for w, _ in got)
        cpu = statistics.median(c for _, c in got)
        name = label if label == git_label else f"synthetic rm ({label})"
        print(f"  {name:<44} {wall * 1000:8.1f} ms ({wall / base_wall:.2f}x)  "
              f"CPU {cpu * 1000:7.1f} ms ({cpu / base_cpu:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--constructs", type=int, default=1_000)
    parser.add_argument("--base", type=Path, action="append", default=[], metavar="DIR",
                        help="also time `rm` of the earlier code checked out in DIR "
                        "(it must read this repository's state format)")
    parser.add_argument("--removal-only", action="store_true",
                        help="time the removal alone (no creation rounds)")
    args = parser.parse_args()

    import pygit2

    with tempfile.TemporaryDirectory(prefix="synthetic-bench-") as tmp:
        root = Path(tmp)
        print(f"building a repository of {args.files} files ...", flush=True)
        repo = make_repo(root, args.files)
        trees = root / "trees"
        env = {**ENV, "SYNTHETIC_WORKTREES_DIR": str(trees)}
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, check=True).stdout.strip()
        pg = pygit2.Repository(str(repo))
        if args.removal_only:
            removal(repo, root, env, head, args.rounds, args.base)
            return

        from state_format.store import Store
        from synthetic_ls.ops import constructs as ops

        os.environ["SYNTHETIC_WORKTREES_DIR"] = str(trees)
        store = Store.open(repo)
        # Warm up the in-process path once (imports, config reader).
        ops.create_construct(store, ops.CreateOptions(name="warm-up"))

        git_t: list[float] = []
        syn_t: list[float] = []
        pg_t: list[float] = []
        op_t: list[float] = []
        for i in range(args.rounds):
            op_t.append(timed(lambda i=i: ops.create_construct(
                store, ops.CreateOptions(name=f"in-process {i}"))))
            git_t.append(timed(lambda i=i: sh(repo, "git", "worktree", "add", "-q", "-b",
                                               f"g{i}", str(root / f"g{i}"), head)))
            syn_t.append(timed(lambda i=i: subprocess.run(
                [*SYNTHETIC, "new", f"bench {i}"], cwd=repo, env=env, check=True,
                capture_output=True)))

            def pygit2_add(i: int = i) -> None:
                branch = pg.branches.local.create(f"p{i}", pg.revparse_single(head))
                pg.add_worktree(f"p{i}", str(root / f"p{i}"), branch)

            pg_t.append(timed(pygit2_add))
        g, s, p, o = (statistics.median(x) for x in (git_t, syn_t, pg_t, op_t))
        print(f"files in repo:                      {args.files}")
        print(f"git worktree add -b (baseline):     {g * 1000:8.1f} ms")
        print(f"synthetic new (worktree):           {s * 1000:8.1f} ms   ratio {s / g:.2f}x")
        print(f"create_construct in-process:        {o * 1000:8.1f} ms   ratio {o / g:.2f}x")
        print(f"pygit2 add_worktree (not used):     {p * 1000:8.1f} ms   ratio {p / g:.2f}x")

        # Creation with many constructs present (records only, to keep setup short).
        print(f"adding {args.constructs} record-only constructs ...", flush=True)
        for i in range(args.constructs):
            ops.create_construct(
                store, ops.CreateOptions(name=f"filler {i}", worktree=False)
            )
        many_t = [
            timed(lambda i=i: subprocess.run([*SYNTHETIC, "new", f"many {i}"], cwd=repo,
                                             env=env, check=True, capture_output=True))
            for i in range(args.rounds)
        ]
        m = statistics.median(many_t)
        print(f"synthetic new with {args.constructs} present:  {m * 1000:8.1f} ms   "
              f"ratio {m / g:.2f}x git, {m / s:.2f}x empty")

        # Removal: synthetic rm against git worktree remove + branch -D, in
        # turns on worktrees made just before (a disk's state changes fast).
        removal(repo, root, env, head, args.rounds, args.base)
        shutil.rmtree(trees, ignore_errors=True)


if __name__ == "__main__":
    main()
