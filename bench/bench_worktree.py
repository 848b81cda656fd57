"""Benchmark: `synthetic new --worktree` against plain `git worktree add -b`.

Builds a repository of 20,000 files (``--files``) in a temporary folder and,
in one run, times alternately:

* ``git worktree add -b B PATH COMMIT`` (the baseline),
* ``synthetic new NAME`` (creates record, branch, worktree, copies includes),
* pygit2's ``add_worktree`` (the alternative the git layer did not choose),
* the same operation in-process (``ops.create_construct`` in a warm process,
  as the language server calls it: no interpreter start or imports),

then creation with 1,000 constructs already present, and removal
(``synthetic rm --yes`` against ``git worktree remove`` + ``git branch -D``).
Figures are medians; ratios are against the git baseline of the same run.
Run: ``.venv/bin/python bench/bench_worktree.py [--files N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
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
    return repo


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--constructs", type=int, default=1_000)
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

        # Removal: synthetic rm against git worktree remove + branch -D.
        rm_git = [
            timed(lambda i=i: (sh(repo, "git", "worktree", "remove", str(root / f"g{i}")),
                               sh(repo, "git", "branch", "-D", f"g{i}")))
            for i in range(args.rounds)
        ]
        listing = subprocess.run([*SYNTHETIC, "ls", "--json", "--status", "ready"], cwd=repo,
                                 env=env, capture_output=True, text=True, check=True)
        import json

        ids = [c["id"] for c in json.loads(listing.stdout)["constructs"]][: args.rounds]
        rm_syn = [
            timed(lambda cid=cid: subprocess.run([*SYNTHETIC, "rm", cid, "--yes"], cwd=repo,
                                                 env=env, check=True, capture_output=True))
            for cid in ids
        ]
        rg, rs = statistics.median(rm_git), statistics.median(rm_syn)
        print(f"git worktree remove + branch -D:    {rg * 1000:8.1f} ms")
        print(f"synthetic rm:                       {rs * 1000:8.1f} ms   ratio {rs / rg:.2f}x")
        shutil.rmtree(trees, ignore_errors=True)


if __name__ == "__main__":
    main()
