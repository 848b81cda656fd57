"""``synthetic ports``: every allocated port of the repository, and whether it is in use."""

from __future__ import annotations

from dataclasses import dataclass

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct, PortAllocation
from synthetic_ls.provision.ports import PortJson, allocations, port_dict, port_is_free


class ListedPortJson(PortJson):
    """An allocated port with its construct's name (null: the construct is gone)."""

    construct_name: str | None


class PortsJson(TypedDict):
    """``synthetic.ports.list``: the allocated ports, probed now (``in_use``)."""

    ports: list[ListedPortJson]


@dataclass(frozen=True)
class PortsResult:
    """The allocations, by port, each with its construct's name and ``in_use``."""

    ports: list[ListedPortJson]

    def to_dict(self) -> PortsJson:
        """``{"ports": [{construct_id, construct_name, service, name, port, env, allocated_at,
        in_use}]}``."""
        return {"ports": list(self.ports)}


def list_ports(store: StateStore, ref: str | None = None) -> PortsResult:
    """Allocated ports (of one construct, or all), probed now with a bind test; changes nothing.

    ``in_use`` is true when something listens on the port (the service, or
    anything else that took it meanwhile).
    """
    construct_id = store.resolve_construct(ref).id if ref else None
    names = {c.id: c.name for c in store.list(Construct).records}
    out: list[ListedPortJson] = []
    for record in allocations(store, construct_id):
        row = port_dict(record, in_use=not port_is_free(record.port))
        out.append({**row, "construct_name": names.get(record.construct_id)})
    return PortsResult(out)


__all__ = ["PortAllocation", "PortsResult", "list_ports"]
