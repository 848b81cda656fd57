"""Pick one attempt of a group: land it, discard the others (``land ATTEMPT --discard-others``).

The landing is the usual one (every check, journalled on the construct); only
once it landed are the others discarded, under a ``pick`` journal on the
group (fact ``kept``) that recovery finishes: every member but the kept one
removed, then the group's record. What the others would lose is asked first
(:func:`pick_preview`), for a face to show before the person confirms.
"""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError
from state_format.journal import Journal
from state_format.protocol import StateStore
from state_format.records import Construct, Group, utc_now
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import ConflictError, InvalidInputError
from synthetic_ls.ops.discard import (
    DiscardPreview,
    DiscardPreviewJson,
    DiscardResult,
    DiscardResultJson,
    discard_construct,
    discard_preview,
)
from synthetic_ls.ops.groups import members_of, stop_journal
from synthetic_ls.ops.landing import LandOptions, LandResult, LandResultJson, land_construct


class PickPreviewJson(TypedDict):
    """``synthetic.group.pickPreview``: the attempt to land, its group, and what discarding
    each other attempt would delete (as ``synthetic.construct.discardPreview`` says it)."""

    construct: str
    group: str
    others: list[DiscardPreviewJson]


class PickResultJson(TypedDict):
    """``synthetic.group.pick``: the landing of the chosen attempt, each other attempt's
    discard, and the group removed."""

    group: str
    landed: LandResultJson
    discarded: list[DiscardResultJson]


@dataclass(frozen=True)
class PickPreview:
    """The chosen attempt, its group, and what each other attempt's discard would lose."""

    construct: Construct
    group: Group
    others: list[DiscardPreview]

    def to_dict(self) -> PickPreviewJson:
        """``{"construct", "group", "others": [discard previews]}``."""
        return {"construct": self.construct.id, "group": self.group.id,
                "others": [o.to_dict() for o in self.others]}


@dataclass(frozen=True)
class PickResult:
    """The landing of the chosen attempt and the discards of the others."""

    group: Group
    landed: LandResult
    discarded: list[DiscardResult]

    def to_dict(self) -> PickResultJson:
        """``{"group", "landed", "discarded"}``."""
        return {"group": self.group.id, "landed": self.landed.to_dict(),
                "discarded": [d.to_dict() for d in self.discarded]}


def _group_of(store: StateStore, construct: Construct) -> Group:
    if construct.group_id is None:
        raise InvalidInputError(
            f"construct {construct.id} is not an attempt of a group (made by `new "
            "--attempts` or `--model`): land it without --discard-others",
            fields={"option": "discard_others"})
    try:
        group = store.get(Group, construct.group_id)
    except RecordNotFoundError:
        raise InvalidInputError(
            f"the group {construct.group_id} of {construct.id} is gone: land it without "
            "--discard-others", fields={"option": "discard_others"}) from None
    if group.journal is not None:
        raise ConflictError(
            f"group {group.id} has a {group.journal.op} in progress or interrupted; "
            "`synthetic doctor --fix` settles an interrupted one", fields={"group": group.id})
    return group


def pick_preview(store: StateStore, ref: str) -> PickPreview:
    """What ``land ref --discard-others`` would discard; reads only."""
    construct = store.resolve_construct(ref)
    group = _group_of(store, construct)
    others = [discard_preview(store, m.id) for m in members_of(store, group)
              if m.id != construct.id]
    return PickPreview(construct, group, others)


def pick_attempt(
    store: StateStore, options: LandOptions, *, consent: Consent = NOBODY
) -> PickResult:
    """Land attempt ``options.ref`` with the usual checks, then discard the other attempts of
    its group and remove the group. Nothing is discarded when the landing fails."""
    preview = pick_preview(store, options.ref)
    group = preview.group
    landed = land_construct(store, options, consent=consent)
    kept = preview.construct.id

    def begin(g: Group) -> dict[str, object]:
        return {"journal": Journal.begin("pick", facts={"kept": kept}), "updated_at": utc_now()}

    store.update(Group, group.id, begin)
    discarded: list[DiscardResult] = []
    try:
        for other in members_of(store, store.get(Group, group.id)):
            if other.id != kept:
                discarded.append(discard_construct(store, other.id, consent=consent))
    except BaseException:
        stop_journal(store, group.id)  # `doctor --fix` finishes it
        raise
    store.delete(Group, group.id)
    return PickResult(group, landed, discarded)
