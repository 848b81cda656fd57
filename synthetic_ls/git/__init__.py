"""Git layer: worktrees and branches for constructs.

pygit2 does the repository work (resolving revisions, branches, ahead/behind,
status); the git command line does the steps where it is measurably faster or
more correct (see ``worktrees.py`` and ``bench/bench_worktree.py``).
"""
