"""While an editor is open, the agents of constructs on other machines are followed too.

For each host holding remote constructs of a repository the server sees,
one thread asks the host how to reach each construct's agent with the
plumbing ``synthetic session connect --read`` (a read: the host's OpenCode
server is never started from an editor; a stopped one answers
``opencode-stopped`` and is asked again later), reads that server's event
stream through a forward, and sends ``synthetic/agentState`` (the form of
:mod:`synthetic_ls.lsp.agent_events`) with this machine's construct id, so
the editors' permission prompts and agent states work for a remote agent as
for a local one. Nothing is persisted here: the construct's status is the
host's.

**Which forward.** The shared, recorded forward to the host's server when
one already answers (a ``session`` command opened it); otherwise a forward
of the follower's own, recorded nowhere, tied to the language server's
process (:func:`synthetic_ls.remote.forward.transient_forward`) and ended
when the follower stops (the server shuts down or exits, the host's last
remote construct goes). Opening the shared forward would be a change (a
record and a long-lived process) made by an editor merely being open, and
it would outlive the server; following is a read.

**Bounded, backing off.** Every ssh call is bounded (ssh's
``ConnectTimeout`` and the call's own bound); a host that does not answer
is asked again after a wait that doubles up to :data:`MAX_BACKOFF`. Each
host has its own thread, so a host down never holds up another host or any
repository's local agents.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Seconds between looks at the records, and before asking a host again when its agents'
#: server is not running.
POLL = 5.0
#: The longest wait before asking a host that failed again.
MAX_BACKOFF = 60.0
#: The notification (the same as a local agent's).
NOTIFICATION = "synthetic/agentState"


@dataclass
class _Reach:
    """One OpenCode server on a host (its loopback port), and the sessions it runs."""

    port: int
    password: str | None
    #: session id -> (the remote record, the session's directory on the host)
    sessions: dict[str, tuple[Any, str]] = field(default_factory=dict)


class HostFollower:
    """Follows the agents of one host's remote constructs of one repository."""

    def __init__(self, root: Path, host: str, notify: Callable[[str, Any], None] | None) -> None:
        self.root = root
        self.host = host
        self.notify = notify
        self.stopped = threading.Event()
        #: Set to make the follower look again (the records changed) or stop.
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._records: list[Any] = []
        self._releases: list[Callable[[], None]] = []
        self._clients: list[Any] = []
        #: Sessions whose turn was seen begin and has not ended.
        self._working: set[str] = set()
        #: Permission requests told already (a reconnect tells none twice).
        self._told: set[str] = set()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"synthetic-remote-{root.name}-{host}")

    def start(self) -> None:
        """Start following (returns at once)."""
        self._thread.start()

    def update(self, records: list[Any]) -> None:
        """The host's remote construct records now; a change makes the follower look again."""
        with self._lock:
            changed = [(r.id, r.remote_id, r.url) for r in records] != [
                (r.id, r.remote_id, r.url) for r in self._records]
            self._records = list(records)
        if changed:
            self._wake.set()
            self._close_streams()

    def stop(self, wait: float = 0.0) -> None:
        """Stop: the streams' clients are closed and the follower's own forwards ended."""
        self.stopped.set()
        self._wake.set()
        self._close_streams()
        self._release_all()
        if wait:
            self._thread.join(wait)
            self._release_all()  # one opened while stopping

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        delay = POLL
        while not self.stopped.is_set():
            self._wake.clear()
            try:
                self._follow()
                delay = POLL
            except Exception as exc:  # a host down, a broken stream ...
                log.info("remote agents of %s on host %s: %s", self.root, self.host, exc)
                delay = min(delay * 2, MAX_BACKOFF)
            finally:
                self._release_all()
            self._wake.wait(delay)

    def _follow(self) -> None:
        reaches = self._reaches()
        if not reaches or self.stopped.is_set():
            return
        streams = [threading.Thread(target=self._stream, args=(reach,), daemon=True,
                                    name=f"synthetic-remote-{self.host}-{reach.port}")
                   for reach in reaches]
        for t in streams:
            t.start()
        # Until a stream ends (the server went) or the records changed: then look again.
        while not self._wake.is_set() and all(t.is_alive() for t in streams):
            self._wake.wait(1.0)
        self._close_streams()
        for t in streams:
            t.join(10)

    def _reaches(self) -> list[_Reach]:
        """Ask the host (``session connect --read``) how to reach each construct's agent."""
        from synthetic_ls.errors import SyntheticError
        from synthetic_ls.ops.remote_reach import ask_connect

        with self._lock:
            records = [r for r in self._records if r.remote_id]
        out: dict[int, _Reach] = {}
        for record in records:
            if self.stopped.is_set():
                break
            try:
                data = ask_connect(record, start=False)
            except SyntheticError as exc:
                if exc.code.startswith("host-") or exc.code == "ssh-not-installed":
                    raise  # the host itself: back off
                # No agent, its server stopped (never started from here), consent needed
                # there ...: looked at again later.
                log.info("the agent of %s on host %s is not followed now: %s",
                         record.id, self.host, exc.fields.get("remote_code") or exc.code)
                continue
            port, sid, directory = data.get("port"), data.get("session_id"), data.get("directory")
            if not isinstance(port, int) or not isinstance(sid, str) or not isinstance(
                    directory, str):
                continue
            password = data.get("password")
            reach = out.setdefault(port, _Reach(port, password if isinstance(password, str)
                                                else None))
            reach.sessions[sid] = (record, directory)
        return list(out.values())

    def _stream(self, reach: _Reach) -> None:
        from state_format.store import Store
        from synthetic_ls.opencode.server import ServerInfo
        from synthetic_ls.remote import forward as fwd

        try:
            record = next(iter(reach.sessions.values()))[0]
            store = Store.open(self.root)
            found = fwd.read_forward(store.local_dir, self.host, reach.port)
            if found is not None and found.construct is None and fwd.usable(found, record.url):
                url = found.url
            else:
                forward, release = fwd.transient_forward(self.host, record.url, reach.port)
                with self._lock:
                    self._releases.append(release)
                if self.stopped.is_set():
                    release()
                    return
                url = forward.url
            client = ServerInfo(url, reach.password, managed=False).client()
            with self._lock:
                self._clients.append(client)
            if self._wake.is_set():
                client.close()
                return
            with client:
                for event in client.events():
                    if self._wake.is_set():
                        return
                    if event.type == "server.connected":
                        self._catch_up(client, reach)
                    else:
                        self._on_event(reach, event)
        except Exception as exc:
            if not self._wake.is_set():
                log.info("agent events of host %s (port %s): %s", self.host, reach.port, exc)

    def _catch_up(self, client: Any, reach: _Reach) -> None:
        """After a (re)connect: tell the permissions asked while nobody listened."""
        for directory in {d for _, d in reach.sessions.values()}:
            for p in client.permissions(directory=directory):
                if p.session_id in reach.sessions and p.id not in self._told:
                    self._working.add(p.session_id)
                    self._tell(reach, p.session_id, "awaiting_input",
                               {"id": p.id, "permission": p.permission,
                                "patterns": [str(x) for x in p.patterns]}, None)

    def _on_event(self, reach: _Reach, event: Any) -> None:
        from synthetic_ls.ops.agent_status import state_from_event
        from synthetic_ls.ops.session import error_text

        told = state_from_event(event)
        if told is None or told[0] not in reach.sessions:
            return
        props = event.properties
        permission = None
        if event.type == "permission.asked":
            patterns = props.get("patterns")
            permission = {"id": props.get("id"), "permission": props.get("permission"),
                          "patterns": [str(p) for p in patterns]
                          if isinstance(patterns, list) else []}
            if permission["id"] in self._told:
                return
        error = props.get("error") if event.type == "session.error" else None
        self._tell(reach, told[0], told[1], permission,
                   error_text(error) if isinstance(error, dict) else None)

    def _tell(self, reach: _Reach, session_id: str, state: str,
              permission: dict[str, Any] | None, error: str | None) -> None:
        ended = False
        if state == "busy":
            self._working.add(session_id)
        elif session_id in self._working:
            ended = True
            if state != "awaiting_input":
                self._working.discard(session_id)
        if permission is not None and isinstance(permission.get("id"), str):
            self._told.add(permission["id"])
        if self.notify is None:
            return
        record = reach.sessions[session_id][0]
        self.notify(NOTIFICATION, {
            "root": str(self.root), "construct": record.id, "name": record.name,
            "session": session_id, "state": state, "turn_ended": ended,
            "permission": permission, "error": error, "host": self.host,
        })

    # -- ending ---------------------------------------------------------------------

    def _close_streams(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()

    def _release_all(self) -> None:
        with self._lock:
            releases, self._releases = self._releases, []
        for release in releases:
            with contextlib.suppress(Exception):
                release()


class RemoteFollowers:
    """One :class:`HostFollower` per host holding remote constructs of a repository.

    Every :data:`POLL` seconds it reads the remote construct records (one
    stat of their folder, the records only when it changed: a read), starts
    a follower for a host that has none, tells each its records, and stops
    those whose host has no remote construct left.
    """

    def __init__(self, root: Path, notify: Callable[[str, Any], None] | None = None) -> None:
        self.root = root
        self.notify = notify
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._followers: dict[str, HostFollower] = {}
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"synthetic-remotes-{root.name}")

    def start(self) -> None:
        """Start looking (returns at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop looking, and every host's follower (their own forwards ended now)."""
        self.stopped.set()
        with self._lock:
            followers = list(self._followers.values())
        for follower in followers:
            follower.stop()

    def _run(self) -> None:
        from state_format.records import RemoteConstruct
        from state_format.store import Store

        seen: int | None = None
        while not self.stopped.is_set():
            try:
                store = Store.open(self.root)
                stamp = _stamp(store.folder(RemoteConstruct))
                if stamp != seen:
                    seen = stamp
                    by_host: dict[str, list[Any]] = {}
                    for r in store.list(RemoteConstruct).records:
                        by_host.setdefault(r.host, []).append(r)
                    self._apply(by_host)
            except Exception as exc:  # a repository that went away, a broken record ...
                log.info("remote agents of %s: %s", self.root, exc)
            self.stopped.wait(POLL)

    def _apply(self, by_host: dict[str, list[Any]]) -> None:
        with self._lock:
            if self.stopped.is_set():
                return
            for host, records in by_host.items():
                follower = self._followers.get(host)
                if follower is None:
                    follower = self._followers[host] = HostFollower(self.root, host, self.notify)
                    follower.update(records)
                    follower.start()
                else:
                    follower.update(records)
            gone = [h for h in self._followers if h not in by_host]
            stopping = [self._followers.pop(h) for h in gone]
        for follower in stopping:
            follower.stop()


def _stamp(folder: Path) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return None
