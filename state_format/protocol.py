"""What Synthetic needs of a repository's state: the :class:`StateStore` protocol.

Operations are written against this protocol, not against the files: the
filesystem store under the git directory (:class:`state_format.store.Store`)
is one implementation; a remote host's store, read over SSH as JSON, can be
another without any operation changing. Everything a store offers is
records (read, resolved, written under its lock) and, for what is not a
record (service logs, the OpenCode server's files), one folder of its own
on this machine (:attr:`StateStore.local_dir`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from state_format.atomic import StaleTempFile
from state_format.listing import ListResult
from state_format.migrations import MigrationReport
from state_format.paths import RepoPaths
from state_format.records import Construct, Record

R = TypeVar("R", bound=Record)


class StateStore(Protocol):
    """A repository's records, and where its other local files go."""

    #: The repository: its main checkout (``worktree``) and git common dir.
    repo: RepoPaths
    #: What opening the store migrated (empty when nothing); faces report it.
    migration_reports: builtins.list[MigrationReport]

    @property
    def local_dir(self) -> Path:
        """The folder on this machine for what is not a record (logs, the OpenCode server)."""
        ...

    def lock(self) -> AbstractContextManager[Any]:
        """The inter-process lock every read-modify-write holds (reentrant)."""
        ...

    def location(self, kind: type[Record], record_id: str) -> str:
        """Where a record lives, for a person to read (a path, or a host and a path)."""
        ...

    def get(self, kind: type[R], record_id: str) -> R:
        """The record with exactly this id."""
        ...

    def list(self, kind: type[R]) -> ListResult[R]:
        """Every record of ``kind``; unreadable ones under ``broken``."""
        ...

    def list_ids(self, kind: type[Record]) -> builtins.list[str]:
        """The ids of every record of ``kind`` (nothing parsed)."""
        ...

    def resolve(self, kind: type[R], ref: str) -> R:
        """A record by exact id, exact name or unique id prefix."""
        ...

    def new_id(self, kind: type[Record], name: str) -> str:
        """An unused id for a record named ``name`` (call under the lock)."""
        ...

    def create(self, record: R) -> R:
        """Write a new record; an existing one is never replaced."""
        ...

    def update(
        self, kind: type[R], record_id: str, change: Callable[[R], Mapping[str, Any]]
    ) -> R:
        """Read-modify-write one record under the lock (``change`` gets it as it is now)."""
        ...

    def delete(self, kind: type[Record], record_id: str) -> None:
        """Remove a record."""
        ...

    def list_constructs(self) -> ListResult[Construct]:
        """Every construct, oldest first, and the broken construct records."""
        ...

    def get_construct(self, construct_id: str) -> Construct:
        """The construct with exactly this id."""
        ...

    def resolve_construct(self, ref: str) -> Construct:
        """A construct by id, exact name or unique id prefix."""
        ...

    def stale_temp_files(self, older_than: float = ...) -> builtins.list[StaleTempFile]:
        """Temp files writers killed mid-write left behind."""
        ...

    def remove_stale_temp_files(
        self, older_than: float = ..., *, only: Collection[Path] | None = None
    ) -> builtins.list[Path]:
        """Remove them (those in ``only``); what went."""
        ...
