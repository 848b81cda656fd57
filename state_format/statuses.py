"""Construct statuses and the transitions allowed between them.

The table is part of the format (documented in README.md) so that every tool
writing records agrees on the lifecycle. Setting a status to itself is always
allowed (a no-op).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Lifecycle status of a construct, as written in its ``status`` key."""

    SPAWNING = "spawning"  # being provisioned (worktree, session, services)
    PENDING = "pending"  # recorded, not provisioned or not started yet
    READY = "ready"  # provisioned, waiting for work to start
    ACTIVE = "active"  # the agent is working
    AWAITING_INPUT = "awaiting_input"  # the agent waits for a person
    REVIEWING = "reviewing"  # a person reviews the result
    COMPLETED = "completed"  # work done (merged or accepted)
    PARKED = "parked"  # set aside on purpose, resources may be stopped
    ARCHIVED = "archived"  # kept for the record only
    ERROR = "error"  # provisioning or a step failed; see logs
    DELETING = "deleting"  # removal in progress


S = Status

#: For each status, the statuses it may move to (besides itself).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.SPAWNING: frozenset({S.PENDING, S.READY, S.ERROR, S.DELETING}),
    S.PENDING: frozenset(
        {S.SPAWNING, S.READY, S.ACTIVE, S.PARKED, S.ARCHIVED, S.ERROR, S.DELETING}
    ),
    S.READY: frozenset(
        {
            S.ACTIVE,
            S.AWAITING_INPUT,
            S.REVIEWING,
            S.COMPLETED,
            S.PARKED,
            S.ARCHIVED,
            S.ERROR,
            S.DELETING,
        }
    ),
    S.ACTIVE: frozenset(
        {S.READY, S.AWAITING_INPUT, S.REVIEWING, S.COMPLETED, S.PARKED, S.ERROR, S.DELETING}
    ),
    # An agent's turn ends in ``ready`` also when a person denied what it asked.
    S.AWAITING_INPUT: frozenset(
        {S.READY, S.ACTIVE, S.REVIEWING, S.COMPLETED, S.PARKED, S.ERROR, S.DELETING}
    ),
    S.REVIEWING: frozenset(
        {S.ACTIVE, S.AWAITING_INPUT, S.COMPLETED, S.PARKED, S.ERROR, S.DELETING}
    ),
    S.COMPLETED: frozenset({S.REVIEWING, S.ACTIVE, S.PARKED, S.ARCHIVED, S.DELETING}),
    S.PARKED: frozenset({S.PENDING, S.READY, S.ACTIVE, S.ARCHIVED, S.ERROR, S.DELETING}),
    S.ARCHIVED: frozenset({S.PARKED, S.DELETING}),
    # An agent whose turn failed can be prompted again (``active``).
    S.ERROR: frozenset(
        {S.SPAWNING, S.PENDING, S.READY, S.ACTIVE, S.AWAITING_INPUT, S.PARKED, S.ARCHIVED,
         S.DELETING}
    ),
    S.DELETING: frozenset({S.ERROR}),  # a removal that failed half-way
}

#: Statuses a construct may be created with; ``pending`` is the default.
INITIAL_STATUSES: frozenset[Status] = frozenset({S.SPAWNING, S.PENDING, S.READY, S.PARKED})
DEFAULT_STATUS = S.PENDING


def can_transition(old: Status | str, new: Status | str) -> bool:
    """Whether a construct in status ``old`` may be set to ``new``."""
    old_s, new_s = Status(old), Status(new)
    return old_s == new_s or new_s in TRANSITIONS[old_s]


def allowed_next(old: Status | str) -> list[str]:
    """The statuses ``old`` may move to, in declaration order (for messages)."""
    targets = TRANSITIONS[Status(old)]
    return [s.value for s in Status if s in targets]
