"""Changes of a construct other than creation and removal, each under the construct's journal.

Starting or stopping its services, rebuilding its prompt bundle, committing
in its worktree and landing its branch are multi-step changes too. Each runs
inside :func:`journalled`: the journal (``op``, the steps begun and done, the
child process groups, the ``facts`` recovery needs) is written to the record
before the first step and removed after the last, exactly as for creation.
A ``kill -9`` at any step leaves a journal whose owner is dead, and ``doctor
--fix`` (or the next change of that construct) hands it to the operation's
own recovery (:mod:`synthetic_ls.ops.recovery` has the table), which looks
at what exists and finishes or undoes the change.

A change that is one atomic record write (persisting an agent's status,
editing a name) needs no journal: a crash leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from state_format.journal import Journal
from state_format.records import Construct
from synthetic_ls.provision.flow import require_no_operation
from synthetic_ls.provision.work import Work
from synthetic_ls.runtime.groups import end_group

#: What an operation's recovery does with its interrupted journal: notes on what it did.
Recoverer = Callable[[Work, Journal], list[str]]


class Steps:
    """The journal of one change in progress: begin steps, record facts and process groups."""

    def __init__(self, work: Work) -> None:
        self.work = work

    @property
    def journal(self) -> Journal:
        """The journal as last written."""
        journal = self.work.construct.journal
        assert journal is not None, "a step runs inside a journalled change"
        return journal

    def begin(self, name: str, **facts: str) -> None:
        """Journal that step ``name`` begins (the one before it is done), with more ``facts``."""
        journal = self.journal.step(name)
        if facts:
            journal = journal.with_facts(**facts)
        self.work.update(journal=journal)

    def know(self, **facts: str) -> None:
        """Journal facts learnt on the way (a commit made), for recovery."""
        self.work.update(journal=self.journal.with_facts(**facts))

    def record_group(self, pgid: int) -> None:
        """Journal a child process group, so recovery ends it before it looks at anything."""
        self.work.record_group(pgid)


@contextlib.contextmanager
def journalled(
    work: Work,
    op: str,
    *,
    facts: dict[str, str] | None = None,
    recover: Recoverer | None = None,
    done: Callable[[], dict[str, Any]] | None = None,
) -> Iterator[Steps]:
    """Run the body as the journalled change ``op`` of ``work.construct``.

    The journal is written before the body runs (refused while another
    operation, alive or out of sight, holds the construct) and removed when
    it ends, together with the record fields ``done()`` returns. When the
    body raises, ``recover`` (the same code a crash's recovery runs) settles
    what the body began before the error goes on; if that fails too, the
    journal stays, marked stopped, for ``doctor --fix``.
    """
    store = work.store
    with store.lock():
        current = store.get_construct(work.construct.id)
        require_no_operation(current)
        work.construct = current
        work.update(journal=Journal.begin(op, facts=facts))
    steps = Steps(work)
    try:
        yield steps
    except BaseException as exc:
        journal = steps.journal
        try:
            for group in journal.groups:
                end_group(group)
            if recover is not None:
                recover(work, journal)
        except Exception as failure:
            # Left for `doctor --fix`, which runs the same recovery again.
            with contextlib.suppress(Exception):
                work.update(journal=journal.stop())
            exc.add_note(f"settling the interrupted {op} failed too: {failure}")
            raise exc from failure
        with contextlib.suppress(Exception):
            work.update(journal=None)
        raise
    fields = done() if done is not None else {}
    work.construct = store.update(
        Construct, work.construct.id, lambda _c: {"journal": None, **fields}
    )
