"""The services resource: a construct's dev services, started, supervised, stopped.

Creation runs the template's ``setup`` commands in the worktree, then for
each service its own ``setup`` and its ``run`` (``process``), a container
(``docker``) or a compose project (``compose``), and waits until each is
ready. Removal stops them, runs the template's ``teardown`` commands and
removes containers, records and logs. One ``services/<id>.toml`` record per
service keeps what runs (command, cwd, the environment the config added,
pid and process start time, log file); its ``status`` is what Synthetic last
did (``starting``, ``ready``, ``stopped``, ``failed``). What a person sees
(:func:`service_state`) also looks at the process: a ``ready`` service whose
process is gone (a crash, a reboot) shows as ``needs_resume``.

Nothing here runs unless a person asked for the construct to be created
or its services started: reading a state never starts or stops anything.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError, StateAccessError, StateError
from state_format.ids import is_valid_id, slugify
from state_format.protocol import StateStore
from state_format.records import Construct, PortAllocation, Service, format_timestamp, utc_now
from synthetic_ls.errors import InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.provision.lifecycle import Finding, Made, PlanItem, Resource, Subject
from synthetic_ls.provision.ports import allocations, port_env, port_requests, service_port_env
from synthetic_ls.runtime import docker as docker_services
from synthetic_ls.runtime import service_logs, service_process, tagged
from synthetic_ls.runtime.service_process import ServiceError

if TYPE_CHECKING:
    from synthetic_ls.config.schema import ComposeService, DockerService, ProcessService, Template
    from synthetic_ls.provision.work import Creation, Release, Survey, Work

    ConfigService = ProcessService | DockerService | ComposeService

#: Statuses meaning "it should be running".
RUNNING_STATUSES = ("starting", "ready")


# -- names ----------------------------------------------------------------------------


def record_id(construct_id: str, service_id: str) -> str:
    """The id of a service's record (and log): ``<construct id>-<service slug>``."""
    candidate = f"{construct_id}-{slugify(service_id, 30)}"
    return candidate if is_valid_id(candidate) else f"{construct_id[:40]}-{slugify(service_id, 30)}"


def setup_log(store: StateStore, construct_id: str) -> Path:
    """The log of the template's setup and teardown commands."""
    return service_logs.prepare(store.local_dir, f"{construct_id}--setup")


def services_of(store: StateStore, construct_id: str) -> list[Service]:
    """The service records of one construct, in name order."""
    records = [s for s in store.list(Service).records if s.construct_id == construct_id]
    return sorted(records, key=lambda s: s.name)


def _worktree(construct: Construct) -> Path:
    if not construct.workspace_path:
        raise NotFoundError(
            f"construct {construct.id} has no worktree; services run in a worktree",
            code="no-worktree",
        )
    return Path(construct.workspace_path)


# -- environment ------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """What a command runs with: the full environment, and the part the config added."""

    full: dict[str, str]
    added: dict[str, str]


def environment(
    construct: Construct,
    template: Template | None,
    ports: Sequence[PortAllocation],
    service: ConfigService | None = None,
) -> Environment:
    """The environment of a setup command (no ``service``) or of a service.

    This process's environment, then the port variables, the template's
    ``env``, the service's ``env`` (later wins) and ``SYNTHETIC_CONSTRUCT_ID``
    / ``SYNTHETIC_CONSTRUCT_DIR``. ``process.env.X`` references are resolved
    now (an unset one without default is an error), then ``${env.X}`` and
    ``${constructDir}`` in the values.
    """
    base = dict(os.environ)
    cdir = construct.workspace_path or ""
    added: dict[str, str] = dict(port_env(ports))
    if service is not None:
        added.update(service_port_env(ports, service.id))
    if template is not None:
        added.update(service_process.resolve_config_env(template.env, base, "the template's"))
    if service is not None:
        added.update(
            service_process.resolve_config_env(service.env, base, f"service {service.id}'s")
        )
    added.update(SYNTHETIC_CONSTRUCT_ID=construct.id, SYNTHETIC_CONSTRUCT_DIR=cdir)
    lookup = {**base, **added}
    where = f"service {service.id}'s env" if service is not None else "the template's env"
    added = {k: service_process.substitute(v, lookup, cdir, where) for k, v in added.items()}
    return Environment({**base, **added}, added)


def _ready_pattern(service: ConfigService) -> str | None:
    """The service's readyPattern, checked: RE2 (see :mod:`synthetic_ls.ready_pattern`)
    must accept it."""
    text = getattr(service, "ready_pattern", None)
    if not text:
        return None
    from synthetic_ls.ready_pattern import ReadyPatternError, compile_pattern

    try:
        compile_pattern(text)
    except ReadyPatternError as exc:
        raise InvalidInputError(
            f"service {service.id}'s readyPattern cannot be used: {exc}"
        ) from None
    return str(text)


def ready_timeout(service: ConfigService) -> float:
    """``readyTimeoutMs`` in seconds; unset or 0: the default."""
    ms = getattr(service, "ready_timeout_ms", None)
    return ms / 1000.0 if ms else service_process.DEFAULT_READY_TIMEOUT


# -- start -------------------------------------------------------------------------------


def _write(store: StateStore, record: Service) -> Service:
    """Create the service's record, or replace every field of the one there."""
    with store.lock():
        try:
            store.get(Service, record.id)
        except RecordNotFoundError:
            return store.create(record)
        values = record.model_dump(exclude={"id"})  # None removes a key
        return store.update(Service, record.id, lambda _c: values)


def _set(store: StateStore, service_id: str, **fields: Any) -> Service:
    return store.update(Service, service_id, lambda _c: fields)


def _allowed(store: StateStore, template: Template, services: list[Any] | None) -> bool:
    """Whether the person allowed the services' (None: the teardown's) commands to run."""
    from synthetic_ls.consent.gate import allowed
    from synthetic_ls.provision.consent_items import of_services, of_template

    items = (of_template(template.id, template, kinds=("teardown",)) if services is None
             else of_services(template.id, template, services))
    return allowed(store.repo.worktree, items)


def run_template_setup(work: Work) -> None:
    """The template's ``setup`` commands, in the worktree, with the ports and template env."""
    template = work.template
    if template is None or not template.setup:
        return
    from synthetic_ls.provision.consent_items import of_template

    work.ctx.require_consent(of_template(template.id, template, kinds=("setup",)),
                             doing=f"setting up {work.construct.id}")
    construct = work.construct
    env = environment(construct, template, allocations(work.store, construct.id))
    work.runner.run_commands(
        template.setup,
        cwd=_worktree(construct),
        env=env.full,
        log=setup_log(work.store, construct.id),
        what="setup",
        on_start=work.record_group,
        cancelled=work.cancelled,
    )


def start_services(work: Work, services: list[ConfigService]) -> list[Service]:
    """Start ``services`` together, then wait until each is ready (ready in any order).

    Every process is launched (and recorded) before the first wait, so their
    start-ups overlap; a failure leaves the others recorded, for the undo.
    """
    waits = [begin_service(work, s) for s in services]
    return [wait() for wait in waits]


def begin_service(
    work: Work, service: ConfigService, *, setup: bool = True
) -> Callable[[], Service]:
    """Launch one service (setup first) and record it; the returned call waits until ready.

    Docker and compose services are started and waited for at once (the
    returned call only gives the record).
    """
    construct = work.construct
    store = work.store
    if work.template is not None:
        from synthetic_ls.provision.consent_items import of_services

        work.ctx.require_consent(of_services(work.template.id, work.template, [service]),
                                 doing=f"starting service {service.id}")
    root = _worktree(construct)
    ports = allocations(store, construct.id)
    env = environment(construct, work.template, ports, service)
    rid = record_id(construct.id, service.id)
    log = service_logs.prepare(store.local_dir, rid)
    cdir = str(root)
    where = f"service {service.id}"
    if service.type == "process":
        cwd = service_process.inside(
            root, service_process.substitute(service.cwd or "", env.full, cdir, where), where
        )
        command = service_process.substitute(service.run, env.full, cdir, f"{where}'s run")
        pattern = _ready_pattern(service)
        if not cwd.is_dir():
            raise InvalidInputError(f"{where}'s cwd {cwd} is not a folder in the worktree")
        if setup and service.setup:
            work.runner.run_commands(
                [service_process.substitute(c, env.full, cdir, f"{where}'s setup")
                 for c in service.setup],
                cwd=cwd, env=env.full, log=log, what=f"{where} setup", on_start=work.record_group,
                cancelled=work.cancelled,
            )
        launched = work.runner.launch(command, cwd=cwd, env=env.full, log=log)
        owner = launched.owner
        try:
            work.record_group(owner.pid)
            _write(store, Service(
                id=rid, construct_id=construct.id, name=service.id, type="process",
                command=command, cwd=str(cwd), env=env.added, pid=owner.pid,
                start=owner.start, host=owner.host, boot=owner.boot, pidns=owner.pidns,
                status="starting", ready_pattern=service.ready_pattern, started_at=utc_now(),
                log=str(log),
            ))
        except BaseException:
            launched.cancel()
            raise
        # Recorded: only now may the command run (a kill before this point
        # closes the pipe unwritten, and the supervisor starts nothing).
        launched.go()

        def ready() -> Service:
            try:
                service_process.wait_ready(
                    launched, pattern, ready_timeout(service), service.id, work.cancelled
                )
            except BaseException as exc:
                service_process.stop_process(
                    owner, stop_command=None, cwd=None, env=env.full, log=None, grace=1.0
                )
                _set(store, rid, status="failed", stopped_at=utc_now(), error=str(exc)[:2000])
                raise
            return _set(store, rid, status="ready", error=None)

        return ready
    # docker and compose run through the docker CLI. The record (with the
    # container's name) is written first: a crash while docker starts it
    # still leaves recovery something to remove.
    name = (docker_services.project_name(construct.id) if service.type == "compose"
            else docker_services.container_name(construct.id, service.id))
    _write(store, Service(
        id=rid, construct_id=construct.id, name=service.id, type=service.type,
        command=" ".join(docker_services.plan_argv(construct.id, service)), cwd=str(root),
        env=env.added, status="starting", ready_pattern=getattr(service, "ready_pattern", None),
        started_at=utc_now(), log=str(log), container=name,
    ))
    try:
        run = docker_services.start(construct, service, env.full, env.added, root, log,
                                    store.local_dir)
        _set(store, rid, command=" ".join(run.argv))
        docker_services.wait_ready(run, _ready_pattern(service), ready_timeout(service), log)
    except BaseException as exc:
        _set(store, rid, status="failed", stopped_at=utc_now(), error=str(exc)[:2000])
        raise
    done = _set(store, rid, status="ready", error=None)
    return lambda: done


# -- state and stop ------------------------------------------------------------------------


def service_state(record: Service) -> str:
    """What a person sees: the record's status, or ``needs_resume`` when it should run and does not.

    ``elsewhere`` when it runs on another host or PID namespace (it cannot be
    checked from here); ``unknown`` for a container when docker cannot be asked.
    """
    if record.status not in RUNNING_STATUSES:
        return record.status
    if record.type == "process":
        state = service_process.process_state(record.process())
        if state == "running":
            return record.status
        return "elsewhere" if state == "elsewhere" else "needs_resume"
    running = docker_services.is_running(record)
    if running is None:
        return "unknown"
    return record.status if running else "needs_resume"


def stop_record(
    store: StateStore, record: Service, template: Template | None, *, grace: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> list[str]:
    """Stop one service (its ``stop`` command first, when the template still has it).

    ``on_start`` receives the process group of the ``stop`` command before
    it runs (an operation's journal records it).
    """
    config = template.get_service(record.name) if template is not None else None
    notes: list[str] = []
    if record.type == "process":
        stop_command = getattr(config, "stop", None)
        if stop_command and template is not None and not _allowed(store, template, [config]):
            # Never run a command the person has not allowed: signals stop it instead.
            notes.append(f"did not run the stop command of service {record.name}: it is not "
                         "allowed (see `synthetic trust`)")
            stop_command = None
        owner = record.process()
        notes = service_process.stop_process(
            owner,
            stop_command=stop_command,
            cwd=Path(record.cwd) if record.cwd else None,
            env={**os.environ, **record.env},
            log=Path(record.log) if record.log else None,
            grace=grace if grace is not None else service_process.STOP_GRACE,
            on_start=on_start,
        )
        if record.log and _in_container(store, record.construct_id):
            # Its client may have ended without its container (killed): remove that too.
            from synthetic_ls.sandbox.container import remove_commands

            remove_commands(store.local_dir, record.construct_id, log=Path(record.log))
    else:
        notes = docker_services.stop(record)
    if record.status != "stopped":
        try:
            _set(store, record.id, status="stopped", stopped_at=utc_now())
        except StateAccessError as exc:
            # The service did stop: never let "nothing was changed" say otherwise.
            reason = str(exc).removesuffix(" (nothing was changed)")
            raise StateAccessError(
                exc.path, exc.errno,
                f"stopped service {record.name}, but could not record that: {reason}",
            ) from None
        notes.append(f"stopped service {record.name}")
    return notes


def forget(store: StateStore, record: Service) -> list[str]:
    """Remove a stopped service's container, record and logs."""
    notes = docker_services.remove(record) if record.type != "process" else []
    with contextlib.suppress(RecordNotFoundError):
        store.delete(Service, record.id)
    service_logs.remove(store.local_dir, record.id)
    return notes


def _teardown(work: Work) -> list[str]:
    """The template's ``teardown`` commands in the worktree; a failure is a note, not a stop.

    A removal that stopped on a failing clean-up command could never finish.
    """
    template = work.template
    construct = work.construct
    if template is None or not template.teardown or not construct.workspace_path:
        return []
    root = Path(construct.workspace_path)
    if not root.is_dir():
        return []
    if not _allowed(work.store, template, None):
        # A recovery or a rollback asks nobody: what was not allowed is not run.
        return ["did not run the teardown: it is not allowed (see `synthetic trust`)"]
    try:
        env = environment(construct, template, allocations(work.store, construct.id))
        work.runner.run_commands(
            template.teardown, cwd=root, env=env.full, log=setup_log(work.store, construct.id),
            what="teardown", on_start=work.record_group,
        )
    except (ServiceError, InvalidInputError) as exc:
        return [f"teardown failed: {exc}"]
    return [f"ran teardown ({len(template.teardown)} command(s))"]


def stop_all(work: Work, *, teardown: bool) -> list[str]:
    """Stop every service of the construct, run teardown if asked, forget them all.

    Under the construct's services lock, so that a ``services start`` running
    meanwhile finishes first and its service is stopped here too.
    """
    notes: list[str] = []
    store, cid = work.store, work.construct.id
    with service_logs.start_lock(store.local_dir, cid):
        for record in services_of(store, cid):
            notes.extend(stop_record(store, record, work.template, on_start=work.record_group))
        if teardown:
            notes.extend(_teardown(work))
        for record in services_of(store, cid):
            notes.extend(forget(store, record))
        service_logs.remove(store.local_dir, f"{cid}--setup")
        for _path, owner in service_logs.log_files(store.local_dir):
            if owner.startswith(f"{cid}--check-"):
                service_logs.remove(store.local_dir, owner)  # the checks' logs go too
        notes.extend(end_daemons(cid))
        if work.construct.isolation == "container":
            from synthetic_ls.sandbox.container import remove_commands

            left = remove_commands(store.local_dir, cid)
            if left:
                notes.append(f"removed {len(left)} command container(s) of {cid}")
    return notes


def _in_container(store: StateStore, construct_id: str) -> bool:
    """Whether the construct's commands run in containers (``isolation: container``)."""
    try:
        return store.get_construct(construct_id).isolation == "container"
    except (StateError, OSError):
        return False


def end_daemons(construct_id: str) -> list[str]:
    """End what the construct's commands started and that left their groups (daemons).

    Found by the environment they inherited (:mod:`synthetic_ls.runtime.tagged`).
    """
    pids = tagged.processes_of(construct_id)
    if not pids:
        return []
    left = tagged.end_processes(pids)
    if left:
        raise ServiceError(
            f"processes {', '.join(map(str, left))} of construct {construct_id} did not end "
            "after SIGKILL", code="service-stuck",
        )
    return [f"ended {len(pids)} process(es) the construct's commands had left running "
            f"outside their services (pids {', '.join(map(str, pids[:10]))})"]


# -- the resource -------------------------------------------------------------------------


def _services(work: Work) -> list[ConfigService]:
    return list(work.template.services) if work.template is not None else []


def check_environment(work: Work) -> None:
    """Resolve every service's environment and commands now; raise what would fail at start.

    Ports are not allocated yet: each request stands in with port 1.
    """
    template = work.template
    if template is None:
        return
    now = utc_now()
    ports = [
        PortAllocation(id="planned-port", construct_id="planned", service_name=s.service,
                       name=s.name, env=s.env, port=1, allocated_at=now)
        for s in port_requests(template)
    ]
    construct = work.construct
    cdir = construct.workspace_path or "/construct"
    environment(construct, template, ports)
    for service in template.services:
        env = environment(construct, template, ports, service).full
        _ready_pattern(service)
        if service.type == "process":
            where = f"service {service.id}"
            for text, what in [(service.run, "run"), (service.cwd or "", "cwd"),
                               (service.stop or "", "stop"),
                               *((c, "setup") for c in service.setup)]:
                service_process.substitute(text, env, cdir, f"{where}'s {what}")


def describe(work: Work, service: ConfigService) -> dict[str, Any]:
    """What starting ``service`` would run: command, cwd, env names, ports; runs nothing."""
    template = work.template
    requests = port_requests(template)
    own = [s for s in requests if s.service == service.id]
    env_names = sorted(
        {*(template.env if template else {}), *service.env, "SYNTHETIC_CONSTRUCT_ID",
         "SYNTHETIC_CONSTRUCT_DIR"}
        | {s.variable for s in requests}
        | ({"PORT"} if own and own[0].env is None else set())
    )
    ports = [s.to_dict() for s in own]
    out: dict[str, Any] = {"name": service.id, "type": service.type, "env": env_names,
                           "ports": ports}
    if service.type == "process":
        out.update(setup=list(service.setup), command=service.run, cwd=service.cwd or ".",
                   ready_pattern=service.ready_pattern, stop=service.stop)
    else:
        out.update(command=" ".join(docker_services.plan_argv(work.construct.id, service)))
    return out


@dataclass(frozen=True)
class ServicesMade:
    """The services started, each ready, as recorded."""

    services: tuple[Service, ...]


class ServicesResource(Resource[ServicesMade]):
    """The template's setup commands and services; teardown on removal."""

    name = "services"
    title = "starting services"
    with_worktree = True

    def wanted(self, work: Creation) -> bool:
        """With a worktree, when the template has services or setup or teardown commands."""
        t = work.template
        wanted = t is not None and bool(t.services or t.setup or t.teardown)
        return work.settings.worktree and wanted

    def plan(self, work: Creation) -> PlanItem:
        """Setup commands, and per service its command, cwd, env names and ports.

        The environment is resolved here too (with stand-in ports): an unset
        ``process.env.X`` or ``${env.X}`` is the plan's ``error`` (a dry run
        lists it; a creation is refused before anything is written or run).
        """
        problem: InvalidInputError | None = None
        try:
            check_environment(work)
        except InvalidInputError as exc:
            problem = exc
        t = work.template
        setup = list(t.setup) if t is not None else []
        services = [describe(work, s) for s in _services(work)]
        names = ", ".join(s["name"] for s in services) or "none"
        summary = f"run {len(setup)} setup command(s), start services: {names}"
        lines = [f"setup: {c}" for c in setup]
        for s in services:
            lines += [f"{s['name']}: setup: {c}" for c in s.get("setup", [])]
            lines.append(f"{s['name']}: run {s['command']} (in {s.get('cwd') or '.'})")
            lines.append(f"{s['name']}: env {', '.join(s['env'])}")
        if problem is not None:
            lines.append(f"problem: {problem}")
        return PlanItem(self.name, summary, {
            "setup": setup,
            "teardown": list(t.teardown) if t is not None else [],
            "services": services,
            "problems": [str(problem)] if problem is not None else [],
        }, tuple(lines), problem)

    def provision(self, work: Creation) -> Made[ServicesMade]:
        """Template setup, then each service's setup and start, waiting until it is ready."""
        run_template_setup(work)
        started = start_services(work, list(_services(work)))
        return Made(ServicesMade(tuple(started)))

    def undo(self, work: Work) -> list[str]:
        """Stop and forget what was started (teardown too: setup may have begun)."""
        return stop_all(work, teardown=True)

    def release(self, work: Release) -> list[str]:
        """Stop the services, run the template's teardown, remove containers and records."""
        return stop_all(work, teardown=True)

    def check(self, survey: Survey) -> list[Finding]:
        """Services whose construct is gone (its process may still run), and ports likewise.

        A construct being created or removed is skipped: its operation owns them.
        """
        store = survey.store
        # From the file names: a construct whose record a person broke still owns its services.
        known = set(store.list_ids(Construct)) | {c.id for c in survey.constructs}
        out: list[Finding] = []
        for record in store.list(Service).records:
            if record.construct_id in known:
                continue
            state = service_state(record)
            out.append(Finding(
                "orphan-service",
                Subject("service", record.id),
                f"service {record.name} ({record.id}) belongs to no construct "
                f"({record.construct_id} is gone); it is {state}",
                fix=_forget_orphan(store, record),
            ))
        out.extend(_stray_daemons(survey, known))
        out.extend(_stray_containers(store, known))
        out.extend(_orphan_logs(store, known))
        for port in allocations(store):
            if port.construct_id not in known:
                out.append(Finding(
                    "orphan-port",
                    Subject("port", str(port.port)),
                    f"port {port.port} is allocated to {port.construct_id}, which is gone",
                    fix=_release_orphan_port(store, port.id, port.port),
                ))
        return out


def _orphan_logs(store: StateStore, known: set[str]) -> list[Finding]:
    """Service and setup logs of no service and no construct (a creation killed while it
    started services, before the record of the service was written)."""
    services = set(store.list_ids(Service))
    out: list[Finding] = []
    for path, owner in service_logs.log_files(store.local_dir):
        if owner in services or any(owner.startswith(f"{cid}-") for cid in known):
            continue
        out.append(Finding(
            "orphan-log",
            Subject("file", str(path)),
            f"{path.name} is the log of {owner}, of no construct any more",
            fix=_remove_log(path),
        ))
    return out


def _remove_log(path: Path) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and not path.is_symlink():
                path.unlink()
        return [f"removed {path.name}"]

    return fix


def _stray_daemons(survey: Survey, known: set[str]) -> list[Finding]:
    """Processes tagged with a construct of this repository that is gone.

    Of this repository: their construct's folder is under its worktrees
    folder (another repository's constructs are not this doctor's business).
    """
    from synthetic_ls.provision.worktree_settings import worktree_settings

    try:
        root = os.path.realpath(worktree_settings(survey.ctx.git, survey.ctx.config).root)
    except SyntheticError:
        return []  # no git or no config to say where the worktrees are: nothing to claim
    stray: dict[str, list[int]] = {}
    for process in tagged.tagged_processes():
        inside = process.construct_dir and os.path.realpath(process.construct_dir).startswith(
            root + os.sep)
        if inside and process.construct_id not in known:
            stray.setdefault(process.construct_id, []).append(process.pid)
    return [
        Finding(
            "orphan-process",
            Subject("construct", construct_id),
            f"{len(pids)} process(es) started for construct {construct_id}, which is gone, "
            f"still run (pids {', '.join(map(str, pids[:10]))})",
            fix=_end_stray(construct_id),
        )
        for construct_id, pids in sorted(stray.items())
    ]


def _stray_containers(store: StateStore, known: set[str]) -> list[Finding]:
    """Containers and volumes labelled with a gone construct of this repository that no
    service record names (a record's removal left them: the engine was down, or a
    creation was killed and rolled back while docker still made them).

    Nothing when no Docker engine answers: then nothing can be said about them.
    """
    found = docker_services.leftovers(store.local_dir)
    if not found:
        return []
    recorded = {r.construct_id for r in store.list(Service).records}
    out: list[Finding] = []
    for leftover in found:
        if leftover.construct_id in known or leftover.construct_id in recorded:
            continue
        what = [f"container(s) {', '.join(leftover.containers)}"] if leftover.containers else []
        what += [f"volume(s) {', '.join(leftover.volumes)}"] if leftover.volumes else []
        out.append(Finding(
            "orphan-container",
            Subject("construct", leftover.construct_id),
            f"{' and '.join(what)} of construct {leftover.construct_id}, which is gone, "
            "are left",
            fix=_remove_leftover(store, leftover),
        ))
    return out


def _remove_leftover(
    store: StateStore, leftover: docker_services.Leftover
) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        return docker_services.remove_leftover(leftover, store.local_dir)

    return fix


def _end_stray(construct_id: str) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        return end_daemons(construct_id)

    return fix


def _forget_orphan(store: StateStore, record: Service) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        return stop_record(store, record, None) + forget(store, record)

    return fix


def _release_orphan_port(store: StateStore, port_id: str, port: int) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        with contextlib.suppress(RecordNotFoundError):
            store.delete(PortAllocation, port_id)
        return [f"released port {port}"]

    return fix


class ServiceRecordJson(TypedDict):
    """A service's record: ``status`` as recorded (starting, ready, stopped, failed),
    ``state`` as seen now (also ``needs_resume``, ``elsewhere``); ``env`` lists the
    variables' names only (values may be secrets)."""

    id: str
    construct_id: str
    name: str
    type: str
    state: str
    status: str
    command: str | None
    cwd: str | None
    env: list[str]
    pid: int | None
    container: str | None
    ready_pattern: str | None
    started_at: str | None
    stopped_at: str | None
    log: str | None
    error: str | None


def record_dict(record: Service, state: str | None = None) -> ServiceRecordJson:
    """JSON form of a service: ``{id, construct_id, name, type, state, status, pid, ...}``.

    ``env`` lists the names of the variables only: values may be secrets.
    """
    return {
        "id": record.id,
        "construct_id": record.construct_id,
        "name": record.name,
        "type": record.type,
        "state": state if state is not None else record.status,
        "status": record.status,
        "command": record.command,
        "cwd": record.cwd,
        "env": sorted(record.env),
        "pid": record.pid,
        "container": record.container,
        "ready_pattern": record.ready_pattern,
        "started_at": format_timestamp(record.started_at) if record.started_at else None,
        "stopped_at": format_timestamp(record.stopped_at) if record.stopped_at else None,
        "log": record.log,
        "error": record.error,
    }
