"""A merge queue: ``synthetic land A B C`` lands several constructs, one after another.

Each landing is an ordinary :func:`~synthetic_ls.ops.landing.land_construct`
(its own checks, its own journal), so each is checked against the target as
the ones before it left it. The queue stops at the first that cannot land
cleanly; the result says which landed (their commits, the target's tip
after each), which one stopped the queue and why (its error's code, message
and fields: ``merge-conflict`` with the files, say), and which were not
tried. A ``kill -9`` mid-queue leaves the ones landed landed and the one
under way for ``doctor --fix`` to settle, as for a single landing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from state_format.errors import CodedError
from state_format.protocol import StateStore
from state_format.text import one_line
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import InvalidInputError, error_payload
from synthetic_ls.ops.landing import (
    STRATEGIES,
    LandOptions,
    LandResult,
    LandResultJson,
    land_construct,
)


@dataclass(frozen=True)
class LandQueueOptions:
    """Inputs of :func:`land_queue`: the constructs in the order they land."""

    refs: list[str]
    #: ``merge``, ``squash`` or ``rebase`` (``apply`` leaves the target dirty: one only).
    strategy: str = "merge"
    #: The branch to land every one into (default: each one's own starting branch).
    into: str | None = None
    #: Remove each construct once landed (by the usual removal rules).
    remove: bool = False


class QueueStopJson(TypedDict):
    """The landing that stopped the queue: the reference, the construct's id and its
    error as data (``code``, ``kind``, ``message`` and the code's fields)."""

    ref: str
    construct: str
    error: dict[str, Any]


class LandQueueJson(TypedDict):
    """``synthetic.construct.landQueue``: ``landed`` in order (each a landing's result),
    ``stopped`` (null when every one landed), ``not_tried`` (their references), and the
    target's tip after the last landing (``tip``; null when none landed)."""

    strategy: str
    landed: list[LandResultJson]
    stopped: QueueStopJson | None
    not_tried: list[str]
    tip: str | None


@dataclass
class LandQueueResult:
    """What the queue did; ``error`` is the stopping error itself (for a face's exit status)."""

    strategy: str
    landed: list[LandResult] = field(default_factory=list)
    stopped: QueueStopJson | None = None
    not_tried: list[str] = field(default_factory=list)
    error: CodedError | None = None

    def to_dict(self) -> LandQueueJson:
        """See docs/guide/review.md, "A merge queue"."""
        return {
            "strategy": self.strategy,
            "landed": [r.to_dict() for r in self.landed],
            "stopped": self.stopped,
            "not_tried": list(self.not_tried),
            "tip": self.landed[-1].after if self.landed else None,
        }


def land_queue(
    store: StateStore, options: LandQueueOptions, *, consent: Consent = NOBODY
) -> LandQueueResult:
    """Land ``options.refs`` in order, stopping at the first that cannot land cleanly.

    Every reference is resolved first: an unknown or repeated one refuses
    the queue with nothing landed. Then each lands as ``land REF`` would; the
    first error stops the queue, and is in the result (not raised).
    """
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})"
        )
    if not options.refs:
        raise InvalidInputError("name at least one construct to land")
    if options.strategy == "apply" and len(options.refs) > 1:
        raise InvalidInputError(
            "apply leaves the changes staged in the target's checkout, so the next landing "
            "would find it dirty: land one construct with --apply, or queue with merge, "
            "squash or rebase"
        )
    ids = [store.resolve_construct(ref).id for ref in options.refs]
    seen: set[str] = set()
    for ref, cid in zip(options.refs, ids, strict=True):
        if cid in seen:
            raise InvalidInputError(f"{ref!r} names construct {cid} a second time in the queue")
        seen.add(cid)
    result = LandQueueResult(options.strategy)
    for n, (ref, cid) in enumerate(zip(options.refs, ids, strict=True)):
        try:
            landed = land_construct(
                store,
                LandOptions(ref=cid, strategy=options.strategy, into=options.into,
                            remove=options.remove),
                consent=consent,
            )
        except CodedError as exc:
            payload = error_payload(exc)
            payload["message"] = one_line(str(exc), 4000)
            result.stopped = {"ref": ref, "construct": cid, "error": payload}
            result.not_tried = list(options.refs[n + 1:])
            result.error = exc
            return result
        result.landed.append(landed)
    return result

