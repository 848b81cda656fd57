"""A rebase stopped on conflicts, as git leaves it in a worktree: read, never changed here.

Which files are unmerged and how (both changed, one side deleted ...), the
conflicted hunks of each (the target's side and the replayed commit's side,
bounded), whether a file still holds conflict markers, and the rebase's own
state (the branch, its commit before, the commit being replayed). Like
:mod:`synthetic_ls.git.review`, everything runs the real ``git``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from synthetic_ls.git.command import run_git
from synthetic_ls.git.review import git_dir_file, rev

#: A line that opens or closes a conflict (git writes 7 signs, then a space and a label).
_MARKER = re.compile(rb"^(<{7}|>{7})(?: |$)", re.MULTILINE)
#: At most this many lines of each side of a hunk are shown.
SIDE_LINES = 40
#: At most this many hunks of one file are shown.
FILE_HUNKS = 6
#: Files larger than this are not read for hunks (their paths are still named).
READ_LIMIT = 1 << 20

#: What git's stages of an unmerged path say happened (stage 1 base, 2 ours, 3 theirs).
_KINDS = {
    (True, True, True): "both-modified",
    (False, True, True): "both-added",
    (True, False, True): "deleted-by-target",
    (True, True, False): "deleted-by-construct",
    (False, True, False): "added-by-target",
    (False, False, True): "added-by-construct",
}


@dataclass(frozen=True)
class Hunk:
    """One conflicted region: the target's lines and the replayed commit's, each bounded."""

    ours: list[str]
    theirs: list[str]
    ours_cut: int  # lines left out of ``ours``
    theirs_cut: int


@dataclass(frozen=True)
class Conflict:
    """An unmerged path: how it conflicts, and its hunks (when the file has markers)."""

    path: str
    kind: str
    hunks: list[Hunk]
    hunks_cut: int  # hunks left out


@dataclass(frozen=True)
class RebaseState:
    """A rebase in progress in a worktree (``git rebase`` with the merge backend)."""

    branch: str  # the branch it rebases ("" when git did not say: a detached rebase)
    orig_head: str  # the branch's commit before the rebase
    onto: str
    stopped_at: str | None  # the commit being replayed, when it stopped on one


def rebase_state(worktree: Path) -> RebaseState | None:
    """The rebase in progress in ``worktree``, or None.

    A ``rebase-apply`` (``git am``, an old rebase backend) counts only when
    it names its branch and commit the same way.
    """
    for folder in ("rebase-merge", "rebase-apply"):
        state = git_dir_file(worktree, folder)
        if not state.is_dir():
            continue

        def read(name: str, state: Path = state) -> str:
            try:
                return (state / name).read_text().strip()
            except OSError:
                return ""

        head = read("head-name").removeprefix("refs/heads/")
        orig = read("orig-head")
        stopped = rev(worktree, "REBASE_HEAD")
        return RebaseState("" if head == "detached HEAD" else head, orig, read("onto"), stopped)
    return None


def _stages(worktree: Path) -> dict[str, set[int]]:
    """Unmerged paths and the stages the index holds for each."""
    proc = run_git(worktree, "ls-files", "-u", "-z", step="listing unmerged files")
    found: dict[str, set[int]] = {}
    for item in proc.stdout.split("\0"):
        info, _, path = item.partition("\t")
        if path:
            found.setdefault(path, set()).add(int(info.split()[2]))
    return found


def unmerged_paths(worktree: Path) -> list[str]:
    """The paths git left unmerged in ``worktree``, sorted."""
    return sorted(_stages(worktree))


def staged_paths(worktree: Path) -> list[str]:
    """Paths whose index entry differs from HEAD (what the next commit would change)."""
    proc = run_git(worktree, "diff", "--cached", "--name-only", "-z", "--no-renames",
                   step="listing staged files")
    return sorted(p for p in proc.stdout.split("\0") if p)


def has_markers(worktree: Path, path: str) -> bool:
    """Whether the file at ``path`` still has a line that opens or closes a conflict."""
    full = worktree / path
    if full.is_symlink() or not full.is_file():
        return False
    try:
        with full.open("rb") as f:
            data = f.read(READ_LIMIT * 8)
    except OSError:
        return False
    return _MARKER.search(data) is not None


def _bounded(lines: list[str]) -> tuple[list[str], int]:
    return lines[:SIDE_LINES], max(0, len(lines) - SIDE_LINES)


def hunks_of(text: str) -> list[Hunk]:
    """The conflicted regions of a file git wrote markers into (merge or diff3 style)."""
    hunks: list[Hunk] = []
    ours: list[str] = []
    theirs: list[str] = []
    where = ""  # "", "ours", "base", "theirs"
    for line in text.splitlines():
        if where == "" and line.startswith("<<<<<<<"):
            where, ours, theirs = "ours", [], []
        elif where == "ours" and line.startswith("|||||||"):
            where = "base"
        elif where in ("ours", "base") and line == "=======":
            where = "theirs"
        elif where == "theirs" and line.startswith(">>>>>>>"):
            (o, oc), (t, tc) = _bounded(ours), _bounded(theirs)
            hunks.append(Hunk(o, t, oc, tc))
            where = ""
        elif where == "ours":
            ours.append(line)
        elif where == "theirs":
            theirs.append(line)
    return hunks


def conflicts(worktree: Path) -> list[Conflict]:
    """Every unmerged path in ``worktree``, with its hunks bounded (see the module's limits)."""
    out: list[Conflict] = []
    for path, stages in sorted(_stages(worktree).items()):
        kind = _KINDS.get((1 in stages, 2 in stages, 3 in stages), "unmerged")
        hunks: list[Hunk] = []
        full = worktree / path
        if full.is_file() and not full.is_symlink() and full.stat().st_size <= READ_LIMIT:
            text = full.read_bytes().decode("utf-8", errors="replace")
            hunks = hunks_of(text)
        out.append(Conflict(path, kind, hunks[:FILE_HUNKS], max(0, len(hunks) - FILE_HUNKS)))
    return out
