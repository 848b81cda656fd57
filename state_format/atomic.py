"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync folder.

A reader therefore sees either the whole old file or the whole new one, and a
writer killed at any point leaves the old file intact (at worst a stray
``.<name>.<random>.tmp`` file, which readers ignore, :func:`find_stale_temp_files`
finds once it is old, and ``Store.remove_stale_temp_files`` clears).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from state_format.errors import StateLayoutError
from state_format.files import access_error, not_a_folder_error

#: Files may hold secrets (service env, tokens), so only the owner may read them.
FILE_MODE = 0o600
#: Folders likewise: nobody else may list or enter them.
DIR_MODE = 0o700

TEMP_SUFFIX = ".tmp"
#: The names writers give their temp files: ``.<name>.<8 hex digits>.tmp``.
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")


def ensure_dir(path: Path) -> None:
    """Create ``path`` (and parents) with owner-only permissions if missing.

    Raises :class:`~state_format.errors.StateLayoutError` when something other
    than a folder is in the way, :class:`~state_format.errors.StateAccessError`
    when the folder cannot be created (permissions, a full disk).
    """
    if path.is_dir():
        return
    if os.path.lexists(path):  # a file, or a link to nowhere: never replace it
        raise not_a_folder_error(path)
    if not path.parent.is_dir():
        ensure_dir(path.parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if path.is_dir():
            return  # another process made it meanwhile
        raise not_a_folder_error(path) from None
    except OSError as exc:
        raise access_error(path, exc, "create the folder") from None
    try:
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
        fsync_dir(path.parent)
    except OSError as exc:
        raise access_error(path, exc, "create the folder", changed=True) from None


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or unlink) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(name: str) -> str:
    """A fresh hidden temp name for the file ``name`` (matches :data:`TEMP_NAME`)."""
    import secrets  # with hmac and hashlib: loaded by writes only, not every read

    return f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one a writer gives its temp file (see :func:`temp_name`)."""
    return TEMP_NAME.fullmatch(name) is not None


def temp_path_for(path: Path) -> Path:
    """A fresh hidden temp name beside ``path`` (same folder, so rename is atomic)."""
    return path.with_name(temp_name(path.name))


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    On any failure the temp file is removed and ``path`` keeps its old content;
    an OSError is raised as :class:`~state_format.errors.StateAccessError` (no
    permission, read-only, disk full) or
    :class:`~state_format.errors.StateLayoutError` (a folder in the way).
    """
    tmp = temp_path_for(path)
    try:
        # O_NOFOLLOW: the fresh random name cannot be a link we planted, so a
        # link there is someone else's trap.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError as exc:
        raise access_error(path, exc, "write") from None
    try:
        try:
            os.fchmod(fd, mode)  # O_CREAT's mode is filtered by the umask
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, IsADirectoryError):
            raise StateLayoutError(
                str(path),
                f"{path} is a folder, where Synthetic keeps a file; move it out of the way "
                "(nothing was changed)",
            ) from None
        if isinstance(exc, OSError):
            raise access_error(path, exc, "write") from None
        raise
    try:
        fsync_dir(path.parent)
    except OSError as exc:
        raise access_error(path, exc, "flush the folder of", changed=True) from None


def atomic_delete(path: Path) -> None:
    """Remove ``path`` and make the removal durable."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise access_error(path, exc, "remove") from None
    try:
        fsync_dir(path.parent)
    except OSError as exc:
        raise access_error(path, exc, "flush the folder of", changed=True) from None


#: Age (seconds since its last change) from which a temp file counts as left
#: behind by a killed writer. A live write takes milliseconds; an hour leaves
#: room for a writer stalled on a slow disk.
STALE_TEMP_AGE = 3600.0


@dataclass(frozen=True)
class StaleTempFile:
    """A temp file a writer left behind (it was killed between create and rename)."""

    path: Path
    size: int
    #: Seconds since the file last changed (the later of its mtime and ctime).
    age: float


def find_stale_temp_files(folder: Path, older_than: float = STALE_TEMP_AGE) -> list[StaleTempFile]:
    """Temp files directly in ``folder`` unchanged for at least ``older_than`` seconds.

    Only regular files named as :func:`temp_name` names them count; a link or a
    folder with such a name is not a writer's and is left out. A missing
    folder (or a file in its place) has none. Nothing is changed.
    """
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise access_error(folder, exc, "list") from None
    found: list[StaleTempFile] = []
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone meanwhile
        # ctime too: it cannot be set back (touch -d), and moves on every write.
        age = now - max(st.st_mtime, st.st_ctime)
        if S_ISREG(st.st_mode) and age >= older_than:
            found.append(StaleTempFile(Path(entry.path), st.st_size, age))
    return sorted(found, key=lambda f: f.path.name)
