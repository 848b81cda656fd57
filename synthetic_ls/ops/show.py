"""Showing one construct: ``synthetic show`` and ``synthetic.construct.show``, with its
services, ports and the recorded results of its checks.

Kept apart from :mod:`synthetic_ls.ops.constructs` (which re-exports it) so
that showing a construct loads only what reading one needs: the operations,
their resources and recovery (the config reader, pygit2, the service
supervisor) are not imported to read one record. The agent poll, the
worktree's state and the services are imported only for a construct that
has them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct, PortAllocation, Service
from synthetic_ls.ops.views import ConstructResult, views

if TYPE_CHECKING:
    from synthetic_ls.ops.services import ServiceJson
    from synthetic_ls.provision.ports import PortJson


def show_construct(store: StateStore, ref: str, *, with_size: bool = False) -> ConstructResult:
    """The construct ``ref`` names (id, exact name or unique id prefix), with its worktree."""
    construct = store.resolve_construct(ref)
    file = store.location(Construct, construct.id)
    agents = {}
    if construct.opencode_session_id:
        # The poll asks the running OpenCode server (if any): only a construct
        # with a session needs it.
        from synthetic_ls.ops.agent_status import overlay
        from synthetic_ls.provision.context import Context

        poll = overlay(Context(store), [construct])
        construct, agents = poll.constructs[0], poll.agents
    view = views(store.repo.worktree, [construct], [file], with_size=with_size, agents=agents)[0]
    from synthetic_ls.ops.check_results import recorded_checks

    extra = {**services_and_ports(store, construct.id), "checks": recorded_checks(construct)}
    return ConstructResult(view, extra=tuple(extra.items()))


class _ServicesAndPorts(TypedDict):
    services: list[ServiceJson]
    ports: list[PortJson]


def services_and_ports(store: StateStore, construct_id: str) -> _ServicesAndPorts:
    """``{"services": [...], "ports": [...]}`` of a construct, as ``show`` adds them."""
    if not store.list_ids(Service) and not store.list_ids(PortAllocation):
        # No service or port records at all (file names only): nothing to
        # show, and the service supervisor's modules need not be loaded.
        return {"services": [], "ports": []}
    from synthetic_ls.ops.services import views_of
    from synthetic_ls.provision.ports import allocations, port_dict

    return {
        "services": [v.to_dict() for v in views_of(store, construct_id)],
        "ports": [port_dict(p) for p in allocations(store, construct_id)],
    }
