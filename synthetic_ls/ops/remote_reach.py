"""Reaching a construct on another machine: its agent and its services, through forwards.

The host's OpenCode server and the construct's services listen on the
host's loopback only. The host's own Synthetic says how to reach the agent
(``synthetic session connect REF --json``, plumbing run over ssh: the
server's port and password, the session, its directory); a local forward
over the person's ssh (:mod:`synthetic_ls.remote.forward`) then reaches the
port, so every session operation runs unchanged against
``http://127.0.0.1:<local port>``. The password travels over the ssh
channel only and is kept in memory: nothing here writes it.

An operation on the agent (``session send``, ``approve`` ...) opens the
shared, recorded forward to the host's server (ended when the host's last
remote construct goes, or by ``doctor --fix``). A read (``log``,
``permissions``, ``watch``) uses that forward when it answers, else a
forward of its own that ends with the read, so that a read leaves no state
and no process behind. ``services open`` forwards each port of a service
(recorded with the construct, closed when it is removed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import RemoteConstruct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.consent.items import RunItem
from synthetic_ls.errors import NotFoundError, SyntheticError
from synthetic_ls.opencode.server import START_TIMEOUT, ServerInfo
from synthetic_ls.ops.session_target import NoSessionError, SessionTarget
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.session import AgentSpec
from synthetic_ls.remote import forward as fwd
from synthetic_ls.remote.host_url import parse_url
from synthetic_ls.remote.remote_synthetic import run_json
from synthetic_ls.remote.ssh import CALL_TIMEOUT

#: Seconds the host may take to say how to reach its agent (it may start its server first).
CONNECT_TIMEOUT = START_TIMEOUT + CALL_TIMEOUT


def _created(record: RemoteConstruct) -> str:
    """The host's id of the construct; ``operation-in-progress`` while it is being made."""
    if record.remote_id is None:
        raise SyntheticError(f"{record.id} is still being created on host {record.host}",
                             code="operation-in-progress", fields={"construct": record.id})
    return record.remote_id


def ask_connect(record: RemoteConstruct, *, start: bool,
                allowed: list[RunItem] | None = None) -> dict[str, Any]:
    """The host's ``session connect --json`` of the construct (with ``--read`` unless
    ``start``; ``allowed`` pins ``--trust-items``): its server's port, password, session."""
    pinned = ([] if allowed is None else
              ["--trust-items=" + ",".join(sorted({i.digest for i in allowed}))])
    args = ["session", "connect", *([] if start else ["--read"]), *pinned, "--",
            _created(record)]
    return run_json(record.host, parse_url(record.url), *args, timeout=CONNECT_TIMEOUT,
                    words=2)


def _connection(store: StateStore, record: RemoteConstruct, *, start: bool,
                consent: Consent) -> dict[str, Any]:
    """The host's answer to ``session connect``, consent asked here first when it needs it.

    What OpenCode would load from the host's worktree is asked about on this
    side (the person is here); only then is the host allowed exactly those
    items (``--trust-items``, by digest), as ``new --host`` does. A read never
    consents: it fails as the host says.
    """
    try:
        return ask_connect(record, start=start)
    except SyntheticError as exc:
        if (not start or exc.code != "remote-failed"
                or exc.fields.get("remote_code") != "consent-required"):
            raise
        items = [i for i in (RunItem.from_dict(d) for d in exc.fields.get("items") or [])
                 if i is not None]
        if not items:
            raise
    Context(store, consent=consent).require_consent(
        items, doing=f"reaching the agent of {record.id} on host {record.host}")
    return ask_connect(record, start=start, allowed=items)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def remote_target(store: StateStore, record: RemoteConstruct, *, start: bool = True,
                  consent: Consent = NOBODY) -> SessionTarget:
    """The session of a remote construct, its server reached through a forward.

    ``start`` (an operation on the agent) may start the host's server and
    opens the shared forward; a read starts nothing on the host and uses
    the shared forward when it answers, else one of its own (ended when the
    target's client is closed).
    """
    data = _connection(store, record, start=start, consent=consent)
    session_id, directory, port = (_text(data, "session_id"), _text(data, "directory"),
                                   data.get("port"))
    if session_id is None or directory is None or not isinstance(port, int):
        raise NoSessionError(f"construct {record.id} on host {record.host} has no agent "
                             "session", fields={"construct": record.id})
    release = None
    if start:
        forward = fwd.open_forward(store.local_dir, record.host, record.url, port)
        _close_moved(store, record.host, port)
    else:
        found = fwd.read_forward(store.local_dir, record.host, port)
        if found is not None and fwd.usable(found, record.url) and found.construct is None:
            forward = found
        else:
            forward, release = fwd.transient_forward(record.host, record.url, port)
    server = ServerInfo(forward.url, _text(data, "password"), managed=False)
    spec = AgentSpec(_text(data, "provider_id"), _text(data, "model_id"),
                     _text(data, "agent_id"))
    return SessionTarget(record.id, session_id, directory, server, spec, None,
                         release=release, host=record.host)


def _close_moved(store: StateStore, host: str, port: int) -> None:
    """Close forwards to the host's former OpenCode server: it listens on ``port`` now
    (a restarted server takes a new port), so they lead nowhere."""
    for stale in fwd.recorded_forwards(store.local_dir):
        if stale.host == host and stale.construct is None and stale.remote_port != port:
            fwd.close_forward(store.local_dir, host, stale.remote_port)


# -- services -----------------------------------------------------------------------------


class ServiceForwardJson(TypedDict):
    """A port of a service on the host, reached here: ``url`` is this machine's."""

    service: str
    name: str | None
    env: str
    remote_port: int
    url: str


class ServicesOpenJson(TypedDict):
    """``synthetic.services.open``: each port of the services, forwarded to this machine's
    loopback (``forwards``; ``url`` opens the service here)."""

    construct_id: str
    host: str
    forwards: list[ServiceForwardJson]


@dataclass(frozen=True)
class ServicesOpened:
    """The forwards made (or reused) to a remote construct's services."""

    construct_id: str
    host: str
    forwards: list[ServiceForwardJson] = field(default_factory=list)

    def to_dict(self) -> ServicesOpenJson:
        """The fields, as JSON."""
        return {"construct_id": self.construct_id, "host": self.host,
                "forwards": list(self.forwards)}


def remote_services_status(store: StateStore, record: RemoteConstruct) -> dict[str, Any]:
    """The host's ``services status --json`` of the construct (a read on both machines), with
    this side's id; its URLs are the host's loopback (``services open`` reaches them here)."""
    from synthetic_ls.ops.remote_services import services_here

    remote_id = _created(record)
    # Its exit status 1 says a service needs attention: an answer still.
    data = run_json(record.host, parse_url(record.url), "services", "status", "--", remote_id,
                    words=2, statuses=(0, 1))
    return services_here(record, data)


def open_services(store: StateStore, ref: str, service: str | None = None) -> ServicesOpened:
    """Forward every port of the remote construct's services (or of ``service``) to this
    machine's loopback: a change (recorded forwards, closed when the construct goes)."""
    record = store.resolve(RemoteConstruct, ref)
    status = remote_services_status(store, record)
    services = [s for s in status["services"] if service is None or s.get("name") == service]
    if service is not None and not services:
        raise NotFoundError(f"{record.id} on host {record.host} has no service {service!r}",
                            fields={"construct": record.id, "service": service})
    out: list[ServiceForwardJson] = []
    for s in services:
        for port in s.get("ports") or []:
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                continue
            made = fwd.open_forward(store.local_dir, record.host, record.url, port["port"],
                                    construct=record.id)
            out.append({"service": str(s.get("name")), "name": port.get("name"),
                        "env": str(port.get("env") or ""), "remote_port": port["port"],
                        "url": made.url})
    return ServicesOpened(record.id, record.host, out)


# -- releasing -----------------------------------------------------------------------------


def release_forwards(store: StateStore, record: RemoteConstruct) -> list[str]:
    """Close the forwards a remote construct no longer needs once it is gone: its services',
    and the host's agent server's when no other remote construct of that host is left."""
    others = [r for r in store.list(RemoteConstruct).records
              if r.id != record.id and r.host == record.host]
    notes = []
    for found in fwd.recorded_forwards(store.local_dir):
        if found.host != record.host:
            continue
        if found.construct == record.id or (found.construct is None and not others):
            fwd.close_forward(store.local_dir, found.host, found.remote_port)
            notes.append(f"closed the forward to port {found.remote_port} of host {found.host}")
    return notes


def orphan_forwards(store: StateStore) -> list[tuple[fwd.Forward, str]]:
    """Forwards nothing needs (a read): their ssh is gone, or no remote construct they serve
    is left. Each with why."""
    from state_format.owner import Liveness

    records = list(store.list(RemoteConstruct).records)
    ids = {r.id for r in records}
    hosts = {r.host for r in records}
    out = []
    for found in fwd.recorded_forwards(store.local_dir):
        if found.owner.liveness() is Liveness.DEAD:
            out.append((found, "its ssh process is gone"))
        elif found.construct is not None and found.construct not in ids:
            out.append((found, f"the remote construct {found.construct} is gone"))
        elif found.construct is None and found.host not in hosts:
            out.append((found, f"no remote construct on host {found.host} is left"))
    return out
