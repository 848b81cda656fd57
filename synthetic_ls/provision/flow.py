"""Creation, removal, recovery and checks: loops over the resource list.

Nothing here names a resource. Each step is journalled in the construct's
record before it runs (:mod:`state_format.journal`), so that a crash at any
point leaves enough on disk for :func:`recover` to undo a creation or finish
a removal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from state_format.errors import RecordNotFoundError
from state_format.journal import Journal
from state_format.owner import Liveness
from state_format.records import Construct
from state_format.statuses import Status
from synthetic_ls.errors import ConflictError, OperationCancelledError, SyntheticError
from synthetic_ls.provision.lifecycle import PlanItem, Resource
from synthetic_ls.provision.step_error import StepFailedError
from synthetic_ls.provision.work import Creation, Release, ReleaseSettings, Work
from synthetic_ls.runtime.groups import end_group


def plan(
    work: Creation, resources: Sequence[Resource[Any]], *, strict: bool = False
) -> list[PlanItem]:
    """What creating ``work.construct`` would do, resource by resource; changes nothing.

    ``strict`` (before a creation) raises the first problem a step foresaw.
    """
    items = [r.plan(work) for r in resources if r.wanted(work)]
    if strict:
        for item in items:
            if item.error is not None:
                raise item.error
    return items


def preflight(work: Creation, resources: Sequence[Resource[Any]]) -> None:
    """Ask every wanted resource whether it can be made; the first refusal raises.

    Called before the record is written: a refusal leaves nothing behind.
    """
    for resource in resources:
        if resource.wanted(work):
            resource.preflight(work)


def _undo(
    work: Work, resources: Sequence[Resource[Any]], journal: Journal
) -> tuple[list[str], list[str]]:
    """Undo the begun steps, newest first; (notes, failures)."""
    by_name = {r.name: r for r in resources}
    notes: list[str] = []
    failed: list[str] = []
    for name in reversed(journal.started):
        resource = by_name.get(name)
        if resource is None:
            failed.append(f"{name} (unknown step; left as it is)")
            continue
        try:
            notes.extend(resource.undo(work))
        except Exception as exc:  # keep undoing the others; report this one
            failed.append(f"{resource.title} ({exc})")
    return notes, failed


def _end_groups(journal: Journal) -> list[str]:
    """End the child process groups a dead owner left; names of those that would not end."""
    return [f"process group {g}" for g in journal.groups if not end_group(g)]


def create(
    work: Creation, resources: Sequence[Resource[Any]], *, final_status: Status
) -> Construct:
    """Provision every wanted resource in order, then mark the construct ``final_status``.

    What each step made is collected in ``work.results``. ``work.construct``
    must already be written with a ``create`` (or ``add-worktree``) journal.
    On any failure, Ctrl-C included, the begun steps are undone newest first
    and the error names the failing step and what was rolled back; for
    ``create`` the record is deleted too.
    """
    title = "recording the construct"
    # What the previous step made, written with the next journal entry: one
    # write per step. A crash before that write leaves the step "begun", and
    # undoing a step that in fact finished is as safe as undoing a half one.
    made: dict[str, Any] = {}
    steps = [r for r in resources if r.wanted(work)]
    total = len(steps) + 1
    try:
        for number, resource in enumerate(steps, start=1):
            if work.cancelled():
                raise OperationCancelledError("the creation was cancelled")
            title = resource.title
            work.ctx.step(number, total, title)
            journal = work.journal
            assert journal is not None, "a step runs inside a journalled operation"
            fields = resource.prepare(work)
            work.update(journal=journal.start(resource.name), **made, **fields)
            result = resource.provision(work)
            work.results.put(resource, result.result)
            made = dict(result.fields)
            for later in steps[number:]:
                later.warm(work)
        title = "marking the construct ready"
        if work.cancelled():
            raise OperationCancelledError("the creation was cancelled")
        work.ctx.step(total, total, title)
        return finish(work, final_status, made)
    except BaseException as exc:
        journal = work.journal or Journal.begin("create")
        groups_left = _end_groups(journal)
        notes, failed = _undo(work, resources, journal)
        failed.extend(groups_left)
        if failed:
            # Keep the record and its journal, so that `doctor --fix` (or the
            # next change of the construct) tries the undo again: deleting it
            # would orphan what could not be removed.
            with contextlib.suppress(Exception):
                work.update(journal=journal.stop())
        elif work.settings.keep_failed and journal.op == "create" and not isinstance(
            exc, OperationCancelledError | KeyboardInterrupt
        ):
            notes.extend(_keep_as_error(work, title, exc))
        else:
            notes.extend(_drop_or_restore(work, journal))
        raise StepFailedError(title, exc, notes, failed) from exc


#: Record fields the steps of a creation fill in; a failed one kept as ``error`` loses them.
_MADE_FIELDS = ("workspace_path", "branch", "base_ref", "base_commit", "opencode_session_id")


def _keep_as_error(work: Work, title: str, exc: BaseException) -> list[str]:
    """After an undone creation: keep the record, in ``error``, saying which step failed."""
    detail = str(exc) or type(exc).__name__
    try:
        work.update(
            status=Status.ERROR, journal=None,
            error=f"{title} failed: {detail}"[:2000],
            **dict.fromkeys(_MADE_FIELDS),
        )
    except RecordNotFoundError:
        return []
    return [f"kept record {work.construct.id} as error"]


def finish(work: Work, final_status: Status, made: dict[str, Any]) -> Construct:
    """The last write of a creation: what the last step made; the journal goes.

    A new construct also gets its status.
    """
    journal = work.journal
    if journal is not None and journal.op == "create":
        return work.update(status=final_status, journal=None, **made)
    return work.update(journal=None, **made)


def _drop_or_restore(work: Work, journal: Journal) -> list[str]:
    """After an undone creation: delete the record, or clear what ``worktree add`` set."""
    try:
        if journal.op == "create":
            work.store.delete(Construct, work.construct.id)
            return [f"deleted record {work.construct.id}"]
        restored: dict[str, Any] = {k: v or None for k, v in journal.restore.items()}
        work.update(journal=None, **restored)
        return [f"restored record {work.construct.id}"]
    except RecordNotFoundError:
        return []


def preflight_release(work: Release, resources: Sequence[Resource[Any]]) -> None:
    """Ask every resource whether releasing it would lose work; the first refusal raises."""
    for resource in resources:
        resource.preflight_release(work)


def release(work: Release, resources: Sequence[Resource[Any]], *, op: str) -> list[str]:
    """Release resources newest first under a ``remove``/``remove-worktree`` journal.

    A step already done (by an interrupted earlier run of the same removal)
    is skipped, so running the removal again resumes it. The record is
    deleted (``remove``) or left without a journal (``remove-worktree``).
    """
    journal = work.journal
    resuming = journal is not None and journal.op == op
    # Resuming, this process owns the removal from now on.
    # The settings go into the journal: recovery finishes the removal as it was asked.
    journal = (
        journal.taken_over()
        if journal is not None and resuming
        else Journal.begin(op, facts=work.settings.to_facts())
    )
    first: dict[str, Any] = {"status": Status.DELETING} if op == "remove" and not resuming else {}
    notes: list[str] = []
    finished: str | None = None
    for resource in reversed(resources):
        if resource.name in journal.done:
            continue
        # One write per step: this step begun, the previous one done. A crash
        # in between only repeats a release, and every release is idempotent.
        if finished is not None:
            journal = journal.finish(finished)
        if resource.name not in journal.started:  # a resumed step is not begun twice
            journal = journal.start(resource.name)
        work.update(journal=journal, **first)
        first = {}
        try:
            notes.extend(resource.release(work))
        except BaseException:
            # Stopped, not abandoned: running the removal again resumes here.
            with contextlib.suppress(Exception):
                work.update(journal=journal.stop())
            raise
        finished = resource.name
    if op == "remove":
        work.store.delete(Construct, work.construct.id)
    else:
        work.update(journal=None)
    return notes


#: How each journalled operation is called in messages.
OPERATION_NAMES = {
    "create": "creation",
    "add-worktree": "worktree creation",
    "remove": "removal",
    "remove-worktree": "worktree removal",
    "services-start": "start of services",
    "services-stop": "stop of services",
    "services-restart": "restart of services",
    "services-resume": "resumption of services",
    "prompts-build": "prompt rebuild",
    "commit": "commit",
    "land": "landing",
}


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` did with an interrupted operation."""

    construct_id: str
    op: str
    action: str  # "rolled back", "completed", or "settled" (the notes say how)
    notes: list[str]

    def message(self) -> str:
        """One sentence for the user."""
        what = OPERATION_NAMES.get(self.op, self.op)
        detail = f": {', '.join(self.notes)}" if self.notes else ""
        return f"{self.action} the interrupted {what} of {self.construct_id}{detail}"


class OperationInProgressError(ConflictError):
    """Another process, alive or out of sight, is working on this construct."""

    code = "operation-in-progress"


def interrupted(construct: Construct) -> Journal | None:
    """The journal of ``construct`` if nobody works on it any more, else None.

    That is when its owner is certainly gone, or when it failed and stopped.
    """
    journal = construct.journal
    if journal is None:
        return None
    if journal.stopped or journal.owner.liveness() is Liveness.DEAD:
        return journal
    return None


def require_no_operation(construct: Construct) -> None:
    """Raise unless no live (or unknowable) operation holds ``construct``."""
    journal = construct.journal
    if journal is None or journal.stopped:
        return
    liveness = journal.owner.liveness()
    if liveness is Liveness.DEAD:
        return
    where = journal.owner.where()
    hint = (
        "wait for it to finish"
        if liveness is Liveness.ALIVE
        else "it cannot be checked from here; wait for it, or if that machine or container "
        "is gone, remove the `journal` line from the record by hand"
    )
    raise OperationInProgressError(
        f"construct {construct.id} is being worked on by {where} "
        f"({journal.op} in progress); {hint}",
        fields={"construct": construct.id, "op": journal.op, "owner": where},
    )


def recover(work: Work, resources: Sequence[Resource[Any]]) -> Recovery | None:
    """Undo an interrupted creation or finish an interrupted removal of ``work.construct``.

    Does nothing (returns None) unless the operation's owner is certainly
    dead; its child process groups are ended first, so nothing it started
    can recreate what is being undone.
    """
    journal = interrupted(work.construct)
    if journal is None:
        return None
    left = _end_groups(journal)
    if left:
        raise SyntheticError(
            f"cannot recover {work.construct.id}: {', '.join(left)} would not stop",
            code="conflict",
        )
    if journal.rolls_forward:
        # A removal is finished with the settings it was asked for (a discard
        # forced, a session to keep), as its journal recorded them; one that
        # recorded none is finished with nothing forced: a step that would
        # lose work stops and says so.
        settings = ReleaseSettings.from_facts(journal.facts)
        release_work = Release(work.ctx, work.construct, work.template, settings)
        notes = release(release_work, resources, op=journal.op)
        return Recovery(work.construct.id, journal.op, "completed", notes)
    notes, failed = _undo(work, resources, journal)
    if failed:
        raise SyntheticError(
            f"rolling back {work.construct.id} left: {'; '.join(failed)}",
        )
    notes.extend(_drop_or_restore(work, journal))
    return Recovery(work.construct.id, journal.op, "rolled back", notes)
