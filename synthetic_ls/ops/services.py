"""``services start|stop|restart|status|logs|resume``: a construct's dev services.

One plain function per operation (see :mod:`synthetic_ls.provision.services`
for how a service runs). ``status`` and ``logs`` only read. Starting,
stopping, restarting and resuming are journalled changes of the construct
(:mod:`synthetic_ls.provision.journalled`): each names its services in the
journal and begins a step per service, so that after a ``kill -9`` anywhere
``doctor --fix`` stops what the interrupted change left behind (what it
started, for a start or resume; every service it was to stop, for a stop or
restart): recovery never starts anything. They take a per-construct lock,
not the state lock, so that waiting for a dev server does not hold up other
commands, and two starts of the same services wait for each other.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError
from state_format.protocol import StateStore
from state_format.records import Construct, Service
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.ops.recovery import settle
from synthetic_ls.provision import services as svc
from synthetic_ls.provision.consent_items import of_services
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import Steps, journalled
from synthetic_ls.provision.recoveries import SERVICE_STEP, recover_services
from synthetic_ls.provision.work import Work
from synthetic_ls.runtime import service_logs
from synthetic_ls.runtime.service_process import ServiceError


class ServicePortJson(TypedDict):
    """A port of a service: the variable it is exported as, and its local URL."""

    name: str | None
    port: int
    env: str
    url: str


class ServiceJson(svc.ServiceRecordJson):
    """A service as seen now, with its ports."""

    ports: list[ServicePortJson]


class ServicesJson(TypedDict):
    """``synthetic.services.status|start|stop|restart|resume``: the services, and notes
    for a person (``construct_id`` null: every construct's)."""

    construct_id: str | None
    services: list[ServiceJson]
    notes: list[str]


class ServiceLogsJson(TypedDict):
    """``synthetic.services.logs``: the last lines of a service's log, and its file (``path``
    empty for a construct on another machine: the file is on its host)."""

    construct_id: str
    service: str
    path: str
    lines: list[str]


@dataclass(frozen=True)
class ServiceView:
    """A service record and its state as seen now (``needs_resume`` and so on)."""

    record: Service
    state: str
    ports: list[ServicePortJson] = field(default_factory=list)

    def to_dict(self) -> ServiceJson:
        """``record_dict`` plus ``ports`` (``[{name, port, env, url}]``)."""
        return {**svc.record_dict(self.record, self.state), "ports": self.ports}


@dataclass(frozen=True)
class ServicesResult:
    """Services of one construct (or of all, for ``status`` without REF), and notes."""

    services: list[ServiceView]
    notes: list[str] = field(default_factory=list)
    construct_id: str | None = None

    def to_dict(self) -> ServicesJson:
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
    #: For ``-f`` of a docker service: ``docker logs -f`` of its container (not in JSON).
    follow_argv: list[str] | None = None
    #: The service's type (not in JSON): a compose project's output cannot be followed
    #: here, nor a remote construct's (``remote``: the log is on its host).
    kind: str = "process"

    def to_dict(self) -> ServiceLogsJson:
        """``{"construct_id", "service", "path", "lines"}``."""
        return {
            "construct_id": self.construct_id,
            "service": self.service,
            "path": self.path,
            "lines": list(self.lines),
        }


def _ports_of(store: StateStore, construct_id: str) -> dict[str, list[ServicePortJson]]:
    from synthetic_ls.provision.ports import allocations, env_name

    out: dict[str, list[ServicePortJson]] = {}
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


def views_of(store: StateStore, construct_id: str) -> list[ServiceView]:
    """The construct's services with their state now; reading only."""
    ports = _ports_of(store, construct_id)
    return [
        ServiceView(r, svc.service_state(r), ports.get(r.name, []))
        for r in svc.services_of(store, construct_id)
    ]


@dataclass(frozen=True)
class RemoteServicesResult:
    """The services of a construct on another machine, as its host's ``services status``
    says (its URLs are the host's loopback; ``services open`` forwards them here)."""

    data: dict[str, Any]

    @property
    def states(self) -> list[str]:
        """Each service's state."""
        return [str(s.get("state")) for s in self.data.get("services", [])]

    def to_dict(self) -> ServicesJson:
        """The host's JSON, with this side's ``construct_id``."""
        return self.data  # type: ignore[return-value]


def services_status(
    store: StateStore, ref: str | None = None
) -> ServicesResult | RemoteServicesResult:
    """The services of ``ref`` (or of every construct), with their state; starts nothing.

    A construct on another machine is its host's answer (asked over ssh)."""
    if ref is not None:
        try:
            construct = store.resolve_construct(ref)
        except RecordNotFoundError:
            from synthetic_ls.ops.remote_constructs import find_remote
            from synthetic_ls.ops.remote_reach import remote_services_status

            far = find_remote(store, ref)
            if far is None:
                raise
            return RemoteServicesResult(remote_services_status(store, far))
        return ServicesResult(views_of(store, construct.id), construct_id=construct.id)
    out: list[ServiceView] = []
    for construct_id in sorted({s.construct_id for s in store.list(Service).records}):
        out.extend(views_of(store, construct_id))
    return ServicesResult(out)


def _remote(store: StateStore, ref: str) -> Any:
    """The remote construct record ``ref`` names when no local construct does, else None."""
    try:
        store.resolve_construct(ref)
    except RecordNotFoundError:
        from synthetic_ls.ops.remote_constructs import find_remote

        return find_remote(store, ref)
    return None


def _remote_action(store: StateStore, ref: str, action: str, service: str | None,
                   consent: Consent) -> RemoteServicesResult | None:
    """The host's own ``services ACTION`` when ``ref`` is a remote construct, else None."""
    far = _remote(store, ref)
    if far is None:
        return None
    from synthetic_ls.ops.remote_services import remote_services_action

    return RemoteServicesResult(remote_services_action(store, far, action, service,
                                                       consent=consent))


def _work(ctx: Context, ref: str) -> Work:
    construct, recovery = settle(ctx, ctx.store.resolve_construct(ref))
    if construct is None:
        raise NotFoundError(
            f"construct {ref!r} is gone: {recovery.message() if recovery else 'removed'}",
            code="record-not-found",
        )
    if not construct.workspace_path:
        raise NotFoundError(
            f"construct {construct.id} has no worktree; services run in a worktree",
            code="no-worktree", fields={"construct": construct.id},
        )
    return Work(ctx, construct, ctx.template_of(construct.template_id))


def _configured(work: Work, name: str | None) -> list[Any]:
    """The template's services (one, when ``name`` is given)."""
    template = work.template
    if template is None:
        raise InvalidInputError(
            f"template {work.construct.template_id!r} of construct {work.construct.id} is not in "
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


def _require(work: Work, services: list[Any], doing: str) -> None:
    """Ask (or refuse) before running the services' commands the person has not allowed."""
    if work.template is None or not services:
        return
    items = of_services(work.template.id, work.template, services)
    work.ctx.require_consent(items, doing=f"{doing} services of {work.construct.id}")


def _records(store: StateStore, construct: Construct, name: str | None) -> list[Service]:
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


def _start(
    work: Work, steps: Steps, services: Sequence[Any], *, setup_new: bool
) -> tuple[list[str], list[SyntheticError]]:
    """Start the services that do not run; notes on each, and the failures.

    One service failing does not stop the others: each ends ready or
    failed (and stopped), and the failures are raised once the change is over.
    """
    notes: list[str] = []
    failures: list[SyntheticError] = []
    store, cid = work.store, work.construct.id
    current = {r.name: r for r in svc.services_of(store, cid)}
    from synthetic_ls.provision.ports import allocate, port_requests

    # A template may have gained ports since the construct was made.
    steps.begin("ports")
    allocate(store, cid, port_requests(work.template))
    waits = []
    for service in services:
        record = current.get(service.id)
        if record is not None and svc.service_state(record) in svc.RUNNING_STATUSES:
            notes.append(f"service {service.id} is already running")
            continue
        steps.begin(SERVICE_STEP + service.id)
        if record is not None:
            svc.stop_record(  # leftovers of a dead one
                store, record, work.template, on_start=work.record_group)
        try:
            # Launched together, then waited for: their start-ups overlap.
            waits.append(svc.begin_service(work, service, setup=setup_new and record is None))
        except SyntheticError as exc:
            failures.append(exc)
            continue
        notes.append(f"started service {service.id}")
    for wait in waits:
        try:
            wait()
        except SyntheticError as exc:
            failures.append(exc)
    return notes, failures


def _result(
    work: Work, notes: list[str], failures: Sequence[SyntheticError]
) -> ServicesResult:
    if failures:
        raise failures[0]
    return ServicesResult(views_of(work.store, work.construct.id), notes, work.construct.id)


def _names(services: Sequence[Any]) -> dict[str, str]:
    return {"services": ",".join(s.id for s in services)}


def start_services(
    store: StateStore, ref: str, service: str | None = None, *, consent: Consent = NOBODY
) -> ServicesResult | RemoteServicesResult:
    """Start the construct's services (or one) that are not running, and wait until ready.

    A service started for the first time runs its ``setup`` commands first.
    """
    far = _remote_action(store, ref, "start", service, consent)
    if far is not None:  # a construct on another machine: its host's own
        return far
    work = _work(Context(store, consent=consent), ref)
    services = _configured(work, service)
    _require(work, services, "starting")
    with service_logs.start_lock(store.local_dir, work.construct.id), journalled(
        work, "services-start", facts=_names(services), recover=recover_services
    ) as steps:
        notes, failures = _start(work, steps, services, setup_new=True)
    return _result(work, notes, failures)


def stop_services(
    store: StateStore, ref: str, service: str | None = None, *, consent: Consent = NOBODY
) -> ServicesResult | RemoteServicesResult:
    """Stop the construct's services (or one): ``stop`` command, SIGTERM, SIGKILL."""
    far = _remote_action(store, ref, "stop", service, consent)
    if far is not None:  # a construct on another machine: its host's own
        return far
    work = _work(Context(store, consent=consent), ref)
    records = _records(store, work.construct, service)
    names = {r.name for r in records}
    if work.template is not None:  # only their stop commands run
        stopping = [s for s in work.template.services if s.id in names and getattr(s, "stop", None)]
        _require(work, stopping, "stopping")
    notes: list[str] = []
    facts = {"services": ",".join(r.name for r in records)}
    with service_logs.start_lock(store.local_dir, work.construct.id), journalled(
        work, "services-stop", facts=facts, recover=recover_services
    ) as steps:
        for record in records:
            steps.begin(SERVICE_STEP + record.name)
            notes.extend(svc.stop_record(store, record, work.template, on_start=work.record_group))
        if service is None:  # all of them: what their commands left running goes too
            notes.extend(svc.end_daemons(work.construct.id))
    return _result(work, notes, [])


def restart_services(
    store: StateStore, ref: str, service: str | None = None, *, consent: Consent = NOBODY
) -> ServicesResult | RemoteServicesResult:
    """Stop, then start again (without setup) the construct's services (or one)."""
    far = _remote_action(store, ref, "restart", service, consent)
    if far is not None:  # a construct on another machine: its host's own
        return far
    work = _work(Context(store, consent=consent), ref)
    services = _configured(work, service)
    _require(work, services, "restarting")
    notes: list[str] = []
    with service_logs.start_lock(store.local_dir, work.construct.id), journalled(
        work, "services-restart", facts=_names(services), recover=recover_services
    ) as steps:
        names = {s.id for s in services}
        for record in svc.services_of(store, work.construct.id):
            if record.name in names:
                steps.begin(f"stop:{record.name}")
                notes.extend(
                    svc.stop_record(store, record, work.template, on_start=work.record_group))
        started, failures = _start(work, steps, services, setup_new=True)
    return _result(work, notes + started, failures)


def resume_services(
    store: StateStore, ref: str | None = None, *, consent: Consent = NOBODY
) -> ServicesResult:
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
    failures: list[SyntheticError] = []
    ctx = Context(store, consent=consent)
    for construct_id in targets:
        stale = [v for v in views_of(store, construct_id) if v.state == "needs_resume"]
        if stale:
            work = _work(ctx, construct_id)
            wanted = {v.record.name for v in stale}
            services = [s for s in _configured(work, None) if s.id in wanted]
            _require(work, services, "resuming")
            missing = wanted - {s.id for s in services}
            notes.extend(f"service {m} is no longer in the template; not resumed" for m in missing)
            with service_logs.start_lock(store.local_dir, construct_id), journalled(
                work, "services-resume", facts=_names(services), recover=recover_services
            ) as steps:
                resumed, failed = _start(work, steps, services, setup_new=False)
            notes.extend(n.replace("started", "resumed") for n in resumed)
            failures.extend(failed)
        views.extend(views_of(store, construct_id))
    if failures:
        raise failures[0]
    return ServicesResult(views, notes, ref and targets[0])


def service_logs_tail(
    store: StateStore, ref: str, service: str | None = None, lines: int = 100
) -> LogsResult:
    """The last ``lines`` lines of a service's log (the only service when not named).

    For a construct on another machine, the host's own (``path`` empty: the
    file is there, ``kind`` ``remote``)."""
    far = _remote(store, ref)
    if far is not None:
        from synthetic_ls.ops.remote_services import remote_service_logs

        got = remote_service_logs(far, service, lines)
        return LogsResult(got["construct_id"], got["service"], "", got["lines"], kind="remote")
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
    path = service_logs.log_path(store.local_dir, record.id)
    if record.type != "process":
        # A container's output is docker's: what Synthetic's log holds is how it
        # was started. When docker cannot be asked, that log is what is shown.
        from synthetic_ls.runtime import docker

        printed = docker.container_logs(record, lines)
        if printed is not None:
            return LogsResult(construct.id, record.name, str(path), printed,
                              docker.follow_argv(record), record.type)
    return LogsResult(construct.id, record.name, str(path), service_logs.tail(path, lines))


def follow_log(store: StateStore, logs: LogsResult, offset: int | None) -> tuple[bytes, int]:
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
