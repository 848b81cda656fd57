"""Work that removing a worktree would lose, beyond what ``git status`` shows.

An operation stopped half-way (rebase, merge, bisect ...), commits only the
worktree's HEAD reaches, and files whose edits are hidden by index flags
(assume-unchanged, skip-worktree).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from synthetic_ls.git.command import run_git

#: What each stopped operation is called, and how a person concludes it.
_OPERATIONS: dict[int, tuple[str, str]] = {
    pygit2.enums.RepositoryState.MERGE: ("a merge", "git merge --continue` or `--abort"),
    pygit2.enums.RepositoryState.REVERT: ("a revert", "git revert --continue` or `--abort"),
    pygit2.enums.RepositoryState.REVERT_SEQUENCE: (
        "a revert",
        "git revert --continue` or `--abort",
    ),
    pygit2.enums.RepositoryState.CHERRYPICK: (
        "a cherry-pick",
        "git cherry-pick --continue` or `--abort",
    ),
    pygit2.enums.RepositoryState.CHERRYPICK_SEQUENCE: (
        "a cherry-pick",
        "git cherry-pick --continue` or `--abort",
    ),
    pygit2.enums.RepositoryState.BISECT: ("a bisect", "git bisect reset"),
    pygit2.enums.RepositoryState.REBASE: ("a rebase", "git rebase --continue` or `--abort"),
    pygit2.enums.RepositoryState.REBASE_INTERACTIVE: (
        "a rebase",
        "git rebase --continue` or `--abort",
    ),
    pygit2.enums.RepositoryState.REBASE_MERGE: (
        "a rebase",
        "git rebase --continue` or `--abort",
    ),
    pygit2.enums.RepositoryState.APPLY_MAILBOX: ("a `git am`", "git am --continue` or `--abort"),
    pygit2.enums.RepositoryState.APPLY_MAILBOX_OR_REBASE: (
        "a rebase or `git am`",
        "git rebase --abort` or `git am --abort",
    ),
}


def unopenable_reason(path: Path) -> str | None:
    """Why the worktree at ``path`` cannot be opened as a repository, or None if it can.

    A folder whose ``.git`` file points at an entry that was deleted from the
    git dir is no longer a worktree git knows, though its files are still there.
    """
    try:
        pygit2.Repository(str(path))
    except pygit2.GitError as exc:
        return str(exc) or type(exc).__name__
    return None


def operation_in_progress(path: Path) -> str | None:
    """A git operation stopped half-way in the worktree at ``path``, as advice; else None.

    Read from the worktree's own git dir (``rebase-merge``, ``MERGE_HEAD``,
    ``CHERRY_PICK_HEAD``, ``REVERT_HEAD``, ``BISECT_LOG`` ...) through libgit2.
    Removing the worktree would throw away that operation's state (a rebase's
    remaining steps, a bisect's log) and the commits it made so far.
    """
    state = pygit2.Repository(str(path)).state()
    if state == pygit2.enums.RepositoryState.NONE:
        return None
    what, how = _OPERATIONS.get(int(state), ("a git operation", "git status"))
    return f"{what} is in progress (finish it with `{how}`)"


@dataclass(frozen=True)
class HeadOnlyCommits:
    """Commits the worktree's HEAD reaches and no branch, tag or remote-tracking ref does."""

    detached: bool
    shown: list[tuple[str, str]]  # (commit id, subject), newest first, at most ``limit``
    total: int


def commits_only_head_reaches(path: Path, limit: int = 20) -> HeadOnlyCommits:
    """Commits that removing the worktree at ``path`` would make unreachable.

    A worktree's HEAD (and its reflog) go with it, so commits made on a
    detached HEAD, or by a rebase that has not finished, are lost unless a
    ref that outlives the worktree (a branch, tag or remote-tracking branch)
    contains them. Per-worktree refs (``refs/bisect/*``) and the stash do
    not count: they go with the worktree, or are not meant to keep commits.
    """
    wt = pygit2.Repository(str(path))
    if wt.head_is_unborn:
        return HeadOnlyCommits(detached=False, shown=[], total=0)
    detached = bool(wt.head_is_detached)
    rest = ["HEAD", "--not", "--branches", "--tags", "--remotes", "--"]
    proc = run_git(
        path,
        "log",
        f"--max-count={limit + 1}",
        "--format=%H%x00%s",
        *rest,
        step="listing commits only HEAD reaches",
    )
    shown = [
        (cid, subject)
        for cid, _, subject in (line.partition("\0") for line in proc.stdout.splitlines())
        if cid
    ]
    total = len(shown)
    if total > limit:
        counted = run_git(path, "rev-list", "--count", *rest, step="counting commits")
        total = int(counted.stdout.strip() or total)
    return HeadOnlyCommits(detached=detached, shown=shown[:limit], total=total)


@dataclass(frozen=True)
class HiddenFlags:
    """Index entries whose changes ``git status`` does not show."""

    assume_unchanged: set[str] = field(default_factory=set)
    skip_worktree: set[str] = field(default_factory=set)


def hidden_flags(path: Path) -> HiddenFlags:
    """Paths of the worktree at ``path`` marked assume-unchanged or skip-worktree.

    From ``git ls-files -v``: a lowercase tag means assume-unchanged, ``S``
    (or ``s``) skip-worktree.
    """
    proc = run_git(path, "ls-files", "-v", "-z", step="listing index flags")
    flags = HiddenFlags()
    for item in proc.stdout.split("\0"):
        if len(item) < 3:
            continue
        tag, rel = item[0], item[2:]
        if tag in "Ss":
            flags.skip_worktree.add(rel)
        if tag.islower():
            flags.assume_unchanged.add(rel)
    return flags


def hidden_edits(path: Path, flags: HiddenFlags) -> list[tuple[str, str]]:
    """Flagged files whose content differs from the index, as ``(path, flag)``.

    ``git status`` (and libgit2's status) trust these flags and do not look
    at the files, so an edit there is invisible until it is lost. A flagged
    file that is absent is not counted: that is what a sparse checkout looks
    like, and the committed content is not lost.
    """
    candidates = sorted(flags.assume_unchanged | flags.skip_worktree)
    if not candidates:
        return []
    index = pygit2.Repository(str(path)).index
    regular: list[str] = []
    edited: list[str] = []
    for rel in candidates:
        full = path / rel
        try:
            st = os.lstat(full)
            entry = index[rel]
        except (OSError, KeyError, ValueError):  # absent, or a name libgit2 cannot take
            continue
        if entry.mode == pygit2.enums.FileMode.LINK:
            target = os.fsencode(os.readlink(full)) if os.path.islink(full) else b""
            if not os.path.islink(full) or str(pygit2.hash(target)) != str(entry.id):
                edited.append(rel)
        elif entry.mode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
            if not stat.S_ISREG(st.st_mode):
                edited.append(rel)
            elif "\n" in rel:  # cannot go through --stdin-paths: hash it unfiltered
                if str(pygit2.hashfile(str(full))) != str(entry.id):
                    edited.append(rel)
            else:
                regular.append(rel)
    if regular:
        # git hash-object applies the path's clean filters (line endings,
        # LFS ...) the way `git add` would, so only real edits differ.
        proc = run_git(
            path,
            "hash-object",
            "--stdin-paths",
            input="".join(f"{rel}\n" for rel in regular),
            step="hashing flagged files",
        )
        for rel, oid in zip(regular, proc.stdout.split(), strict=False):
            if oid != str(index[rel].id):
                edited.append(rel)
    out = []
    for rel in sorted(edited):
        names = [
            name
            for name, members in (
                ("assume-unchanged", flags.assume_unchanged),
                ("skip-worktree", flags.skip_worktree),
            )
            if rel in members
        ]
        out.append((rel, "/".join(names)))
    return out
