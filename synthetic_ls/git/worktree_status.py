"""What ``ls`` and ``show`` tell about a worktree: branch, ahead/behind, changes, size."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from synthetic_ls.git.command import run_git
from synthetic_ls.git.repo import GitRepo


@dataclass
class WorktreeState:
    """What ``ls``/``show`` print about a construct's worktree."""

    exists: bool
    branch: str = ""
    head: str = ""
    ahead: int = 0
    behind: int = 0
    dirty: list[str] = field(default_factory=list)
    size_bytes: int | None = None


def dirty_files(path: Path) -> list[str]:
    """Uncommitted changes in the worktree at ``path`` as ``"XY path"`` lines (untracked too).

    ``X`` and ``Y`` are the letters of ``git status --short``: ``A`` a staged new
    file, ``D`` a deleted one, ``M`` modified ...; ``??`` untracked.
    """
    wt = pygit2.Repository(str(path))
    out: list[str] = []
    for name, flags in sorted(wt.status(untracked_files="all").items()):
        if flags & pygit2.GIT_STATUS_IGNORED:
            continue
        if flags & pygit2.GIT_STATUS_WT_NEW and not flags & _INDEX:
            code = "??"
        elif flags & pygit2.GIT_STATUS_CONFLICTED:
            code = "UU"
        else:
            code = _letter(flags, _INDEX_LETTERS) + _letter(flags, _WT_LETTERS)
            if code == "  ":
                code = " M"
        out.append(f"{code} {name}")
    return out


#: Status flags of the index against HEAD, and of the files against the index, with
#: the letter ``git status --short`` gives each (first match wins).
_INDEX_LETTERS = (
    (pygit2.GIT_STATUS_INDEX_NEW, "A"),
    (pygit2.GIT_STATUS_INDEX_DELETED, "D"),
    (pygit2.GIT_STATUS_INDEX_RENAMED, "R"),
    (pygit2.GIT_STATUS_INDEX_TYPECHANGE, "T"),
    (pygit2.GIT_STATUS_INDEX_MODIFIED, "M"),
)
_WT_LETTERS = (
    (pygit2.GIT_STATUS_WT_DELETED, "D"),
    (pygit2.GIT_STATUS_WT_RENAMED, "R"),
    (pygit2.GIT_STATUS_WT_TYPECHANGE, "T"),
    (pygit2.GIT_STATUS_WT_MODIFIED, "M"),
)
_INDEX = 0
for _flag, _ in _INDEX_LETTERS:
    _INDEX |= _flag


def _letter(flags: int, letters: tuple[tuple[int, str], ...]) -> str:
    return next((letter for flag, letter in letters if flags & flag), " ")


def git_dirty_files(path: Path) -> list[str]:
    """:func:`dirty_files` of the worktree at ``path``, from one ``git status``.

    The same lines (the same codes, in the same order), for a worktree about
    to be removed: git's status reads the index once and stats the files
    with its threads, which on 20,000 files took a quarter of the CPU time of
    libgit2's (pygit2's is kept for ``ls`` and ``show``, which inspect many
    small worktrees in one process). ``--no-optional-locks``: a check writes
    nothing, not even the refreshed index.
    """
    proc = run_git(
        path, "--no-optional-locks", "status", "--porcelain=v1", "-z",
        "--untracked-files=all", "--no-renames", step="listing uncommitted changes",
    )
    out: list[str] = []
    for item in proc.stdout.split("\0"):
        if len(item) < 4:
            continue
        x, y, name = item[0], item[1], item[3:]
        out.append(f"{_code(x, y)} {name}")
    return sorted(out, key=lambda line: line[3:])


def _code(x: str, y: str) -> str:
    """The code :func:`dirty_files` gives the entry ``git status`` shows as ``XY``."""
    if x == "?":
        return "??"
    if "U" in (x, y) or x + y in ("AA", "DD"):
        return "UU"  # a conflict, whichever side
    return x + y


def disk_size(path: Path) -> int:
    """Bytes used by the files under ``path``, not following symlinks, skipping ``.git``."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def worktree_state(
    repo: GitRepo, path: Path, base_target: str | None, *, with_size: bool = False
) -> WorktreeState:
    """Branch, ahead/behind ``base_target``, dirty files and optionally size of a worktree."""
    if not (path / ".git").exists():
        return WorktreeState(exists=False)
    try:
        wt = pygit2.Repository(str(path))
    except pygit2.GitError:
        return WorktreeState(exists=False)
    state = WorktreeState(exists=True)
    if not wt.head_is_unborn:
        state.head = str(wt.head.target)
        state.branch = "" if wt.head_is_detached else wt.head.shorthand
        if base_target:
            try:
                ahead, behind = wt.ahead_behind(wt.head.target, base_target)
                state.ahead, state.behind = int(ahead), int(behind)
            except (KeyError, ValueError, pygit2.GitError):
                pass
    state.dirty = dirty_files(path)
    if with_size:
        state.size_bytes = disk_size(path)
    return state


