"""``session watch --all``: every agent of the repository, told once when it needs the person.

One listener thread per running OpenCode server (the repository's shared
one, and each isolated construct's own) reads its ``/global/event`` stream
and tells each permission request (``permission.asked``) and question
(``question.asked``) once, with the construct's name and what it asks.
After each (re)connect it asks each construct's folder for what is pending
already (a request made before anyone listened), told once as well.

Nothing is started: a server that does not run is looked for again every
:data:`RETRY` seconds (a construct created meanwhile, a server started
later), and watching goes on until the person stops it (or ``timeout``).
The states the events tell are persisted as ``session watch`` does
(:func:`~synthetic_ls.ops.agent_status.persist_agent_states`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.opencode.client import Event, OpenCodeClient, OpenCodeError
from synthetic_ls.provision.context import Context

#: Seconds between looks for servers (and records) while watching.
RETRY = 1.0

RequestKind = Literal["permission", "question"]


class InputRequestJson(TypedDict):
    """What an agent waits for the person to answer: a ``permission`` (``permission``, its
    ``patterns``) or a ``question`` (its ``questions``), with ``asks`` in words."""

    construct: str
    name: str
    session_id: str
    kind: RequestKind
    id: str
    asks: str
    permission: str | None
    patterns: list[str]
    questions: list[str]


@dataclass(frozen=True)
class InputRequest:
    """One request of an agent to its person."""

    construct: str
    name: str
    session_id: str
    kind: RequestKind
    id: str
    permission: str | None = None
    patterns: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()

    @property
    def asks(self) -> str:
        """What it asks, as the person reads it: ``bash: echo hi``, or the questions."""
        if self.kind == "question":
            return " / ".join(self.questions) or "a question"
        patterns = " ".join(p for p in self.patterns if p)
        return f"{self.permission}: {patterns}" if patterns else str(self.permission)

    def to_dict(self) -> InputRequestJson:
        """The JSON form (one line of ``session watch --all --json``)."""
        return {
            "construct": self.construct, "name": self.name, "session_id": self.session_id,
            "kind": self.kind, "id": self.id, "asks": self.asks,
            "permission": self.permission, "patterns": list(self.patterns),
            "questions": list(self.questions),
        }


class WatchAllJson(TypedDict):
    """How ``session watch --all`` ended: every request it told, in order."""

    requests: list[InputRequestJson]


@dataclass(frozen=True)
class WatchAllResult:
    """Every request told while watching, in the order told."""

    requests: list[InputRequest] = field(default_factory=list)

    def to_dict(self) -> WatchAllJson:
        """``{"requests": [...]}``."""
        return {"requests": [r.to_dict() for r in self.requests]}


def question_texts(body: dict[str, Any]) -> tuple[str, ...]:
    """The questions' texts of a question request (``questions: [{question, header}]``)."""
    out = []
    for q in body.get("questions") or []:
        if isinstance(q, dict):
            text = q.get("question") or q.get("header")
            if isinstance(text, str) and text:
                out.append(text)
    return tuple(out)


def _request(kind: RequestKind, body: dict[str, Any], construct: Construct
             ) -> InputRequest | None:
    """The request an event's properties (or a pending list's item) describe."""
    rid = body.get("id")
    if not isinstance(rid, str):
        return None
    patterns = body.get("patterns")
    return InputRequest(
        construct=construct.id, name=construct.name,
        session_id=construct.opencode_session_id or "", kind=kind, id=rid,
        permission=str(body.get("permission")) if kind == "permission" else None,
        patterns=tuple(str(p) for p in patterns) if isinstance(patterns, list) else (),
        questions=question_texts(body) if kind == "question" else (),
    )


class _Listener:
    """One server's event stream, read in a thread; requests go to ``out``."""

    def __init__(self, store: StateStore, server: Any, construct_id: str | None,
                 out: queue.Queue[InputRequest]) -> None:
        self.store = store
        self.server = server
        #: The isolated construct whose own server this is; None: the shared one.
        self.construct_id = construct_id
        self.out = out
        self.stopped = threading.Event()
        self._client: OpenCodeClient | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"synthetic-watch-{construct_id or 'shared'}", daemon=True)

    def stop(self) -> None:
        """Stop: closing the client ends a read that waits for the next event."""
        self.stopped.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _followed(self) -> list[Construct]:
        records = self.store.list_constructs().records
        if self.construct_id is not None:
            return [c for c in records if c.id == self.construct_id]
        return [c for c in records if not c.isolation and c.opencode_session_id]

    def _run(self) -> None:
        from synthetic_ls.ops.agent_status import persist_agent_states, state_from_event

        ctx = Context(self.store)
        while not self.stopped.is_set():
            try:
                with self.server.client() as client:
                    self._client = client
                    for event in client.events():
                        if self.stopped.is_set():
                            return
                        if event.type == "server.connected":
                            self._catch_up(client)
                            continue
                        self._tell(event)
                        told = state_from_event(event)
                        if told is not None:
                            persist_agent_states(ctx, {told[0]: told[1]})
            except OpenCodeError:
                pass  # cut or gone: look again (the watcher stops a server that went away)
            except Exception:  # a broken record: keep watching the others
                pass
            finally:
                self._client = None
            self.stopped.wait(RETRY)

    def _tell(self, event: Event) -> None:
        kinds: dict[str, RequestKind] = {"permission.asked": "permission",
                                         "question.asked": "question"}
        kind = kinds.get(event.type)
        sid = event.session_id
        if kind is None or sid is None:
            return
        construct = next((c for c in self._followed() if c.opencode_session_id == sid), None)
        if construct is None:
            return  # another repository's agent on a shared server, or not a construct's
        request = _request(kind, event.properties, construct)
        if request is not None:
            self.out.put(request)

    def _catch_up(self, client: OpenCodeClient) -> None:
        """What the agents wait for already (asked before the stream was read)."""
        from synthetic_ls.consent.gate import checker
        from synthetic_ls.provision.consent_items import of_agent_folder

        allowed = checker(self.store.repo.worktree)
        constructs = [c for c in self._followed() if c.opencode_session_id and c.workspace_path]
        for folder in dict.fromkeys(c.workspace_path or "" for c in constructs):
            if not allowed(of_agent_folder(folder)):
                continue  # asking would make OpenCode load code changed since it was allowed
            here = {c.opencode_session_id: c for c in constructs if c.workspace_path == folder}
            for p in client.permissions(directory=folder):
                if p.session_id in here:
                    found = _request("permission", p.raw, here[p.session_id])
                    if found is not None:
                        self.out.put(found)
            for q in client.questions(directory=folder):
                sid = q.get("sessionID")
                if isinstance(sid, str) and sid in here:
                    found = _request("question", q, here[sid])
                    if found is not None:
                        self.out.put(found)


def _servers(store: StateStore) -> dict[str | None, Any]:
    """The running servers of the repository's agents: None -> the shared one, and each
    isolated construct's own by its id (none is started)."""
    from synthetic_ls.opencode.server import running_server
    from synthetic_ls.sandbox import agent_server

    records = [c for c in store.list_constructs().records if c.opencode_session_id]
    found: dict[str | None, Any] = {}
    if any(not c.isolation for c in records):
        shared = running_server(store, Context(store).config_as_read)
        if shared is not None:
            found[None] = shared
    for c in records:
        if c.isolation:
            own = agent_server.running(store, c.id)
            if own is not None:
                found[c.id] = own
    return found


def watch_all(
    store: StateStore,
    emit: Callable[[InputRequest], None],
    *,
    timeout: float | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> WatchAllResult:
    """Tell every request of every agent of the repository once, as it comes, until
    ``cancelled()`` (or ``timeout`` seconds, or Ctrl-C); every request told, in order."""
    out: queue.Queue[InputRequest] = queue.Queue()
    listeners: dict[str | None, _Listener] = {}
    told: set[tuple[str, str]] = set()
    requests: list[InputRequest] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    next_look = 0.0
    try:
        while not (cancelled is not None and cancelled()):
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now >= next_look:
                next_look = now + RETRY
                _look(store, listeners, out)
            try:
                request = out.get(timeout=0.1)
            except queue.Empty:
                continue
            key = (request.kind, request.id)
            if key in told:
                continue  # caught up after a reconnect, or told by the event already
            told.add(key)
            requests.append(request)
            emit(request)
    finally:
        _stop(listeners.values())
    return WatchAllResult(requests)


def _look(store: StateStore, listeners: dict[str | None, _Listener],
          out: queue.Queue[InputRequest]) -> None:
    """Start a listener for each running server without one; stop those of servers gone."""
    try:
        servers = _servers(store)
    except Exception:  # a broken state file: look again later
        return
    for key in list(listeners):
        listener = listeners[key]
        server = servers.get(key)
        if server is None or server.url != listener.server.url:
            listener.stop()
            del listeners[key]
    for key, server in servers.items():
        if key not in listeners:
            listener = _Listener(store, server, key, out)
            listeners[key] = listener
            listener.thread.start()


def _stop(listeners: Iterable[_Listener]) -> None:
    for listener in list(listeners):
        listener.stop()
    for listener in list(listeners):
        listener.thread.join(timeout=5)
