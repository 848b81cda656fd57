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
from synthetic_ls.errors import ConflictError
from synthetic_ls.git import branches, include_copy, unsaved_work, worktree_admin, worktree_status
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


def default_root(git: GitRepo) -> Path:
    """``<parent>/<repo>.worktrees``: beside the checkout, never inside it.

    Nested checkouts confuse file watchers, test runners and tools that walk
    the tree, so the default keeps worktrees out of the main checkout. For a
    submodule, ``<parent>`` is the parent of the outermost superproject's
    working tree: beside the submodule they would land inside the
    superproject, where ``git add -A`` would take them for embedded
    repositories.
    """
    outermost = git.outermost_working_tree()
    return outermost.parent / f"{git.main_root.name}.worktrees"


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
        root = default_root(git)
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
            f"removed worktree {plan.path}", lambda: worktree_admin.discard_partial(git, plan.path)
        )
        worktree_admin.add_worktree(
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
            worktree_admin.discard_partial(git, path)
            notes.append(f"removed worktree {path}")
        else:
            with contextlib.suppress(Exception):
                worktree_admin.prune(git)
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


def check_removable(
    construct: Construct,
    *,
    force: bool,
    main_root: Path | None = None,
    include_patterns: list[str] | None = None,
) -> None:
    """Refuse (ConflictError) to remove a worktree that holds work, unless forced.

    Work is what removal would lose and git could not give back, each listed:

    * a git operation stopped half-way (rebase, merge, cherry-pick, revert,
      bisect, am): its state lives in the worktree's git dir;
    * commits only the worktree's HEAD reaches (a detached HEAD, a rebase
      not finished): no branch or tag keeps them once the worktree is gone;
    * uncommitted changes, untracked files included;
    * edits ``git status`` hides: assume-unchanged and skip-worktree files
      whose content differs from the index;
    * ignored files the template's ``include_patterns`` select (``.env``)
      that are not an unchanged copy of the main checkout's file: an edited
      copy, or a new one. With ``include_patterns`` None (the config has
      errors, or the template is gone) every ignored file that differs from
      the same file in the main checkout counts instead.

    What does not block: untracked files identical to the same path in the
    main checkout (the include files copied at creation), and other ignored
    files (build output, caches, ``node_modules``), which ``git worktree
    remove`` deletes as well: git treats ignored files as disposable, and
    refusing on every cache would teach people to pass ``--force``.
    """
    if force or not construct.workspace_path:
        return
    path = Path(construct.workspace_path)
    if not (path / ".git").exists():
        return
    broken = unsaved_work.unopenable_reason(path)
    if broken is not None:
        # Its files may be work, and git can no longer tell: leave it to a person.
        raise ConflictError(
            f"worktree {path} is no longer a worktree git can open ({one_line(broken, 300)}); "
            f"nothing was removed: try `git worktree repair {path}` from the main checkout, "
            "or check its files and delete the folder by hand"
        )
    sections: list[tuple[str, list[str]]] = []
    operation = unsaved_work.operation_in_progress(path)
    if operation:
        sections.append((operation, []))
    lost = unsaved_work.commits_only_head_reaches(path, limit=10)
    if lost.total:
        where = "its detached HEAD" if lost.detached else "its HEAD"
        lines = [f"{cid[:12]} {subject}" for cid, subject in lost.shown]
        if lost.total > len(lost.shown):
            lines.append(f"... and {lost.total - len(lost.shown)} more")
        sections.append(
            (
                f"{lost.total} commit(s) that only {where} reaches, on no branch or tag "
                "(keep them with `git branch NAME HEAD` in the worktree)",
                lines,
            )
        )
    flags = unsaved_work.hidden_flags(path)
    dirty = [
        line
        for line in worktree_status.dirty_files(path)
        # A skip-worktree file is git's to leave out (sparse checkout); its
        # edits are judged by hidden_edits below, like git itself would.
        if line[3:] not in flags.skip_worktree
        and not (
            main_root is not None
            and line.startswith("?? ")
            and _same_as_main(path, main_root, line[3:])
        )
    ]
    if dirty:
        sections.append(("uncommitted changes (commit or stash them)", dirty))
    hidden = unsaved_work.hidden_edits(path, flags)
    if hidden:
        sections.append(
            (
                "edits git status does not show (flagged in the index)",
                [f" M {rel} ({flag})" for rel, flag in hidden],
            )
        )
    if main_root is not None:
        changed = _changed_ignored_files(path, main_root, include_patterns)
        if changed:
            sections.append(
                (
                    "ignored include files that are not unchanged copies of the main checkout's",
                    changed,
                ),
            )
    if sections:
        raise ConflictError(
            f"worktree {path} holds work that removal would lose; "
            "pass --force to discard it:" + _render_sections(sections)
        )


def _changed_ignored_files(
    path: Path, main_root: Path, include_patterns: list[str] | None
) -> list[str]:
    """``!! path (why)`` lines for the ignored files :func:`check_removable` counts."""
    out: list[str] = []
    for rel in include_copy.ignored_files(path, include_patterns):
        in_main = os.path.lexists(main_root / rel)
        if include_patterns is None and not in_main:
            continue  # patterns unknown: only a differing counterpart shows it was copied
        if _same_as_main(path, main_root, rel):
            continue
        why = "differs from the main checkout's copy" if in_main else "not in the main checkout"
        out.append(f"!! {rel} (ignored; {why})")
    return out


def _render_sections(sections: list[tuple[str, list[str]]], limit: int = 20) -> str:
    text = ""
    for title, lines in sections:
        text += f"\n  {title}" + (":" if lines else "")
        for line in lines[:limit]:
            text += f"\n    {one_line(line, 200)}"
        if len(lines) > limit:
            text += f"\n    ... and {len(lines) - limit} more"
    return text


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
        worktree_admin.remove_worktree(git, path, force=True, unlock=force)
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
    return any(e.branch == branch for e in worktree_admin.list_worktrees(git))


def require_no_worktree(construct: Construct) -> None:
    """Raise if ``construct`` already has a worktree."""
    if construct.workspace_path:
        raise ConflictError(
            f"construct {construct.id} already has a worktree at {construct.workspace_path}"
        )


def template_includes(template: Template | None) -> list[str]:
    """The include patterns of a template (none without a template)."""
    return list(template.include_patterns) if template is not None else []
