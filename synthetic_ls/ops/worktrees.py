"""Worktree operations for constructs: create with rollback, remove, re-add, inspect.

Creation protocol (so that it completes or leaves nothing behind, even after a
crash): the record is written first with status ``spawning`` and the creating
process id in ``spawn_pid``; then the branch and worktree are made and the
include files copied; last, the record becomes ``ready``. A failure undoes the
finished steps newest first. A crash leaves a ``spawning`` record whose
``spawn_pid`` is no longer alive; :func:`recover_interrupted` (run by ``ls``
and ``doctor --fix``) rolls those back the same way.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from state_format.statuses import Status
from state_format.store import Store, one_line
from synthetic_ls.errors import ConflictError, InvalidInputError
from synthetic_ls.git import branches, include_copy, worktrees
from synthetic_ls.git.repo import GitRepo
from synthetic_ls.provision.rollback import Rollback

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig, Template


#: Environment variable that overrides where worktrees are created.
WORKTREES_ENV = "SYNTHETIC_WORKTREES_DIR"


@dataclass(frozen=True)
class WorktreeSettings:
    """Where construct worktrees go and how their branches are named."""

    root: Path
    branch_prefix: str


@dataclass(frozen=True)
class WorktreePlan:
    """Everything decided before anything is created."""

    path: Path
    branch: str
    base_ref: str  # full ref name, "" when the start point was a bare commit
    base_commit: str


@dataclass
class WorktreeOutcome:
    """What provisioning a worktree did (for the user's report)."""

    plan: WorktreePlan
    copy: include_copy.CopyReport = field(default_factory=include_copy.CopyReport)


def default_root(main_root: Path) -> Path:
    """``<parent>/<repo>.worktrees``: beside the checkout, never inside it.

    Nested checkouts confuse file watchers, test runners and tools that walk
    the tree, so the default keeps worktrees out of the main checkout.
    """
    return main_root.parent / f"{main_root.name}.worktrees"


def worktree_settings(git: GitRepo, config: SyntheticConfig | None) -> WorktreeSettings:
    """Settings from, in order: $SYNTHETIC_WORKTREES_DIR, the config, the defaults."""
    prefix = branches.DEFAULT_BRANCH_PREFIX
    root: Path | None = None
    if config is not None:
        prefix = config.worktrees.branch_prefix or prefix
        if config.worktrees.root:
            root = Path(os.path.expanduser(config.worktrees.root))
    env = os.environ.get(WORKTREES_ENV, "").strip()
    if env:
        root = Path(os.path.expanduser(env))
    if root is None:
        root = default_root(git.main_root)
    elif not root.is_absolute():
        root = git.main_root / root
    return WorktreeSettings(root=Path(os.path.abspath(root)), branch_prefix=prefix)


def plan_worktree(
    git: GitRepo,
    settings: WorktreeSettings,
    construct_id: str,
    from_ref: str | None,
    branch: str | None,
) -> WorktreePlan:
    """Resolve the start point, choose the branch and the folder; create nothing."""
    if from_ref is None:
        commit, ref = git.head()
    else:
        commit, ref = git.resolve(from_ref)
    chosen = branches.branch_for_construct(git, construct_id, settings.branch_prefix, branch)
    # The folder comes from the id (ASCII slug + suffix), never from user text.
    path = settings.root / construct_id
    if path.exists() or path.is_symlink():
        raise ConflictError(f"worktree folder {path} already exists; remove it or run doctor")
    return WorktreePlan(path=path, branch=chosen, base_ref=ref, base_commit=commit)


def provision_worktree(
    git: GitRepo,
    plan: WorktreePlan,
    include_patterns: list[str],
    rb: Rollback,
    *,
    new_branch: bool = True,
) -> WorktreeOutcome:
    """Create the worktree (and with ``new_branch`` its branch) and copy include files.

    Registers undo actions on ``rb``; an existing branch is never deleted on undo.
    """
    outcome = WorktreeOutcome(plan=plan)
    with rb.run("creating the worktree"):
        if new_branch:
            rb.on_failure(
                f"deleted branch {plan.branch}",
                lambda: branches.delete_branch(git, plan.branch),
            )
        rb.on_failure(
            f"removed worktree {plan.path}", lambda: worktrees.discard_partial(git, plan.path)
        )
        worktrees.add_worktree(
            git, plan.path, plan.branch, plan.base_commit if new_branch else None
        )
    with rb.run("copying include files"):
        outcome.copy = include_copy.copy_included(
            git, plan.path, include_patterns, exclude=[plan.path.parent]
        )
    return outcome


def spawn_fields(plan: WorktreePlan) -> dict[str, Any]:
    """Record fields written before the worktree is created (status ``spawning``)."""
    return {
        "workspace_path": str(plan.path),
        "branch": plan.branch,
        "base_ref": plan.base_ref or None,
        "base_commit": plan.base_commit,
        "spawn_pid": os.getpid(),
    }


# -- crash recovery -------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_interrupted(construct: Construct) -> bool:
    """True for a ``spawning`` record whose creating process is gone."""
    if construct.status != Status.SPAWNING:
        return False
    pid = construct.spawn_pid
    if pid is None:
        # Set to spawning by a person or another tool, not by our creation.
        return False
    return pid != os.getpid() and not _pid_alive(pid)


def rollback_spawn(store: Store, git: GitRepo, construct: Construct) -> list[str]:
    """Undo an interrupted creation: worktree, branch (if still at its base), record."""
    notes: list[str] = []
    if construct.workspace_path:
        path = Path(construct.workspace_path)
        if path.exists():
            worktrees.discard_partial(git, path)
            notes.append(f"removed worktree {path}")
        else:
            with contextlib.suppress(Exception):
                worktrees.prune(git)
    if construct.branch:
        tip = branches.branch_tip(git, construct.branch)
        # Only a branch that still points at its start can be ours alone.
        if tip is not None and (not construct.base_commit or tip == construct.base_commit):
            branches.delete_branch(git, construct.branch)
            notes.append(f"deleted branch {construct.branch}")
        elif tip is not None:
            notes.append(f"kept branch {construct.branch}: it has commits")
    with contextlib.suppress(RecordNotFoundError):
        store.delete(Construct, construct.id)
    notes.append(f"deleted record {construct.id}")
    return notes


def recover_interrupted(store: Store, constructs: list[Construct]) -> list[str]:
    """Roll back every interrupted creation among ``constructs``; return notes."""
    stale = [c for c in constructs if is_interrupted(c)]
    if not stale:
        return []
    git = GitRepo.discover(store.repo.worktree)
    notes: list[str] = []
    with store.lock():
        for construct in stale:
            try:
                current = store.get_construct(construct.id)
            except RecordNotFoundError:
                continue
            if not is_interrupted(current):
                continue
            notes.append(
                f"rolled back interrupted creation of {current.id}: "
                + ", ".join(rollback_spawn(store, git, current))
            )
    return notes


# -- removal ----------------------------------------------------------------------


def check_removable(construct: Construct, *, force: bool, main_root: Path | None = None) -> None:
    """Refuse (ConflictError) to remove a worktree with uncommitted changes unless forced.

    Untracked files identical to the same path in the main checkout (the
    include files copied at creation, such as ``.env``) are not work that
    removal could lose, so they do not block it.
    """
    if force or not construct.workspace_path:
        return
    path = Path(construct.workspace_path)
    if not (path / ".git").exists():
        return
    dirty = [
        line
        for line in worktrees.dirty_files(path)
        if not (
            main_root is not None
            and line.startswith("?? ")
            and _same_as_main(path, main_root, line[3:])
        )
    ]
    if dirty:
        shown = "\n  ".join(one_line(line, 200) for line in dirty[:20])
        more = f"\n  ... and {len(dirty) - 20} more" if len(dirty) > 20 else ""
        raise ConflictError(
            f"worktree {path} has uncommitted changes; commit or stash them, "
            f"or pass --force to discard them:\n  {shown}{more}"
        )


def _same_as_main(worktree: Path, main_root: Path, rel: str) -> bool:
    """True if ``rel`` in the worktree is a copy of the same file in the main checkout."""
    ours, theirs = worktree / rel, main_root / rel
    if ours.is_symlink() or theirs.is_symlink():
        return (
            ours.is_symlink() and theirs.is_symlink() and os.readlink(ours) == os.readlink(theirs)
        )
    try:
        return ours.is_file() and theirs.is_file() and filecmp.cmp(ours, theirs, shallow=False)
    except OSError:
        return False


def release_worktree(
    git: GitRepo, construct: Construct, *, force: bool, record_kept: bool = False
) -> list[str]:
    """Remove the worktree and prune; delete the branch unless it holds unmerged work.

    Call :func:`check_removable` first: git is told to remove the folder even
    with untracked files, because the check already let only copies of the
    main checkout's include files through. ``record_kept`` says the construct
    stays (``worktree rm``), which changes the advice about a kept branch.
    """
    notes: list[str] = []
    if construct.workspace_path:
        path = Path(construct.workspace_path)
        existed = path.exists()
        worktrees.remove_worktree(git, path, force=True, unlock=force)
        notes.append(f"removed worktree {path}" if existed else f"worktree {path} was already gone")
    if construct.branch and branches.branch_tip(git, construct.branch) is not None:
        base = construct.base_ref or ""
        unmerged = branches.unmerged_count(git, construct.branch, base, construct.base_commit or "")
        if unmerged and not force:
            where = base.removeprefix("refs/heads/") or (construct.base_commit or "")[:12]
            # Advice that still works afterwards: once `rm` has deleted the
            # construct, `rm --force` can no longer reach this branch.
            how = f"delete it with `git branch -D {construct.branch}`"
            if record_kept:
                how = f"`synthetic worktree add {construct.id}` checks it out again; " + how
            notes.append(
                f"kept branch {construct.branch}: {unmerged} commit(s) not merged into {where} "
                f"({how})"
            )
        elif _checked_out_elsewhere(git, construct.branch):
            notes.append(f"kept branch {construct.branch}: it is checked out in another worktree")
        else:
            branches.delete_branch(git, construct.branch)
            suffix = f" with {unmerged} unmerged commit(s)" if unmerged else ""
            notes.append(f"deleted branch {construct.branch}{suffix}")
    return notes


def _checked_out_elsewhere(git: GitRepo, branch: str) -> bool:
    return any(e.branch == branch for e in worktrees.list_worktrees(git))


def require_no_worktree(construct: Construct) -> None:
    """Raise if ``construct`` already has a worktree."""
    if construct.workspace_path:
        raise InvalidInputError(
            f"construct {construct.id} already has a worktree at {construct.workspace_path}"
        )


def template_includes(template: Template | None) -> list[str]:
    """The include patterns of a template (none without a template)."""
    return list(template.include_patterns) if template is not None else []
