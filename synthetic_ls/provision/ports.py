"""The ports resource: free TCP ports for a construct's services, one record per port.

A template asks for ports in two places: a service's ``ports`` (``{name,
preferred, env, container}``, or docker's ``"HOST:CONTAINER"`` strings) and
the older template-level ``ports`` (``{name, preferred|port, service}``).
Each request gets a port that is

* free on the host right now: a bind test on 127.0.0.1 and on the wildcard
  address (IPv4, and IPv6 where the host has it), as the dev server will bind
  one or the other;
* not allocated to any construct (this one included) in the state folder:
  allocation reads every ``port_allocations/`` record and writes the new ones
  under the state lock, so many processes allocating at once never get the
  same port;
* the request's ``preferred`` port when that is free, else the next free one
  above it (what dev servers themselves do: 3000 taken, 3001), else a free
  port from :data:`RANGE`.

Each port is exported to the services as an environment variable
(:func:`env_name`). Ports stay allocated while the construct exists, also
when its services are stopped, so a restart gets the same URL; they are
released with the construct.
"""

from __future__ import annotations

import errno
import random
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError
from state_format.ids import is_valid_id, slugify
from state_format.protocol import StateStore
from state_format.records import PortAllocation, format_timestamp, utc_now
from synthetic_ls.errors import SyntheticError
from synthetic_ls.provision.lifecycle import Made, PlanItem, Resource

if TYPE_CHECKING:
    from synthetic_ls.config import Template
    from synthetic_ls.provision.work import Creation, Release, Work

#: Where a port without a usable preference comes from: below Linux's
#: ephemeral range (32768-60999), so outgoing connections do not take it
#: between allocation and the service's bind.
RANGE = (20000, 32767)
#: How far above ``preferred`` to look before falling back to :data:`RANGE`.
PREFERRED_SPAN = 100


@dataclass(frozen=True)
class PortSpec:
    """One port request of a template, normalised."""

    service: str
    name: str | None
    preferred: int | None
    #: The variable the request names (None: the default, see :func:`env_name`).
    env: str | None
    container: int | None = None

    def key(self) -> tuple[str, str | None]:
        """What identifies the request within a construct."""
        return (self.service, self.name)

    @property
    def variable(self) -> str:
        """The variable the port is exported as."""
        return env_name(self.service, self.name, self.env)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for plans."""
        return {
            "service": self.service,
            "name": self.name,
            "preferred": self.preferred,
            "env": self.variable,
            "container": self.container,
        }


_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def _upper(text: str) -> str:
    return _NON_WORD.sub("_", text).strip("_").upper() or "SERVICE"


def env_name(service: str, name: str | None, given: str | None) -> str:
    """The variable a port is exported as to every service of the construct.

    The request's own ``env`` when it names one; else ``<SERVICE>_PORT`` for
    a service's only port and ``<SERVICE>_<NAME>_PORT`` when it has several.
    A service also sees its first port as ``PORT`` when that request names
    no variable (:func:`service_port_env`).
    """
    if given:
        return given
    if not name:
        return f"{_upper(service)}_PORT"
    return f"{_upper(service)}_{_upper(name)}_PORT"


def port_requests(template: Template | None) -> list[PortSpec]:
    """Every port request of ``template``, services' first, then the template's."""
    if template is None:
        return []
    out: list[PortSpec] = []
    seen: set[tuple[str, str | None]] = set()
    for service in template.services:
        requests = list(getattr(service, "ports", []) or [])
        for req in requests:
            spec = PortSpec(
                service=service.id,
                # A service's only port is known by the service alone.
                name=req.name if len(requests) > 1 else None,
                preferred=req.preferred,
                env=req.env,
                container=req.container,
            )
            if spec.key() not in seen:
                seen.add(spec.key())
                out.append(spec)
    for tport in template.ports:
        owner = tport.service or tport.name
        key = (owner, tport.name if tport.service else None)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            PortSpec(
                service=owner,
                name=key[1],
                preferred=tport.preferred_port,
                env=None,
            )
        )
    return out


# -- probing ------------------------------------------------------------------------


def _can_bind(family: socket.AddressFamily, host: str, port: int) -> bool | None:
    """True if ``host:port`` can be bound now; None when the family is not available."""
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        # As servers do: a port whose old connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        return True
    except OSError as exc:
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return None  # no such address here (no IPv6): not a sign the port is taken
        return False
    finally:
        sock.close()


def port_is_free(port: int) -> bool:
    """Whether nothing on this host listens on ``port`` (loopback or wildcard, v4 or v6)."""
    probes = (
        (socket.AF_INET, "127.0.0.1"),
        (socket.AF_INET, "0.0.0.0"),
        (socket.AF_INET6, "::1"),
        (socket.AF_INET6, "::"),
    )
    return all(_can_bind(family, host, port) is not False for family, host in probes)


def _candidates(preferred: int | None, rng: random.Random) -> Iterable[int]:
    if preferred is not None:
        yield from range(preferred, min(65535, preferred + PREFERRED_SPAN) + 1)
    # From a random point of the range onwards (wrapping): constructs made at
    # the same time start far apart, and no list of 12,768 ports is shuffled.
    low, high = RANGE
    first = rng.randrange(low, high + 1)
    yield from range(first, high + 1)
    yield from range(low, first)


class NoFreePortError(SyntheticError):
    """No free port could be found for a request."""

    code = "no-free-port"


def pick_port(preferred: int | None, taken: set[int], rng: random.Random | None = None) -> int:
    """A port free on the host and not in ``taken``; ``preferred`` (or just above) first."""
    rng = rng or random.Random()
    for port in _candidates(preferred, rng):
        if port not in taken and port_is_free(port):
            return port
    raise NoFreePortError(f"no free TCP port found (preferred: {preferred})")


# -- records --------------------------------------------------------------------------


def allocations(store: StateStore, construct_id: str | None = None) -> list[PortAllocation]:
    """Port records (of one construct, or all), by port; broken files are skipped."""
    found = store.list(PortAllocation).records
    if construct_id is not None:
        found = [a for a in found if a.construct_id == construct_id]
    return sorted(found, key=lambda a: (a.port, a.id))


def _record_id(store: StateStore, construct_id: str, spec: PortSpec) -> str:
    wanted = f"{construct_id}-{slugify(spec.service, 20)}"
    if spec.name:
        wanted += f"-{slugify(spec.name, 20)}"
    wanted += "-port"
    if is_valid_id(wanted) and wanted not in store.list_ids(PortAllocation):
        return wanted
    return store.new_id(PortAllocation, f"{construct_id}-port")


def allocate(
    store: StateStore, construct_id: str, specs: Sequence[PortSpec]
) -> list[PortAllocation]:
    """Allocate a port for every request of ``specs`` not allocated yet; all of them back.

    Runs under the state lock: the ports of every construct are read, and
    the new records written, before anyone else may allocate.
    """
    with store.lock():
        every = allocations(store)
        mine = {(a.service_name, a.name): a for a in every if a.construct_id == construct_id}
        taken = {a.port for a in every}
        out: list[PortAllocation] = []
        for spec in specs:
            existing = mine.get(spec.key())
            if existing is not None:
                out.append(existing)
                continue
            port = pick_port(spec.preferred, taken)
            taken.add(port)
            record = PortAllocation(
                id=_record_id(store, construct_id, spec),
                construct_id=construct_id,
                service_name=spec.service,
                name=spec.name,
                env=spec.env,
                port=port,
                allocated_at=utc_now(),
            )
            store.create(record)
            out.append(record)
        return out


def release(store: StateStore, construct_id: str) -> list[str]:
    """Delete the construct's port records; notes name the ports released."""
    notes = []
    with store.lock():
        for record in allocations(store, construct_id):
            try:
                store.delete(PortAllocation, record.id)
            except RecordNotFoundError:
                continue
            notes.append(f"released port {record.port} ({record.service_name})")
    return notes


def port_env(records: Iterable[PortAllocation]) -> dict[str, str]:
    """The port variables every service and setup command of the construct sees."""
    return {env_name(r.service_name, r.name, r.env): str(r.port) for r in records}


def service_port_env(records: Iterable[PortAllocation], service: str) -> dict[str, str]:
    """``PORT`` for ``service``: its first port, when that request names no variable."""
    own = [r for r in records if r.service_name == service]
    if own and own[0].env is None:
        return {"PORT": str(own[0].port)}
    return {}


@dataclass(frozen=True)
class PortsMade:
    """The construct's port allocations, by port."""

    ports: tuple[PortAllocation, ...]


class PortsResource(Resource[PortsMade]):
    """The template's port requests, each a real free port recorded for this construct."""

    name = "ports"
    title = "allocating ports"

    def wanted(self, work: Creation) -> bool:
        """When the template asks for ports."""
        return bool(port_requests(work.template))

    def plan(self, work: Creation) -> PlanItem:
        """The requests, with their preferred ports and variables; nothing is probed."""
        specs = port_requests(work.template)
        names = ", ".join(
            s.variable + (f" (preferred {s.preferred})" if s.preferred else "") for s in specs
        )
        return PlanItem(
            self.name,
            f"allocate {len(specs)} port(s): {names}",
            {"ports": [s.to_dict() for s in specs]},
        )

    def provision(self, work: Creation) -> Made[PortsMade]:
        """Allocate them."""
        records = allocate(work.store, work.construct.id, port_requests(work.template))
        return Made(PortsMade(tuple(records)))

    def undo(self, work: Work) -> list[str]:
        """Release what was allocated."""
        return release(work.store, work.construct.id)

    def release(self, work: Release) -> list[str]:
        """Release the construct's ports."""
        return release(work.store, work.construct.id)


class PortJson(TypedDict):
    """An allocated port: ``env`` is the variable it is exported as; ``in_use`` is null
    unless probed (``synthetic ports``)."""

    construct_id: str
    service: str
    name: str | None
    port: int
    env: str
    allocated_at: str
    in_use: bool | None


def port_dict(record: PortAllocation, in_use: bool | None = None) -> PortJson:
    """JSON form of an allocation: ``{construct_id, service, name, port, env, in_use}``."""
    return {
        "construct_id": record.construct_id,
        "service": record.service_name,
        "name": record.name,
        "port": record.port,
        "env": env_name(record.service_name, record.name, record.env),
        "allocated_at": format_timestamp(record.allocated_at),
        "in_use": in_use,
    }
