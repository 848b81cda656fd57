"""An isolated construct's own OpenCode server, running inside its sandbox.

Every tool the agent calls runs in the process that calls it: for the
agent's commands to be sandboxed, its server must be. So an isolated
construct does not use the repository's shared server: at its session step,
``opencode serve`` starts in the construct's sandbox (:mod:`.bubblewrap`),
rooted at its worktree, on a free port of 127.0.0.1, with a password of its
own. The editors and the CLI reach it as they reach the shared server: the
record is ``<state>/sandboxes/<id>/opencode/server.toml`` and ``password``,
in the same format as the repository's (:mod:`synthetic_ls.runtime.opencode_record`),
outside the sandbox's view.

Inside, the agent cannot use that password to answer its own permission
requests: its commands run through a shell that drops the variable
(``shell/bash``, the server's ``SHELL``), the server is the PID namespace's
first process (no reaper holds its environment), and a plugin loaded before
any tool runs (``guard.js``) makes the server undumpable, so its
``/proc/<pid>/environ`` and memory are closed to the agent's commands.

The server ends with the construct (its removal, or the undo of its
creation); it also carries the construct's tag
(:mod:`synthetic_ls.runtime.tagged`), so a leftover is found like any of the
construct's processes.

A ``container`` construct's server runs the same way in a container of its
image (:mod:`.container`): ``docker run`` (not detached) is the recorded
process, the server the container's first process, the binary, guard and
shell mounted read-only; stopping it also removes the container (by label:
a client killed without it leaves the container running), and the marker
file ``container`` in the record's folder says which runtime it used.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from state_format.errors import StateError
from state_format.owner import Liveness, Owner
from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.opencode.client import OpenCodeError
from synthetic_ls.opencode.server import START_FAILED, START_TIMEOUT, ServerInfo, find_binary
from synthetic_ls.runtime.docker import require_engine
from synthetic_ls.runtime.groups import end_group
from synthetic_ls.runtime.opencode_record import (
    ServerRecord,
    log_path,
    read_password,
    read_server,
    remove_server,
    server_lock,
    write_server,
)
from synthetic_ls.sandbox import container
from synthetic_ls.sandbox.bubblewrap import bwrap_argv
from synthetic_ls.sandbox.plan import SandboxPlan, plan_for, sandbox_dir

HERE = Path(__file__).resolve().parent
GUARD = HERE / "guard.js"
SHELL = HERE / "shell" / "bash"


#: In ``<state>/sandboxes/<id>``: present when the server runs (or ran) in a container.
CONTAINER_MARK = "container"


def is_isolated(construct: Construct) -> bool:
    """Whether the construct's agent runs in a sandbox of its own."""
    return bool(construct.isolation)


def other_worktrees(checkout: Path, mine: Path) -> list[Path]:
    """Every worktree of the repository but ``mine`` and the main checkout (read from git)."""
    out = subprocess.run(
        ["git", "-C", str(checkout), "worktree", "list", "--porcelain", "-z"],
        capture_output=True, stdin=subprocess.DEVNULL, check=False,
    ).stdout.decode("utf-8", "surrogateescape")
    found = [Path(f[len("worktree "):]) for f in out.split("\0") if f.startswith("worktree ")]
    skip = {mine.resolve(), checkout.resolve()}
    return [p for p in found if p.resolve() not in skip]


def plan_of(store: StateStore, checkout: Path, construct: Construct) -> SandboxPlan:
    """The construct's sandbox (it must have a worktree)."""
    mine = Path(construct.workspace_path or "")
    return plan_for(store.local_dir, checkout, construct, other_worktrees(checkout, mine))


def _folder(store: StateStore, construct_id: str) -> Path:
    return sandbox_dir(store.local_dir, construct_id)


def running(store: StateStore, construct_id: str) -> ServerInfo | None:
    """The construct's server when it runs; a read: starts nothing, writes nothing."""
    folder = _folder(store, construct_id)
    try:
        record = read_server(folder)
    except StateError:
        return None
    if record is None or record.owner.liveness() is not Liveness.ALIVE:
        return None
    return ServerInfo(record.url, read_password(folder), True, record.owner.pid, reused=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config_content(home: Path) -> str:
    """The person's ``OPENCODE_CONFIG_CONTENT`` (their providers) with the guard plugin added."""
    try:
        config = json.loads(os.environ.get("OPENCODE_CONFIG_CONTENT") or "{}")
    except ValueError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    plugins = config.get("plugin")
    config["plugin"] = [f"file://{home / '.synthetic' / 'guard.js'}",
                        *(plugins if isinstance(plugins, list) else [])]
    return json.dumps(config)


def _environment(plan: SandboxPlan, password: str) -> dict[str, str]:
    """What the server starts with: nothing of the person's environment but PATH and locale."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ", "TERM")}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update({
        "HOME": str(plan.home),
        "SHELL": str(plan.home / ".synthetic" / "bin" / "bash"),
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_CONFIG_CONTENT": _config_content(plan.home),
        "OPENCODE_SERVER_PASSWORD": password,
        # Its tag (synthetic_ls.runtime.tagged): a leftover is found as the construct's.
        "SYNTHETIC_CONSTRUCT_ID": plan.construct_id,
        "SYNTHETIC_CONSTRUCT_DIR": str(plan.worktree),
    })
    return env


def read_only_files(plan: SandboxPlan, binary: str) -> list[tuple[Path, Path]]:
    """What the server is shown read-only, as (source, target): the guard plugin, the
    shell its agent's commands run with, the OpenCode binary, and the home's OpenCode
    config folder, so that an agent cannot add a plugin its server's next start loads
    (a plugin runs in the server, beside its password)."""
    real = Path(os.path.realpath(binary))
    _no_plugin_install(plan.home)
    config = plan.home / ".config" / "opencode"
    return [(GUARD, plan.home / ".synthetic" / "guard.js"),
            (SHELL, plan.home / ".synthetic" / "bin" / "bash"),
            (real, real), (config, config)]


def server_argv(plan: SandboxPlan, binary: str, port: int) -> list[str]:
    """``bwrap ... -- opencode serve --hostname 127.0.0.1 --port PORT`` for ``plan``."""
    real = Path(os.path.realpath(binary))
    shown = read_only_files(plan, binary)
    return bwrap_argv(plan, [str(real), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                      server=True, read_only=shown)


def ensure(store: StateStore, checkout: Path, construct: Construct) -> ServerInfo:
    """The construct's server: the running one, or a new one started in its sandbox."""
    folder = _folder(store, construct.id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with server_lock(folder, timeout=START_TIMEOUT + 15.0):
        found = running(store, construct.id)
        if found is not None:
            return found
        return _start(store, checkout, construct)


def _start(store: StateStore, checkout: Path, construct: Construct) -> ServerInfo:
    folder = _folder(store, construct.id)
    stop(store, construct.id)  # what a dead one left
    plan = plan_of(store, checkout, construct)
    password = secrets.token_urlsafe(24)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_path(folder)
    env = _environment(plan, password)
    if construct.isolation == "container":
        argv, env = _container_start(store, checkout, construct, plan, port, env)
    else:
        argv = server_argv(plan, find_binary(), port)
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                argv, cwd=plan.worktree, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as err:
            raise OpenCodeError(f"could not run {argv[0]}: {err.strerror}", code=START_FAILED
                                ) from None
    try:
        started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_server(folder, ServerRecord(url, Owner.of(proc.pid), started_at, str(log), ""),
                     password)
    except BaseException:
        end_group(proc.pid)
        raise
    info = ServerInfo(url, password, True, proc.pid)
    try:
        with info.client() as client:
            client.wait_healthy(within=START_TIMEOUT)
    except OpenCodeError as err:
        end_group(proc.pid)
        if construct.isolation == "container":
            container.remove_agent(store.local_dir, construct.id)
        with contextlib.suppress(StateError):
            remove_server(folder)
        raise OpenCodeError(
            f"the sandboxed opencode serve of {construct.id} did not become healthy: {err} "
            f"(see {log})", code=START_FAILED, url=url, log=str(log),
        ) from None
    return info


def _container_start(store: StateStore, checkout: Path, construct: Construct,
                     plan: SandboxPlan, port: int, server_env: dict[str, str],
                     ) -> tuple[list[str], dict[str, str]]:
    """The ``docker run`` of a container construct's server, and the client's environment.

    The client keeps this process's environment (its ``DOCKER_HOST``, its
    own HOME for its config) with the server's added: ``-e NAME`` passes
    those (the password among them) on without a value on the command line.
    """
    require_engine()
    image = container.image_of(construct, checkout)
    real = Path(os.path.realpath(find_binary()))
    shown = read_only_files(plan, str(real))
    names = [k for k in server_env if k not in ("PATH", "HOME")]
    argv = container.server_argv(plan, image, str(real), port, shown, names)
    (_folder(store, construct.id) / CONTAINER_MARK).write_text(
        container.agent_name(construct.id) + "\n", encoding="utf-8")
    client_env = {**os.environ, **image.env,
                  **{k: v for k, v in server_env.items() if k in names}}
    return argv, client_env


def _no_plugin_install(home: Path) -> None:
    """Mark the sandbox home's OpenCode config folder as having its plugin package installed.

    With a plugin configured (the guard), OpenCode installs ``@opencode-ai/plugin``
    from the npm registry into ``~/.config/opencode`` before loading any
    plugin, unless that folder has a ``node_modules`` and a lock file naming
    the package. An image has no CA bundle or registry access to count on
    (measured: 70 s of retries before the server answers), and the guard
    imports nothing of that package: the marks let the server start offline.
    """
    folder = home / ".config" / "opencode"
    (folder / "node_modules").mkdir(parents=True, exist_ok=True)
    lock = folder / "package-lock.json"
    if not lock.exists():
        lock.write_text(json.dumps({"lockfileVersion": 3, "packages": {"": {
            "dependencies": {"@opencode-ai/plugin": "*"}}}}) + "\n", encoding="utf-8")
    # What OpenCode 1.18 writes there when missing: the folder is shown to the
    # server read-only (read_only_files), so they must be there before it starts.
    made = {".gitignore": "node_modules\npackage.json\npackage-lock.json\nbun.lock\n.gitignore",
            "opencode.jsonc": '{\n  "$schema": "https://opencode.ai/config.json"\n}'}
    for name, text in made.items():
        if not (folder / name).exists():
            (folder / name).write_text(text, encoding="utf-8")


def _in_container(store: StateStore, construct_id: str) -> bool:
    """Whether the construct's server runs in a container (its marker, or its record says so)."""
    if (_folder(store, construct_id) / CONTAINER_MARK).exists():
        return True
    try:
        return store.get_construct(construct_id).isolation == "container"
    except (StateError, OSError):
        return False


def stop(store: StateStore, construct_id: str) -> list[str]:
    """End the construct's server (its whole sandbox) and remove its record."""
    folder = _folder(store, construct_id)
    try:
        record = read_server(folder)
    except StateError:
        record = None
    notes: list[str] = []
    # A container first: its server, the first process there, may not heed the
    # SIGTERM its client passes on (a grace period lost), and a client killed
    # without it leaves the container running.
    removed = (container.remove_agent(store.local_dir, construct_id)
               if _in_container(store, construct_id) else [])
    if record is not None:
        if record.owner.liveness() is Liveness.ALIVE:
            end_group(record.owner.pid, grace=2.0)
            notes.append(f"stopped the sandboxed OpenCode server of {construct_id}")
        remove_server(folder)
    if removed and not notes:
        notes.append(f"removed the agent container of {construct_id}")
    return notes


def remove(store: StateStore, construct_id: str) -> list[str]:
    """Stop the server and delete the construct's sandbox folder (its home, its sessions)."""
    notes = stop(store, construct_id)
    if _in_container(store, construct_id):
        # Its command containers too: a removal leaves none of the construct's.
        removed = container.remove_all(store.local_dir, construct_id)
        if removed:
            notes.append(f"removed {len(removed)} container(s) of {construct_id}")
    folder = _folder(store, construct_id)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
        notes.append(f"removed the sandbox folder of {construct_id}")
    return notes
