"""A construct's status follows its agent: ``active``, ``awaiting_input``, ``error``, ``ready``.

Two sources feed the same rule (:func:`next_status`):

* the event stream, while an editor is open: the language server's follower
  reads ``/global/event`` and hands each event to :func:`state_from_event`;
* a poll, for reads that show constructs: :func:`poll_agents` asks
  ``/session/status``, ``/permission`` and ``/question`` of each worktree
  folder (OpenCode keeps them per folder).

Reading is pure: ``ls``, ``show`` and every editor refresh show the agent's
live state as an overlay (:func:`overlay`), computed when asked and never
written. A status is persisted only by an operation that says so
(:func:`persist_agent_states`): the language server's event follower,
``session watch`` and ``send --wait`` (which follow a turn to its end), and
the session commands that change what the agent does (send, approve, deny,
abort). Only a construct whose status is about its agent (ready, active,
awaiting_input, error) follows it; a construct being reviewed, parked or
created keeps its status. Polling never starts a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from state_format.errors import RecordNotFoundError, StateError
from state_format.records import Construct
from state_format.statuses import Status, can_transition
from synthetic_ls.opencode.client import Event, OpenCodeClient, OpenCodeError
from synthetic_ls.ops.usage import Usage, of_messages, of_session
from synthetic_ls.ops.views import AgentJson
from synthetic_ls.provision.context import Context

#: Statuses that describe the agent, and so follow it.
AGENT_STATUSES = frozenset({Status.READY, Status.ACTIVE, Status.AWAITING_INPUT, Status.ERROR})

BUSY = "busy"
IDLE = "idle"
AWAITING_INPUT = "awaiting_input"
ERROR = "error"
#: A turn seen from its start to a good end: ``ready``, even after an earlier error.
DONE = "done"

_STATUS_OF = {
    BUSY: Status.ACTIVE,
    AWAITING_INPUT: Status.AWAITING_INPUT,
    ERROR: Status.ERROR,
    IDLE: Status.READY,
    DONE: Status.READY,
}

#: A turn the person stopped ends with this error; it is not a failure.
ABORTED = "MessageAbortedError"
#: How long a poll waits for the server before showing the agent as unknown.
POLL_TIMEOUT = 2.0


def next_status(current: Status, agent: str, review_on_idle: bool = False) -> Status | None:
    """The status a construct in ``current`` moves to when its agent is ``agent``; None: stay.

    An ``error`` stays through the idle that follows it, until the next turn.
    With ``review_on_idle`` (the template's ``reviewOnIdle``), a turn that
    ends well (``done``, or ``idle`` after ``active``) leads to ``reviewing``
    instead of ``ready``; from there the status no longer follows the agent.
    """
    target = _STATUS_OF.get(agent)
    if current not in AGENT_STATUSES or target is None or target is current:
        return None
    if agent == IDLE and current is Status.ERROR:
        return None
    finished = agent == DONE or (agent == IDLE and current is Status.ACTIVE)
    if review_on_idle and finished and can_transition(current, Status.REVIEWING):
        return Status.REVIEWING
    return target


def _review_on_idle(ctx: Context, template_id: str) -> bool:
    """Whether the construct's template asks for review when its agent finishes."""
    template = ctx.template_of(template_id)
    return bool(template is not None and template.review_on_idle)


def state_from_event(event: Event) -> tuple[str, str] | None:
    """``(session id, agent state)`` an event tells, or None for events that tell none."""
    sid = event.session_id
    if sid is None:
        return None
    props = event.properties
    kind = event.type
    if kind == "session.status":
        status = props.get("status")
        state = status.get("type") if isinstance(status, dict) else None
        if state in ("busy", "retry"):
            return sid, BUSY
        return (sid, IDLE) if state == "idle" else None
    if kind == "session.idle":
        return sid, IDLE
    if kind == "session.error":
        error = props.get("error")
        name = error.get("name") if isinstance(error, dict) else None
        return sid, IDLE if name == ABORTED else ERROR
    if kind in ("permission.asked", "question.asked"):
        return sid, AWAITING_INPUT
    if kind in ("permission.replied", "question.replied", "question.rejected"):
        return sid, BUSY
    return None


def persist_agent_states(ctx: Context, states: Mapping[str, str]) -> list[str]:
    """The operation that persists agents' states: move the constructs whose sessions are in
    ``states`` (session id -> agent state).

    Each record changes in one atomic write under the state lock, checked
    against its status as it is then (so it needs no journal: a crash leaves
    the old record or the new one). Returns the ids of the constructs that
    changed.
    """
    if not states:
        return []
    store = ctx.store
    by_session = {
        c.opencode_session_id: c for c in store.list_constructs().records
        if c.opencode_session_id is not None and c.opencode_session_id in states
    }
    changed: list[str] = []
    for sid, construct in by_session.items():
        agent = states[sid]
        if next_status(construct.status, agent) is None:
            continue
        review = next_status(construct.status, agent) is Status.READY and _review_on_idle(
            ctx, construct.template_id
        )

        def change(current: Construct, agent: str = agent, review: bool = review) -> dict[str, Any]:
            target = next_status(current.status, agent, review)
            if target is None or current.opencode_session_id not in states:
                return {}
            return {"status": target}

        try:
            if store.update(Construct, construct.id, change).status is not construct.status:
                changed.append(construct.id)
        except (RecordNotFoundError, StateError):
            continue  # gone or broken meanwhile: nothing to follow
    return changed


@dataclass(frozen=True)
class AgentInfo:
    """What a construct's agent is doing: ``state``, the permissions it waits for, what it cost.

    ``state`` is ``busy``, ``idle``, ``awaiting_input``, ``error``, or
    ``unknown`` when no server answered; ``usage`` is None then too.
    """

    state: str
    pending_permissions: tuple[str, ...] = ()
    usage: Usage | None = None

    def to_dict(self) -> AgentJson:
        """``{"state", "pending_permissions", "usage"}``."""
        return {"state": self.state, "pending_permissions": list(self.pending_permissions),
                "usage": self.usage.to_dict() if self.usage is not None else None}


def _after_idle(client: OpenCodeClient, sid: str, directory: str) -> str:
    """What an ``idle`` from the server means for an agent the record says is working.

    ``limit=1`` is the newest message. A user prompt without its answer yet
    is a turn that has not started (``busy``); an answer that failed, an
    ``error``; else the turn ended (``idle``).
    """
    messages = client.messages(sid, directory=directory, limit=1)
    last = messages[-1] if messages else None
    if last is not None and last.role == "user":
        return BUSY
    if last is not None and last.error and last.error.get("name") != ABORTED:
        return ERROR
    return IDLE


@dataclass(frozen=True)
class Poll:
    """What :func:`poll_agents` found (construct id -> agent) and the constructs as shown."""

    agents: dict[str, AgentInfo]
    constructs: list[Construct]


def overlay(ctx: Context, constructs: Sequence[Construct]) -> Poll:
    """The constructs as a face shows them: each status as its agent makes it now.

    Reads only: the agents are asked of the running server (none is
    started), and the status each construct would move to is shown, not
    written. A construct without a session, or whose agent no server could
    tell, is shown as recorded.
    """
    agents = poll_agents(ctx, constructs)
    if not any(info.state in _STATUS_OF for info in agents.values()):
        # No agent told a state that moves a status (no server: all unknown).
        return Poll(agents, list(constructs))
    shown: list[Construct] = []
    for c in constructs:
        info = agents.get(c.id)
        target = None
        if info is not None:
            target = next_status(c.status, info.state)
            if target is Status.READY and _review_on_idle(ctx, c.template_id):
                target = next_status(c.status, info.state, review_on_idle=True)
        shown.append(c if target is None else c.model_copy(update={"status": target}))
    return Poll(agents, shown)


def poll_agents(ctx: Context, constructs: Sequence[Construct]) -> dict[str, AgentInfo]:
    """The agent of each construct that has a session (construct id -> info); reads only.

    Asks the running server only (nothing is started). No server, or one
    that does not answer: every agent is ``unknown``.
    """
    from synthetic_ls.consent.gate import checker
    from synthetic_ls.opencode.server import running_server
    from synthetic_ls.sandbox import agent_server

    with_session = [c for c in constructs if c.opencode_session_id and c.workspace_path]
    if not with_session:
        return {}
    nobody = AgentInfo("unknown")  # frozen: one serves every construct
    unknown = {c.id: nobody for c in with_session}
    allowed = checker(ctx.root)
    found: dict[str, AgentInfo] = {}
    # Each isolated construct's agent has its own server (in its sandbox);
    # the others share the repository's.
    shared = [c for c in with_session if not c.isolation]
    if shared:
        server = running_server(ctx.store, ctx.config_as_read)
        if server is not None:
            found.update(_ask(server, shared, allowed))
    for c in with_session:
        if c.isolation:
            own = agent_server.running(ctx.store, c.id)
            if own is not None:
                found.update(_ask(own, [c], allowed))
    return {**unknown, **found}


def _ask(server: Any, constructs: list[Construct], allowed: Any) -> dict[str, AgentInfo]:
    """What ``server`` says the agents of ``constructs`` do; nothing when it does not answer."""
    from synthetic_ls.provision.consent_items import of_agent_folder

    found: dict[str, AgentInfo] = {}
    try:
        with server.client(timeout=POLL_TIMEOUT) as client:
            for directory, group in _by_directory(constructs).items():
                if not allowed(of_agent_folder(directory)):
                    # Asking about the folder would make OpenCode load code in it
                    # (changed since it was allowed): a read runs nothing.
                    continue
                busy = client.statuses(directory=directory)
                asked = client.permissions(directory=directory)
                questions = {str(q.get("sessionID")) for q in client.questions(directory=directory)}
                for c in group:
                    sid = c.opencode_session_id or ""
                    pending = tuple(p.id for p in asked if p.session_id == sid)
                    if pending or sid in questions:
                        state = AWAITING_INPUT
                    elif busy.get(sid) in ("busy", "retry"):
                        state = BUSY
                    elif c.status in (Status.ACTIVE, Status.AWAITING_INPUT):
                        state = _after_idle(client, sid, directory)
                    else:
                        state = IDLE
                    found[c.id] = AgentInfo(state, pending, _usage(client, sid, directory))
    except OpenCodeError:
        return {}
    return found


def _usage(client: OpenCodeClient, sid: str, directory: str) -> Usage | None:
    """What the session ``sid`` cost so far (its tokens and cost); None: not told.

    The session carries the sums (one small answer); a server whose
    sessions do not is asked for the messages, and they are added up.
    """
    try:
        found = of_session(client.get_session(sid, directory=directory).raw)
        if found is not None:
            return found
        messages = client.messages(sid, directory=directory)
    except OpenCodeError:
        return None  # the state is still worth showing without the usage
    return of_messages(m.raw.get("info") or {} for m in messages)


def _by_directory(constructs: Iterable[Construct]) -> dict[str, list[Construct]]:
    out: dict[str, list[Construct]] = {}
    for c in constructs:
        out.setdefault(c.workspace_path or "", []).append(c)
    return out
