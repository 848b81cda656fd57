"""``opencode status|start|stop``: the repository's OpenCode server (see
:mod:`synthetic_ls.opencode.server`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from state_format.protocol import StateStore
from synthetic_ls.opencode.server import (
    ServerInfo,
    ServerStatus,
    ensure_server,
    server_status,
    stop_server,
)
from synthetic_ls.provision.context import Context


@dataclass(frozen=True)
class StartResult:
    """The server now in use, and the status after starting."""

    server: ServerInfo
    status: ServerStatus

    def to_dict(self) -> dict[str, Any]:
        return {**self.status.to_dict(), **self.server.to_dict()}


@dataclass(frozen=True)
class StopResult:
    """What was stopped: the status before (``stopped`` when nothing was recorded), and
    the isolated constructs whose own server was stopped (``sandboxes``)."""

    before: ServerStatus
    sandboxes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"stopped": self.before.state == "running", "before": self.before.to_dict(),
                "sandboxes": list(self.sandboxes)}


def opencode_status(store: StateStore) -> ServerStatus:
    """The server's state; never starts anything."""
    return server_status(store, Context(store).config_result.config)


def opencode_start(store: StateStore, *, env: dict[str, str] | None = None) -> StartResult:
    """Use the named server, reuse the recorded one, or start one."""
    config = Context(store).config_result.config
    info = ensure_server(store, config, env=env)
    return StartResult(info, server_status(store, config))


def opencode_stop(store: StateStore) -> StopResult:
    """Stop the managed server, and each isolated construct's own (the next ``session
    open|send`` starts it again); a named (external) server is left alone."""
    from synthetic_ls.sandbox import agent_server

    before = stop_server(store)
    stopped = tuple(c.id for c in store.list_constructs().records
                    if c.isolation and agent_server.stop(store, c.id))
    return StopResult(before, stopped)
