"""Starting, stopping, restarting a remote construct's services, and reading their logs.

The services are the host's: its own ``synthetic services start|stop|restart``
runs them, under its own journal and lock, tied to the ssh connection (a
command cut off here ends there too, and the host's ``doctor --fix`` settles
what it left). What they would run is asked about **here**, where the person
is: the host's ``consent-required`` lists the items, the person's yes (or
``--trust``) is remembered on this side, and the host is then allowed
exactly those items by digest (``--trust-items``), as ``new --host`` and the
agent's ``session connect`` do. ``logs`` is the host's ``services logs
--json`` (a read on both machines).
"""

from __future__ import annotations

from typing import Any

from state_format.protocol import StateStore
from state_format.records import RemoteConstruct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.consent.items import RunItem
from synthetic_ls.errors import SyntheticError
from synthetic_ls.provision.context import Context
from synthetic_ls.remote.host_url import parse_url
from synthetic_ls.remote.remote_synthetic import run_json, run_tied

#: The host's services commands that change something, reached from here.
ACTIONS = ("start", "stop", "restart")
_DOING = {"start": "starting", "stop": "stopping", "restart": "restarting"}


def _remote_id(record: RemoteConstruct) -> str:
    if record.remote_id is None:
        raise SyntheticError(f"{record.id} is still being created on host {record.host}",
                             code="operation-in-progress", fields={"construct": record.id})
    return record.remote_id


def _asked_items(exc: SyntheticError) -> list[RunItem]:
    """The items a host's ``consent-required`` lists (none for any other error)."""
    if exc.code != "remote-failed" or exc.fields.get("remote_code") != "consent-required":
        return []
    return [i for i in (RunItem.from_dict(d) for d in exc.fields.get("items") or [])
            if i is not None]


def remote_services_action(store: StateStore, record: RemoteConstruct, action: str,
                           service: str | None = None, *,
                           consent: Consent = NOBODY) -> dict[str, Any]:
    """The host's ``services ACTION --json -- REMOTE_ID [SERVICE]``, its JSON with this side's id.

    Its exit status 1 with JSON is an answer (a service that failed to start
    is in it, with its error).
    """
    if action not in ACTIONS:
        raise ValueError(f"not a services action: {action}")
    remote_id = _remote_id(record)
    url = parse_url(record.url)
    tail = ["--", remote_id, *([] if service is None else [service])]

    def ask(pinned: list[str]) -> dict[str, Any]:
        return run_tied(record.host, url, "services", action, *pinned, *tail, words=2)

    try:
        data = ask([])
    except SyntheticError as exc:
        items = _asked_items(exc)
        if not items:
            raise
        Context(store, consent=consent).require_consent(
            items, doing=f"{_DOING[action]} the services of {record.id} on host {record.host}")
        data = ask(["--trust-items=" + ",".join(sorted({i.digest for i in items}))])
    return services_here(record, data)


def services_here(record: RemoteConstruct, data: dict[str, Any]) -> dict[str, Any]:
    """The host's services JSON with this side's construct id, and a note on the URLs."""
    services = [s for s in data.get("services", []) if isinstance(s, dict)]
    for s in services:
        s["construct_id"] = record.id
    notes = [str(n) for n in data.get("notes", [])]
    if any(s.get("ports") for s in services):
        notes.append(f"the URLs are on host {record.host}'s loopback; `synthetic services "
                     f"open {record.id}` forwards them to this machine")
    return {"construct_id": record.id, "services": services, "notes": notes}


def remote_service_logs(record: RemoteConstruct, service: str | None,
                        lines: int) -> dict[str, Any]:
    """The host's ``services logs --json``: its last lines, with this side's id and no
    ``path`` (the file is on the host; a client shows the lines)."""
    remote_id = _remote_id(record)
    data = run_json(record.host, parse_url(record.url), "services", "logs",
                    f"--lines={max(0, lines)}", "--", remote_id,
                    *([] if service is None else [service]), words=2)
    return {"construct_id": record.id, "service": str(data.get("service") or service or ""),
            "path": "", "lines": [str(x) for x in data.get("lines") or []]}
