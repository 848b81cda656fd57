"""Service output: ``service_logs/<service id>.log`` (and ``.log.1``), capped in size.

A service runs under a small supervisor (:mod:`synthetic_ls.runtime.log_pump`, run
as a script) that appends its standard output and error to
``<state>/service_logs/<id>.log``. When that file would pass the cap, it is
renamed to ``<id>.log.1`` (replacing the older one) and a new file is begun,
so a service that logs forever uses at most twice the cap. Files are 0600:
output may hold secrets.

This module is the only place that knows the layout; it reads the logs
without following a symbolic link at their names and never reads more than
it was asked for.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from state_format.atomic import FILE_MODE, ensure_dir
from state_format.errors import StateAccessError, StateLayoutError
from state_format.files import kind_of

if TYPE_CHECKING:
    # filelock imports asyncio (over 100 ms on a loaded machine): loaded by
    # start_lock only, not by every read that shows a service.
    from filelock import FileLock

FOLDER = "service_logs"
#: Default cap of one log file (bytes); ``SYNTHETIC_SERVICE_LOG_MAX`` overrides it.
DEFAULT_CAP = 8 * 1024 * 1024
CAP_ENV = "SYNTHETIC_SERVICE_LOG_MAX"
#: The pump script, run with ``python -I`` so a service's PYTHONPATH cannot break it.
PUMP_SCRIPT = str(Path(__file__).with_name("log_pump.py"))


def folder(state_dir: Path) -> Path:
    """Folder of the service logs."""
    return state_dir / FOLDER


def log_path(state_dir: Path, service_id: str) -> Path:
    """The current log of service ``service_id``."""
    return folder(state_dir) / f"{service_id}.log"


def log_files(state_dir: Path) -> list[tuple[Path, str]]:
    """Every regular log file there is, with the service (or ``<id>--setup``) it is of."""
    out: list[tuple[Path, str]] = []
    try:
        entries = list(os.scandir(folder(state_dir)))
    except OSError:
        return out
    for entry in entries:
        for suffix in (".log", ".log.1"):
            if entry.name.endswith(suffix) and entry.is_file(follow_symlinks=False):
                out.append((Path(entry.path), entry.name[: -len(suffix)]))
                break
    return sorted(out)


def rotated_path(state_dir: Path, service_id: str) -> Path:
    """The previous log (``.log.1``), kept when the current one reached the cap."""
    return folder(state_dir) / f"{service_id}.log.1"


def cap() -> int:
    """The size cap of one log file in bytes (at least 1 KiB)."""
    try:
        return max(1024, int(os.environ.get(CAP_ENV, DEFAULT_CAP)))
    except ValueError:
        return DEFAULT_CAP


def prepare(state_dir: Path, service_id: str) -> Path:
    """Create the folder and an empty (0600) log if there is none; return the log's path."""
    ensure_dir(folder(state_dir))
    path = log_path(state_dir, service_id)
    os.close(open_append(path))
    return path


def _wrong_kind(path: Path, what: str) -> StateLayoutError:
    return StateLayoutError(
        str(path), f"{path} is {what}, where Synthetic keeps a regular file; move it away",
    )


def _kind_of(path: Path) -> str:
    try:
        return kind_of(os.lstat(path).st_mode)
    except OSError:
        return "not a regular file"


def pump_argv(
    path: Path, command: list[str], limit: int | None = None, *, gated: bool = True
) -> list[str]:
    """The command that runs ``command`` with its output appended to ``path``, capped.

    ``gated``: the pump waits for a go byte on its standard input before it
    starts ``command`` (a service); otherwise it starts at once (a setup
    command, gated by its launcher).
    """
    return [sys.executable, "-I", PUMP_SCRIPT, str(path), str(limit or cap()),
            "gated" if gated else "now", *command]


def open_append(path: Path) -> int:
    """A descriptor appending to the log ``path`` (0600, never through a symlink).

    For a child process's output (a setup command); the caller closes it. A
    log path that holds something else (a folder, a named pipe, a link to a
    device) is a :class:`StateLayoutError` at once: opened without blocking,
    so a pipe with no reader cannot hang the command.
    """
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK,
            FILE_MODE,
        )
    except OSError as err:
        if err.errno in (errno.EISDIR, errno.ELOOP, errno.ENXIO):
            raise _wrong_kind(path, _kind_of(path)) from None
        raise StateAccessError(str(path), err.errno, f"cannot write {path}: {err.strerror}") \
            from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _wrong_kind(path, _kind_of(path))
    os.set_blocking(fd, True)
    return fd


def append(path: Path, text: str) -> None:
    """Append a line Synthetic writes itself (a setup command, a stop) to a log."""
    fd = open_append(path)
    try:
        os.write(fd, text.encode("utf-8", "replace"))
    finally:
        os.close(fd)


def _open_regular(path: Path) -> int | None:
    """A read-only descriptor of the regular file ``path``, or None (missing, not regular)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def read_from(path: Path, offset: int, limit: int = 1024 * 1024) -> tuple[bytes, int]:
    """Bytes of ``path`` from ``offset`` (at most ``limit``) and the offset after them.

    A file now shorter than ``offset`` was rotated: it is read from its start.
    A missing file reads as nothing.
    """
    fd = _open_regular(path)
    if fd is None:
        return b"", 0
    try:
        size = os.fstat(fd).st_size
        if size < offset:
            offset = 0
        os.lseek(fd, offset, os.SEEK_SET)
        data = os.read(fd, limit)
        return data, offset + len(data)
    finally:
        os.close(fd)


def size(path: Path) -> int:
    """The size of a log now (0 when there is none)."""
    fd = _open_regular(path)
    if fd is None:
        return 0
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def tail(path: Path, lines: int = 20, max_bytes: int = 256 * 1024) -> list[str]:
    """The last ``lines`` lines of a log (and of its rotated part when it is short)."""
    chunks: list[bytes] = []
    for candidate in (path, path.with_name(path.name + ".1")):
        fd = _open_regular(candidate)
        if fd is None:
            continue
        try:
            size = os.fstat(fd).st_size
            os.lseek(fd, max(0, size - max_bytes), os.SEEK_SET)
            chunks.insert(0, os.read(fd, max_bytes))
        finally:
            os.close(fd)
        if chunks[0].count(b"\n") > lines:
            break
    text = b"".join(chunks).decode("utf-8", "replace")
    return text.splitlines()[-lines:] if lines > 0 else []


def start_lock(state_dir: Path, construct_id: str, timeout: float = 600.0) -> FileLock:
    """A lock held while a construct's services are started or stopped (``locks/``).

    Not the state lock: waiting for a dev server to be ready takes seconds,
    and every other command must go on meanwhile. Two starts of the same
    construct's services wait for each other instead of starting them twice.
    """
    from filelock import FileLock  # see the imports above

    ensure_dir(state_dir / "locks")
    path = state_dir / "locks" / f"services-{construct_id}.lock"
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        raise _wrong_kind(path, _kind_of(path))
    return FileLock(str(path), mode=FILE_MODE, timeout=timeout, thread_local=False)


def remove(state_dir: Path, service_id: str) -> None:
    """Remove a service's logs (when its construct goes); no error when gone.

    A folder where a log belongs is not Synthetic's to delete: a
    :class:`StateLayoutError` names it (a link or a pipe is unlinked: that
    removes the name only).
    """
    for path in (log_path(state_dir, service_id), rotated_path(state_dir, service_id)):
        if os.path.isdir(path) and not os.path.islink(path):
            raise _wrong_kind(path, "a folder")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

