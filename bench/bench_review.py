"""Benchmark: `synthetic diff --stat` and `synthetic land --merge` against git by hand.

Builds a repository of 20,000 files (``--files``) and, per round, a construct
whose branch changes 200 files (``--changed``) in one commit, with the main
branch moved on meanwhile (so landing makes a real merge commit). In one run,
in alternating order, it times:

* ``synthetic diff ID --stat`` against the same git commands by hand:
  ``git merge-base``, ``git diff --stat`` of the branch, ``git status`` in
  the worktree;
* ``synthetic land ID --merge`` against the same checks and merge by hand:
  ``git status`` of both checkouts, ``git merge-tree --write-tree``,
  ``git merge --no-edit``;
* both operations in-process too (``ops.review``, as the language server
  calls them: no interpreter start or imports);
* the start-up floor: a Python process that imports the CLI and reads the
  construct's record, as every ``synthetic`` command must.

Figures are medians; ratios are against the git baseline of the same run.
Run: ``.venv/bin/python bench/bench_review.py [--files N] [--changed N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_worktree import ENV, SYNTHETIC, make_repo, timed

#: What every command pays before any git work: the interpreter, the CLI, the record.
FLOOR = (
    "import sys, synthetic_ls.cli.main; from state_format.store import Store; "
    "Store.open().resolve_construct(sys.argv[1])"
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="synthetic-bench-") as tmp:
        root = Path(tmp)
        print(f"building a repository of {args.files} files ...", flush=True)
        repo = make_repo(root, args.files)
        trees = root / "trees"
        env = {**ENV, "SYNTHETIC_WORKTREES_DIR": str(trees)}
        os.environ.update(env)

        from state_format.store import Store
        from synthetic_ls.ops import constructs as ops
        from synthetic_ls.ops import review

        store = Store.open(repo)
        counter = iter(range(1_000_000))

        def construct() -> tuple[str, str, Path]:
            """A construct whose branch changes ``--changed`` files; main moves on too."""
            n = next(counter)
            made = ops.create_construct(store, ops.CreateOptions(name=f"bench {n}")).construct
            wt = Path(made.workspace_path or "")
            step = max(args.files // args.changed, 1)
            for i in range(args.changed):
                k = (i * step + n) % args.files  # each construct its own files
                f = wt / "src" / f"d{k // 100:04d}" / f"f{k % 100:03d}.txt"
                f.write_text(f.read_text() + f"change {n}\n")
            git(wt, "commit", "-q", "-am", f"work {n}")
            (repo / f"main-{n}.txt").write_text("main moves\n")
            git(repo, "add", f"main-{n}.txt")
            git(repo, "commit", "-q", "-m", f"main {n}")
            return made.id, made.branch or "", wt

        print(f"{args.rounds} rounds, {args.changed} changed files each ...", flush=True)
        d_git: list[float] = []
        d_syn: list[float] = []
        d_op: list[float] = []
        s_syn: list[float] = []
        l_git: list[float] = []
        l_syn: list[float] = []
        l_op: list[float] = []
        for r in range(args.rounds):
            cid, branch, wt = construct()

            def diff_git(branch: str = branch, wt: Path = wt) -> None:
                base = git(repo, "merge-base", "main", branch).strip()
                git(repo, "diff", "--stat", base, branch)
                git(wt, "status", "--porcelain")

            def diff_syn(cid: str = cid) -> None:
                subprocess.run([*SYNTHETIC, "diff", cid, "--stat"], cwd=repo, env=env,
                               check=True, capture_output=True)

            def diff_op(cid: str = cid) -> None:
                review.diff_construct(store, cid)

            def show(cid: str = cid) -> None:
                subprocess.run([sys.executable, "-c", FLOOR, cid], cwd=repo, env=env,
                               check=True, capture_output=True)

            order = [(d_git, diff_git), (d_syn, diff_syn), (d_op, diff_op), (s_syn, show)]
            for times, fn in order if r % 2 == 0 else order[::-1]:
                times.append(timed(fn))

            # Landing: one construct by hand, one by synthetic, one in-process.
            hand_branch, hand_wt = construct()[1:]
            syn_id = construct()[0]
            op_id = construct()[0]

            def land_git(branch: str = hand_branch, wt: Path = hand_wt) -> None:
                git(repo, "status", "--porcelain", "--untracked-files=no")
                git(wt, "status", "--porcelain")
                git(repo, "merge-tree", "--write-tree", "main", branch)
                git(repo, "merge", "-q", "--no-edit", branch)

            def land_syn(cid: str = syn_id) -> None:
                subprocess.run([*SYNTHETIC, "land", cid, "--merge"], cwd=repo, env=env,
                               check=True, capture_output=True)

            def land_op(cid: str = op_id) -> None:
                review.land_construct(store, review.LandOptions(ref=cid))

            order = [(l_git, land_git), (l_syn, land_syn), (l_op, land_op)]
            for times, fn in order if r % 2 == 0 else order[::-1]:
                times.append(timed(fn))
            assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""

        dg, ds, do = (statistics.median(x) for x in (d_git, d_syn, d_op))
        lg, ls_, lo = (statistics.median(x) for x in (l_git, l_syn, l_op))
        print(f"files in repo: {args.files}, changed on the branch: {args.changed}")
        print(f"diff --stat by hand (merge-base, diff --stat, status): {dg * 1000:8.1f} ms")
        print(f"synthetic diff --stat:             {ds * 1000:8.1f} ms   ratio {ds / dg:.2f}x")
        print(f"diff_construct in-process:         {do * 1000:8.1f} ms   ratio {do / dg:.2f}x")
        sh = statistics.median(s_syn)
        print(f"start-up floor (python, read record): {sh * 1000:6.1f} ms   "
              f"(diff --stat minus it: {(ds - sh) * 1000:.1f} ms)")
        print(f"land by hand (2 status, merge-tree, merge): {lg * 1000:8.1f} ms")
        print(f"synthetic land --merge:            {ls_ * 1000:8.1f} ms   ratio {ls_ / lg:.2f}x")
        print(f"land_construct in-process:         {lo * 1000:8.1f} ms   ratio {lo / lg:.2f}x")


if __name__ == "__main__":
    main()
