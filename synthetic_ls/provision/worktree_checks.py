"""The doctor's checks of the worktree resource: records against git's worktrees and branches.

Each finding carries its own fix when one is safe, and only then: nothing
that could lose a person's work, and nothing that would cut a worktree a
person moved by hand off from ``git worktree repair``. A construct with an
operation in progress is left to that operation (or to its recovery).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from state_format.ids import SUFFIX_ALPHABET, SUFFIX_LEN
from state_format.records import Construct
from synthetic_ls.git import branches, worktree_admin
from synthetic_ls.git.command import run_git
from synthetic_ls.git.repo import GitRepo
from synthetic_ls.provision.lifecycle import Finding, Subject
from synthetic_ls.provision.worktree_settings import worktree_settings

if TYPE_CHECKING:
    from synthetic_ls.provision.work import Survey


def _gitdir_of(path: Path) -> Path | None:
    """The admin dir a linked worktree's ``.git`` file points to, if it is one."""
    dotgit = path / ".git"
    if dotgit.is_symlink() or not dotgit.is_file():
        return None
    try:
        with open(dotgit, encoding="utf-8", errors="replace") as f:
            text = f.read(4096).strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    return (path / target).resolve() if not target.is_absolute() else target.resolve()


def _recorded_path(git: GitRepo, admin: Path) -> Path | None:
    """The folder git's admin entry ``admin`` believes its worktree is in."""
    try:
        return Path(git.repo.lookup_worktree(admin.name).path).resolve()
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _update_path(survey: Survey, construct_id: str, new_path: Path) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        run_git(
            survey.git.main_root,
            "worktree",
            "repair",
            "--",
            str(new_path),
            step="git worktree repair",
        )
        survey.store.update(Construct, construct_id, lambda _c: {"workspace_path": str(new_path)})
        return [f"ran git worktree repair and recorded {new_path}"]

    return fix


def _discard(survey: Survey, path: Path) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        worktree_admin.discard_partial(survey.git, path)
        return [f"removed the half-made worktree {path}"]

    return fix


def _delete_branch(survey: Survey, name: str) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        branches.delete_branch(survey.git, name)
        return [f"deleted branch {name}"]

    return fix


def worktree_findings(survey: Survey) -> list[Finding]:
    """Moved, missing and half-made worktrees, stray entries and folders, orphan branches."""
    git = survey.git
    settings = worktree_settings(git, survey.config)
    root = settings.root
    busy = {c.id for c in survey.constructs if c.journal is not None}
    settled = [c for c in survey.constructs if c.id not in busy]
    entries = [e for e in survey.worktrees if not e.is_main]
    by_path = {e.path.resolve(): e for e in entries}
    admin_dir = (git.common_dir / "worktrees").resolve()
    findings: list[Finding] = []

    # Folders in the managed root whose .git points at an admin entry that
    # git believes lives elsewhere: moved by hand with `mv`.
    moved_to: dict[Path, Path] = {}
    stray: list[Path] = []
    if root.is_dir() and not root.is_symlink():
        for child in sorted(root.iterdir()):
            if child.resolve() in by_path:
                continue
            gitdir = _gitdir_of(child)
            if gitdir is not None and gitdir.parent == admin_dir:
                moved_to[gitdir] = child.resolve()
            elif not any(c.workspace_path == str(child) for c in survey.constructs):
                stray.append(child)

    claimed_moves: set[Path] = set()
    for c in settled:
        if not c.workspace_path:
            continue
        path = Path(c.workspace_path)
        if path.resolve() in by_path and path.exists():
            continue
        new_path = _find_moved(git, c, entries, moved_to)
        subject = Subject("construct", c.id)
        if new_path is not None:
            claimed_moves.add(new_path)
            findings.append(
                Finding(
                    "moved-worktree",
                    subject,
                    f"worktree of {c.id} moved from {path} to {new_path}",
                    fix=_update_path(survey, c.id, new_path),
                )
            )
            continue
        branch_left = bool(c.branch) and branches.branch_exists(git, c.branch or "")
        findings.append(
            Finding(
                "missing-worktree",
                subject,
                f"worktree of {c.id} is gone: {path}",
                advice=(
                    "if you moved it, run `git worktree repair NEWPATH` and then "
                    "the doctor again; if it was deleted, removing the construct's worktree "
                    "forgets it, and adding one makes a new one"
                    + (f" (branch {c.branch} is still there)" if branch_left else "")
                ),
            )
        )

    claimed = {Path(c.workspace_path).resolve() for c in survey.constructs if c.workspace_path}
    recorded_moves = {_recorded_path(git, admin) for admin in moved_to}
    for entry in entries:
        resolved = entry.path.resolve()
        if resolved in claimed:
            continue
        subject = Subject("worktree", str(entry.path))
        if entry.prunable:
            if resolved in recorded_moves:
                continue  # its folder was moved: reported above, or below as unregistered
            findings.append(
                Finding(
                    "prunable-entry",
                    subject,
                    f"git still lists worktree {entry.path} "
                    f"({entry.prunable_reason or 'folder gone'})",
                    advice=f"if you moved it, run `git worktree repair NEWPATH`; if it is "
                    f"gone for good, `git worktree remove --force {entry.path}`",
                ),
            )
            continue
        if not resolved.is_relative_to(root.resolve()):
            continue
        if entry.locked and entry.lock_reason == "initializing":
            # git's own mark of an add that never finished: nothing was handed over.
            findings.append(
                Finding(
                    "half-made-worktree",
                    subject,
                    f"worktree {entry.path} was never finished (git left it locked "
                    "'initializing'); no construct claims it",
                    fix=_discard(survey, entry.path),
                )
            )
            continue
        findings.append(
            Finding(
                "unregistered-worktree",
                subject,
                f"worktree {entry.path} (branch {entry.branch or 'detached'}) has no construct",
                advice=f"register it with `synthetic import {entry.path}`, or remove it with "
                f"`git worktree remove {entry.path}`",
            )
        )

    for folder in moved_to.values():
        if folder not in claimed_moves and folder not in claimed:
            findings.append(
                Finding(
                    "unregistered-worktree",
                    Subject("worktree", str(folder)),
                    f"worktree {folder} was moved here by hand and no construct claims it",
                    advice=f"run `git worktree repair {folder}`, then `synthetic import {folder}`",
                )
            )
    for folder in stray:
        findings.append(
            Finding(
                "stray-folder",
                Subject("file", str(folder)),
                f"{folder} is in the worktrees folder but is no worktree and no construct's",
                advice="look inside; if nothing there is needed, delete it",
            )
        )

    used = {c.branch for c in survey.constructs if c.branch}
    journals = [c.journal for c in survey.constructs]
    restoring = {j.restore.get("branch", "") for j in journals if j is not None}
    checked_out = {e.branch for e in survey.worktrees if e.branch}
    prefix = settings.branch_prefix
    for name in sorted(git.repo.branches.local):
        if not name.startswith(prefix) or name in used | restoring | checked_out:
            continue
        if not _construct_branch_name(name.removeprefix(prefix)):
            continue  # a person's own branch that shares the prefix (release/1.0): not ours
        merged = branches.reachable_from_other_branches(git, name)
        findings.append(
            Finding(
                "orphan-branch",
                Subject("branch", name),
                f"branch {name} belongs to no construct"
                + (" (fully merged)" if merged else " (has commits found on no other branch)"),
                advice=""
                if merged
                else f"inspect it (`git log {name}`); delete it with `git branch -D {name}`, or "
                f"check it out with `git worktree add` and `synthetic import` it",
                fix=_delete_branch(survey, name) if merged else None,
            )
        )
    return findings


#: What follows the prefix in a branch Synthetic names: a construct id (a slug and a
#: six-character suffix), then ``-2``, ``-3`` ... when that name was taken.
_CONSTRUCT_BRANCH = re.compile(
    rf"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[{SUFFIX_ALPHABET}]{{{SUFFIX_LEN}}}(?:-[0-9]+)?"
)


def _construct_branch_name(rest: str) -> bool:
    """Whether a branch name, its prefix taken off, is one Synthetic gives a construct."""
    return _CONSTRUCT_BRANCH.fullmatch(rest) is not None


def _find_moved(
    git: GitRepo,
    construct: Construct,
    entries: list[worktree_admin.WorktreeEntry],
    moved_to: dict[Path, Path],
) -> Path | None:
    """Where a construct's worktree went, if it was moved rather than deleted."""
    if not construct.branch:
        return None
    old = Path(construct.workspace_path or "").resolve()
    for entry in entries:
        # `git worktree move` keeps git's list right: same branch, new existing path.
        if (
            entry.branch == construct.branch
            and not entry.prunable
            and entry.path.exists()
            and entry.path.resolve() != old
        ):
            return entry.path
    for admin, new_folder in moved_to.items():
        # A plain `mv`: git's admin entry still names the old folder.
        if new_folder != old and (_recorded_path(git, admin) == old or admin.name == old.name):
            return new_folder
    return None
