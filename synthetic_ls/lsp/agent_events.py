"""While an editor is open, construct statuses follow their agents through OpenCode's events.

For every repository the server sees, one thread reads the OpenCode server's
``/global/event`` stream (all worktrees at once) and moves the construct
whose session an event is about (:mod:`synthetic_ls.ops.agent_status`). The
record change reaches clients through the live-state notification
(``synthetic/constructsChanged``), like any other change.

Only a server that already runs is listened to: opening an editor never
starts ``opencode serve`` (it would read the repository's own OpenCode
config). The thread looks again every few seconds, and after each
(re)connect it polls once, to catch what happened while nobody listened.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from synthetic_ls.lsp.server import SyntheticServer

log = logging.getLogger(__name__)

#: Seconds between looks for a server when none runs, or after a failure.
RETRY = 2.0


class AgentListener:
    """One repository's listener thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stopped = threading.Event()
        self._client: Any = None
        self._thread = threading.Thread(
            target=self._run, name=f"synthetic-agents-{root.name}", daemon=True
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
        from synthetic_ls.ops.agent_status import apply_states, refresh, state_from_event
        from synthetic_ls.ops.opencode import config_or_none
        from synthetic_ls.provision.session import running_server

        store = Store.open(self.root)
        if not any(c.opencode_session_id for c in store.list_constructs().records):
            return  # no agent to follow yet
        config = config_or_none(store)
        server = running_server(store, config)
        if server is None:
            return
        with server.client() as client:
            self._client = client
            try:
                for event in client.events():
                    if self.stopped.is_set():
                        return
                    if event.type == "server.connected":
                        refresh(store, store.list_constructs().records, config)
                        continue
                    told = state_from_event(event)
                    if told is not None:
                        apply_states(store, {told[0]: told[1]})
            finally:
                self._client = None


def register(server: SyntheticServer) -> None:
    """Listen for the agents of every repository the server sees."""
    listeners: list[AgentListener] = []

    def add(root: Path) -> None:
        listener = AgentListener(root)
        listeners.append(listener)
        listener.start()

    def stop() -> None:
        for listener in listeners:
            listener.stop()

    server.on_repository.append(add)
    server.on_shutdown.append(stop)
