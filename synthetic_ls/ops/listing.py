"""``ls``: every construct with the state of its worktree, plus the broken record files.

Constructs come from :mod:`state_format.listing` (the fast path through the
disposable parse cache). Listing only reads: an interrupted operation shows
as such (``operation.state = "interrupted"``) and is left for ``doctor
--fix`` or the next change of that construct; an agent's live state is an
overlay on the view (:func:`~synthetic_ls.ops.agent_status.overlay`), never
written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from state_format.errors import BrokenRecordError
from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.statuses import Status
from synthetic_ls.ops.agent_status import AgentInfo, overlay
from synthetic_ls.ops.usage import Usage, total
from synthetic_ls.ops.views import (
    JSON_VERSION,
    ConstructView,
    ConstructViewJson,
    HostListingJson,
    broken_dict,
    views,
)
from synthetic_ls.provision.context import Context


@dataclass(frozen=True)
class ListResult:
    """Constructs that matched (oldest first), every broken file, and the unfiltered count."""

    views: list[ConstructView]
    broken: list[BrokenRecordError]
    total: int
    #: Constructs on other machines, as their hosts list them (``host`` set).
    remote: list[ConstructViewJson] = field(default_factory=list)
    #: How each of those hosts answered.
    hosts: list[HostListingJson] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        """Tokens and cost summed over the listed local constructs whose agents told them."""
        local = [v.agent.usage for v in self.views if v.agent is not None]
        return total([*local, *(_remote_usage(r) for r in self.remote)])

    def to_dict(self) -> dict[str, Any]:
        """``{"version", "constructs": [...], "broken": [{"file", "line", "error"}],
        "hosts": [{"host", "state", "error", "code"}], "usage": {...}}``: local
        constructs first."""
        return {
            "version": JSON_VERSION,
            "constructs": [*(v.to_dict() for v in self.views), *self.remote],
            "broken": [broken_dict(b) for b in self.broken],
            "hosts": list(self.hosts),
            "usage": self.usage.to_dict(),
        }


def _remote_usage(row: ConstructViewJson) -> Usage | None:
    """The usage a host told of one of its constructs (None: not told)."""
    agent = row.get("agent")
    told = agent.get("usage") if isinstance(agent, dict) else None
    if not isinstance(told, dict):
        return None
    fields: dict[str, Any] = dict(told)
    try:
        return Usage(**{k: fields[k] for k in Usage.__dataclass_fields__ if k in fields})
    except TypeError:
        return None


def _has_remotes(store: StateStore) -> bool:
    """Whether any record of a remote construct may exist: a look at its folder only, so
    that ``ls`` without remote constructs loads no more than before (no pydantic)."""
    folder = store.repo.state_dir / "remotes"
    try:
        return any(name.endswith(".toml") for name in os.listdir(folder))
    except OSError:
        return False


def list_constructs(
    store: StateStore,
    *,
    status: Status | str | None = None,
    template_id: str | None = None,
    inspect: bool = True,
    agents: bool = True,
    remote: bool = True,
) -> ListResult:
    """Every readable construct matching the filters; with ``inspect``, their worktrees' state.

    With ``agents``, each agent is asked of the running OpenCode server (none
    is started) and the construct is shown with the status its agent gives
    it now (:mod:`synthetic_ls.ops.agent_status`); nothing is written. With
    ``remote``, the constructs on other machines are listed too, each host
    asked once, in parallel, within its bound
    (:func:`~synthetic_ls.ops.remote_constructs.list_remote`); without
    remote records no host is contacted.
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
    rows: list[ConstructViewJson] = []
    hosts: list[HostListingJson] = []
    if remote and _has_remotes(store):
        from synthetic_ls.ops.remote_constructs import list_remote

        far = list_remote(store)
        hosts = far.hosts
        total += len(far.rows)
        wanted = status.value if isinstance(status, Status) else None
        rows = [r for r in far.rows if (wanted is None or r["status"] == wanted)
                and (template_id is None or r["template_id"] == template_id)]
    return ListResult(
        views(store.repo.worktree, constructs, files, inspect=inspect, agents=found),
        listing.broken,
        total,
        rows,
        hosts,
    )
