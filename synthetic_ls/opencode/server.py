"""The OpenCode server a repository uses: a named one, or one Synthetic manages.

When ``opencode.url`` in the config or the environment variable
``SYNTHETIC_OPENCODE_URL`` names a server, it is used as it is (with the
password from ``SYNTHETIC_OPENCODE_PASSWORD``, if set); Synthetic never starts
or stops it. The environment variable wins over the config.

Otherwise :func:`ensure_server` starts one ``opencode serve --hostname
127.0.0.1 --port P`` per repository: on a free loopback port, with a random
password (``OPENCODE_SERVER_PASSWORD``), ``OPENCODE_DISABLE_MODELS_FETCH=1``,
detached in its own session and process group, its output appended to
``<state>/opencode/serve.log``. It is recorded in ``<state>/opencode/server.toml``
(url, pid, process start time; see :mod:`synthetic_ls.runtime.opencode_record`), the
password in ``<state>/opencode/password`` (0600). Later calls reuse it while
the recorded process is alive and is still the same process (pid and start
time); a dead one is restarted and a pid now used by another process is never
signalled. Nothing is started unless :func:`ensure_server` is called.

The binary is ``SYNTHETIC_OPENCODE_BIN`` when set, else ``opencode`` on PATH.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from state_format.errors import StateError
from state_format.owner import Liveness, Owner, boot_id, start_time
from state_format.protocol import StateStore
from synthetic_ls.opencode.client import UNREACHABLE, OpenCodeClient, OpenCodeError
from synthetic_ls.runtime.groups import end_group
from synthetic_ls.runtime.opencode_record import (
    ServerRecord,
    folder,
    log_path,
    read_password,
    read_server,
    remove_server,
    server_lock,
    write_server,
)
from synthetic_ls.runtime.proc import how_it_ended

URL_ENV = "SYNTHETIC_OPENCODE_URL"
PASSWORD_ENV = "SYNTHETIC_OPENCODE_PASSWORD"
BIN_ENV = "SYNTHETIC_OPENCODE_BIN"
NOT_INSTALLED = "opencode-not-installed"
START_FAILED = "opencode-start-failed"
#: Cold start takes about 3 s; a loaded machine needs more.
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerInfo:
    """Where to reach the server: ``url``, ``password``, and whether Synthetic manages it."""

    url: str
    password: str | None
    managed: bool
    pid: int | None = None
    reused: bool = False

    def client(self, **kwargs: Any) -> OpenCodeClient:
        return OpenCodeClient(self.url, password=self.password, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """No password: it stays in its file."""
        return {"url": self.url, "managed": self.managed, "pid": self.pid, "reused": self.reused}


@dataclass(frozen=True)
class ServerStatus:
    """``state``: ``external`` (a named server), ``running``, ``dead`` (recorded, gone),
    ``foreign`` (the recorded pid is now another process), ``elsewhere`` (recorded
    on another host or PID namespace) or ``stopped`` (nothing recorded)."""

    state: str
    url: str | None = None
    pid: int | None = None
    started_at: str | None = None
    log: str | None = None
    healthy: bool | None = None
    version: str | None = None
    #: The OpenCode config (or credentials) changed since the server started.
    config_changed: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state, "url": self.url, "pid": self.pid,
            "started_at": self.started_at, "log": self.log,
            "healthy": self.healthy, "version": self.version,
            "config_changed": self.config_changed,
        }


def external_server(config: Any = None) -> ServerInfo | None:
    """The server named by ``SYNTHETIC_OPENCODE_URL`` or ``opencode.url``, if any."""
    url = os.environ.get(URL_ENV) or None
    if url is None and config is not None:
        url = getattr(getattr(config, "opencode", None), "url", None)
    if not url:
        return None
    return ServerInfo(url.rstrip("/"), os.environ.get(PASSWORD_ENV) or None, managed=False)


def _state(record: ServerRecord) -> str:
    """What the recorded process is now: running, dead, foreign or elsewhere."""
    owner = record.owner
    liveness = owner.liveness()
    if liveness is Liveness.UNKNOWN:
        return "elsewhere"
    if liveness is Liveness.ALIVE:
        return "running"
    # Dead for Owner: gone, or the pid now names another process.
    now = start_time(owner.pid)
    if now is not None and owner.start is not None and now != owner.start:
        return "foreign"
    return "dead"


def _end_leftovers(record: ServerRecord) -> None:
    """End what is left of a dead server's process group, if it can only be ours.

    In the same boot a pid is not reused while a group of that id lives, so
    the group's members are the server's children. After a reboot the number
    means nothing: then nothing is signalled.
    """
    if record.owner.boot == boot_id():
        end_group(record.owner.pid)


def server_status(
    store: StateStore, config: Any = None, *, check_health: bool = True
) -> ServerStatus:
    """What is known about this repository's server, without starting anything."""
    ext = external_server(config)
    if ext is not None:
        return _with_health(ServerStatus("external", url=ext.url), ext.password, check_health)
    record = read_server(store.local_dir)
    if record is None:
        return ServerStatus("stopped")
    status = ServerStatus(
        _state(record), url=record.url, pid=record.owner.pid,
        started_at=record.started_at or None, log=record.log or None,
        config_changed=config_changed(record.config, server_env({})) if record.config else None,
    )
    if status.state == "running":
        status = _with_health(status, read_password(store.local_dir), check_health)
    return status


def _with_health(status: ServerStatus, password: str | None, check: bool) -> ServerStatus:
    if not check or status.url is None:
        return status
    try:
        with OpenCodeClient(status.url, password=password, timeout=2.0) as client:
            health = client.health()
    except OpenCodeError:
        return ServerStatus(**{**status.__dict__, "healthy": False})
    return ServerStatus(**{**status.__dict__, "healthy": health.healthy, "version": health.version})


#: The OpenCode version Synthetic is tested with (scripts/setup.sh installs it).
PINNED_VERSION = "1.18.33"
#: Where scripts/setup.sh installs it, in a source checkout of Synthetic.
PINNED = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / ".bin" / "opencode"


def find_binary() -> str:
    """The ``opencode`` to run, or OpenCodeError ``opencode-not-installed``.

    ``SYNTHETIC_OPENCODE_BIN``, else ``opencode`` on PATH, else the pinned one
    set-up installed beside these sources (the README's PATH step puts only
    Synthetic's own commands on PATH).
    """
    env = os.environ.get(BIN_ENV)
    if env:
        if os.access(env, os.X_OK):
            return env
        raise OpenCodeError(
            f"{BIN_ENV} is set to {env}, which is not an executable file",
            code=NOT_INSTALLED, path=env,
        )
    found = shutil.which("opencode")
    if found is not None:
        return found
    if os.access(PINNED, os.X_OK):
        return str(PINNED)
    raise OpenCodeError(
        f"opencode is not installed: install the version Synthetic is tested with (npm "
        f"install -g opencode-ai@{PINNED_VERSION}) or set {BIN_ENV} or {URL_ENV}",
        code=NOT_INSTALLED,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_server(
    store: StateStore, config: Any = None, *, env: Mapping[str, str] | None = None,
    within: float = START_TIMEOUT,
) -> ServerInfo:
    """The server to use: a named one, the recorded one if it is alive, or a new one.

    ``env`` adds to the environment the server is started with (tests point
    HOME and XDG_* elsewhere, or pass ``OPENCODE_CONFIG_CONTENT``).
    """
    ext = external_server(config)
    if ext is not None:
        return ext
    # The server's own lock, not the state lock: a start takes seconds, and
    # record writes by other commands must not wait for it.
    with server_lock(store.local_dir, timeout=within + 15.0):
        record = read_server(store.local_dir)
        if record is not None:
            state = _state(record)
            password = read_password(store.local_dir)
            if state == "running":
                info = ServerInfo(record.url, password, True, record.owner.pid, reused=True)
                changed = config_changed(record.config, server_env(env or {}))
                try:
                    with info.client() as client:
                        client.wait_healthy(within=min(within, 10.0))
                        # A changed OpenCode config (or `opencode auth login`) takes
                        # a new server; never under an agent at work.
                        if not changed or _agents_at_work(store, client):
                            return info
                    end_group(record.owner.pid)
                except OpenCodeError:
                    end_group(record.owner.pid)  # ours but not answering: replace it
            elif state == "dead":
                _end_leftovers(record)
            elif state == "elsewhere":
                raise OpenCodeError(
                    f"the OpenCode server of this repository was started by "
                    f"{record.owner.where()}; stop it there, or set {URL_ENV}",
                    code=START_FAILED, url=record.url,
                )
            remove_server(store.local_dir)
        return _start(store, env or {}, within)


def server_env(extra_env: Mapping[str, str]) -> dict[str, str]:
    """The environment a server starts with (without its password)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_SERVER_")}
    env.update(extra_env)
    env["OPENCODE_DISABLE_MODELS_FETCH"] = "1"
    return env


#: What of the environment is OpenCode's config.
_CONFIG_VARIABLES = ("OPENCODE_CONFIG_CONTENT", "OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR")


def config_digest(env: Mapping[str, str]) -> str:
    """A digest of the OpenCode config and credentials a server with ``env`` reads:
    ``FILES:VARIABLES`` (see :func:`config_changed`).

    The user's global config files and OpenCode's credentials (``auth.json``,
    written by ``opencode auth login``), then the config variables: a server
    reads them when it starts, so a change means a new server. Only digests
    are kept, never the content.
    """
    variables = hashlib.sha256()
    for key in _CONFIG_VARIABLES:
        variables.update(f"{key}={env.get(key, '')}\0".encode("utf-8", "surrogateescape"))
    h = hashlib.sha256()
    home = Path(env.get("HOME") or "~").expanduser()
    config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "opencode"
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "opencode"
    files = [config_home / n for n in ("opencode.json", "opencode.jsonc", "config.json")]
    files.append(data_home / "auth.json")
    if env.get("OPENCODE_CONFIG"):
        files.append(Path(env["OPENCODE_CONFIG"]))
    for path in files:
        try:
            with open(path, "rb") as f:
                content = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            content = "-"
        h.update(f"{path}={content}\0".encode("utf-8", "surrogateescape"))
    return f"{h.hexdigest()}:{variables.hexdigest()}"


def config_changed(recorded: str, env: Mapping[str, str]) -> bool:
    """Whether a server started with config digest ``recorded`` no longer matches ``env``.

    The files are the same for every face of one person; the variables are a
    process's own: only a process that sets one of them (a shell with
    ``OPENCODE_CONFIG_CONTENT``) can find them changed, so an editor started
    without them does not replace the server a shell started with them.
    """
    if not recorded:
        return False  # an older record: nothing to compare with
    files, _, variables = config_digest(env).partition(":")
    was_files, _, was_variables = recorded.partition(":")
    if files != was_files:
        return True
    return any(env.get(k) for k in _CONFIG_VARIABLES) and variables != was_variables


def _agents_at_work(store: StateStore, client: OpenCodeClient) -> bool:
    """Whether an agent of this repository is busy or waiting for an answer (which a
    new server would cut off); asks only about folders whose code was allowed."""
    from synthetic_ls.consent.gate import checker
    from synthetic_ls.consent.items import folder_items

    folders = {c.workspace_path for c in store.list_constructs().records
               if c.opencode_session_id and c.workspace_path}
    allowed = checker(store.repo.worktree)
    try:
        for folder in sorted(f for f in folders if f):
            if not allowed(folder_items(folder)):
                return True  # cannot ask without loading it: assume at work
            busy = client.statuses(directory=folder)
            if any(v in ("busy", "retry") for v in busy.values()):
                return True
            if client.permissions(directory=folder) or client.questions(directory=folder):
                return True
    except OpenCodeError:
        return True
    return False


def _start(store: StateStore, extra_env: Mapping[str, str], within: float) -> ServerInfo:
    binary = find_binary()
    password = secrets.token_urlsafe(24)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(extra_env)
    digest = config_digest(env)
    env["OPENCODE_SERVER_PASSWORD"] = password
    from state_format.atomic import ensure_dir

    ensure_dir(folder(store.local_dir))
    log = log_path(store.local_dir)
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(
                [binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                # Not the repository: OpenCode loads the plugins and MCP servers of
                # its working folder at once, and a folder's code runs only once the
                # person allowed it (each worktree is served on request, by path).
                cwd="/", env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        except OSError as err:
            raise OpenCodeError(
                f"could not run {binary}: {err.strerror}", code=NOT_INSTALLED, path=binary
            ) from None
    try:
        owner = Owner.of(proc.pid)
        started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_server(store.local_dir, ServerRecord(url, owner, started_at, str(log), digest),
                     password)
    except BaseException:
        # Unrecorded, it would run on with nothing to find it by (a full disk,
        # a read-only state folder): "nothing was changed" must stay true.
        end_group(proc.pid)
        with contextlib.suppress(StateError):  # the first error is the one to tell
            remove_server(store.local_dir)
        raise
    info = ServerInfo(url, password, True, proc.pid)
    try:
        with info.client() as client:
            client.wait_healthy(within=within)
    except OpenCodeError as err:
        end_group(proc.pid)
        remove_server(store.local_dir)
        exited = proc.poll()
        why = f"it {how_it_ended(exited)}" if exited is not None else str(err)
        raise OpenCodeError(
            f"opencode serve did not become healthy: {why} (see {log})",
            code=START_FAILED if err.code != UNREACHABLE or exited is not None else err.code,
            url=url, log=str(log),
        ) from None
    return info


def stop_server(store: StateStore) -> ServerStatus:
    """Stop the managed server (SIGTERM, then SIGKILL to its group) and remove its record.

    A dead or foreign process is not signalled; its record is removed all the
    same. Returns the status before stopping.
    """
    with server_lock(store.local_dir, timeout=START_TIMEOUT + 15.0):
        record = read_server(store.local_dir)
        if record is None:
            return ServerStatus("stopped")
        state = _state(record)
        before = ServerStatus(state, url=record.url, pid=record.owner.pid)
        if state == "elsewhere":
            raise OpenCodeError(
                f"the OpenCode server of this repository runs in {record.owner.where()}; "
                "stop it there", code=START_FAILED, url=record.url,
            )
        if state == "dead":
            _end_leftovers(record)
        elif state == "running" and not end_group(record.owner.pid, grace=3.0):
            raise OpenCodeError(
                f"process group {record.owner.pid} did not end after SIGKILL",
                code=START_FAILED, pid=record.owner.pid,
            )
        remove_server(store.local_dir)
        return before


def running_server(store: StateStore, config: Any = None) -> ServerInfo | None:
    """The named server, or the managed one if it runs; never starts one."""
    named = external_server(config)
    if named is not None:
        return named
    status = server_status(store, config, check_health=False)
    if status.state != "running" or status.url is None:
        return None
    return ServerInfo(status.url, read_password(store.local_dir), True, status.pid, reused=True)
