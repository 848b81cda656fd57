"""Fast listing of construct records, backed by a disposable parse cache.

``synthetic ls`` at 10,000 constructs cannot afford to parse 10,000 TOML files
and build 10,000 pydantic models on every run. This module lists constructs as
light :class:`ConstructRow` views and keeps ``<state>/cache/constructs.json``:
for each record file, its stat key (``st_mtime_ns``, ``st_size``, ``st_ino``,
``st_ctime_ns``) and the values it validated to. A file whose stat key still
matches is not read again; any other file is read, parsed and validated exactly
as :meth:`state_format.store.Store.get` does (same errors, same lines).

The TOML files stay the source of truth. The cache is never trusted without the
stat check and a type check of every cached value; it is ignored when missing,
unreadable, corrupt or of another version, and a person may delete it at any
time. Broken files are never cached (they are re-read, and reported, every time).

Importing this module costs no pydantic, tomlkit or filelock import; they are
loaded only when some file has to be (re)validated or the state needs more
than a plain read (no marker yet, an old format to migrate, a broken marker).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import compress, repeat
from operator import and_, attrgetter, eq, itemgetter, not_
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple

from state_format import files
from state_format.errors import BrokenRecordError
from state_format.ids import ID_PATTERN, is_valid_id
from state_format.paths import RepoPaths, find_repo
from state_format.statuses import Status
from state_format.timefmt import format_timestamp

if TYPE_CHECKING:
    from state_format.records import Construct

#: Folder (under the state root) for disposable caches.
CACHE_DIR = "cache"
#: The construct listing cache, inside CACHE_DIR.
CACHE_NAME = "constructs.json"
#: Bumped whenever the cache layout or the cached fields change.
CACHE_VERSION = 1
#: The state format version this fast path reads without further checks
#: (must equal :data:`state_format.marker.CURRENT_VERSION`; a test checks it).
FORMAT_VERSION = 1
#: Largest valid ``spawn_pid`` (as :data:`state_format.records.PID_MAX`; a test checks it).
PID_MAX = 2**31 - 1
#: A file changed less than this long ago is not cached: a second write within
#: the file system's timestamp granularity could leave its stat key unchanged.
RACY_NS = 2_000_000_000

_SUFFIX = ".toml"
_FOLDER = "constructs"
_MARKER = "format.toml"
_V0_FILE = "constructs.toml"

#: Construct fields in the order a cache entry stores them (after the id).
FIELDS = (
    "name",
    "description",
    "template_id",
    "workspace_path",
    "opencode_session_id",
    "status",
    "created_at",
    "updated_at",
    "branch",
    "base_ref",
    "base_commit",
    "spawn_pid",
)


class ConstructRow(NamedTuple):
    """A construct as listed: the fields of :class:`~state_format.records.Construct`,
    already validated, without a pydantic model (cheap to build: a tuple).
    ``extra`` holds the keys the model does not know."""

    id: str
    name: str
    description: str
    template_id: str
    workspace_path: str | None
    opencode_session_id: str | None
    status: Status
    created_at: datetime
    updated_at: datetime
    branch: str | None
    base_ref: str | None
    base_commit: str | None
    spawn_pid: int | None
    extra: dict[str, Any]

    def to_values(self) -> dict[str, Any]:
        """Plain values that validate to the same Construct."""
        out: dict[str, Any] = {"id": self.id}
        for name in FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Status):
                value = value.value
            out[name] = value
        out.update(self.extra)
        return out

    def to_construct(self) -> Construct:
        """The full pydantic model (validated again; imports pydantic)."""
        from state_format.records import Construct

        return Construct.model_validate(self.to_values())

    def as_json_dict(self, file: str | None = None) -> dict[str, Any]:
        """The ``--json`` shape, identical to ``ops.constructs.construct_as_dict``."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "template_id": self.template_id,
            "status": self.status.value,
            "workspace_path": self.workspace_path,
            "opencode_session_id": self.opencode_session_id,
            "branch": self.branch,
            "base_ref": self.base_ref,
            "base_commit": self.base_commit,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "extra": _jsonable(self.extra) if self.extra else {},
        }
        if file is not None:
            out["file"] = file
        return out

    @classmethod
    def from_construct(cls, construct: Construct) -> ConstructRow:
        """The row of a validated construct."""
        return cls(
            id=construct.id,
            extra=dict(construct.model_extra or {}),
            **{name: getattr(construct, name) for name in FIELDS},
        )


@dataclass
class RowListing:
    """Constructs that read fine (oldest first) and the files that did not."""

    rows: list[ConstructRow] = field(default_factory=list)
    broken: list[BrokenRecordError] = field(default_factory=list)


def _jsonable(value: Any) -> Any:
    """Like ``ops.constructs._jsonable``: TOML dates and times become strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# -- cache entries --------------------------------------------------------------

_JSON_SCALARS = (str, int, float, bool)


def _plain(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (no TOML dates)."""
    if isinstance(value, _JSON_SCALARS):
        return not (isinstance(value, float) and value != value)  # NaN != NaN
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _entry_values(row: ConstructRow) -> list[Any] | None:
    """The cached form of a row: its values in FIELDS order, then the extra keys."""
    if not _plain(row.extra):
        return None  # e.g. a TOML date a person added: that file is parsed each time
    values: list[Any] = []
    for name in FIELDS:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Status):
            value = value.value
        values.append(value)
    values.append(row.extra)
    return values


_STATUS_BY_VALUE = {s.value: s for s in Status}
_KNOWN_KEYS = frozenset({"id", *FIELDS})


def _timestamp(value: Any) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is UTC:
        return parsed
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _row_from_entry(record_id: str, entry: list[Any]) -> ConstructRow | None:
    """Rebuild a row from a cache entry (stat key already checked), or None when
    any value does not have the type the model guarantees."""
    if len(entry) != 4 + len(FIELDS) + 1:
        return None
    (_, _, _, _, name, description, template_id, workspace_path, session, status_value,
     created_at, updated_at, branch, base_ref, base_commit, pid, extra) = entry  # fmt: skip
    if type(name) is not str or not name or type(description) is not str:
        return None
    if type(template_id) is not str or not template_id or type(extra) is not dict:
        return None
    for opt in (workspace_path, session, branch, base_ref, base_commit):
        if opt is not None and (type(opt) is not str or not opt):
            return None
    if pid is not None and (type(pid) is not int or not 1 <= pid <= PID_MAX):
        return None
    status = _STATUS_BY_VALUE.get(status_value) if type(status_value) is str else None
    created, updated = _timestamp(created_at), _timestamp(updated_at)
    if status is None or created is None or updated is None:
        return None
    if extra and not _KNOWN_KEYS.isdisjoint(extra):
        return None
    return ConstructRow(
        record_id, name, description, template_id, workspace_path, session, status,
        created, updated, branch, base_ref, base_commit, pid, extra,
    )  # fmt: skip


_ENTRY_LEN = 4 + len(FIELDS) + 1
_STR = frozenset({str})
_OPT_STR = frozenset({str, type(None)})
_OPT_INT = frozenset({int, type(None)})
_DICT = frozenset({dict})
_UTC_ONLY = frozenset({UTC})
_TZINFO = attrgetter("tzinfo")


def _rows_from_entries(ids: list[str], entries: list[list[Any]]) -> list[ConstructRow] | None:
    """Rows for many cache entries at once (stat keys already checked).

    The same checks as :func:`_row_from_entry`, done a column at a time with
    C-level loops (``map``, ``set``, ``in``) instead of per value in Python.
    Returns None when any check fails; the caller then takes the entries one
    by one so that only the bad ones are read again. Timestamps not in UTC
    also take that path (they are converted there).
    """
    if not entries:
        return []
    if set(map(len, entries)) != {_ENTRY_LEN}:
        return None
    (_, _, _, _, names, descriptions, templates, paths, sessions, statuses, created_at,
     updated_at, branches, base_refs, base_commits, pids, extras,
     ) = zip(*entries, strict=True)  # fmt: skip
    if not (
        set(map(type, names)) == _STR
        and "" not in names
        and set(map(type, descriptions)) == _STR
        and set(map(type, templates)) == _STR
        and "" not in templates
        and set(map(type, statuses)) == _STR
        and _STATUS_BY_VALUE.keys() >= set(statuses)
        and set(map(type, created_at)) == _STR
        and set(map(type, updated_at)) == _STR
        and set(map(type, pids)) <= _OPT_INT
        and set(map(type, extras)) == _DICT
    ):
        return None
    for column in (paths, sessions, branches, base_refs, base_commits):
        if not set(map(type, column)) <= _OPT_STR or "" in column:
            return None
    if any(not _KNOWN_KEYS.isdisjoint(extra) for extra in filter(None, extras)):
        return None
    live_pids = set(pids)  # nearly all None: a set keeps the range check cheap
    live_pids.discard(None)
    if live_pids and (min(live_pids) < 1 or max(live_pids) > PID_MAX):
        return None
    try:
        created = list(map(datetime.fromisoformat, created_at))
        updated = list(map(datetime.fromisoformat, updated_at))
    except ValueError:
        return None
    if set(map(_TZINFO, created)) != _UTC_ONLY or set(map(_TZINFO, updated)) != _UTC_ONLY:
        return None
    return list(
        map(
            ConstructRow._make,
            zip(
                ids,
                names,
                descriptions,
                templates,
                paths,
                sessions,
                map(_STATUS_BY_VALUE.__getitem__, statuses),
                created,
                updated,
                branches,
                base_refs,
                base_commits,
                pids,
                extras,
                strict=True,
            ),
        )
    )


#: Many ids checked in one regex call: each followed by a newline. An id that
#: itself holds a newline fails it and sends the caller to :func:`is_valid_id`.
_MANY_IDS = re.compile(f"(?:{ID_PATTERN[1:-1]}\n)*")


def _all_valid_ids(ids: list[str]) -> bool:
    """Whether every one of ``ids`` is a valid record id (False: check one by one)."""
    text = "\n".join(ids) + "\n" if ids else ""
    # The count rules out an id with a newline inside passing as two ids.
    return text.count("\n") == len(ids) and _MANY_IDS.fullmatch(text) is not None


def cache_path(state_dir: Path) -> Path:
    """``<state>/cache/constructs.json``."""
    return state_dir / CACHE_DIR / CACHE_NAME


def _cache_header() -> dict[str, Any]:
    return {"cache": "synthetic constructs", "version": CACHE_VERSION, "format": FORMAT_VERSION}


def _open_cache_folder(state_dir: Path) -> int:
    """fd of ``<state>/cache``, refusing a symbolic link (the cache is ours alone)."""
    return os.open(state_dir / CACHE_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def load_cache(state_dir: Path) -> dict[str, list[Any]]:
    """Cached entries by file name; empty when the cache is missing or unusable.

    Only a regular file of at most :data:`~state_format.files.MAX_CACHE_BYTES`
    is read (never a FIFO, a device or a link, in the file's place or the
    folder's); anything else counts as no cache and is replaced on save.
    """
    try:
        dir_fd = _open_cache_folder(state_dir)
    except OSError:
        return {}
    try:
        data = files.read_regular(CACHE_NAME, files.MAX_CACHE_BYTES, dir_fd=dir_fd)
        doc = json.loads(data)
    except (OSError, files.UnsafeFileError, ValueError, RecursionError):
        return {}
    finally:
        os.close(dir_fd)
    if not isinstance(doc, dict) or doc.get("header") != _cache_header():
        return {}
    entries = doc.get("entries")
    return entries if isinstance(entries, dict) else {}


def save_cache(state_dir: Path, entries: dict[str, list[Any]]) -> bool:
    """Replace the cache atomically; returns False (and leaves it) on any OS error.

    No lock is taken: concurrent listings each rename a complete file into
    place, and any entry is only ever used after its stat key matches. A
    symbolic link in place of the cache folder is replaced by a real folder
    (the link is removed, never followed); a cache that would exceed
    :data:`~state_format.files.MAX_CACHE_BYTES` is not written.
    """
    import secrets  # here, not at the top: a listing that saves nothing skips it

    folder = state_dir / CACHE_DIR
    tmp = f".{CACHE_NAME}.{secrets.token_hex(4)}.tmp"
    data = json.dumps(
        {"header": _cache_header(), "entries": entries},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    if len(data) > files.MAX_CACHE_BYTES:
        return False  # readers would refuse it: listing works from the files alone
    try:
        dir_fd = _open_cache_folder(state_dir)
    except OSError:
        try:
            if os.path.islink(folder):
                os.unlink(folder)  # only the link goes; what it points to is untouched
            from state_format.atomic import DIR_MODE

            os.mkdir(folder, DIR_MODE)
            os.chmod(folder, DIR_MODE)
            dir_fd = _open_cache_folder(state_dir)
        except OSError:
            return False
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                     dir_fd=dir_fd)  # fmt: skip
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        # Replaces whatever has the cache's name (a FIFO, a link) except a folder.
        os.replace(tmp, CACHE_NAME, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        return False
    finally:
        os.close(dir_fd)
    return True


# -- opening and listing -----------------------------------------------------------


def open_state(start: Path | str | None = None) -> RepoPaths:
    """Find the repository and check the format marker, as ``Store.open`` does.

    The common case (a current marker, or no state at all yet) is checked here
    with tomllib alone; anything else (no marker beside records of another
    layout, an old version to migrate, a newer version, a broken marker) goes
    through :meth:`Store.at`, which migrates or raises exactly as usual.
    """
    repo = find_repo(start)
    state = repo.state_dir
    try:
        raw = files.read_regular(state / _MARKER, files.MAX_RECORD_BYTES)
    except FileNotFoundError:
        if not os.path.lexists(state / _V0_FILE):
            return repo  # no state yet, or records without a marker (version 1)
    except files.UnsafeFileError:
        pass  # Store.at reports it as a broken marker
    else:
        with contextlib.suppress(UnicodeDecodeError, tomllib.TOMLDecodeError):
            version = tomllib.loads(raw.decode("utf-8")).get("version")
            if type(version) is int and version == FORMAT_VERSION:
                return repo
    from state_format.store import Store

    Store.at(repo)
    return repo


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of allocations.

    Loading 10,000 cache entries allocates ~100,000 containers, none of them in
    a reference cycle; the collector would still run dozens of times over the
    growing heap (a third of the listing's time). Plain reference counting
    frees everything as usual meanwhile.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def list_construct_rows(state_dir: Path, *, use_cache: bool = True) -> RowListing:
    """Every construct as a row (oldest first), plus every broken construct file.

    Results are the same as :meth:`Store.list` gives for ``Construct``; only
    the files whose stat key changed since the cache was written are read.
    """
    with gc_paused():
        return _list_construct_rows(state_dir, use_cache=use_cache)


def _list_construct_rows(state_dir: Path, *, use_cache: bool) -> RowListing:
    result = RowListing()
    folder = state_dir / _FOLDER
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return result
    except OSError as exc:  # `constructs` is a file, or cannot be read
        raise files.access_error(folder, exc, "list") from None
    wanted = [n for n in names if n.endswith(_SUFFIX) and not n.startswith(".")]
    ids_checked = _all_valid_ids([n[: -len(_SUFFIX)] for n in wanted])
    cache = load_cache(state_dir) if use_cache else {}
    if cache:
        # The cache holds its entries oldest first: visiting files in that
        # order leaves the rows (nearly) sorted, which the final sort is fast on.
        present = set(wanted)
        order = [n for n in cache if n in present]
        if len(order) != len(wanted):
            order += [n for n in wanted if n not in cache]
    else:
        order = wanted
    fresh: dict[str, list[Any]] = {}
    hit_names: list[str] = []
    hit_entries: list[list[Any]] = []
    misses: list[tuple[str, str]] = []
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:  # replaced since listdir: as if it had failed there
        raise files.access_error(folder, exc, "list") from None
    lstat = partial(os.stat, dir_fd=dir_fd, follow_symlinks=False)
    try:
        split = _match_stat_keys(order, cache, dir_fd) if ids_checked and cache else None
        if split is not None:
            hit_names, hit_entries, miss_names = split
            misses = [(n, n[: -len(_SUFFIX)]) for n in miss_names]
        else:
            for name in order:
                record_id = name[: -len(_SUFFIX)]
                if not ids_checked and not is_valid_id(record_id):
                    result.broken.append(
                        BrokenRecordError(
                            str(folder / name), None, "file name is not a valid record id"
                        )
                    )
                    continue
                entry = cache.get(name)
                if type(entry) is list and len(entry) > 4:
                    try:
                        st = lstat(name)
                    except FileNotFoundError:
                        continue  # deleted by another process since listdir
                    except OSError:
                        misses.append((name, record_id))  # reading it says why
                        continue
                    if (
                        S_ISREG(st.st_mode)
                        and entry[0] == st.st_mtime_ns
                        and entry[1] == st.st_size
                        and entry[2] == st.st_ino
                        and entry[3] == st.st_ctime_ns
                    ):
                        hit_names.append(name)
                        hit_entries.append(entry)
                        continue
                misses.append((name, record_id))
        hit_ids = [n[: -len(_SUFFIX)] for n in hit_names]
        rows = _rows_from_entries(hit_ids, hit_entries)
        if rows is not None:
            result.rows = rows
            fresh = dict(zip(hit_names, hit_entries, strict=True))
        else:  # some entry is off: sort them out one by one
            for name, record_id, entry in zip(hit_names, hit_ids, hit_entries, strict=True):
                row = _row_from_entry(record_id, entry)
                if row is None:
                    misses.append((name, record_id))
                else:
                    result.rows.append(row)
                    fresh[name] = entry
        if misses:
            _read_misses(folder, dir_fd, misses, result, fresh)
    finally:
        os.close(dir_fd)
    result.rows.sort(key=_ROW_ORDER)
    result.broken.sort(key=lambda b: os.path.basename(b.path)[: -len(_SUFFIX)])
    if use_cache and fresh != cache:
        # Saved oldest first, like the rows (see the visiting order above).
        in_order = (f"{r.id}{_SUFFIX}" for r in result.rows)
        save_cache(state_dir, {f: fresh[f] for f in in_order if f in fresh})
    return result


_ROW_ORDER = attrgetter("created_at", "id")
_STAT_KEY = attrgetter("st_mtime_ns", "st_size", "st_ino", "st_ctime_ns")
_MODE = attrgetter("st_mode")
_ENTRY_KEY = itemgetter(slice(4))
_NO_ENTRY: list[Any] = []


def _match_stat_keys(
    names: list[str], cache: dict[str, Any], dir_fd: int
) -> tuple[list[str], list[list[Any]], list[str]] | None:
    """Split ``names`` into files whose cache entry has their current stat key
    (names and entries) and the others, stat'ing each file once.

    The same test as the one-by-one loop in :func:`_list_construct_rows`, in
    C-level loops. Returns None (decide one by one) when some cached entry is
    not a list or a file went away since the folder was listed.
    """
    entries = list(map(cache.get, names, repeat(_NO_ENTRY)))
    if not set(map(type, entries)) <= {list}:
        return None
    try:
        # lstat: a symbolic link is a broken record, never what it points to.
        stats = list(map(partial(os.stat, dir_fd=dir_fd, follow_symlinks=False), names))
    except OSError:  # gone since listdir, or not searchable: decide one by one
        return None
    same = list(map(eq, map(tuple, map(_ENTRY_KEY, entries)), map(_STAT_KEY, stats)))
    # Only a regular file may use its entry: a link, a FIFO... is read (and
    # reported) instead, whatever the cache says.
    same = list(map(and_, same, map(S_ISREG, map(_MODE, stats))))
    return (
        list(compress(names, same)),
        list(compress(entries, same)),
        list(compress(names, map(not_, same))),
    )


def _read_misses(
    folder: Path,
    dir_fd: int,
    misses: list[tuple[str, str]],
    result: RowListing,
    fresh: dict[str, list[Any]],
) -> None:
    """Read, parse and validate files the cache could not vouch for."""
    from state_format.records import Construct
    from state_format.store import record_from_bytes

    now = time.time_ns()
    limit = files.MAX_RECORD_BYTES
    for name, record_id in misses:
        path = folder / name
        try:
            # Never blocks (FIFO), never follows a link, refuses all but a
            # regular file; the read stops past the size limit.
            fd, before = files.open_regular(name, dir_fd=dir_fd)
        except FileNotFoundError:
            continue  # deleted by another process since listdir
        except files.UnsafeFileError as exc:
            result.broken.append(BrokenRecordError(str(path), None, exc.reason))
            continue
        try:
            if before.st_size > limit:
                raise files.UnsafeFileError(
                    f"is larger than {limit >> 20} MiB ({before.st_size} bytes); a record "
                    "this big was not written by Synthetic: move it away and check what wrote it"
                )
            data = files.read_limited(fd, limit, before.st_size)
            after = os.fstat(fd)
        except files.UnsafeFileError as exc:
            result.broken.append(BrokenRecordError(str(path), None, exc.reason))
            continue
        finally:
            os.close(fd)
        try:
            construct = record_from_bytes(Construct, path, record_id, data)
        except BrokenRecordError as exc:
            result.broken.append(exc)
            continue
        row = ConstructRow.from_construct(construct)
        result.rows.append(row)
        key = [after.st_mtime_ns, after.st_size, after.st_ino, after.st_ctime_ns]
        stable = key == [before.st_mtime_ns, before.st_size, before.st_ino, before.st_ctime_ns]
        recent = now - max(after.st_mtime_ns, after.st_ctime_ns) < RACY_NS
        values = _entry_values(row)
        if stable and not recent and values is not None:
            fresh[name] = [*key, *values]
