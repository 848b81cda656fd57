"""``docker`` and ``compose`` services, through the ``docker`` command-line client.

Names come from the construct id, so two constructs never share a container:
a ``docker`` service runs as container ``synthetic-<construct id>-<service>``
and its named volumes are prefixed the same way (``pgdata`` becomes
``synthetic-<construct id>-pgdata``: two constructs' databases must not share
files). A ``compose`` service is the project ``synthetic-<construct id>``, run
by ``docker compose`` where that plugin answers, else by ``docker-compose``
(Debian's 1.29): :func:`compose_command`.

**Host networking only.** Every container runs with ``--network host`` (a
compose project through a generated override file that gives each of its
services ``network_mode: host``): Synthetic never creates a docker network,
a bridge or a private address, and never publishes ports with ``-p``. A
container therefore listens on the host's ports itself: the port Synthetic
allocated is given to it in its environment (the port variables, e.g.
``PORT`` or ``DB_PORT``), and it must listen there, on 127.0.0.1. A port
request's ``container`` number is not a mapping any more (the container
port is the host port).

Everything Synthetic makes is labelled ``synthetic.construct=<construct id>``
and ``synthetic.state=<the repository's state folder>``: removal and
``doctor`` find a construct's containers and volumes by those labels, also
when no record of them is left. Stopping stops the container or the
project's containers; removing the construct removes them and their volumes.

Before starting, ``docker version`` must reach an engine within a few
seconds; otherwise the start fails at once, saying so (``docker-unavailable``).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from state_format.ids import slugify
from state_format.records import Construct, Service
from synthetic_ls.runtime import service_logs
from synthetic_ls.runtime.service_process import STOP_GRACE, TAIL_LINES, ServiceError

if TYPE_CHECKING:
    from synthetic_ls.config.schema import ComposeService, DockerService, ProcessService

    ConfigService = ProcessService | DockerService | ComposeService

#: Seconds ``docker version`` may take to answer before the engine counts as unreachable.
ENGINE_TIMEOUT = 10.0
#: Seconds a ``docker run`` / ``compose up`` may take (an image pull is slow).
RUN_TIMEOUT = 600.0
#: The labels on every container and volume Synthetic makes.
CONSTRUCT_LABEL = "synthetic.construct"
SERVICE_LABEL = "synthetic.service"
STATE_LABEL = "synthetic.state"
#: The label docker compose (v1 and v2) puts on a project's containers, volumes and networks.
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"


class DockerUnavailableError(ServiceError):
    """No docker client, or no engine answering it."""

    code = "docker-unavailable"


@dataclass(frozen=True)
class DockerRun:
    """A container or compose project just started: its name and how it was started."""

    name: str
    argv: list[str]
    compose_file: str | None = None


def container_name(construct_id: str, service_id: str) -> str:
    """``synthetic-<construct id>-<service>``."""
    return f"synthetic-{construct_id}-{slugify(service_id, 30)}"


def project_name(construct_id: str) -> str:
    """The compose project of a construct: ``synthetic-<construct id>``."""
    return f"synthetic-{construct_id}"


def _run(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, env=env, cwd=cwd, errors="replace",
        )
    except FileNotFoundError:
        raise DockerUnavailableError(
            f"{argv[0]} is not installed (no `{argv[0]}` command on PATH); docker and compose "
            "services need it"
        ) from None
    except subprocess.TimeoutExpired:
        raise ServiceError(
            f"`{' '.join(argv[:3])}` did not finish in {timeout:g} s"
        ) from None


def _docker(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _run(["docker", *argv], timeout=timeout, env=env, cwd=cwd)


def _why(result: subprocess.CompletedProcess[str]) -> str:
    """The last line docker printed on failure (its own reason)."""
    return ((result.stderr or result.stdout).strip().splitlines() or ["no answer"])[-1]


def require_engine() -> None:
    """Fail early, and clearly, when no Docker engine is reachable."""
    try:
        result = _docker(["version", "--format", "{{.Server.Version}}"], timeout=ENGINE_TIMEOUT)
    except ServiceError as exc:
        if isinstance(exc, DockerUnavailableError):
            raise
        raise DockerUnavailableError(
            f"no Docker engine answered within {ENGINE_TIMEOUT:g} s"
        ) from None
    if result.returncode != 0 or not result.stdout.strip():
        raise DockerUnavailableError(f"no Docker engine is reachable: {_why(result)}")


def compose_command() -> list[str]:
    """How compose is run here: ``docker compose`` (the v2 plugin) when ``docker compose
    version`` works, else Debian's ``docker-compose`` (1.29) when it is on PATH."""
    try:
        if _docker(["compose", "version"], timeout=ENGINE_TIMEOUT).returncode == 0:
            return ["docker", "compose"]
    except ServiceError:
        pass  # no docker at all: require_engine says so; docker-compose alone cannot help
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DockerUnavailableError(
        "compose services need `docker compose` (the compose plugin) or `docker-compose`; "
        "neither is installed"
    )


def labels(construct_id: str, state_dir: Path, service_id: str | None = None) -> dict[str, str]:
    """The labels of what Synthetic makes for a construct (``synthetic.state`` says which
    repository's: ``doctor`` looks after its own only)."""
    out = {CONSTRUCT_LABEL: construct_id, STATE_LABEL: str(state_dir)}
    if service_id is not None:
        out[SERVICE_LABEL] = service_id
    return out


def _named_volume(construct_id: str, spec: str) -> str | None:
    """The construct's name for the named volume of ``spec`` (None: a path or anonymous)."""
    source, sep, _rest = spec.partition(":")
    if not sep or source.startswith(("/", "~", ".")):
        return None
    return f"synthetic-{construct_id}-{source}"


def _volume(construct_id: str, spec: str, root: Path) -> str:
    source, sep, rest = spec.partition(":")
    if not sep:
        return spec  # an anonymous volume: docker names it
    named = _named_volume(construct_id, spec)
    if named is not None:
        return f"{named}:{rest}"
    if source.startswith("."):
        return f"{(root / source).resolve()}:{rest}"
    return spec


def _command(command: Sequence[str] | None) -> list[str]:
    if not command:
        return []
    if len(command) == 1:
        return shlex.split(command[0])  # the string form: a command line
    return list(command)


def docker_argv(construct_id: str, service: ConfigService, env: Mapping[str, str], root: Path,
                state_dir: Path) -> list[str]:
    """``docker run -d --network host ...`` for a docker service (without the leading
    ``docker``). No ``-p``: the container listens on its allocated ports itself, which
    ``env`` (the variables the config added, port variables among them) tells it."""
    name = container_name(construct_id, service.id)
    # --init: a command that is not written to be PID 1 still ends on SIGTERM (the
    # kernel ignores signals PID 1 does not handle), so a stop is not a 5 s wait.
    argv = ["run", "-d", "--name", name, "--network", "host", "--init"]
    for key, value in labels(construct_id, state_dir, service.id).items():
        argv += ["--label", f"{key}={value}"]
    for key, value in sorted(env.items()):
        argv += ["-e", f"{key}={value}"]
    for volume in getattr(service, "volumes", []):
        argv += ["-v", _volume(construct_id, volume, root)]
    argv.append(service.image)  # type: ignore[union-attr]
    argv += _command(getattr(service, "command", None))
    return argv


def compose_override(construct_id: str, service_names: Sequence[str], state_dir: Path,
                     service_id: str) -> str:
    """The compose file Synthetic adds after the person's: host networking and labels.

    JSON is YAML, so it is written with :func:`json.dumps`, which quotes
    whatever a name or a path holds.
    """
    import json

    values = labels(construct_id, state_dir, service_id)
    return json.dumps({
        "services": {name: {"network_mode": "host", "init": True, "labels": values}
                     for name in service_names},
    }, indent=2) + "\n"


def compose_argv(compose: Sequence[str], construct_id: str, files: Sequence[Path],
                 *verb: str) -> list[str]:
    """``COMPOSE -p PROJECT -f FILE... VERB...``."""
    argv = [*compose, "-p", project_name(construct_id)]
    for file in files:
        argv += ["-f", str(file)]
    return [*argv, *verb]


def plan_argv(construct_id: str, service: ConfigService) -> list[str]:
    """What would run, for ``--dry-run`` (ports and env shown by name only)."""
    if service.type == "compose":
        return ["docker", "compose", "-p", project_name(construct_id), "-f",
                service.file, "up", "-d", *service.services]
    return ["docker", "run", "-d", "--name", container_name(construct_id, service.id),
            "--network", "host", "--init", service.image]  # type: ignore[union-attr]


def _create_volumes(construct_id: str, service: ConfigService, state_dir: Path) -> None:
    """Create the construct's named volumes first, labelled (``docker run -v`` would make
    them unlabelled, and ``doctor`` could not tell whose they are)."""
    for spec in getattr(service, "volumes", []):
        named = _named_volume(construct_id, spec)
        if named is None:
            continue
        argv = ["volume", "create"]
        for key, value in labels(construct_id, state_dir).items():
            argv += ["--label", f"{key}={value}"]
        result = _docker([*argv, named], timeout=60)
        if result.returncode != 0:
            raise ServiceError(f"service {service.id}: could not create volume {named}: "
                               f"{_why(result)}", fields={"service": service.id})


def start(construct: Construct, service: ConfigService, env: Mapping[str, str],
          added: Mapping[str, str], root: Path, log: Path, state_dir: Path) -> DockerRun:
    """Start the container or the compose project; a leftover of the same name goes first.

    ``env`` is the whole environment (compose reads the port variables from
    it to fill in its file); ``added`` what the config added, which a
    container gets with ``-e``; ``state_dir`` goes into the labels.
    """
    require_engine()
    if service.type == "compose":
        compose = compose_command()
        file = root / service.file
        listed = _run(compose_argv(compose, construct.id, [file], "config", "--services"),
                      timeout=120, env=env, cwd=root)
        if listed.returncode != 0:
            service_logs.append(log, f"{listed.stdout}{listed.stderr}")
            raise ServiceError(f"service {service.id}: `{' '.join(compose)} config` refused "
                               f"{service.file}: {_why(listed)}",
                               fields={"service": service.id, "log": str(log)})
        names = listed.stdout.split()
        with tempfile.TemporaryDirectory(prefix="synthetic-compose-") as folder:
            override = Path(folder) / "synthetic.override.yml"
            override.write_text(compose_override(construct.id, names, state_dir, service.id))
            argv = compose_argv(compose, construct.id, [file, override], "up", "-d",
                                *service.services)
            result = _run(argv, timeout=RUN_TIMEOUT, env=env, cwd=root)
        run = DockerRun(project_name(construct.id), argv, str(file))
    else:
        name = container_name(construct.id, service.id)
        _docker(["rm", "-f", name], timeout=60)
        _create_volumes(construct.id, service, state_dir)
        argv = ["docker", *docker_argv(construct.id, service, added, root, state_dir)]
        result = _run(argv, timeout=RUN_TIMEOUT)
        run = DockerRun(name, argv)
    service_logs.append(log, f"$ {' '.join(run.argv)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()[-TAIL_LINES:]
        raise ServiceError(
            f"service {service.id}: `{' '.join(argv[:2])}` failed with exit status "
            f"{result.returncode}: " + "\n".join(lines),
            fields={"service": service.id, "log": str(log)},
        )
    return run


def wait_ready(run: DockerRun, pattern: str | None, timeout: float, log: Path) -> None:
    """Wait for a line of the container's logs to match ``pattern`` (a readyPattern,
    matched by RE2: :mod:`synthetic_ls.ready_pattern`); fail if it stops or time runs out."""
    if pattern is None or run.compose_file is not None:
        return
    from synthetic_ls.ready_pattern import LineMatcher

    deadline = time.monotonic() + timeout
    while True:
        result = _docker(["logs", run.name], timeout=30)
        output = result.stdout + result.stderr
        if LineMatcher(pattern).feed(output):
            service_logs.append(log, output)
            return
        state = _docker(["inspect", "-f", "{{.State.Running}}", run.name], timeout=30)
        if state.stdout.strip() == "false":
            service_logs.append(log, output)
            raise ServiceError(
                f"container {run.name} stopped before it was ready: "
                + "\n".join(output.splitlines()[-TAIL_LINES:]),
                code="service-exited",
            )
        if time.monotonic() >= deadline:
            _docker(["rm", "-f", run.name], timeout=60)
            raise ServiceError(
                f"container {run.name} did not print {pattern!r} within {timeout:g} s: "
                + "\n".join(output.splitlines()[-TAIL_LINES:]),
                code="service-timeout",
            )
        time.sleep(0.5)


def _ids(*filters: str, every: bool = True) -> list[str]:
    """Ids of the containers matching every ``filters`` (``label=...``); running ones only
    unless ``every``. Raises when docker cannot be asked."""
    argv = ["ps", "-q", "--no-trunc", *(["-a"] if every else [])]
    for spec in filters:
        argv += ["--filter", spec]
    result = _docker(argv, timeout=30)
    if result.returncode != 0:
        raise DockerUnavailableError(f"docker could not list containers: {_why(result)}")
    return result.stdout.split()


def _filters(record: Service) -> list[str]:
    """How a record's containers are found: its project's, or its container by name."""
    if record.type == "compose":
        return [f"label={COMPOSE_PROJECT_LABEL}={record.container}"]
    return [f"name=^{record.container}$"]


def is_running(record: Service) -> bool | None:
    """Whether the container (or a container of the project) runs; None when docker cannot say."""
    if not record.container:
        return False
    try:
        return bool(_ids(*_filters(record), every=False))
    except ServiceError:
        return None


def stop(record: Service) -> list[str]:
    """Stop the container or the project's containers (kept until the construct goes)."""
    if not record.container:
        return []
    try:
        ids = _ids(*_filters(record), every=False)
        if ids:
            # SIGKILL after the same grace as a process service's (STOP_GRACE).
            result = _docker(["stop", "-t", f"{STOP_GRACE:g}", *ids], timeout=120)
            if result.returncode != 0:
                return [f"could not stop {record.container}: {_why(result)}"]
    except ServiceError as exc:
        return [f"container {record.container} was not stopped: {exc}"]
    return [f"stopped container {record.container}"]


def container_logs(record: Service, lines: int) -> list[str] | None:
    """The last ``lines`` lines the container (each container of a project, its name
    first) printed, stdout and stderr as docker keeps them; None when docker cannot say."""
    if not record.container:
        return None
    try:
        ids = _ids(*_filters(record))
        out: list[str] = []
        for cid in ids:
            result = subprocess.run(
                ["docker", "logs", "--tail", str(lines), cid], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30, text=True,
                errors="replace",
            )
            if result.returncode != 0:
                return None
            text = result.stdout.splitlines()
            if record.type == "compose":
                name = _docker(["inspect", "-f", "{{.Name}}", cid], timeout=30).stdout.strip()
                text = [f"{name.lstrip('/')} | {line}" for line in text]
            out += text
    except (ServiceError, OSError, subprocess.TimeoutExpired):
        return None
    return out[-lines:] if lines else []


def follow_argv(record: Service) -> list[str] | None:
    """``docker logs -f`` of a docker service's container, for ``services logs -f``
    (None for a compose project: ``docker compose logs -f`` needs its file)."""
    if record.type != "docker" or not record.container:
        return None
    return ["docker", "logs", "-f", "--tail", "0", record.container]


def _remove_volumes(*filters: str) -> list[str]:
    """Remove the volumes matching ``filters`` that no container uses any more (one
    another service of the construct still has goes with that service's removal)."""
    argv = ["volume", "ls", "-q", "--filter", "dangling=true"]
    for spec in filters:
        argv += ["--filter", spec]
    listed = _docker(argv, timeout=60)
    if listed.returncode != 0:
        return [f"could not list volumes: {_why(listed)}"]
    notes = []
    for volume in listed.stdout.split():
        result = _docker(["volume", "rm", volume], timeout=60)
        notes.append(f"removed volume {volume}" if result.returncode == 0
                     else f"could not remove volume {volume}: {_why(result)}")
    return notes


def remove(record: Service) -> list[str]:
    """Remove the container (or the project's containers) and the construct's volumes."""
    if not record.container:
        return []
    try:
        notes = remove_containers(_ids(*_filters(record)), record.container)
        if record.type == "compose":
            notes += _remove_volumes(f"label={COMPOSE_PROJECT_LABEL}={record.container}")
        else:
            # The construct's named volumes (see _volume): its data goes with it.
            notes += _remove_volumes(f"label={CONSTRUCT_LABEL}={record.construct_id}")
        return notes
    except ServiceError as exc:
        return [f"container {record.container} was left: {exc}"]


def remove_containers(ids: Sequence[str], what: str) -> list[str]:
    """``docker rm -f -v`` the containers ``ids`` (of ``what``: a name for the notes)."""
    if not ids:
        return [f"no container of {what} was left"]
    result = _docker(["rm", "-f", "-v", *ids], timeout=120)
    if result.returncode != 0:
        return [f"could not remove the containers of {what}: {_why(result)}"]
    return [f"removed container(s) of {what}"]


@dataclass(frozen=True)
class Leftover:
    """Containers and volumes labelled with a construct of a repository's state folder."""

    construct_id: str
    containers: tuple[str, ...]
    volumes: tuple[str, ...]


def leftovers(state_dir: Path) -> list[Leftover] | None:
    """Every construct that has containers or volumes labelled with ``state_dir``;
    None when no engine can be asked (``doctor`` then says nothing about containers)."""
    label = f"label={STATE_LABEL}={state_dir}"
    fmt = f'{{{{.Label "{CONSTRUCT_LABEL}"}}}} {{{{.Names}}}}'
    try:
        # ENGINE_TIMEOUT: every doctor asks, also in a repository with no containers.
        listed = _docker(["ps", "-a", "--filter", label, "--format", fmt],
                         timeout=ENGINE_TIMEOUT)
        volumes = _docker(["volume", "ls", "--filter", label, "--format",
                           f'{{{{.Label "{CONSTRUCT_LABEL}"}}}} {{{{.Name}}}}'],
                          timeout=ENGINE_TIMEOUT)
    except ServiceError:
        return None
    if listed.returncode != 0 or volumes.returncode != 0:
        return None
    found: dict[str, tuple[list[str], list[str]]] = {}
    for at, text in ((0, listed.stdout), (1, volumes.stdout)):
        for line in text.splitlines():
            construct_id, _, name = line.strip().partition(" ")
            if construct_id and name:
                found.setdefault(construct_id, ([], []))[at].append(name)
    return [Leftover(cid, tuple(c), tuple(v)) for cid, (c, v) in sorted(found.items())]


def remove_leftover(leftover: Leftover, state_dir: Path) -> list[str]:
    """Remove a construct's labelled containers and volumes (``doctor --fix``)."""
    filters = [f"label={STATE_LABEL}={state_dir}",
               f"label={CONSTRUCT_LABEL}={leftover.construct_id}"]
    notes = remove_containers(_ids(*filters), f"construct {leftover.construct_id}")
    return notes + _remove_volumes(*filters)

