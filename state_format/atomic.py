"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync folder.

A reader therefore sees either the whole old file or the whole new one, and a
writer killed at any point leaves the old file intact (at worst a stray
``.*.tmp`` file, which readers ignore and :func:`remove_stale_temp_files` clears).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from state_format.errors import StateLayoutError
from state_format.files import access_error, not_a_folder_error

#: Files may hold secrets (service env, tokens), so only the owner may read them.
FILE_MODE = 0o600
#: Folders likewise: nobody else may list or enter them.
DIR_MODE = 0o700

TEMP_SUFFIX = ".tmp"


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


def temp_path_for(path: Path) -> Path:
    """A fresh hidden temp name beside ``path`` (same folder, so rename is atomic)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


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


def remove_stale_temp_files(folder: Path, older_than: float = 3600.0) -> int:
    """Delete temp files left by killed writers; returns how many were removed.

    Only files older than ``older_than`` seconds are touched, so a write in
    progress in another process is never disturbed.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > older_than:
                    os.unlink(entry.path)
                    removed += 1
    return removed
