"""While an editor is open, construct statuses follow their agents through OpenCode's events.

For every repository the server sees, one thread (the follower) reads the
OpenCode server's ``/global/event`` stream (all worktrees at once) and
persists the status of the construct whose session an event is about
(:func:`synthetic_ls.ops.agent_status.persist_agent_states`: the follower is
one of the operations that write a status; reads never do). The record
change reaches clients through the live-state notification
(``synthetic/constructsChanged``), like any other change, and each agent
state the events tell is sent as it comes::

    synthetic/agentState  {"root", "construct", "name", "session", "state",
                           "turn_ended", "permission": {...} | null,
                           "question": {...} | null, "error": str | null}

``state`` is ``busy``, ``idle``, ``awaiting_input`` or ``error``;
``turn_ended`` is true when a turn the follower saw begin has ended (the
agent is idle again, failed, or waits for the person), so that a client
tells its person without a timer of its own; ``permission`` is the request
(``id``, ``permission``, ``patterns``) of a ``permission.asked`` event;
``question`` the request (``id``, ``questions``: their texts) of a
``question.asked`` event (the agent's question tool). Both are told for
every construct the server follows, shown in an editor or not: a client
tells its person once per request.

Only a server that already runs is listened to: opening an editor never
starts ``opencode serve`` (it would read the repository's own OpenCode
config). The thread looks again every few seconds, and after each
(re)connect it polls once, to catch what happened while nobody listened,
and tells it the same way: a turn whose ``busy`` came before the stream was
read (the prompt that started the server, an editor opened mid-turn) is one
the record shows ``active`` (the send persisted that), so its end is still
told with ``turn_ended``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthetic_ls.lsp.server import SyntheticServer

log = logging.getLogger(__name__)

#: Seconds between looks for a server when none runs, or after a failure.
RETRY = 2.0


#: The notification of an agent's state, as the events tell it.
NOTIFICATION = "synthetic/agentState"


class AgentListener:
    """One repository's listener thread; ``notify(method, params)`` reaches the clients."""

    def __init__(self, root: Path, notify: Callable[[str, Any], None] | None = None,
                 construct_id: str | None = None) -> None:
        self.root = root
        self.notify = notify
        #: The isolated construct whose own server this follows; None: the shared server.
        self.construct_id = construct_id
        #: Sessions whose turn the follower saw begin (busy) and not yet end.
        self._working: set[str] = set()
        self.stopped = threading.Event()
        self._client: Any = None
        self._thread = threading.Thread(
            target=self._run, name=f"synthetic-agents-{root.name}-{construct_id or 'shared'}",
            daemon=True,
        )

    def start(self) -> None:
        """Start listening (returns at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop: closing the client ends a read that waits for the next event."""
        self.stopped.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._listen()
            except Exception as exc:  # a server that went away, a broken record ...
                log.info("agent events of %s: %s", self.root, exc)
            self.stopped.wait(RETRY)

    def _listen(self) -> None:
        from state_format.store import Store
        from synthetic_ls.opencode.server import running_server
        from synthetic_ls.ops.agent_status import persist_agent_states, state_from_event
        from synthetic_ls.provision.context import Context

        store = Store.open(self.root)
        if not any(c.opencode_session_id for c in self._followed(store)):
            return  # no agent to follow yet
        # One context per connection: the config is read once, as an operation does.
        ctx = Context(store)
        if self.construct_id is not None:
            from synthetic_ls.sandbox.agent_server import running

            server = running(store, self.construct_id)
        else:
            server = running_server(store, ctx.config_result.config)
        if server is None:
            return
        with server.client() as client:
            self._client = client
            try:
                for event in client.events():
                    if self.stopped.is_set():
                        return
                    if event.type == "server.connected":
                        self._catch_up(ctx, client)
                        continue
                    told = state_from_event(event)
                    if told is not None:
                        persist_agent_states(ctx, {told[0]: told[1]})
                        self._tell_event(store, event, *told)
            finally:
                self._client = None

    def _followed(self, store: Any) -> list[Any]:
        """The constructs whose agents this listener's server runs."""
        records = store.list_constructs().records
        if self.construct_id is not None:
            return [c for c in records if c.id == self.construct_id]
        return [c for c in records if not c.isolation]

    def _catch_up(self, ctx: Any, client: Any) -> None:
        """After a (re)connect: persist what the agents did while nobody listened, and tell it.

        The events of a turn that began before the stream was read are lost,
        its ``busy`` among them; the record says the turn began (``active``,
        which the send persisted, or ``awaiting_input``), so it is followed as
        if its ``busy`` had been seen. What is told is what moves a record:
        an agent still in the state its record shows was told before (or
        needs no telling), so a reconnect repeats nothing.
        """
        from state_format.statuses import Status
        from synthetic_ls.ops.agent_status import (
            AWAITING_INPUT,
            BUSY,
            next_status,
            persist_agent_states,
            poll_agents,
        )

        constructs = self._followed(ctx.store)
        found = poll_agents(ctx, constructs)
        polled = [
            (c, c.opencode_session_id, found[c.id]) for c in constructs
            if c.opencode_session_id and c.id in found and found[c.id].state != "unknown"
        ]
        persist_agent_states(ctx, {sid: info.state for _, sid, info in polled})
        for c, sid, info in polled:
            # A turn is under way: the record says one began, or the agent works or waits.
            if c.status in (Status.ACTIVE, Status.AWAITING_INPUT) or info.state in (
                BUSY, AWAITING_INPUT
            ):
                self._working.add(sid)
            if info.state == BUSY or next_status(c.status, info.state) is None:
                continue
            permission = None
            question = None
            if info.pending_permissions:
                asked = [p for p in client.permissions(directory=c.workspace_path)
                         if p.id in info.pending_permissions]
                if asked:
                    permission = {"id": asked[0].id, "permission": asked[0].permission,
                                  "patterns": [str(x) for x in asked[0].patterns]}
            elif info.state == AWAITING_INPUT:
                # No permission: it waits for the answer to a question (asked while
                # nobody listened), told like one the events bring.
                question = next((_question(q) for q in client.questions(
                    directory=c.workspace_path) if q.get("sessionID") == sid), None)
            self._tell(c, sid, info.state, permission, None, question)

    def _tell_event(self, store: Any, event: Any, session_id: str, state: str) -> None:
        """Send what an event says of a construct's agent to the clients."""
        from synthetic_ls.ops.session import error_text

        construct = next(
            (c for c in store.list_constructs().records if c.opencode_session_id == session_id),
            None,
        )
        if construct is None:
            return
        props = event.properties
        permission = None
        if event.type == "permission.asked":
            patterns = props.get("patterns")
            permission = {
                "id": props.get("id"),
                "permission": props.get("permission"),
                "patterns": [str(p) for p in patterns] if isinstance(patterns, list) else [],
            }
        question = _question(props) if event.type == "question.asked" else None
        error = props.get("error") if event.type == "session.error" else None
        text = error_text(error) if isinstance(error, dict) else None
        self._tell(construct, session_id, state, permission, text, question)

    def _tell(
        self,
        construct: Any,
        session_id: str,
        state: str,
        permission: dict[str, Any] | None,
        error: str | None,
        question: dict[str, Any] | None = None,
    ) -> None:
        """Send an agent's state to the clients; a turn seen begin ends on any state but busy."""
        ended = False
        if state == "busy":
            self._working.add(session_id)
        elif session_id in self._working:
            ended = True
            if state != "awaiting_input":
                self._working.discard(session_id)
        if self.notify is None:
            return
        self.notify(NOTIFICATION, {
            "root": str(self.root),
            "construct": construct.id,
            "name": construct.name,
            "session": session_id,
            "state": state,
            "turn_ended": ended,
            "permission": permission,
            "question": question,
            "error": error,
        })


def _question(body: dict[str, Any]) -> dict[str, Any]:
    """A question request as told: its id and the texts of its questions."""
    from synthetic_ls.ops.watch_all import question_texts

    return {"id": body.get("id"), "questions": list(question_texts(body))}


class IsolatedFollowers:
    """One listener per isolated construct of a repository (each has its own server).

    Every :data:`RETRY` seconds it reads the records (nothing more: a read),
    starts a listener for each isolated construct with a session that has
    none, and stops those whose construct is gone.
    """

    def __init__(self, root: Path, notify: Callable[[str, Any], None] | None = None) -> None:
        self.root = root
        self.notify = notify
        self.stopped = threading.Event()
        self._listeners: dict[str, AgentListener] = {}
        self._thread = threading.Thread(
            target=self._run, name=f"synthetic-isolated-{root.name}", daemon=True)

    def start(self) -> None:
        """Start looking (returns at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop looking, and every listener."""
        self.stopped.set()
        for listener in list(self._listeners.values()):
            listener.stop()

    def _run(self) -> None:
        from state_format.records import Construct
        from state_format.store import Store

        seen: int | None = None
        while not self.stopped.is_set():
            try:
                store = Store.open(self.root)
                # Read the records only when their folder changed (one stat per
                # look, as the live-state poll): a record written changes it.
                changed = _folder_stamp(store.folder(Construct))
                if changed == seen:
                    self.stopped.wait(RETRY)
                    continue
                seen = changed
                records = store.list_constructs().records
                wanted = {c.id for c in records if c.isolation and c.opencode_session_id}
                for cid in wanted - self._listeners.keys():
                    listener = AgentListener(self.root, self.notify, construct_id=cid)
                    self._listeners[cid] = listener
                    listener.start()
                for cid in self._listeners.keys() - wanted:
                    self._listeners.pop(cid).stop()
            except Exception as exc:  # a repository that went away, a broken state ...
                log.info("isolated agents of %s: %s", self.root, exc)
            self.stopped.wait(RETRY)


def _folder_stamp(folder: Path) -> int | None:
    """The folder's change time (ns), or None when it is not there."""
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None


def register(server: SyntheticServer) -> None:
    """Listen for the agents of every repository the server sees, here and on hosts
    (:mod:`synthetic_ls.lsp.remote_agents`)."""
    import atexit

    from synthetic_ls.lsp.remote_agents import RemoteFollowers

    listeners: list[AgentListener | IsolatedFollowers | RemoteFollowers] = []

    def add(root: Path) -> None:
        for listener in (AgentListener(root, server.notify),
                         IsolatedFollowers(root, server.notify),
                         RemoteFollowers(root, server.notify)):
            listeners.append(listener)
            listener.start()

    def stop() -> None:
        for listener in listeners:
            listener.stop()

    server.on_repository.append(add)
    server.on_shutdown.append(stop)
    # An exit without a shutdown request (the client went): the remote followers' own
    # forwards end now (they would end with the process anyway: their pipes close).
    atexit.register(stop)

