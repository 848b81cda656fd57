"""``worktree add`` and ``worktree rm``: give a construct its worktree, or take it away.

Both walk the worktree's resources (:data:`~synthetic_ls.provision.resources.WORKTREE_RESOURCES`)
under a journal, like creation and removal, so a crash in either is undone
(``add``) or finished (``rm``) by ``doctor --fix`` or the next change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from state_format.journal import Journal
from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.views import ConstructResult, views, with_copies
from synthetic_ls.provision import flow
from synthetic_ls.provision.consent_items import of_creation, of_release
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.ports import port_dict
from synthetic_ls.provision.resources import (
    INCLUDE_FILES,
    PORTS,
    SERVICES,
    WORKTREE,
    WORKTREE_RESOURCES,
)
from synthetic_ls.provision.services import record_dict
from synthetic_ls.provision.work import CreateSettings, Creation, Release, ReleaseSettings

#: Record fields a worktree owns, put back when ``worktree add`` is undone.
_WORKTREE_FIELDS = ("workspace_path", "branch", "base_ref", "base_commit", "opencode_session_id")


@dataclass(frozen=True)
class WorktreeRemoveResult:
    """A construct whose worktree was removed, and what happened to its branch."""

    construct: Construct
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "notes"}`` (the construct stays)."""
        return {"id": self.construct.id, "notes": list(self.notes)}


def _settled(ctx: Context, ref: str, *, resuming: str | None = None) -> Construct:
    construct, recovery = settle(ctx, ctx.store.resolve_construct(ref), resuming=resuming)
    if construct is None:
        detail = recovery.message() if recovery is not None else "it is gone"
        raise NotFoundError(f"no construct {ref!r} any more: {detail}")
    return construct


def add_worktree(
    store: StateStore,
    ref: str,
    *,
    from_ref: str | None = None,
    branch: str | None = None,
    cancelled: Callable[[], bool] | None = None,
    consent: Consent = NOBODY,
) -> ConstructResult:
    """Give an existing construct (without one) a worktree.

    If the construct's recorded branch still exists (its worktree was removed
    earlier and the branch kept), that branch is checked out again. The
    template must still exist in a config without errors, as for ``new``:
    falling back to defaults would make a different worktree without a word.
    """
    ctx = Context(store, cancelled=cancelled, consent=consent)
    construct = _settled(ctx, ref)
    if construct.workspace_path:
        raise ConflictError(
            f"construct {construct.id} already has a worktree at {construct.workspace_path}"
        )
    try:
        _id, template, _config = ctx.choose_template(construct.template_id)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"cannot make the worktree of {construct.id} (template {construct.template_id!r}): "
            f"{exc}", code=exc.code,
        ) from None
    # As the construct was made: one made with `--no-agent` gets no session now either.
    settings = CreateSettings(from_ref=from_ref, branch=branch, worktree=True,
                              agent=False if construct.no_agent else None)
    work = Creation(ctx, construct, template, settings)
    ctx.require_consent(of_creation(work), doing=f"adding the worktree of {construct.id}")
    flow.preflight(work, WORKTREE_RESOURCES)  # may reach a server: outside the lock
    with store.lock():
        current = store.get_construct(construct.id)
        if current.workspace_path or current.journal is not None:
            raise ConflictError(f"construct {construct.id} changed meanwhile; try again")
        work.construct = current
        # Rejects bad input before anything is written.
        flow.plan(work, WORKTREE_RESOURCES, strict=True)
        restore = {k: getattr(current, k) for k in _WORKTREE_FIELDS}
        work.update(journal=Journal.begin("add-worktree", restore))
    updated = flow.create(work, WORKTREE_RESOURCES, final_status=construct.status)
    file = store.location(Construct, updated.id)
    included = work.results.of(INCLUDE_FILES)
    made = work.results.of(WORKTREE)
    ports = work.results.of(PORTS)
    services = work.results.of(SERVICES)
    # What else started, as `new` says it: its ports and services (the session is
    # in the record).
    return with_copies(
        views(store.repo.worktree, [updated], [file], inspect=False)[0],
        list(included.copied) if included else [],
        list(included.skipped) if included else [],
        reused_branch=bool(made and made.reused_branch),
        ports=[port_dict(p) for p in ports.ports] if ports else [],
        services=[record_dict(r) for r in services.services] if services else [],
    )


def remove_worktree(
    store: StateStore, ref: str, *, force: bool = False, keep_session: bool = False,
    consent: Consent = NOBODY,
) -> WorktreeRemoveResult:
    """Remove a construct's worktree (the record stays); the branch goes as with ``rm``.

    Its agent session goes too (it is rooted in the worktree), unless ``keep_session``.
    """
    ctx = Context(store, consent=consent)
    construct = _settled(ctx, ref, resuming="remove-worktree")
    if not construct.workspace_path and construct.journal is None:
        raise NotFoundError(f"construct {construct.id} has no worktree", code="no-worktree")
    settings = ReleaseSettings(force=force, keep_session=keep_session)
    work = Release(ctx, construct, ctx.template_of(construct.template_id), settings)
    if construct.journal is None:
        ctx.require_consent(of_release(work), doing=f"removing the worktree of {construct.id}")
        flow.preflight_release(work, WORKTREE_RESOURCES)
    notes = flow.release(work, WORKTREE_RESOURCES, op="remove-worktree")
    return WorktreeRemoveResult(construct=work.construct, notes=notes)
