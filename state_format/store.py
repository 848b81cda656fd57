"""The state store: list, get, resolve, create, update and delete records.

Readers take no lock: every write is an atomic rename, so a reader sees a
whole old file or a whole new one. Writers take the state lock for the whole
read-modify-write, re-read the record under it, and check the format marker
again (another process may have upgraded it meanwhile).
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from state_format.atomic import (
    STALE_TEMP_AGE,
    StaleTempFile,
    atomic_delete,
    atomic_write,
    ensure_dir,
    find_stale_temp_files,
    fsync_dir,
)
from state_format.errors import (
    AmbiguousReferenceError,
    BrokenRecordError,
    InvalidRecordError,
    RecordNotFoundError,
    StateError,
)
from state_format.files import access_error
from state_format.ids import is_valid_id, new_id
from state_format.listing import CACHE_DIR, list_constructs
from state_format.listing import ListResult as ListResult  # re-exported
from state_format.locking import DEFAULT_TIMEOUT, StateLock
from state_format.marker import CURRENT_VERSION, check_not_too_new, write_marker
from state_format.migrations import MigrationReport, detect_version, migrate
from state_format.paths import RepoPaths, find_repo
from state_format.records import RECORD_KINDS, Construct, Record, utc_now
from state_format.text import one_line as one_line  # re-exported
from state_format.tomlio import (
    read_bytes,
    read_text,
    render_new,
    render_update,
)
from state_format.tomlio import record_from_bytes as record_from_bytes  # re-exported

R = TypeVar("R", bound=Record)

LOCK_NAME = ".lock"
_SUFFIX = ".toml"


class Store:
    """Access to one repository's state folder ``<git common dir>/synthetic``.

    The filesystem implementation of :class:`state_format.protocol.StateStore`.

    Open with :meth:`Store.open`; it checks the format marker (and migrates an
    older layout) before anything else is read.
    """

    def __init__(self, repo: RepoPaths, *, lock_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.repo = repo
        self.root = repo.state_dir
        self._lock = StateLock(self.root / LOCK_NAME, timeout=lock_timeout)
        #: What the migrations run while opening did (empty when none ran); a
        #: face shows each report's ``summary()``. Also written to a file.
        self.migration_reports: list[MigrationReport] = []

    # -- opening and format ------------------------------------------------

    @classmethod
    def open(
        cls, start: Path | str | None = None, *, lock_timeout: float = DEFAULT_TIMEOUT
    ) -> Store:
        """Find the repository around ``start`` and open its state.

        Raises NotARepositoryError / BareRepositoryError, FormatTooNewError, or
        BrokenRecordError for a broken marker. Older formats are migrated here.
        """
        store = cls(find_repo(start), lock_timeout=lock_timeout)
        store._check_format(allow_migration=True)
        return store

    @classmethod
    def at(cls, repo: RepoPaths, *, lock_timeout: float = DEFAULT_TIMEOUT) -> Store:
        """Open the state of an already located repository (no git subprocess)."""
        store = cls(repo, lock_timeout=lock_timeout)
        store._check_format(allow_migration=True)
        return store

    def _check_format(self, *, allow_migration: bool) -> int | None:
        version = detect_version(self.root)
        check_not_too_new(version, self.root)
        if version is not None and version < CURRENT_VERSION and allow_migration:
            with self._lock:
                version = detect_version(self.root)  # another process may have done it
                check_not_too_new(version, self.root)
                if version is not None and version < CURRENT_VERSION:
                    self.migration_reports += migrate(self.root, version)
                    version = CURRENT_VERSION
        return version

    def _prepare_write(self, kind: type[Record]) -> None:
        """Under the lock: re-check the marker and create folders/marker if needed."""
        version = self._check_format(allow_migration=True)
        ensure_dir(self.root)
        if version is None or not (self.root / "format.toml").exists():
            write_marker(self.root)
        ensure_dir(self.folder(kind))

    # -- paths and lock ----------------------------------------------------

    def folder(self, kind: type[Record]) -> Path:
        """Folder holding records of ``kind``."""
        return self.root / kind.folder

    def path_of(self, kind: type[Record], record_id: str) -> Path:
        """File of record ``record_id``; refuses anything that is not a valid id."""
        if not is_valid_id(record_id):
            raise RecordNotFoundError(f"{one_line(record_id)!r} is not a valid {kind.kind} id")
        return self.folder(kind) / f"{record_id}{_SUFFIX}"

    @property
    def local_dir(self) -> Path:
        """The state folder itself: logs and the OpenCode server's files live beside the records."""
        return self.root

    def location(self, kind: type[Record], record_id: str) -> str:
        """The record's file, for a person to read (the text of :meth:`path_of`)."""
        if not is_valid_id(record_id):
            return str(self.path_of(kind, record_id))  # raises, with path_of's message
        # Joined as text: a listing asks this once per record, and building a
        # Path for each was a tenth of `ls` on 10,000 records.
        return f"{self.root}/{kind.folder}/{record_id}{_SUFFIX}"

    def lock(self) -> StateLock:
        """The inter-process state lock (reentrant); use ``with store.lock():``."""
        return self._lock

    # -- reading -----------------------------------------------------------

    def _load(self, kind: type[R], path: Path, record_id: str) -> R:
        # read_bytes refuses anything but a small regular file (a FIFO, a
        # link, a folder...) as a broken record, without blocking.
        return record_from_bytes(kind, path, record_id, read_bytes(path))

    def get(self, kind: type[R], record_id: str) -> R:
        """The record with exactly this id (RecordNotFoundError, BrokenRecordError)."""
        path = self.path_of(kind, record_id)
        try:
            return self._load(kind, path, record_id)
        except FileNotFoundError:
            raise RecordNotFoundError(f"no {kind.kind} with id {record_id!r}") from None

    def list_ids(self, kind: type[Record]) -> list[str]:
        """Ids of all files of ``kind`` (from file names only; nothing is parsed)."""
        folder = self.folder(kind)
        try:
            entries = os.listdir(folder)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise access_error(folder, exc, "list") from None
        return sorted(
            name[: -len(_SUFFIX)]
            for name in entries
            if name.endswith(_SUFFIX) and not name.startswith(".")
        )

    def list(self, kind: type[R]) -> ListResult[R]:
        """Every record of ``kind``; unreadable files go to ``broken``, not lost.

        Constructs come oldest first, through the parse cache
        (:mod:`state_format.listing`): unchanged files are not parsed again,
        but every record is still validated.
        """
        if kind is Construct:
            return list_constructs(self.root)  # type: ignore[return-value]
        result: ListResult[R] = ListResult()
        folder = self.folder(kind)
        for record_id in self.list_ids(kind):
            path = folder / f"{record_id}{_SUFFIX}"
            if not is_valid_id(record_id):
                result.broken.append(
                    BrokenRecordError(str(path), None, "file name is not a valid record id")
                )
                continue
            try:
                result.records.append(self._load(kind, path, record_id))
            except FileNotFoundError:
                continue  # deleted by another process since listdir: it is gone
            except BrokenRecordError as exc:
                result.broken.append(exc)
        return result

    def resolve(self, kind: type[R], ref: str) -> R:
        """Find a record by exact id, exact name, or unique id prefix, in that order.

        An exact id is looked up directly (constant time); other references scan
        the folder. Raises RecordNotFoundError, AmbiguousReferenceError, or
        BrokenRecordError when the only match is a broken file.
        """
        if not ref.strip():
            raise RecordNotFoundError(f"empty {kind.kind} reference")
        if is_valid_id(ref) and os.path.lexists(self.path_of(kind, ref)):
            return self.get(kind, ref)
        listing = self.list(kind)
        name = ref.strip()
        by_name = [r for r in listing.records if getattr(r, "name", None) in (ref, name)]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise AmbiguousReferenceError(
                f"{one_line(ref)!r} is the name of {len(by_name)} {kind.kind}s: "
                + _describe(by_name)
                + "; use an id instead"
            )
        by_prefix = [r for r in listing.records if r.id.startswith(ref)]
        broken_prefix = [b for b in listing.broken if Path(b.path).name.startswith(ref)]
        if len(by_prefix) + len(broken_prefix) > 1:
            raise AmbiguousReferenceError(
                f"{one_line(ref)!r} matches {len(by_prefix) + len(broken_prefix)} {kind.kind} ids: "
                + _describe(by_prefix)
                + (", " if by_prefix and broken_prefix else "")
                + ", ".join(Path(b.path).name[: -len(_SUFFIX)] + " (broken)" for b in broken_prefix)
                + "; type more of the id"
            )
        if by_prefix:
            return by_prefix[0]
        if broken_prefix:
            raise broken_prefix[0]
        hint = f" ({len(listing.broken)} broken file(s) skipped)" if listing.broken else ""
        raise RecordNotFoundError(
            f"no {kind.kind} matches {one_line(ref)!r} by id, name or id prefix{hint}"
        )

    # -- writing -----------------------------------------------------------

    def new_id(self, kind: type[Record], name: str) -> str:
        """An id for ``name`` not used by any file yet (call under the lock)."""
        for _ in range(100):
            candidate = new_id(name)
            if not os.path.lexists(self.path_of(kind, candidate)):
                return candidate
        raise StateError("could not find an unused id after 100 tries")  # pragma: no cover

    def create(self, record: R) -> R:
        """Write a new record; an existing file with the same id is never replaced."""
        with self._lock:
            self._prepare_write(type(record))
            path = self.path_of(type(record), record.id)
            if os.path.lexists(path):  # even a link to nowhere is never replaced
                raise InvalidRecordError(f"a {record.kind} with id {record.id!r} already exists")
            header = (f"Synthetic {record.kind} record (state format {CURRENT_VERSION}).",)
            data = render_new(record.to_toml_values(), header).encode("utf-8")
            self._lock.ensure_still_held()
            atomic_write(path, data)
        return record

    def update(
        self,
        kind: type[R],
        record_id: str,
        change: Callable[[R], Mapping[str, Any]],
    ) -> R:
        """Read-modify-write one record under the lock.

        ``change`` receives the current record (freshly read under the lock) and
        returns the fields to set; a value of None removes an optional key. It
        may raise to abort without writing. ``updated_at`` is set automatically
        when the kind has it. The file is edited in place: comments, key order
        and unknown keys survive. A broken file is never overwritten.
        """
        with self._lock:
            self._check_format(allow_migration=True)
            current = self.get(kind, record_id)
            path = self.path_of(kind, record_id)
            changes = dict(change(current))
            if "id" in changes and changes["id"] != record_id:
                raise InvalidRecordError("a record's id cannot be changed")
            if not changes:
                return current
            if "updated_at" in kind.model_fields:
                changes.setdefault("updated_at", utc_now())
            merged = current.model_dump()
            merged.update(changes)
            try:
                updated = kind.model_validate(merged)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err.get("loc", ()))
                raise InvalidRecordError(f"invalid {loc}: {err.get('msg')}") from None
            values = updated.to_toml_values()
            to_set = {k: values[k] for k in changes if k in values}
            to_remove = [k for k, v in changes.items() if v is None]
            text = render_update(read_text(path), to_set, to_remove)
            self._lock.ensure_still_held()
            atomic_write(path, text.encode("utf-8"))
            return updated

    def delete(self, kind: type[Record], record_id: str) -> None:
        """Remove a record file. A broken file is not removed (fix it by hand first)."""
        with self._lock:
            self._check_format(allow_migration=True)
            self.get(kind, record_id)  # raises if missing or broken
            self._lock.ensure_still_held()
            atomic_delete(self.path_of(kind, record_id))

    # -- temp files left by killed writers ----------------------------------

    def _temp_folders(self) -> builtins.list[Path]:
        """Every folder a writer puts temp files in: the root, each record kind's, the cache's."""
        kinds = [self.root / kind.folder for kind in RECORD_KINDS.values()]
        return [self.root, *kinds, self.root / CACHE_DIR]

    def stale_temp_files(self, older_than: float = STALE_TEMP_AGE) -> builtins.list[StaleTempFile]:
        """Temp files writers left behind when they were killed mid-write.

        Only files named as writers name them (``.<file>.<8 hex>.tmp``), only
        regular files, and only those unchanged for ``older_than`` seconds
        (default an hour), so a write in progress is never among them. Readers
        ignore these files; they only take space. Reads only.
        """
        found: builtins.list[StaleTempFile] = []
        for folder in self._temp_folders():
            found += find_stale_temp_files(folder, older_than)
        return found

    def remove_stale_temp_files(
        self, older_than: float = STALE_TEMP_AGE, *, only: Collection[Path] | None = None
    ) -> builtins.list[Path]:
        """Remove :meth:`stale_temp_files` (those in ``only``, when given); returns what went.

        Under the lock, and checked again there: a file that changed since,
        or is no longer a temp file, is left alone. No lock is taken (and
        nothing is created) when there is nothing to remove.
        """
        if not self._select(self.stale_temp_files(older_than), only):
            return []
        removed: builtins.list[Path] = []
        with self._lock:
            for stale in self._select(self.stale_temp_files(older_than), only):
                try:
                    os.unlink(stale.path)
                except FileNotFoundError:
                    continue  # removed by another process meanwhile
                except OSError as exc:
                    raise access_error(stale.path, exc, "remove") from None
                removed.append(stale.path)
            for folder in sorted({p.parent for p in removed}):
                try:
                    fsync_dir(folder)
                except OSError as exc:
                    raise access_error(folder, exc, "flush", changed=True) from None
        return removed

    @staticmethod
    def _select(
        found: builtins.list[StaleTempFile], only: Collection[Path] | None
    ) -> builtins.list[StaleTempFile]:
        if only is None:
            return found
        wanted = {Path(p) for p in only}
        return [f for f in found if f.path in wanted]

    # -- construct conveniences ---------------------------------------------

    def list_constructs(self) -> ListResult[Construct]:
        """All constructs, oldest first, plus broken construct files."""
        return self.list(Construct)

    def get_construct(self, construct_id: str) -> Construct:
        """The construct with exactly this id."""
        return self.get(Construct, construct_id)

    def resolve_construct(self, ref: str) -> Construct:
        """A construct by id, exact name or unique id prefix."""
        return self.resolve(Construct, ref)


def _describe(records: list[Any]) -> str:
    shown = [f"{r.id} ({one_line(getattr(r, 'name', ''), 30)})" for r in records[:10]]
    if len(records) > 10:
        shown.append(f"and {len(records) - 10} more")
    return ", ".join(shown)

