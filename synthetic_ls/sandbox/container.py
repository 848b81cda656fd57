"""The container runtime of isolated constructs: the same sandbox, on the local Docker engine.

A template's ``isolation: { runtime: "container", image: "..." }`` (or a
``devcontainer`` whose ``image`` is used) runs the construct's agent server
and its setup commands and services in containers of that image. What a
container sees of the machine is the plan's binds (:mod:`.plan`), mounted at
the same path inside as outside: the worktree, the git it needs to commit,
the sandbox's home; the hidden folders that lie inside a bind (the state
folder, the other worktrees' git folders) are covered by an empty tmpfs.
Nothing else of the machine is there: the image has no home, main checkout,
other worktree, state folder or Docker socket to hide.

Every container runs with the host's network (``--network host``, as every
Synthetic container does: :mod:`synthetic_ls.runtime.docker`), no
capability (``--cap-drop ALL``), ``no-new-privileges``, as the person's
user id (files it writes in the worktree are theirs), and carries the
labels ``synthetic.construct=<id>``, ``synthetic.state=<state folder>`` and
``synthetic.sandbox=agent|command`` (and ``synthetic.log=<log>`` for a
command), by which it is found and removed. Environment values are never on
the command line (it is logged, and ``ps`` shows it): ``-e NAME`` takes each
value from the docker client's own environment.

* Commands and services (:class:`ContainerRunner`): each is
  ``docker run --rm --init ... sh -c "cd CWD && COMMAND"`` run by
  :mod:`synthetic_ls.runtime.service_process` like any command, so logs,
  process groups and readiness work unchanged. Ending the client's group
  ends the container (the client passes the signal on, ``--init`` to the
  command); a killed client does not, so stopping a construct's services
  also removes their containers by label (:func:`remove_commands`).
* The agent's server (:func:`server_argv`, used by :mod:`.agent_server`):
  ``docker run`` with no ``--init``: the server is the container's first
  process, so no other process holds its environment (its password).
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from state_format.records import Construct
from synthetic_ls.errors import SyntheticError
from synthetic_ls.runtime import service_process
from synthetic_ls.runtime.docker import (
    CONSTRUCT_LABEL,
    RUN_TIMEOUT,
    STATE_LABEL,
    require_engine,
)
from synthetic_ls.runtime.service_process import Launched
from synthetic_ls.sandbox.bubblewrap import SandboxUnavailableError
from synthetic_ls.sandbox.plan import SandboxPlan

#: Which of a construct's containers this is: ``agent`` (its server) or ``command``.
ROLE_LABEL = "synthetic.sandbox"
#: A command's container: the log its output goes to (how a stopped service finds its own).
LOG_LABEL = "synthetic.log"
#: Seconds a ``docker rm -f`` may take.
REMOVE_TIMEOUT = 60.0
#: Variables of the docker client's environment never passed into a container:
#: the image's own PATH wins, HOME is the sandbox's, the rest is the shell's own.
NOT_PASSED = frozenset({"PATH", "HOME", "PWD", "OLDPWD", "SHLVL", "_"})


class ContainerImageError(SyntheticError):
    """The construct's container image cannot be found from its template's isolation."""

    code = "container-image"


@dataclass(frozen=True)
class ContainerImage:
    """The image a construct's containers run, and the environment its devcontainer adds."""

    image: str
    env: Mapping[str, str] = field(default_factory=dict)


def image_of(construct: Construct, checkout: Path) -> ContainerImage:
    """The image of a ``container`` construct: its recorded image, or its devcontainer's.

    The devcontainer file is read from the main checkout (``checkout``), not
    the worktree: the agent must not choose what it runs in. It is JSON with
    comments (JSONC); only its ``image`` (and ``containerEnv``) is used: a
    devcontainer that is ``build`` only is refused, saying so.
    """
    if construct.isolation_image:
        return ContainerImage(construct.isolation_image)
    if not construct.isolation_devcontainer:
        raise ContainerImageError(
            f"construct {construct.id} runs in a container but its record names no image "
            "(its template's `isolation` needs an `image` or a `devcontainer`)")
    return read_devcontainer(checkout / construct.isolation_devcontainer)


def read_devcontainer(path: Path) -> ContainerImage:
    """The ``image`` and ``containerEnv`` of the devcontainer.json at ``path``."""
    import json5

    try:
        data = json5.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ContainerImageError(f"cannot read the devcontainer {path}: {err.strerror}"
                                  ) from None
    except ValueError as err:
        raise ContainerImageError(f"the devcontainer {path} is not valid JSONC: {err}") from None
    if not isinstance(data, dict):
        raise ContainerImageError(f"the devcontainer {path} is not a JSON object")
    image = data.get("image")
    if not isinstance(image, str) or not image:
        has = ("`build`" if "build" in data else "`dockerComposeFile`"
               if "dockerComposeFile" in data else "no `image`")
        raise ContainerImageError(
            f"the devcontainer {path} has {has}: only a devcontainer with an `image` is "
            "supported; build the image yourself and name it in `image` (or in the "
            "template's `isolation.image`)")
    env = data.get("containerEnv")
    pairs = {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}
    return ContainerImage(image, pairs)


def ensure_image(image: str) -> None:
    """Make sure the engine has ``image``: pulled when it has not (a clear error when that fails).

    Before a creation makes anything: a ``docker run`` would pull it itself,
    but within the agent server's start timeout, and with its reason only in
    a log.
    """
    if _docker_ok(["image", "inspect", image], timeout=REMOVE_TIMEOUT).returncode == 0:
        return
    pulled = _docker_ok(["pull", image], timeout=RUN_TIMEOUT)
    if pulled.returncode != 0:
        why = ((pulled.stderr or pulled.stdout).strip().splitlines() or ["no answer"])[-1]
        raise ContainerImageError(
            f"the container image {image} is not on this Docker engine and could not be "
            f"pulled: {why}", fields={"image": image})


def _docker_ok(argv: Sequence[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``docker ARGV``, output captured; a timeout or no client is a failed run, not a raise."""
    try:
        return subprocess.run(["docker", *argv], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False,
                              errors="replace")
    except (OSError, subprocess.TimeoutExpired) as err:
        return subprocess.CompletedProcess(["docker", *argv], 1, "", str(err))


def state_dir_of(plan: SandboxPlan) -> Path:
    """The state folder of ``plan``, whose home is ``<state>/sandboxes/<id>/home``.

    (:func:`.plan.plan_for` makes it so.)
    """
    return plan.home.parents[2]


def _no_colon(path: Path) -> Path:
    """``path``, refused when it has a ':' (``-v`` and ``--tmpfs`` split on it: another
    folder would be mounted)."""
    if ":" in str(path):
        raise SandboxUnavailableError(f"cannot mount {path} in a container: its path has a ':'")
    return path


def _volume(source: Path, target: Path, writable: bool) -> str:
    return f"{_no_colon(source)}:{_no_colon(target)}" + ("" if writable else ":ro")


def mount_args(plan: SandboxPlan, read_only: Sequence[tuple[Path, Path]] = ()) -> list[str]:
    """``-v`` for each bind of ``plan`` (same path inside), ``--tmpfs`` over a hidden folder in one.

    A hidden folder's tmpfs is read-only (``:ro``), a ``scratch`` one's writable.

    Docker mounts a container's volumes outermost first, whatever their
    order here, so a hidden folder inside a bind (the state folder inside the
    repository's git folder) is covered, and a bind inside that (the
    sandbox's home) shows again over the cover, as in the bubblewrap view.
    """
    binds = plan.binds()
    argv: list[str] = []
    for layer in plan.layers:
        if layer.kind == "bind" and layer.source is not None:
            argv += ["-v", _volume(layer.source, layer.target, layer.writable)]
        elif any(layer.target.is_relative_to(b.target) and layer.target != b.target
                 for b in binds):
            # Hidden: empty and read-only, as bubblewrap's (binds inside still show).
            options = "" if layer.kind == "scratch" else ":ro"
            argv += ["--tmpfs", f"{_no_colon(layer.target)}{options}"]
    for source, target in read_only:
        argv += ["-v", _volume(source, target, False)]
    return argv


def container_argv(
    plan: SandboxPlan,
    image: str,
    command: Sequence[str],
    *,
    name: str,
    env_names: Sequence[str],
    detach: bool,
    init: bool = False,
    role: str = "command",
    extra_labels: Mapping[str, str] | None = None,
    read_only: Sequence[tuple[Path, Path]] = (),
) -> list[str]:
    """``docker run ... IMAGE command...`` for a container of ``plan``.

    ``detach``: ``-d`` (docker returns once it runs) instead of ``--rm`` (the
    client waits for it and removes it when it ends). ``env_names``: each
    passed as ``-e NAME``, its value taken from the client's environment.
    ``init``: ``--init`` reaps and passes signals on (a command; never the
    agent's server, which must be the first process).
    """
    labels = {CONSTRUCT_LABEL: plan.construct_id, STATE_LABEL: str(state_dir_of(plan)),
              ROLE_LABEL: role, **(extra_labels or {})}
    argv = ["docker", "run", "-d" if detach else "--rm"]
    if init:
        argv.append("--init")
    argv += ["--name", name, "--network", "host", "--cap-drop", "ALL",
             "--security-opt", "no-new-privileges",
             # The person's user id: what it writes in the worktree is theirs.
             "--user", f"{os.getuid()}:{os.getgid()}"]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    argv += mount_args(plan, read_only)
    argv += ["-w", str(plan.worktree), "-e", f"HOME={plan.home}"]
    for env_name in sorted(set(env_names) - NOT_PASSED):
        argv += ["-e", env_name]
    argv += [image, *command]
    return argv


def command_name(construct_id: str) -> str:
    """A new command container's name: ``synthetic-<id>-cmd-<random>`` (one per command run)."""
    return f"synthetic-{construct_id}-cmd-{secrets.token_hex(4)}"


def agent_name(construct_id: str) -> str:
    """The agent server's container: ``synthetic-<id>-agent``."""
    return f"synthetic-{construct_id}-agent"


def passed_names(env: Mapping[str, str]) -> list[str]:
    """The variables of ``env`` a command's container gets: what differs from this process's.

    A runner is given the full environment (this process's plus what the
    construct adds: ports, the template's ``env``, ``SYNTHETIC_CONSTRUCT_*``);
    the person's own variables (their tokens, their ``SSH_AUTH_SOCK``) stay
    outside, as nothing of their home is inside either.
    """
    return [k for k, v in env.items() if os.environ.get(k) != v]


class ContainerRunner:
    """Commands of one construct, each in a container of its image (``docker run --rm --init``)."""

    def __init__(self, plan: SandboxPlan, image: ContainerImage) -> None:
        self.plan = plan
        self.image = image

    def wrap(self, command: str, cwd: Path, env: Mapping[str, str], log: Path) -> str:
        """The shell command line that runs ``command`` in ``cwd`` in a new container."""
        inner = f"cd {shlex.quote(str(cwd))} && {command}"
        argv = container_argv(
            self.plan, self.image.image, ["sh", "-c", inner],
            name=command_name(self.plan.construct_id),
            env_names=[*passed_names(env), *self.image.env], detach=False, init=True,
            extra_labels={LOG_LABEL: str(log)})
        return shlex.join(argv)

    def _env(self, env: Mapping[str, str]) -> dict[str, str]:
        # The devcontainer's containerEnv is under the construct's own values.
        return {**self.image.env, **env}

    def run_commands(
        self,
        commands: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log: Path,
        what: str,
        on_start: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """See :meth:`synthetic_ls.runtime.runner.Runner.run_commands`; each in a container."""
        require_engine()
        full = self._env(env)
        try:
            service_process.run_commands(
                [self.wrap(c, cwd, full, log) for c in commands], cwd=cwd, env=full, log=log,
                what=what, on_start=on_start, cancelled=cancelled)
        finally:
            # A cancelled or killed client leaves its container running: not so.
            remove_commands(state_dir_of(self.plan), self.plan.construct_id, log=log)

    def launch(self, command: str, *, cwd: Path, env: Mapping[str, str], log: Path) -> Launched:
        """See :meth:`synthetic_ls.runtime.runner.Runner.launch`; in a container."""
        require_engine()
        full = self._env(env)
        return service_process.launch(self.wrap(command, cwd, full, log), cwd=cwd, env=full,
                                      log=log)


def server_argv(plan: SandboxPlan, image: ContainerImage, binary: str, port: int,
                shown: Sequence[tuple[Path, Path]], env_names: Sequence[str]) -> list[str]:
    """``docker run ... IMAGE opencode serve --hostname 127.0.0.1 --port PORT`` for ``plan``.

    Not detached: the client stays, in the process group that is recorded,
    with the server's output; ending it ends the container, and
    :func:`remove_agent` removes it when the client was killed. ``shown``:
    files mounted read-only (the binary, the guard plugin, the shell).
    """
    command = [binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)]
    return container_argv(plan, image.image, command, name=agent_name(plan.construct_id),
                          env_names=[*env_names, *image.env], detach=False, role="agent",
                          read_only=shown)


def _remove(filters: Sequence[str]) -> list[str]:
    """``docker rm -f`` the containers matching every filter (stopped ones too); their names."""
    argv = ["ps", "-a", "--format", "{{.Names}}"]
    for one in filters:
        argv += ["--filter", one]
    found = _docker_ok(argv, timeout=REMOVE_TIMEOUT)
    names = found.stdout.split() if found.returncode == 0 else []
    if names and _docker_ok(["rm", "-f", *names], timeout=REMOVE_TIMEOUT).returncode != 0:
        return []
    return names


def _filters(state_dir: Path, construct_id: str) -> list[str]:
    # Resolved, as the plan labels them (plan_for resolves the state folder).
    return [f"label={CONSTRUCT_LABEL}={construct_id}",
            f"label={STATE_LABEL}={state_dir.resolve()}"]


def remove_commands(state_dir: Path, construct_id: str, *, log: Path | None = None) -> list[str]:
    """Remove the construct's command containers (those writing to ``log`` only, when given)."""
    filters = [*_filters(state_dir, construct_id), f"label={ROLE_LABEL}=command"]
    if log is not None:
        filters.append(f"label={LOG_LABEL}={log}")
    return _remove(filters)


def remove_agent(state_dir: Path, construct_id: str) -> list[str]:
    """Remove the construct's agent server container (by label: also one left by a crash)."""
    return _remove([*_filters(state_dir, construct_id), f"label={ROLE_LABEL}=agent"])


def remove_all(state_dir: Path, construct_id: str) -> list[str]:
    """Remove every container of the construct (its agent's and its commands')."""
    return _remove(_filters(state_dir, construct_id))
