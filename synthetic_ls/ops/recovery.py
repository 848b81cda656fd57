"""Explicit recovery of interrupted operations: by ``doctor --fix``, or before the next change.

Reading never recovers anything (``ls``, ``show``, an editor's refresh). An
operation that changes a construct first calls :func:`settle`: an
interrupted operation on it is undone or finished (the journal says which),
and one still running, here or out of sight, makes the change wait.

Creation and removal (and ``worktree add|rm``) are the resource flow's to
recover (:func:`synthetic_ls.provision.flow.recover`); every other
journalled change has its own recovery, in
:data:`synthetic_ls.provision.recoveries.RECOVERIES`.
"""

from __future__ import annotations

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from synthetic_ls.errors import SyntheticError
from synthetic_ls.provision import flow
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.recoveries import RECOVERIES
from synthetic_ls.provision.resources import RESOURCES
from synthetic_ls.provision.work import Work
from synthetic_ls.runtime.groups import end_group

#: Operations the resource flow recovers (it knows their steps: the resources).
FLOW_OPERATIONS = frozenset({"create", "add-worktree", "remove", "remove-worktree"})


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
        journal = flow.interrupted(current)
        if journal is None:
            return None
        work = work_for(ctx, current)
        if journal.op in FLOW_OPERATIONS:
            return flow.recover(work, RESOURCES)
        left = [g for g in journal.groups if not end_group(g)]
        if left:
            raise SyntheticError(
                f"cannot recover {current.id}: process group(s) {left} would not stop",
                code="conflict",
            )
        notes = RECOVERIES[journal.op](work, journal)
        work.update(journal=None)
        return flow.Recovery(current.id, journal.op, "settled", notes)


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
