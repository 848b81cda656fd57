"""``ls``: every construct with the state of its worktree, plus the broken record files.

Constructs come from :mod:`state_format.listing` (the fast path through the
disposable parse cache). Listing only reads: an interrupted operation shows
as such (``operation.state = "interrupted"``) and is left for ``doctor
--fix`` or the next change of that construct; an agent's live state is an
overlay on the view (:func:`~synthetic_ls.ops.agent_status.overlay`), never
written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from state_format.errors import BrokenRecordError
from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.statuses import Status
from synthetic_ls.ops.agent_status import AgentInfo, overlay
from synthetic_ls.ops.views import JSON_VERSION, ConstructView, broken_dict, views
from synthetic_ls.provision.context import Context


@dataclass(frozen=True)
class ListResult:
    """Constructs that matched (oldest first), every broken file, and the unfiltered count."""

    views: list[ConstructView]
    broken: list[BrokenRecordError]
    total: int

    def to_dict(self) -> dict[str, Any]:
        """``{"version", "constructs": [...], "broken": [{"file", "line", "error"}]}``."""
        return {
            "version": JSON_VERSION,
            "constructs": [v.to_dict() for v in self.views],
            "broken": [broken_dict(b) for b in self.broken],
        }


def list_constructs(
    store: StateStore,
    *,
    status: Status | str | None = None,
    template_id: str | None = None,
    inspect: bool = True,
    agents: bool = True,
) -> ListResult:
    """Every readable construct matching the filters; with ``inspect``, their worktrees' state.

    With ``agents``, each agent is asked of the running OpenCode server (none
    is started) and the construct is shown with the status its agent gives
    it now (:mod:`synthetic_ls.ops.agent_status`); nothing is written.
    """
    if isinstance(status, str):
        from synthetic_ls.ops.constructs import parse_status

        status = parse_status(status)
    listing = store.list_constructs()
    constructs: list[Construct] = list(listing.records)
    found: dict[str, AgentInfo] = {}
    if agents:
        poll = overlay(Context(store), constructs)
        constructs, found = poll.constructs, poll.agents
    total = len(constructs)
    if status is not None or template_id is not None:
        constructs = [
            c
            for c in constructs
            if (status is None or c.status == status)
            and (template_id is None or c.template_id == template_id)
        ]
    files = [store.location(Construct, c.id) for c in constructs]
    return ListResult(
        views(store.repo.worktree, constructs, files, inspect=inspect, agents=found),
        listing.broken,
        total,
    )
