"""Administer linked worktrees with ``git worktree``: add, list, remove, prune.

Adding uses ``git worktree add``: on a 20,000-file repository it measured
about 1.7x faster than pygit2's ``add_worktree`` plus checkout
(``bench/bench_worktree.py`` prints both), and it creates the branch and the
worktree in one step that git itself rolls back on failure.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from synthetic_ls.git.repo import GitError, GitRepo, run_git


@dataclass(frozen=True)
class WorktreeEntry:
    """One entry of ``git worktree list``."""

    path: Path
    head: str  # commit id, "" for an unborn branch
    branch: str  # short branch name, "" when detached
    is_main: bool
    bare: bool = False
    locked: bool = False
    prunable: bool = False
    prunable_reason: str = ""


def add_worktree(repo: GitRepo, path: Path, branch: str, start_commit: str | None) -> None:
    """Check out ``branch`` in a new worktree at ``path``.

    With ``start_commit`` the branch is created there (it must not exist);
    with None the existing branch is checked out.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if start_commit is None:
        args = ["--", str(path), branch]
    else:
        args = ["-b", branch, "--", str(path), start_commit]
    run_git(repo.main_root, "worktree", "add", "--quiet", *args, step="git worktree add")


def remove_worktree(repo: GitRepo, path: Path, *, force: bool, unlock: bool = False) -> None:
    """Remove the worktree at ``path`` and git's administrative entry for it.

    ``force`` removes it despite changes (callers check for work first);
    ``unlock`` also removes a locked one. A folder already gone is pruned.
    """
    if path.exists():
        args = ["worktree", "remove"]
        if force:
            args.append("--force")
        if unlock:
            args.append("--force")  # given twice, git also removes locked worktrees
        run_git(repo.main_root, *args, "--", str(path), step="git worktree remove")
    prune(repo)


def prune(repo: GitRepo) -> None:
    """Drop administrative entries of worktrees whose folders are gone."""
    run_git(repo.main_root, "worktree", "prune", step="git worktree prune")


def discard_partial(repo: GitRepo, path: Path) -> None:
    """Remove whatever a failed creation left at ``path``, then prune git's entry.

    Used only for folders this process created, on the rollback path.
    """
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(GitError):
        prune(repo)


def list_worktrees(repo: GitRepo) -> list[WorktreeEntry]:
    """All worktrees git knows about, main checkout first."""
    proc = run_git(
        repo.main_root, "worktree", "list", "--porcelain", "-z", step="git worktree list"
    )
    entries: list[WorktreeEntry] = []
    record: dict[str, str] = {}

    def flush() -> None:
        if "worktree" not in record:
            return
        branch = record.get("branch", "")
        entries.append(
            WorktreeEntry(
                path=Path(record["worktree"]),
                head=record.get("HEAD", ""),
                branch=branch.removeprefix("refs/heads/"),
                is_main=not entries,
                bare="bare" in record,
                locked="locked" in record,
                prunable="prunable" in record,
                prunable_reason=record.get("prunable", ""),
            )
        )

    for item in proc.stdout.split("\0"):
        if item == "":
            flush()
            record = {}
            continue
        key, _, value = item.partition(" ")
        record[key] = value
    flush()
    return entries


