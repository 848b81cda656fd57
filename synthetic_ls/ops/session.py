"""The agent-session commands: open, send, watch, abort, log, permissions.

Each names a construct (id, unique prefix or exact name) and works on its
OpenCode session (``opencode_session_id``) through the repository's server.
The commands that act on the agent (open, send, abort, approve, deny) start
the server when it is not running: the person asked for the agent. The
reads (``log``, ``permissions``) and ``watch`` never start one: against a
stopped server they say it is stopped and what would start it. The
construct's status follows what the agent does (:mod:`.agent_status`); the
commands that follow a turn or change it persist it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError
from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.opencode.client import (
    EVENT_READ_TIMEOUT,
    STREAM_CUT,
    TIMEOUT,
    TURN_TIMEOUT,
    UNREACHABLE,
    Event,
    Message,
    OpenCodeClient,
    OpenCodeError,
    Permission,
)
from synthetic_ls.opencode.server import ServerInfo, find_binary, running_server
from synthetic_ls.ops import agent_status
from synthetic_ls.ops.session_target import NoSessionError as NoSessionError  # re-exported
from synthetic_ls.ops.session_target import SessionTarget as SessionTarget  # re-exported
from synthetic_ls.provision.consent_items import of_agent_folder
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.session import agent_spec
from synthetic_ls.runtime.opencode_record import password_path

#: Stream failures after which watching reconnects (a restart, a cut, silence).
_RECONNECTABLE = frozenset({STREAM_CUT, UNREACHABLE, TIMEOUT})
#: Consecutive failed reconnects before watching gives up.
MAX_RECONNECTS = 6
#: How an assistant message that ends a turn finishes (``tool-calls`` goes on).
FINAL_FINISH = frozenset({"stop", "length", "content-filter", "other"})


class NoPermissionError(NotFoundError):
    """No pending permission request matches."""

    code = "no-pending-permission"


class ServerStoppedError(SyntheticError):
    """A read needs the OpenCode server, which is not running (a read never starts it)."""

    code = "opencode-stopped"


# -- the JSON forms (python -m synthetic_ls.schemas makes their schemas) -------------


class PermissionJson(TypedDict):
    """A permission the agent asks for: which (``bash``, ``edit`` ...) and for what."""

    id: str
    permission: str
    patterns: list[str]


class SessionOpenJson(TypedDict):
    """``synthetic.session.open``: the command that attaches OpenCode's terminal UI to the
    session (``terminal_argv`` runs it through ``synthetic``, with no password in it;
    ``env_names``: what ``argv`` needs in its environment)."""

    construct: str
    session_id: str
    url: str
    directory: str
    argv: list[str]
    env_names: list[str]
    command: str
    terminal_argv: list[str]


class SessionSendJson(TypedDict):
    """``synthetic.session.send``: a prompt sent; when ``waited``, how the turn ended
    (``state``), the reply, and the permissions the agent then waits for."""

    construct: str
    session_id: str
    waited: bool
    state: str
    reply: str | None
    error: str | None
    permissions: list[PermissionJson]


class SessionWatchJson(TypedDict):
    """``synthetic.session.watch``: how watching ended (``idle``, ``error``, ``busy`` when
    stopped early); the server's command adds the ``lines`` it saw."""

    construct: str
    session_id: str
    state: str
    lines: NotRequired[list[str]]


class SessionAbortJson(TypedDict):
    """``synthetic.session.abort``: ``aborted`` is what OpenCode answered."""

    construct: str
    session_id: str
    aborted: bool


class ToolCallJson(TypedDict):
    """A tool the agent called in a message, as OpenCode reports it."""

    tool: str | None
    status: str | None
    title: str | None


class MessageJson(TypedDict):
    """One message of the session's transcript."""

    id: str
    role: str
    created_ms: int | None
    text: str
    tools: list[ToolCallJson]
    error: str | None


class SessionLogJson(TypedDict):
    """``synthetic.session.log``: the session's transcript, oldest message first."""

    construct: str
    session_id: str
    title: str
    messages: list[MessageJson]


class SessionPermissionsJson(TypedDict):
    """``synthetic.session.permissions``: the requests the agent waits on."""

    construct: str
    session_id: str
    pending: list[PermissionJson]


class SessionReplyJson(TypedDict):
    """``synthetic.session.approve|deny``: the request answered, and how."""

    construct: str
    session_id: str
    permission_id: str
    reply: str


def _pending(client: OpenCodeClient, target: SessionTarget) -> list[Permission]:
    """The permission requests this construct's agent waits on."""
    return [
        p for p in client.permissions(directory=target.directory)
        if p.session_id == target.session_id
    ]


def session_target(
    store: StateStore, ref: str, *, start: bool = True, consent: Consent = NOBODY
) -> SessionTarget:
    """The session of construct ``ref`` and its server.

    ``start`` (an operation the person asked of the agent) starts the server
    when it is not running; without it (a read), a stopped server is a
    :class:`ServerStoppedError` saying what would start it. Either way the
    server is asked about the worktree only if what OpenCode loads from it
    (plugins, MCP servers) was allowed: an agent may have changed them, and a
    read never runs code (``consent-required``, with nothing run).
    """
    try:
        construct = store.resolve_construct(ref)
    except RecordNotFoundError:
        # A construct on another machine: its host says how to reach the agent,
        # and a forward over ssh reaches it (synthetic_ls.ops.remote_reach).
        from synthetic_ls.ops.remote_constructs import find_remote
        from synthetic_ls.ops.remote_reach import remote_target

        far = find_remote(store, ref)
        if far is None:
            raise
        return remote_target(store, far, start=start, consent=consent)
    if not construct.opencode_session_id or not construct.workspace_path:
        raise NoSessionError(
            f"construct {construct.id} has no agent session (create constructs with --agent, "
            "or a template with an `agent`)",
            fields={"construct": construct.id},
        )
    ctx = Context(store, consent=consent if start else NOBODY)
    ctx.require_consent(of_agent_folder(construct.workspace_path),
                        doing=f"reaching the agent of {construct.id}")
    template = ctx.template_of(construct.template_id)
    if construct.isolation:
        server = _isolated_server(ctx, construct, start)
    elif start:
        server = ctx.opencode
    else:
        found = running_server(store, ctx.config_result.config)
        if found is None:
            raise ServerStoppedError(
                f"the OpenCode server of this repository is not running, so the session of "
                f"{construct.id} cannot be read; `synthetic opencode start` starts it (so do "
                "`session open` and `session send`)",
                fields={"construct": construct.id},
            )
        server = found
    return SessionTarget(construct.id, construct.opencode_session_id, construct.workspace_path,
                         server, agent_spec(ctx.config, template, construct.model), construct)


def _isolated_server(ctx: Context, construct: Construct, start: bool) -> ServerInfo:
    """An isolated construct's own server (started in its sandbox when ``start``)."""
    from synthetic_ls.sandbox import agent_server

    if start:
        from synthetic_ls.provision.work import Work

        return Work(ctx, construct, ctx.template_of(construct.template_id)).opencode
    found = agent_server.running(ctx.store, construct.id)
    if found is None:
        raise ServerStoppedError(
            f"the sandboxed OpenCode server of {construct.id} is not running, so its session "
            "cannot be read; `session open` and `session send` start it",
            fields={"construct": construct.id},
        )
    return found


def _server_state(store: StateStore, construct: Construct) -> Path:
    """The folder whose ``opencode/`` records the construct's server."""
    if construct.isolation:
        from synthetic_ls.sandbox.plan import sandbox_dir

        return sandbox_dir(store.local_dir, construct.id)
    return store.local_dir


def _persist(store: StateStore, session_id: str, state: str) -> None:
    """Persist what the agent does now (an operation: one atomic write per construct)."""
    agent_status.persist_agent_states(Context(store), {session_id: state})


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (event shapes vary)."""
    return value if isinstance(value, dict) else {}


def _head(target: SessionTarget) -> dict[str, Any]:
    return {"construct": target.construct_id, "session_id": target.session_id}


# -- open --------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenResult:
    """The command that attaches OpenCode's terminal UI to the session.

    ``argv`` runs as it is with ``env`` added (the server's password, when it
    has one, stays out of ``argv``); ``command`` is the same as one shell line
    that reads the password from its file.
    """

    construct: str
    session_id: str
    url: str
    directory: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)
    command: str = ""
    #: The same through ``synthetic session open --run``: an editor runs this
    #: in a terminal, and the password never passes through the editor.
    terminal_argv: list[str] = field(default_factory=list)

    def to_dict(self) -> SessionOpenJson:
        """No password: ``env_names`` lists what ``env`` sets."""
        return {
            "construct": self.construct, "session_id": self.session_id, "url": self.url,
            "directory": self.directory, "argv": self.argv, "env_names": sorted(self.env),
            "command": self.command, "terminal_argv": self.terminal_argv,
        }


def _attach_supported(binary: str) -> bool:
    """Whether this opencode has ``attach <url>`` (it came in 0.x; checked, not assumed)."""
    try:
        out = subprocess.run(
            [binary, "attach", "--help"], capture_output=True, text=True, timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--session" in out.stdout + out.stderr


def open_session(store: StateStore, ref: str, *, consent: Consent = NOBODY) -> OpenResult:
    """The ``opencode attach URL --dir WORKTREE --session ID`` line for construct ``ref``."""
    target = session_target(store, ref, consent=consent)
    binary = find_binary()
    if not _attach_supported(binary):
        raise SyntheticError(
            f"{binary} has no `attach --session` subcommand; install opencode-ai 1.x",
            code="opencode-too-old", fields={"binary": binary},
        )
    argv = [binary, "attach", target.server.url, "--dir", target.directory,
            "--session", target.session_id]
    env: dict[str, str] = {}
    command = shlex.join(argv)
    if target.construct is None:
        # A remote construct's: its server is reached through a forward whose
        # password is kept in memory only (never in a file here), so the line
        # to run is `synthetic session open REF --run`, which asks the host again.
        if target.server.password:
            env["OPENCODE_SERVER_PASSWORD"] = target.server.password
        command = shlex.join(["synthetic", "-C", str(store.repo.worktree), "session", "open",
                              target.construct_id, "--run"])
    elif target.server.password:
        env["OPENCODE_SERVER_PASSWORD"] = target.server.password
        source = (
            shlex.quote(str(password_path(_server_state(store, target.construct))))
            if target.server.managed
            else "\"$SYNTHETIC_OPENCODE_PASSWORD\""
        )
        prefix = f"$(cat {source})" if target.server.managed else source
        command = f"OPENCODE_SERVER_PASSWORD={prefix} {command}"
    # -I: the editors start this in the worktree, whose files must not shadow
    # a standard module (a top-level argparse.py would run with `-m` alone).
    terminal = [sys.executable, "-I", "-m", "synthetic_ls.cli", "-C", str(store.repo.worktree),
                "session", "open", target.construct_id, "--run"]
    return OpenResult(
        target.construct_id, target.session_id, target.server.url, target.directory,
        argv, env, command, terminal,
    )


def run_attached(result: OpenResult) -> int:
    """Run the terminal UI in this terminal until it exits; its exit status."""
    env = {**os.environ, **result.env}
    # A remote construct's directory is on its host: the UI then runs from here.
    cwd = result.directory if result.directory and os.path.isdir(result.directory) else None
    return subprocess.call(result.argv, env=env, cwd=cwd)


# -- send ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    """A prompt that was sent; with ``wait``, how the turn ended and the reply."""

    construct: str
    session_id: str
    waited: bool
    state: str  # busy (not waited), idle, awaiting_input, error
    reply: str | None = None
    error: str | None = None
    permissions: list[PermissionJson] = field(default_factory=list)

    def to_dict(self) -> SessionSendJson:
        """The fields, as JSON."""
        return {
            "construct": self.construct, "session_id": self.session_id,
            "waited": self.waited, "state": self.state, "reply": self.reply,
            "error": self.error, "permissions": list(self.permissions),
        }


def _permission_dict(p: Permission) -> PermissionJson:
    return {"id": p.id, "permission": p.permission, "patterns": p.patterns}


def send_prompt(
    store: StateStore,
    ref: str,
    text: str,
    *,
    wait: bool = False,
    timeout: float = TURN_TIMEOUT,
    on_line: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    consent: Consent = NOBODY,
) -> SendResult:
    """Send ``text`` to the construct's agent; the construct becomes ``active``.

    With ``wait``, follow the turn (its lines go to ``on_line``) until the
    agent is idle, asks for a permission, or fails; the reply is the last
    assistant text.
    """
    if not text.strip():
        raise InvalidInputError("the prompt is empty")
    target = session_target(store, ref, consent=consent)
    spec = target.spec
    with target.client() as client:
        def send() -> None:
            client.prompt_async(
                target.session_id, text, directory=target.directory,
                provider_id=spec.provider_id, model_id=spec.model_id, agent=spec.agent_id,
            )

        if not wait:
            send()
            _persist(store, target.session_id, agent_status.BUSY)
            return SendResult(target.construct_id, target.session_id, False, agent_status.BUSY)
        end = follow(
            client, target, on_line or (lambda _line: None), stop_on_input=True,
            on_connected=send, timeout=timeout, cancelled=cancelled,
        )
        return _turn_result(store, client, target, end)


def _turn_result(
    store: StateStore, client: OpenCodeClient, target: SessionTarget, end: TurnEnd
) -> SendResult:
    """How a turn ended, with its reply; the construct's status follows."""
    # A turn we saw end well clears an earlier turn's error (DONE, not IDLE).
    done = agent_status.DONE if end.state == agent_status.IDLE else end.state
    _persist(store, target.session_id, done)
    # The reply as the events told it; the transcript only when they could not.
    last = None
    if end.reply is None or end.state == agent_status.ERROR:
        last = _last_assistant(client, target)
    reply = end.reply if end.reply is not None else (last.text if last is not None else None)
    waiting = end.state == agent_status.AWAITING_INPUT
    perms = [_permission_dict(p) for p in _pending(client, target)] if waiting else []
    error = end.error
    if error is None and end.state == agent_status.ERROR and last is not None and last.error:
        error = error_text(last.error)
    return SendResult(
        target.construct_id, target.session_id, True, end.state,
        reply=reply, error=error, permissions=perms,
    )


def _last_assistant(client: OpenCodeClient, target: SessionTarget) -> Message | None:
    messages = client.messages(target.session_id, directory=target.directory)
    for message in reversed(messages):
        if message.role == "assistant":
            return message
    return None


def error_text(error: dict[str, Any]) -> str:
    """The message of an OpenCode error object (``data.message``, else its name)."""
    data = error.get("data")
    message = data.get("message") if isinstance(data, dict) else None
    return str(message or error.get("name") or "the turn failed")


# -- following events ------------------------------------------------------------------


class _Lines:
    """Turns one session's events into readable lines, each said once."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self._said: set[tuple[str, str]] = set()
        self._last = ""
        #: Finished text parts of each assistant message, and the newest such message.
        self._texts: dict[str, dict[str, str]] = {}
        self._assistant: str | None = None

    def finished(self, event: Event) -> bool:
        """Whether ``event`` ends the turn: this session's assistant message, finished for good.

        ``tool-calls`` is not the end (the agent goes on with the results).
        """
        if event.type != "message.updated" or event.session_id != self.session_id:
            return False
        info = _dict(event.properties.get("info"))
        return info.get("role") == "assistant" and info.get("finish") in FINAL_FINISH

    @property
    def reply(self) -> str | None:
        """The text of the newest assistant message seen (None if none was seen whole)."""
        if self._assistant is None:
            return None
        return "".join(self._texts.get(self._assistant, {}).values())

    def _once(self, key: tuple[str, str], line: str) -> str | None:
        if key in self._said:
            return None
        self._said.add(key)
        return line

    def line(self, event: Event) -> str | None:
        """The line for ``event``, or None (another session's, or nothing to say)."""
        if event.session_id != self.session_id:
            return None
        props = event.properties
        line: str | None = None
        if event.type == "session.status":
            kind = (props.get("status") or {}).get("type")
            line = {"busy": "working", "retry": "retrying", "idle": "idle"}.get(str(kind))
        elif event.type == "session.idle":
            line = "idle"
        elif event.type == "session.error":
            error = props.get("error")
            line = "error: " + error_text(error if isinstance(error, dict) else {})
        elif event.type == "permission.asked":
            patterns = ", ".join(str(p) for p in props.get("patterns") or [])
            line = f"needs permission {props.get('id')}: {props.get('permission')} {patterns}"
        elif event.type == "permission.replied":
            line = f"permission {props.get('requestID')}: {props.get('reply')}"
        elif event.type == "message.updated":
            info = _dict(props.get("info"))
            if info.get("role") == "assistant" and isinstance(info.get("id"), str):
                self._assistant = info["id"]
        elif event.type == "message.part.updated":
            line = self._part(props.get("part"))
        if line is None or line == self._last:
            return None
        self._last = line
        return line

    def _part(self, part: Any) -> str | None:
        if not isinstance(part, dict):
            return None
        pid = str(part.get("id", ""))
        if part.get("type") == "text":
            ended = isinstance(part.get("time"), dict) and part["time"].get("end")
            text = str(part.get("text", "")).strip()
            if ended and not part.get("synthetic"):
                parts = self._texts.setdefault(str(part.get("messageID", "")), {})
                parts[pid] = str(part.get("text", ""))
            return self._once((pid, "text"), f"agent: {text}") if ended and text else None
        if part.get("type") == "tool":
            state = _dict(part.get("state"))
            status = str(state.get("status", ""))
            args = _dict(state.get("input"))
            what = state.get("title") or args.get("command") or args.get("filePath") or ""
            tool = part.get("tool")
            if status == "running":
                return self._once((pid, status), f"tool {tool}: {what}")
            if status == "completed":
                return self._once((pid, status), f"tool {tool} done: {what}")
            if status == "error":
                return self._once((pid, status), f"tool {tool} failed: {state.get('error')}")
        return None


def _current(client: OpenCodeClient, target: SessionTarget) -> str:
    """The agent's state now, asked of the server (after a (re)connect)."""
    pending = _pending(client, target)
    asked = client.questions(directory=target.directory)
    if pending or any(q.get("sessionID") == target.session_id for q in asked):
        return agent_status.AWAITING_INPUT
    busy = client.statuses(directory=target.directory).get(target.session_id)
    return agent_status.BUSY if busy in ("busy", "retry") else agent_status.IDLE


@dataclass
class TurnEnd:
    """How following a session ended: the agent's ``state`` and the error a failed turn gave."""

    state: str
    error: str | None = None
    #: The reply as the events told it; None when they did not tell it whole.
    reply: str | None = None


#: How often OpenCode's event stream sends ``server.heartbeat`` (seconds, about).
HEARTBEAT = 10.0


def follow(
    client: OpenCodeClient,
    target: SessionTarget,
    emit: Callable[[str], None],
    *,
    stop_on_input: bool = False,
    stop_when_idle: bool = True,
    on_connected: Callable[[], None] | None = None,
    timeout: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TurnEnd:
    """Stream the session's events as lines until it is idle; how it ended.

    ``on_connected`` runs once, when the stream is first connected (so that
    a prompt sent there cannot finish before we listen). After a cut, the
    stream is opened again and the state asked anew: a turn that ended
    meanwhile is not waited for. Returns ``idle``, ``error``,
    ``awaiting_input`` (with ``stop_on_input``) or ``busy`` (cancelled).
    """
    lines = _Lines(target.session_id)
    deadline = None if timeout is None else time.monotonic() + timeout
    first = True
    failures = 0
    error: str | None = None

    def ended() -> TurnEnd:
        return TurnEnd(agent_status.ERROR if error else agent_status.IDLE, error, lines.reply)

    def past_deadline() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def at_deadline() -> TurnEnd:
        # Say what the agent does now, asked of the server: waiting for a
        # permission is not "still working".
        now = _current(client, target)
        if now != agent_status.BUSY:
            return ended() if now == agent_status.IDLE else TurnEnd(now)
        raise OpenCodeError(
            f"the agent of {target.construct_id} was still working after "
            f"{timeout:g} s; `synthetic session watch` follows it further",
            code=TIMEOUT, session_id=target.session_id,
        )

    short = False  # connected with a read timeout that ends at the deadline
    while True:
        # A quiet stream (an agent waiting for a permission sends only a
        # heartbeat, every HEARTBEAT s) must not outlast the deadline: once
        # less than a heartbeat is left, connect again reading no longer
        # than what is left, so that the read itself ends at the deadline.
        read_timeout = EVENT_READ_TIMEOUT
        if deadline is not None and deadline - time.monotonic() < HEARTBEAT:
            read_timeout, short = max(0.05, deadline - time.monotonic()), True
        try:
            for event in client.events(directory=target.directory, read_timeout=read_timeout):
                if cancelled is not None and cancelled():
                    return TurnEnd(agent_status.BUSY)
                if past_deadline():
                    return at_deadline()
                if not short and deadline is not None and deadline - time.monotonic() < HEARTBEAT:
                    break  # and connect again, with the short read
                if event.type == "server.connected":
                    failures = 0
                    if first:
                        first = False
                        if on_connected is not None:
                            on_connected()
                            continue
                    now = _current(client, target)
                    if now == agent_status.IDLE and stop_when_idle:
                        emit("idle")
                        return ended()
                    if now == agent_status.AWAITING_INPUT and stop_on_input:
                        return TurnEnd(now)
                    continue
                line = lines.line(event)
                if line is not None:
                    emit(line)
                if stop_on_input and lines.finished(event):
                    # A prompt's turn: its last message is done, which is when
                    # OpenCode's own blocking call returns. It says idle a
                    # moment later, after its bookkeeping (a diff summary).
                    return ended()
                told = agent_status.state_from_event(event)
                if told is None or told[0] != target.session_id:
                    continue
                state = told[1]
                if state == agent_status.ERROR:
                    failed = event.properties.get("error")
                    error = error_text(failed if isinstance(failed, dict) else {})
                elif state == agent_status.BUSY:
                    error = None
                if state == agent_status.AWAITING_INPUT and stop_on_input:
                    return TurnEnd(state)
                if state == agent_status.IDLE and stop_when_idle:
                    return ended()
        except OpenCodeError as err:
            if err.code not in _RECONNECTABLE:
                raise
            if past_deadline():
                return at_deadline()
            failures += 1
            if failures > MAX_RECONNECTS:
                raise
            emit(f"(event stream lost: {err.code}; reconnecting)")
            lines = _Lines(target.session_id)  # parts seen so far may be incomplete
            time.sleep(min(0.25 * 2 ** failures, 4.0))


# -- watch, abort, log ---------------------------------------------------------------------


@dataclass(frozen=True)
class WatchResult:
    """How watching ended (``idle``, ``error``, ``busy`` when stopped early)."""

    construct: str
    session_id: str
    state: str

    def to_dict(self) -> SessionWatchJson:
        """The fields, as JSON."""
        return {"construct": self.construct, "session_id": self.session_id, "state": self.state}


def watch_session(
    store: StateStore,
    ref: str,
    emit: Callable[[str], None],
    *,
    follow_forever: bool = False,
    timeout: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> WatchResult:
    """Stream the agent's events as lines until it is idle (``follow_forever``: until stopped).

    The construct's status follows the agent: how watching ended is
    persisted. A stopped server is not started (nothing runs to watch).
    """
    target = session_target(store, ref, start=False)

    def on_line(line: str) -> None:
        emit(line)

    with target.client() as client:
        end = follow(
            client, target, on_line, stop_when_idle=not follow_forever,
            timeout=timeout, cancelled=cancelled,
        )
    _persist(store, target.session_id, end.state)
    return WatchResult(target.construct_id, target.session_id, end.state)


@dataclass(frozen=True)
class AbortResult:
    """The turn that was stopped (``aborted`` is what OpenCode answered)."""

    construct: str
    session_id: str
    aborted: bool

    def to_dict(self) -> SessionAbortJson:
        """The fields, as JSON."""
        return {
            "construct": self.construct, "session_id": self.session_id, "aborted": self.aborted,
        }


def abort_session(store: StateStore, ref: str) -> AbortResult:
    """Stop the agent's current turn; the construct becomes ``ready``."""
    target = session_target(store, ref)
    with target.client() as client:
        client.get_session(target.session_id)  # a gone session is an error, not a no-op
        aborted = client.abort(target.session_id, directory=target.directory)
    _persist(store, target.session_id, agent_status.IDLE)
    return AbortResult(target.construct_id, target.session_id, aborted)


@dataclass(frozen=True)
class LogResult:
    """The session's transcript, read from OpenCode: one entry per message."""

    construct: str
    session_id: str
    title: str
    messages: list[MessageJson]

    def to_dict(self) -> SessionLogJson:
        """The fields, as JSON."""
        return {
            "construct": self.construct, "session_id": self.session_id, "title": self.title,
            "messages": list(self.messages),
        }


def _entry(message: Message) -> MessageJson:
    info = _dict(message.raw.get("info"))
    times = _dict(info.get("time"))
    tools: list[ToolCallJson] = []
    for part in message.tool_parts:
        state = _dict(part.get("state"))
        args = _dict(state.get("input"))
        tools.append({
            "tool": part.get("tool"),
            "status": state.get("status"),
            "title": state.get("title") or args.get("command") or args.get("filePath"),
        })
    return {
        "id": message.id, "role": message.role, "created_ms": times.get("created"),
        "text": message.text, "tools": tools,
        "error": error_text(message.error) if message.error else None,
    }


def session_log(store: StateStore, ref: str) -> LogResult:
    """The transcript of the construct's session, oldest message first; reads only."""
    target = session_target(store, ref, start=False)
    with target.client() as client:
        session = client.get_session(target.session_id)
        messages = client.messages(target.session_id, directory=target.directory)
    return LogResult(
        target.construct_id, target.session_id, session.title, [_entry(m) for m in messages]
    )


# -- permissions -------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionsResult:
    """The permission requests the agent waits on (``pending``: id, permission, patterns)."""

    construct: str
    session_id: str
    pending: list[PermissionJson]

    def to_dict(self) -> SessionPermissionsJson:
        """The fields, as JSON."""
        return {
            "construct": self.construct, "session_id": self.session_id,
            "pending": list(self.pending),
        }


def list_permissions(store: StateStore, ref: str) -> PermissionsResult:
    """The agent's pending permission requests; reads only."""
    target = session_target(store, ref, start=False)
    with target.client() as client:
        pending = [_permission_dict(p) for p in _pending(client, target)]
    return PermissionsResult(target.construct_id, target.session_id, pending)


@dataclass(frozen=True)
class ReplyResult:
    """A permission request that was answered."""

    construct: str
    session_id: str
    permission_id: str
    reply: str

    def to_dict(self) -> SessionReplyJson:
        """The fields, as JSON."""
        return {
            "construct": self.construct, "session_id": self.session_id,
            "permission_id": self.permission_id, "reply": self.reply,
        }


def reply_permission(
    store: StateStore,
    ref: str,
    permission_id: str | None = None,
    *,
    approve: bool,
    always: bool = False,
    message: str | None = None,
) -> ReplyResult:
    """Approve (once, or ``always``) or deny a pending request; without an id, the only one."""
    if always and not approve:
        raise InvalidInputError("--always goes with approve, not deny")
    target = session_target(store, ref)
    with target.client() as client:
        pending = _pending(client, target)
        if permission_id is None:
            if not pending:
                raise NoPermissionError(
                    f"the agent of {target.construct_id} waits for no permission",
                    fields=_head(target),
                )
            if len(pending) > 1:
                ids = ", ".join(p.id for p in pending)
                raise InvalidInputError(
                    f"the agent of {target.construct_id} waits for {len(pending)} permissions "
                    f"({ids}); name one", fields={**_head(target), "pending": ids},
                )
            chosen = pending[0]
        else:
            match = [p for p in pending if p.id == permission_id]
            if not match:
                raise NoPermissionError(
                    f"no pending permission {permission_id!r} for {target.construct_id}",
                    fields={**_head(target), "permission_id": permission_id},
                )
            chosen = match[0]
        reply = ("always" if always else "once") if approve else "reject"
        client.reply_permission(chosen.id, reply, message=message, directory=target.directory)
    _persist(store, target.session_id, agent_status.BUSY)
    return ReplyResult(target.construct_id, target.session_id, chosen.id, reply)


def approve_permission(
    store: StateStore,
    ref: str,
    permission_id: str | None = None,
    *,
    always: bool = False,
    message: str | None = None,
) -> ReplyResult:
    """Approve a pending request (once, or ``always``); without an id, the only one."""
    return reply_permission(
        store, ref, permission_id, approve=True, always=always, message=message
    )


def deny_permission(
    store: StateStore, ref: str, permission_id: str | None = None, *, message: str | None = None
) -> ReplyResult:
    """Deny a pending request; without an id, the only one."""
    return reply_permission(store, ref, permission_id, approve=False, message=message)


# -- connect (plumbing: another machine reaches this one's agent over ssh) ----------------


class SessionConnectJson(TypedDict):
    """``synthetic session connect --json``, plumbing that another machine runs over ssh:
    how to reach the construct's agent on this machine's loopback (``port``), with the
    server's ``password`` (printed only to that ssh channel, never stored there), the
    session and its directory, and the model the construct's template gives its agent."""

    construct: str
    session_id: str
    directory: str
    port: int
    password: str | None
    provider_id: str | None
    model_id: str | None
    agent_id: str | None


#: The names a loopback server's URL may have: a forward reaches 127.0.0.1 only.
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})


@dataclass(frozen=True)
class ConnectResult:
    """How to reach a construct's agent on this machine's loopback (for another machine)."""

    target: SessionTarget
    port: int

    def to_dict(self) -> SessionConnectJson:
        """The fields, password included (the plumbing's reason to be)."""
        spec = self.target.spec
        return {
            "construct": self.target.construct_id, "session_id": self.target.session_id,
            "directory": self.target.directory, "port": self.port,
            "password": self.target.server.password, "provider_id": spec.provider_id,
            "model_id": spec.model_id, "agent_id": spec.agent_id,
        }


def connect_session(
    store: StateStore, ref: str, *, start: bool = True, consent: Consent = NOBODY
) -> ConnectResult:
    """How another machine reaches construct ``ref``'s agent: the server's loopback port.

    ``start`` starts the server when it is not running (as ``session send``
    does); without it a stopped server is ``opencode-stopped``. A server not
    on this machine's loopback (a named one elsewhere) cannot be forwarded:
    ``agent-not-on-loopback``.
    """
    from urllib.parse import urlsplit

    target = session_target(store, ref, start=start, consent=consent)
    if target.construct is None:
        raise InvalidInputError(
            f"{target.construct_id} is a construct on host {target.host}: ask that host",
            fields={"construct": target.construct_id})
    parts = urlsplit(target.server.url)
    if parts.hostname not in _LOOPBACK or parts.port is None:
        raise SyntheticError(
            f"the OpenCode server of {target.construct_id} is at {target.server.url}, not on "
            "this machine's loopback, so it cannot be forwarded",
            code="agent-not-on-loopback",
            fields={"construct": target.construct_id, "url": target.server.url})
    return ConnectResult(target, parts.port)
