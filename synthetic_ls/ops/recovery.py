"""Explicit recovery of interrupted operations: by ``doctor --fix``, or before the next change.

Reading never recovers anything (``ls``, ``show``, an editor's refresh). An
operation that changes a construct first calls :func:`settle`: an
interrupted operation on it is undone or finished (the journal says which),
and one still running, here or out of sight, makes the change wait.
"""

from __future__ import annotations

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from synthetic_ls.provision import flow
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.resources import RESOURCES
from synthetic_ls.provision.work import Work


def work_for(ctx: Context, construct: Construct) -> Work:
    """An existing construct under ``ctx``'s operation, with its template if the config has it."""
    return Work(ctx, construct, ctx.template_of(construct.template_id))


def recover(ctx: Context, construct: Construct) -> flow.Recovery | None:
    """Undo or finish the interrupted operation on ``construct``, if its owner is gone."""
    if flow.interrupted(construct) is None:
        return None
    with ctx.store.lock():
        try:
            current = ctx.store.get_construct(construct.id)
        except RecordNotFoundError:
            return None
        if flow.interrupted(current) is None:
            return None
        return flow.recover(work_for(ctx, current), RESOURCES)


def settle(
    ctx: Context, construct: Construct, *, resuming: str | None = None
) -> tuple[Construct | None, flow.Recovery | None]:
    """Before changing ``construct``: recover a dead operation, refuse a live one.

    Returns the construct as it is afterwards (None if recovery removed it)
    and what recovery did. An interrupted operation named by ``resuming``
    (a removal asked for again) is left for the caller to carry on.
    """
    journal = construct.journal
    if journal is not None and journal.op == resuming and flow.interrupted(construct):
        return construct, None
    recovery = recover(ctx, construct)
    if recovery is None:
        flow.require_no_operation(construct)
        return construct, None
    try:
        return ctx.store.get_construct(construct.id), recovery
    except RecordNotFoundError:
        return None, recovery
