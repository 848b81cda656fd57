"""``services start|stop|restart|status|logs|resume``: a construct's dev services.

One plain function per operation (see :mod:`synthetic_ls.provision.services`
for how a service runs). Starting and stopping take a per-construct lock,
not the state lock, so that waiting for a dev server does not hold up other
commands, and two starts of the same services wait for each other.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from state_format.records import Construct, Service
from state_format.store import Store
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError
from synthetic_ls.ops.recovery import job_for, settle
from synthetic_ls.provision import services as svc
from synthetic_ls.runtime import service_logs
from synthetic_ls.runtime.service_process import ServiceError

if TYPE_CHECKING:
    from synthetic_ls.provision.job import Job


@dataclass(frozen=True)
class ServiceView:
    """A service record and its state as seen now (``needs_resume`` and so on)."""

    record: Service
    state: str
    ports: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``record_dict`` plus ``ports`` (``[{name, port, env, url}]``)."""
        return {**svc.record_dict(self.record, self.state), "ports": self.ports}


@dataclass(frozen=True)
class ServicesResult:
    """Services of one construct (or of all, for ``status`` without REF), and notes."""

    services: list[ServiceView]
    notes: list[str] = field(default_factory=list)
    construct_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"construct_id", "services": [...], "notes": [...]}``."""
        return {
            "construct_id": self.construct_id,
            "services": [s.to_dict() for s in self.services],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LogsResult:
    """The last lines of a service's log and where the log is."""

    construct_id: str
    service: str
    path: str
    lines: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{"construct_id", "service", "path", "lines"}``."""
        return {
            "construct_id": self.construct_id,
            "service": self.service,
            "path": self.path,
            "lines": list(self.lines),
        }


def _ports_of(store: Store, construct_id: str) -> dict[str, list[dict[str, Any]]]:
    from synthetic_ls.provision.ports import allocations, env_name

    out: dict[str, list[dict[str, Any]]] = {}
    for record in allocations(store, construct_id):
        out.setdefault(record.service_name, []).append(
            {
                "name": record.name,
                "port": record.port,
                "env": env_name(record.service_name, record.name, record.env),
                "url": f"http://127.0.0.1:{record.port}",
            }
        )
    return out


def views_of(store: Store, construct_id: str) -> list[ServiceView]:
    """The construct's services with their state now; reading only."""
    ports = _ports_of(store, construct_id)
    return [
        ServiceView(r, svc.service_state(r), ports.get(r.name, []))
        for r in svc.services_of(store, construct_id)
    ]


def services_status(store: Store, ref: str | None = None) -> ServicesResult:
    """The services of ``ref`` (or of every construct), with their state; starts nothing."""
    if ref is not None:
        construct = store.resolve_construct(ref)
        return ServicesResult(views_of(store, construct.id), construct_id=construct.id)
    out: list[ServiceView] = []
    for construct_id in sorted({s.construct_id for s in store.list(Service).records}):
        out.extend(views_of(store, construct_id))
    return ServicesResult(out)


def _job(store: Store, ref: str) -> Job:
    construct, recovery = settle(store, store.resolve_construct(ref))
    if construct is None:
        raise NotFoundError(
            f"construct {ref!r} is gone: {recovery.message() if recovery else 'removed'}"
        )
    if not construct.workspace_path:
        raise ConflictError(
            f"construct {construct.id} has no worktree; services run in a worktree",
            code="no-worktree",
        )
    return job_for(store, construct)


def _configured(job: Job, name: str | None) -> list[Any]:
    """The template's services (one, when ``name`` is given)."""
    template = job.template
    if template is None:
        raise InvalidInputError(
            f"template {job.construct.template_id!r} of construct {job.construct.id} is not in "
            "the config (or the config has errors); its services cannot be started",
            code="unknown-template",
        )
    services = list(template.services)
    if name is None:
        return services
    found = [s for s in services if s.id == name]
    if not found:
        names = [s.id for s in services]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NotFoundError(
            f"template {template.id} has no service {name!r} "
            f"(services: {', '.join(names) or 'none'}){hint}",
            code="unknown-service",
        )
    return found


def _records(store: Store, construct: Construct, name: str | None) -> list[Service]:
    records = svc.services_of(store, construct.id)
    if name is None:
        return records
    found = [r for r in records if r.name == name]
    if not found:
        names = ", ".join(r.name for r in records) or "none"
        raise NotFoundError(
            f"construct {construct.id} has no service {name!r} (services: {names})",
            code="unknown-service",
        )
    return found


def _start(job: Job, services: Sequence[Any], *, setup_new: bool) -> list[str]:
    """Start the services that do not run; notes say what happened to each."""
    notes: list[str] = []
    current = {r.name: r for r in svc.services_of(job.store, job.construct.id)}
    from synthetic_ls.provision.ports import allocate, port_requests

    # A template may have gained ports since the construct was made.
    allocate(job.store, job.construct.id, port_requests(job.template))
    waits = []
    for service in services:
        record = current.get(service.id)
        if record is not None and svc.service_state(record) in svc.RUNNING_STATUSES:
            notes.append(f"service {service.id} is already running")
            continue
        if record is not None:
            svc.stop_record(job.store, record, job.template)  # leftovers of a dead one
        # Launched together, then waited for: their start-ups overlap.
        waits.append(svc.begin_service(job, service, setup=setup_new and record is None))
        notes.append(f"started service {service.id}")
    for wait in waits:
        wait()
    return notes


def start_services(store: Store, ref: str, service: str | None = None) -> ServicesResult:
    """Start the construct's services (or one) that are not running, and wait until ready.

    A service started for the first time runs its ``setup`` commands first.
    """
    job = _job(store, ref)
    services = _configured(job, service)
    with service_logs.start_lock(store.root, job.construct.id):
        notes = _start(job, services, setup_new=True)
    return ServicesResult(views_of(store, job.construct.id), notes, job.construct.id)


def stop_services(store: Store, ref: str, service: str | None = None) -> ServicesResult:
    """Stop the construct's services (or one): ``stop`` command, SIGTERM, SIGKILL."""
    job = _job(store, ref)
    records = _records(store, job.construct, service)
    notes: list[str] = []
    with service_logs.start_lock(store.root, job.construct.id):
        for record in records:
            notes.extend(svc.stop_record(store, record, job.template))
    return ServicesResult(views_of(store, job.construct.id), notes, job.construct.id)


def restart_services(store: Store, ref: str, service: str | None = None) -> ServicesResult:
    """Stop, then start again (without setup) the construct's services (or one)."""
    job = _job(store, ref)
    services = _configured(job, service)
    notes: list[str] = []
    with service_logs.start_lock(store.root, job.construct.id):
        names = {s.id for s in services}
        for record in svc.services_of(store, job.construct.id):
            if record.name in names:
                notes.extend(svc.stop_record(store, record, job.template))
        notes.extend(_start(job, services, setup_new=True))
    return ServicesResult(views_of(store, job.construct.id), notes, job.construct.id)


def resume_services(store: Store, ref: str | None = None) -> ServicesResult:
    """Start again every service whose record says running but whose process is gone.

    For one construct, or for all of them; after a reboot this brings the
    dev servers back on the same ports. Setup commands do not run again.
    """
    if ref is not None:
        targets = [store.resolve_construct(ref).id]
    else:
        targets = sorted({s.construct_id for s in store.list(Service).records})
    notes: list[str] = []
    views: list[ServiceView] = []
    for construct_id in targets:
        stale = [v for v in views_of(store, construct_id) if v.state == "needs_resume"]
        if stale:
            job = _job(store, construct_id)
            wanted = {v.record.name for v in stale}
            services = [s for s in _configured(job, None) if s.id in wanted]
            missing = wanted - {s.id for s in services}
            notes.extend(f"service {m} is no longer in the template; not resumed" for m in missing)
            with service_logs.start_lock(store.root, construct_id):
                notes.extend(
                    n.replace("started", "resumed") for n in _start(job, services, setup_new=False)
                )
        views.extend(views_of(store, construct_id))
    return ServicesResult(views, notes, ref and targets[0])


def service_logs_tail(
    store: Store, ref: str, service: str | None = None, lines: int = 100
) -> LogsResult:
    """The last ``lines`` lines of a service's log (the only service when not named)."""
    construct = store.resolve_construct(ref)
    records = _records(store, construct, service)
    if not records:
        raise NotFoundError(f"construct {construct.id} has no services", code="unknown-service")
    if len(records) > 1:
        names = ", ".join(r.name for r in records)
        raise InvalidInputError(
            f"construct {construct.id} has several services ({names}); name one",
            code="which-service",
        )
    record = records[0]
    # The path comes from the id, never from the record: a hand-edited `log`
    # must not make Synthetic read some other file.
    path = service_logs.log_path(store.root, record.id)
    return LogsResult(construct.id, record.name, str(path), service_logs.tail(path, lines))


def follow_log(store: Store, logs: LogsResult, offset: int | None) -> tuple[bytes, int]:
    """New bytes of the log ``logs`` names since ``offset`` (None: its end now), for ``-f``."""
    path = Path(logs.path)  # made from the record id by service_logs_tail
    if offset is None:
        return b"", service_logs.size(path)
    return service_logs.read_from(path, offset)


__all__ = [
    "LogsResult",
    "ServiceError",
    "ServicesResult",
    "resume_services",
    "service_logs_tail",
    "services_status",
    "start_services",
    "stop_services",
]
