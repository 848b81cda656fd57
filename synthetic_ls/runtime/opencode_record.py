"""The managed OpenCode server's record: ``opencode/server.toml`` and ``opencode/password``.

Synthetic starts at most one ``opencode serve`` per repository and records it
so that every CLI call and the language server reuse it:

* ``opencode/server.toml``: ``url`` (``http://127.0.0.1:<port>``), ``pid`` and
  ``start`` (the process's start time in clock ticks since boot, from
  ``/proc/<pid>/stat``; with the pid it tells our process from a reused pid),
  ``host``, ``boot`` and ``pidns`` (as for an owner, see
  :mod:`state_format.owner`), ``started_at`` (RFC 3339 UTC) and ``log`` (the
  server's output file, ``opencode/serve.log``), and ``config``: a SHA-256
  digest of the OpenCode config and credentials it was started with (never
  their content), so that a changed config is noticed.
* ``opencode/password``: the server's password, alone, mode 0600.
* ``opencode/server.lock``: held while a process checks, starts or stops the
  server, so that two commands never start two servers; the state lock is not
  held meanwhile (a start takes seconds, and record writes must not wait).

Both are written atomically; a missing file means "no managed server".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from state_format.atomic import atomic_delete, atomic_write, ensure_dir
from state_format.errors import BrokenRecordError
from state_format.locking import StateLock
from state_format.owner import Owner
from state_format.tomlio import parse, read_text, render_new

FOLDER = "opencode"
RECORD_NAME = "server.toml"
PASSWORD_NAME = "password"
LOG_NAME = "serve.log"
LOCK_NAME = "server.lock"

_HEADER = (
    "The OpenCode server Synthetic started for this repository (`synthetic opencode stop`",
    "ends it). Spec: state_format/README.md in the Synthetic sources.",
)


@dataclass(frozen=True)
class ServerRecord:
    """A recorded ``opencode serve``: where it listens and which process it is."""

    url: str
    owner: Owner
    started_at: str
    log: str
    #: Digest of the OpenCode config it was started with ("" when unknown: older records).
    config: str = ""

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, **self.owner.to_toml()}
        out.update(started_at=self.started_at, log=self.log)
        if self.config:
            out["config"] = self.config
        return out


def folder(state_dir: Path) -> Path:
    return state_dir / FOLDER


def record_path(state_dir: Path) -> Path:
    return folder(state_dir) / RECORD_NAME


def password_path(state_dir: Path) -> Path:
    return folder(state_dir) / PASSWORD_NAME


def log_path(state_dir: Path) -> Path:
    return folder(state_dir) / LOG_NAME


def server_lock(state_dir: Path, timeout: float) -> StateLock:
    """The lock that serialises checking, starting and stopping the managed server."""
    return StateLock(folder(state_dir) / LOCK_NAME, timeout=timeout)


def read_server(state_dir: Path) -> ServerRecord | None:
    """The record, or None when there is none; BrokenRecordError when it is unreadable."""
    path = record_path(state_dir)
    try:
        text = read_text(path)
    except FileNotFoundError:
        return None
    data = parse(text, path)
    url, started_at, log = (data.get(k) for k in ("url", "started_at", "log"))
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BrokenRecordError(str(path), None, "`url` must be an http(s) URL string")
    try:
        owner = Owner.from_toml(data)
    except ValueError as err:
        raise BrokenRecordError(str(path), None, str(err)) from None
    config = data.get("config")
    return ServerRecord(
        url, owner, started_at if isinstance(started_at, str) else "",
        log if isinstance(log, str) else "", config if isinstance(config, str) else "",
    )


def write_server(state_dir: Path, record: ServerRecord, password: str) -> None:
    """Write the password (0600) then the record, each atomically."""
    ensure_dir(folder(state_dir))
    atomic_write(password_path(state_dir), password.encode("utf-8"), mode=0o600)
    text = render_new(record.to_toml(), _HEADER)
    atomic_write(record_path(state_dir), text.encode("utf-8"))


def read_password(state_dir: Path) -> str | None:
    """The recorded password, or None."""
    try:
        return read_text(password_path(state_dir)).strip() or None
    except FileNotFoundError:
        return None


def remove_server(state_dir: Path) -> None:
    """Remove the record and the password (no error when they are gone)."""
    for path in (record_path(state_dir), password_path(state_dir)):
        with contextlib.suppress(FileNotFoundError):
            atomic_delete(path)
