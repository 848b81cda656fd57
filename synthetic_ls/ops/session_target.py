"""What a session operation works on: a construct's session and the server reaching it.

Its own module so that the operations on constructs on other machines build one
without depending on the session operations (which dispatch to them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from state_format.records import Construct
from synthetic_ls.errors import NotFoundError
from synthetic_ls.opencode.client import OpenCodeClient
from synthetic_ls.opencode.server import ServerInfo
from synthetic_ls.provision.session import AgentSpec


class NoSessionError(NotFoundError):
    """The construct has no agent session (made without an agent, or its worktree went)."""

    code = "no-session"



@dataclass(frozen=True)
class SessionTarget:
    """A construct's session and how to reach it.

    For a construct on another machine (``remote``), ``construct_id`` is the
    local record's id, ``server`` is reached through a forward over ssh and
    ``construct`` is None (the record is the host's).
    """

    construct_id: str
    session_id: str
    #: The worktree the session is rooted in (on the host, for a remote construct).
    directory: str
    server: ServerInfo
    spec: AgentSpec
    construct: Construct | None = None
    #: Ends what ``client`` needs beyond the server (a read's own forward), once closed.
    release: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: The host, for a remote construct.
    host: str | None = None

    def client(self, **kwargs: Any) -> OpenCodeClient:
        """A client of the server (close it when done)."""
        if self.release is None:
            return self.server.client(**kwargs)
        return _ReleasingClient(self.server.url, password=self.server.password,
                                release=self.release, **kwargs)


class _ReleasingClient(OpenCodeClient):
    """A client that ends a read's own forward when it is closed."""

    def __init__(self, base_url: str, *, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._release = release

    def close(self) -> None:
        """Close the connection, then end the forward."""
        try:
            super().close()
        finally:
            self._release()
