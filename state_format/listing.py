"""Listing construct records, backed by a disposable parse cache.

``synthetic ls`` at 10,000 constructs cannot afford to read and parse 10,000
TOML files on every run. This module lists constructs as
:class:`~state_format.records.Construct` models, the one read type (the same
:meth:`Store.get <state_format.store.Store.get>` returns), and keeps
``<state>/cache/constructs.json``: for each record file, its stat key
(``st_mtime_ns``, ``st_size``, ``st_ino``, ``st_ctime_ns``) and the values its
model dumps to. A file whose stat key still matches is not read again; its
cached values are validated by the model once more (the same validation a
file gets, so the cache can never yield a construct its file would not). Any
other file is read, parsed and validated exactly as ``Store.get`` does (same
errors, same lines).

The TOML files stay the source of truth. The cache is ignored when missing,
unreadable, corrupt or of another version, and a person may delete it at any
time. Broken files are never cached (they are re-read, and reported, every
time), nor is a record whose values would not come back the same from JSON
(a TOML date a person added under an unknown key).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from stat import S_ISREG
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from state_format import files
from state_format.atomic import DIR_MODE, temp_name
from state_format.errors import BrokenRecordError
from state_format.ids import is_valid_id
from state_format.marker import CURRENT_VERSION
from state_format.records import Construct, Record
from state_format.tomlio import record_from_bytes

R = TypeVar("R", bound=Record)

#: Folder (under the state root) for disposable caches.
CACHE_DIR = "cache"
#: The construct listing cache, inside CACHE_DIR.
CACHE_NAME = "constructs.json"
#: Bumped whenever the cache layout changes (not when a field is added: the
#: cached values are validated by the model, like a file's).
CACHE_VERSION = 2
#: A file changed less than this long ago is not cached: a second write within
#: the file system's timestamp granularity could leave its stat key unchanged.
RACY_NS = 2_000_000_000

SUFFIX = ".toml"


@dataclass
class ListResult(Generic[R]):
    """Records that read fine, plus the files that did not (never silently dropped)."""

    records: list[R] = field(default_factory=list)
    broken: list[BrokenRecordError] = field(default_factory=list)


# -- the cache file -----------------------------------------------------------------


def cache_path(state_dir: Path) -> Path:
    """``<state>/cache/constructs.json``."""
    return state_dir / CACHE_DIR / CACHE_NAME


def _cache_header() -> dict[str, Any]:
    return {"cache": "synthetic constructs", "version": CACHE_VERSION, "format": CURRENT_VERSION}


def _open_cache_folder(state_dir: Path) -> int:
    """fd of ``<state>/cache``, refusing a symbolic link (the cache is ours alone)."""
    return os.open(state_dir / CACHE_DIR, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def load_cache(state_dir: Path) -> dict[str, Any]:
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
    folder = state_dir / CACHE_DIR
    tmp = temp_name(CACHE_NAME)
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


# -- cache entries ------------------------------------------------------------------


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _entry_values(construct: Construct) -> dict[str, Any] | None:
    """What the cache keeps of ``construct``: its values as JSON (only the keys
    it was read with), or None when they would not validate back to the same
    construct (e.g. a TOML date a person put under an unknown key)."""
    values = construct.model_dump(mode="json", exclude_unset=True)
    try:
        again = Construct.model_validate(values)
    except ValidationError:  # pragma: no cover - what validated once validates again
        return None
    return values if again == construct else None


def _from_entry(entry: Any, st: os.stat_result, record_id: str) -> Construct | None:
    """The construct a cache entry holds, when the entry is still the file's
    (same stat key, a regular file) and its values validate to a construct
    with the file's id; else None."""
    if not (
        type(entry) is list
        and len(entry) == 5
        and S_ISREG(st.st_mode)
        and entry[:4] == _stat_key(st)
    ):
        return None
    try:
        construct = Construct.model_validate(entry[4])
    except ValidationError:
        return None
    return construct if construct.id == record_id else None


# -- listing ------------------------------------------------------------------------

_ORDER = attrgetter("created_at", "id")


def list_constructs(state_dir: Path, *, use_cache: bool = True) -> ListResult[Construct]:
    """Every construct (oldest first: ``created_at``, then id), plus every broken
    construct file (by file name).

    The same records, and the same errors, as reading each file with
    :meth:`Store.get <state_format.store.Store.get>`; only files whose stat key
    changed since the cache was written are read. Reads only: the cache is
    the one thing written, and only when something in it changed.
    """
    result: ListResult[Construct] = ListResult()
    folder = state_dir / Construct.folder
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return result
    except OSError as exc:  # `constructs` is a file, or cannot be read
        raise files.access_error(folder, exc, "list") from None
    cache = load_cache(state_dir) if use_cache else {}
    fresh: dict[str, list[Any]] = {}
    now = time.time_ns()
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:  # replaced since listdir: as if it had failed there
        raise files.access_error(folder, exc, "list") from None
    try:
        for name in names:
            if not name.endswith(SUFFIX) or name.startswith("."):
                continue  # not a record (temp files are hidden)
            record_id = name[: -len(SUFFIX)]
            if not is_valid_id(record_id):
                reason = "file name is not a valid record id"
                result.broken.append(BrokenRecordError(str(folder / name), None, reason))
                continue
            entry = cache.get(name)
            if entry is not None:
                try:
                    # lstat: a symbolic link is a broken record, never what it points to.
                    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted by another process since listdir
                except OSError:
                    pass  # reading it says why
                else:
                    construct = _from_entry(entry, st, record_id)
                    if construct is not None:
                        result.records.append(construct)
                        fresh[name] = entry
                        continue
            _read(folder, dir_fd, name, record_id, result, fresh, now)
    finally:
        os.close(dir_fd)
    result.records.sort(key=_ORDER)
    result.broken.sort(key=lambda b: os.path.basename(b.path))
    if use_cache and fresh != cache:
        in_order = (f"{c.id}{SUFFIX}" for c in result.records)  # oldest first
        save_cache(state_dir, {f: fresh[f] for f in in_order if f in fresh})
    return result


def _read(
    folder: Path,
    dir_fd: int,
    name: str,
    record_id: str,
    result: ListResult[Construct],
    fresh: dict[str, list[Any]],
    now: int,
) -> None:
    """Read, parse and validate a file the cache could not vouch for."""
    path = folder / name
    try:
        # Never blocks (FIFO), never follows a link, refuses all but a regular
        # file; the read stops past the size limit.
        data, before, after = files.read_regular_stat(name, files.MAX_RECORD_BYTES, dir_fd=dir_fd)
    except FileNotFoundError:
        return  # deleted by another process since listdir
    except files.UnsafeFileError as exc:
        result.broken.append(BrokenRecordError(str(path), None, exc.reason))
        return
    try:
        construct = record_from_bytes(Construct, path, record_id, data)
    except BrokenRecordError as exc:
        result.broken.append(exc)
        return
    result.records.append(construct)
    key = _stat_key(after)
    stable = key == _stat_key(before)
    recent = now - max(after.st_mtime_ns, after.st_ctime_ns) < RACY_NS
    if stable and not recent:
        values = _entry_values(construct)
        if values is not None:
            fresh[name] = [*key, values]
