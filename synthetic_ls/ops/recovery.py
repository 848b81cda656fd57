"""Explicit recovery of interrupted operations: by ``doctor --fix``, or before the next change.

Reading never recovers anything (``ls``, ``show``, an editor's refresh). An
operation that changes a construct first calls :func:`settle`: an
interrupted operation on it is undone or finished (the journal says which),
and one still running, here or out of sight, makes the change wait.
"""

from __future__ import annotations

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.ops.templates import construct_template_or_none
from synthetic_ls.provision import flow
from synthetic_ls.provision.job import Job
from synthetic_ls.provision.resources import RESOURCES


def job_for(store: Store, construct: Construct, *, force: bool = False) -> Job:
    """A job for an existing construct: its template when the config still has it."""
    template, config = construct_template_or_none(store.repo.worktree, construct.template_id)
    return Job(
        store=store,
        construct=construct,
        config=config,
        template=template,
        force=force,
        worktree=bool(construct.workspace_path),
    )


def recover(store: Store, construct: Construct) -> flow.Recovery | None:
    """Undo or finish the interrupted operation on ``construct``, if its owner is gone."""
    if flow.interrupted(construct) is None:
        return None
    with store.lock():
        try:
            current = store.get_construct(construct.id)
        except RecordNotFoundError:
            return None
        if flow.interrupted(current) is None:
            return None
        return flow.recover(job_for(store, current, force=False), RESOURCES)


def settle(
    store: Store, construct: Construct, *, resuming: str | None = None
) -> tuple[Construct | None, flow.Recovery | None]:
    """Before changing ``construct``: recover a dead operation, refuse a live one.

    Returns the construct as it is afterwards (None if recovery removed it)
    and what recovery did. An interrupted operation named by ``resuming``
    (a removal asked for again) is left for the caller to carry on.
    """
    journal = construct.effective_journal()
    if journal is not None and journal.op == resuming and flow.interrupted(construct):
        return construct, None
    recovery = recover(store, construct)
    if recovery is None:
        flow.require_no_operation(construct)
        return construct, None
    try:
        return store.get_construct(construct.id), recovery
    except RecordNotFoundError:
        return None, recovery
