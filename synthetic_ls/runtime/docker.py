"""``docker`` and ``compose`` services, through the ``docker`` command-line client.

Names come from the construct id, so two constructs never share a container:
a ``docker`` service runs as container ``synthetic-<construct id>-<service>``
(labelled ``synthetic.construct`` and ``synthetic.service``), its ports
published on 127.0.0.1 at the allocated host ports, and its named volumes
prefixed the same way (``pgdata`` becomes ``synthetic-<construct id>-pgdata``:
two constructs' databases must not share files). A ``compose`` service is
the project ``synthetic-<construct id>``, given the port variables in its
environment for the compose file to use. Stopping stops the container or
project; removing the construct removes containers and those volumes.

Before starting, ``docker version`` must reach an engine within a few
seconds; otherwise the start fails at once, saying so.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from state_format.ids import slugify
from state_format.records import Construct, PortAllocation, Service
from synthetic_ls.runtime import service_logs
from synthetic_ls.runtime.service_process import TAIL_LINES, ServiceError

if TYPE_CHECKING:
    from synthetic_ls.config.schema import ComposeService, DockerService, ProcessService

    ConfigService = ProcessService | DockerService | ComposeService

#: Seconds ``docker version`` may take to answer before the engine counts as unreachable.
ENGINE_TIMEOUT = 10.0
#: Seconds a ``docker run`` / ``compose up`` may take (an image pull is slow).
RUN_TIMEOUT = 600.0


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


def _docker(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["docker", *argv], capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, env=env, cwd=cwd, errors="replace",
        )
    except FileNotFoundError:
        raise DockerUnavailableError(
            "docker is not installed (no `docker` command on PATH); docker and compose "
            "services need it"
        ) from None
    except subprocess.TimeoutExpired:
        raise ServiceError(
            f"`docker {' '.join(argv[:2])}` did not finish in {timeout:g} s"
        ) from None


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
        why = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        raise DockerUnavailableError(f"no Docker engine is reachable: {why}")


def _volume(construct_id: str, spec: str, root: Path) -> str:
    source, sep, rest = spec.partition(":")
    if not sep:
        return spec  # an anonymous volume: docker names it
    if source.startswith(("/", "~")):
        return spec
    if source.startswith("."):
        return f"{(root / source).resolve()}:{rest}"
    return f"synthetic-{construct_id}-{source}:{rest}"


def _command(command: Sequence[str] | None) -> list[str]:
    if not command:
        return []
    if len(command) == 1:
        return shlex.split(command[0])  # the string form: a command line
    return list(command)


def docker_argv(construct_id: str, service: ConfigService, ports: Sequence[PortAllocation],
                env: Mapping[str, str], root: Path) -> list[str]:
    """``docker run -d ...`` for a docker service (without the leading ``docker``)."""
    name = container_name(construct_id, service.id)
    argv = ["run", "-d", "--name", name, "--label", f"synthetic.construct={construct_id}",
            "--label", f"synthetic.service={service.id}"]
    requests = {(r.name or str(r.container or "")): r for r in getattr(service, "ports", [])}
    for record in ports:
        if record.service_name != service.id:
            continue
        request = requests.get(record.name or "") or next(iter(requests.values()), None)
        container = getattr(request, "container", None) or record.port
        argv += ["-p", f"127.0.0.1:{record.port}:{container}"]
    for key, value in sorted(env.items()):
        argv += ["-e", f"{key}={value}"]
    for volume in getattr(service, "volumes", []):
        argv += ["-v", _volume(construct_id, volume, root)]
    argv.append(service.image)  # type: ignore[union-attr]
    argv += _command(getattr(service, "command", None))
    return argv


def compose_argv(construct_id: str, service: ConfigService, root: Path, *verb: str) -> list[str]:
    """``docker compose -p PROJECT -f FILE VERB...`` (without the leading ``docker``)."""
    file = str(root / service.file)  # type: ignore[union-attr]
    return ["compose", "-p", project_name(construct_id), "-f", file, *verb]


def plan_argv(construct_id: str, service: ConfigService) -> list[str]:
    """What would run, for ``--dry-run`` (ports and env shown by name only)."""
    if service.type == "compose":
        return ["docker", *compose_argv(construct_id, service, Path("."), "up", "-d",
                                        *service.services)]
    return ["docker", "run", "-d", "--name", container_name(construct_id, service.id),
            service.image]  # type: ignore[union-attr]


def start(construct: Construct, service: ConfigService, ports: Sequence[PortAllocation],
          env: Mapping[str, str], added: Mapping[str, str], root: Path, log: Path) -> DockerRun:
    """Start the container or the compose project; a leftover of the same name goes first."""
    require_engine()
    if service.type == "compose":
        argv = compose_argv(construct.id, service, root, "up", "-d",
                            *service.services)
        result = _docker(argv, timeout=RUN_TIMEOUT, env=env, cwd=root)
        run = DockerRun(project_name(construct.id), ["docker", *argv], str(root / service.file))
    else:
        name = container_name(construct.id, service.id)
        _docker(["rm", "-f", name], timeout=60)
        argv = docker_argv(construct.id, service, ports, added, root)
        result = _docker(argv, timeout=RUN_TIMEOUT)
        run = DockerRun(name, ["docker", *argv])
    service_logs.append(log, f"$ {' '.join(run.argv)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()[-TAIL_LINES:]
        raise ServiceError(
            f"service {service.id}: `docker {argv[0]}` failed with exit status "
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


def is_running(record: Service) -> bool | None:
    """Whether the container (or a container of the project) runs; None when docker cannot say."""
    if not record.container:
        return False
    try:
        if record.type == "compose":
            result = _docker(["compose", "-p", record.container, "ps", "-q"], timeout=10)
            return bool(result.stdout.strip()) if result.returncode == 0 else None
        result = _docker(["inspect", "-f", "{{.State.Running}}", record.container], timeout=10)
    except ServiceError:
        return None
    if result.returncode != 0:
        return False  # no such container
    return result.stdout.strip() == "true"


def stop(record: Service) -> list[str]:
    """Stop the container or project (kept until the construct goes)."""
    if not record.container:
        return []
    try:
        if record.type == "compose":
            _docker(["compose", "-p", record.container, "stop"], timeout=120)
        else:
            _docker(["stop", record.container], timeout=120)
    except DockerUnavailableError:
        return [f"docker is not available: container {record.container} was not stopped"]
    return [f"stopped container {record.container}"]


def remove(record: Service) -> list[str]:
    """Remove the container (or the project, its volumes included) for good."""
    if not record.container:
        return []
    try:
        if record.type == "compose":
            _docker(["compose", "-p", record.container, "down", "--volumes", "--remove-orphans"],
                    timeout=300)
            return [f"removed compose project {record.container}"]
        _docker(["rm", "-f", "-v", record.container], timeout=120)
        notes = [f"removed container {record.container}"]
        # The construct's named volumes (see _volume): its data goes with it.
        prefix = f"synthetic-{record.construct_id}-"
        listed = _docker(["volume", "ls", "-q", "--filter", f"name={prefix}"], timeout=60)
        for volume in listed.stdout.split():
            if volume.startswith(prefix):
                _docker(["volume", "rm", volume], timeout=60)
                notes.append(f"removed volume {volume}")
        return notes
    except DockerUnavailableError:
        return [f"docker is not available: container {record.container} was left"]
