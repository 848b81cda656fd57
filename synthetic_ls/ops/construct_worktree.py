"""Operations that tie a construct record to its worktree.

``new --worktree`` (:func:`create_with_worktree`), ``worktree add``
(:func:`add_worktree`), ``worktree rm`` (:func:`remove_worktree`) and the
worktree part of ``rm`` (:func:`release_for_removal`). Each either completes or
undoes what it did; see :mod:`synthetic_ls.ops.worktrees` for the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from state_format.records import Construct
from state_format.statuses import Status
from state_format.store import Store
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.git import branches
from synthetic_ls.git.repo import GitRepo
from synthetic_ls.ops import worktrees as wt
from synthetic_ls.ops.constructs import (
    CreateOptions,
    CreateResult,
    RemoveOptions,
    _write_new,
    check_transition,
)
from synthetic_ls.ops.templates import choose_template
from synthetic_ls.provision.rollback import Rollback


def create_with_worktree(
    store: Store,
    options: CreateOptions,
    name: str,
    description: str,
    status: Status | None,
) -> CreateResult:
    """Create a construct with its own branch and worktree, or nothing at all."""
    # The repository first: a checkout git cannot use makes the config moot.
    git = GitRepo.discover(store.repo.worktree)
    template_id, template, config = choose_template(store.repo.worktree, options.template_id)
    settings = wt.worktree_settings(git, config)
    if options.branch is not None and not branches.is_valid_branch_name(options.branch):
        raise InvalidInputError(f"{options.branch!r} is not a valid git branch name")
    # Resolve the start point before writing anything: a typo changes nothing.
    if options.from_ref is not None:
        git.resolve(options.from_ref)
    else:
        git.head()
    final_status = status or Status.READY
    rb = Rollback()
    plan: wt.WorktreePlan | None = None
    try:
        with rb.run("recording the construct"):
            with store.lock():
                construct_id = store.new_id(Construct, name)
                # Planning makes nothing: its errors (a branch that exists, a
                # folder in the way) reject the input, not a step (see below).
                plan = wt.plan_worktree(
                    git, settings, construct_id, options.from_ref, options.branch
                )
                construct = _write_new(
                    store,
                    name,
                    description,
                    template_id,
                    Status.SPAWNING,
                    wt.spawn_fields(plan),
                    construct_id=construct_id,
                )
            rb.on_failure(
                f"deleted record {construct.id}",
                lambda: store.delete(Construct, construct.id),
            )
        outcome = wt.provision_worktree(git, plan, wt.template_includes(template), rb)
        with rb.run("marking the construct ready"):

            def finish(current: Construct) -> dict[str, Any]:
                check_transition(current, final_status)
                return {"status": final_status, "spawn_pid": None}

            construct = store.update(Construct, construct.id, finish)
    except SyntheticError as exc:
        if plan is None:
            raise  # rejected while planning: nothing was made, nothing to undo
        raise rb.fail(exc) from exc
    except BaseException as exc:  # KeyboardInterrupt too: leave nothing behind
        raise rb.fail(exc) from exc
    return CreateResult(
        construct=construct,
        path=store.path_of(Construct, construct.id),
        copied=outcome.copy.copied,
        skipped=outcome.copy.skipped,
    )


@dataclass(frozen=True)
class WorktreeAddResult:
    """A construct that got a worktree, and what was copied into it."""

    construct: Construct
    copied: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    reused_branch: bool = False


def add_worktree(
    store: Store, ref: str, *, from_ref: str | None = None, branch: str | None = None
) -> WorktreeAddResult:
    """Give an existing construct (without one) a worktree.

    The construct's template must still be in a config without errors (see
    :func:`construct_template`). If the construct's recorded branch still
    exists (its worktree was removed earlier and the branch kept), that
    branch is checked out again.
    """
    construct = store.resolve_construct(ref)
    wt.require_no_worktree(construct)
    _template_id, template, config = construct_template(store, construct)
    git = GitRepo.discover(store.repo.worktree)
    settings = wt.worktree_settings(git, config)
    reuse = (
        branch is None
        and from_ref is None
        and construct.branch is not None
        and branches.branch_exists(git, construct.branch)
    )
    rb = Rollback()
    try:
        with rb.run("planning the worktree"), store.lock():
            current = store.get_construct(construct.id)
            wt.require_no_worktree(current)
            if reuse:
                assert construct.branch is not None
                path = settings.root / construct.id
                if path.exists():
                    raise InvalidInputError(f"worktree folder {path} already exists")
                plan = wt.WorktreePlan(
                    path=path,
                    branch=construct.branch,
                    base_ref=construct.base_ref or "",
                    base_commit=construct.base_commit or "",
                )
            else:
                plan = wt.plan_worktree(git, settings, construct.id, from_ref, branch)
            before = {
                k: getattr(current, k)
                for k in ("workspace_path", "branch", "base_ref", "base_commit")
            }
            store.update(
                Construct,
                construct.id,
                lambda _c: {
                    "workspace_path": str(plan.path),
                    "branch": plan.branch,
                    "base_ref": plan.base_ref or None,
                    "base_commit": plan.base_commit,
                },
            )
        rb.on_failure(
            f"restored record {construct.id}",
            lambda: store.update(Construct, construct.id, lambda _c: before),
        )
        copy = wt.provision_worktree(
            git, plan, wt.template_includes(template), rb, new_branch=not reuse
        ).copy
    except BaseException as exc:
        raise rb.fail(exc) from exc
    return WorktreeAddResult(
        construct=store.get_construct(construct.id),
        copied=copy.copied,
        skipped=copy.skipped,
        reused_branch=reuse,
    )


def construct_template(store: Store, construct: Construct) -> tuple[str, Any, Any]:
    """The construct's template and the config it comes from, as ``new`` would use them.

    Raises InvalidInputError (exit 7) when the config is missing or has
    errors, or no longer defines the construct's template: falling back to
    the default root and branch prefix and copying no include files would
    make a different worktree than the user set up, without a word.
    """
    try:
        return choose_template(store.repo.worktree, construct.template_id)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"cannot make the worktree of {construct.id} (template {construct.template_id!r}): "
            f"{exc}"
        ) from None


@dataclass(frozen=True)
class WorktreeRemoveResult:
    """A construct whose worktree was removed, and what happened to its branch."""

    construct: Construct
    notes: list[str]


def remove_worktree(store: Store, ref: str, *, force: bool = False) -> WorktreeRemoveResult:
    """Remove a construct's worktree (keeps the record); the branch as ``rm`` does."""
    construct = store.resolve_construct(ref)
    if not construct.workspace_path:
        raise NotFoundError(f"construct {construct.id} has no worktree")
    git = GitRepo.discover(store.repo.worktree)
    _check_removable(store, git, construct, force=force)
    notes = wt.release_worktree(git, construct, force=force, record_kept=True)
    branch_gone = construct.branch is None or branches.branch_tip(git, construct.branch) is None

    def clear(_current: Construct) -> dict[str, Any]:
        out: dict[str, Any] = {"workspace_path": None}
        if branch_gone:
            out.update(branch=None, base_ref=None, base_commit=None)
        return out

    updated = store.update(Construct, construct.id, clear)
    return WorktreeRemoveResult(construct=updated, notes=notes)


def preflight_removal(store: Store, construct: Construct, options: RemoveOptions) -> None:
    """Checks before ``rm`` changes anything.

    A construct another live process is still creating cannot be removed (its
    creation would fail half-way); uncommitted work blocks removal unless forced.
    """
    if (
        construct.status == Status.SPAWNING
        and construct.spawn_pid is not None
        and not wt.is_interrupted(construct)
    ):
        raise ConflictError(
            f"construct {construct.id} is still being created by process "
            f"{construct.spawn_pid}; wait for it to finish (or stop that process) and retry"
        )
    if construct.workspace_path and not options.force:
        git = GitRepo.discover(store.repo.worktree)
        _check_removable(store, git, construct, force=False)


def _check_removable(store: Store, git: GitRepo, construct: Construct, *, force: bool) -> None:
    """:func:`wt.check_removable` with the include patterns of the construct's template."""
    if force or not construct.workspace_path:
        return
    patterns: list[str] | None
    try:
        patterns = wt.template_includes(
            choose_template(store.repo.worktree, construct.template_id)[1]
        )
    except InvalidInputError:
        patterns = None  # config broken or template gone: check_removable falls back
    wt.check_removable(construct, force=force, main_root=git.main_root, include_patterns=patterns)


def release_for_removal(store: Store, construct: Construct, options: RemoveOptions) -> list[str]:
    """The ``rm`` release step: remove the worktree, prune, keep or delete the branch."""
    if not construct.workspace_path and not construct.branch:
        return []
    git = GitRepo.discover(store.repo.worktree)
    return wt.release_worktree(git, construct, force=options.force)
