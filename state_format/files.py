"""Reading state files safely: regular files only, and never more than a limit.

A state file is expected to be a small regular file, but anything can sit at
its path: a named pipe (a plain ``open`` blocks until someone writes to it), a
symbolic link to ``/dev/zero`` (a plain ``read`` never ends), a folder, or a
file of gigabytes. Every reader in this package therefore opens through
:func:`open_regular` and reads through :func:`read_limited`:

* the file is opened with ``O_NONBLOCK`` (opening a FIFO returns at once
  instead of waiting for a writer) and ``O_NOFOLLOW`` (state files are never
  symbolic links: a link is reported, not followed, like git does for
  ``.gitattributes``), then ``fstat``'ed, and anything but a regular file is
  refused before a byte is read;
* the read itself stops after ``limit + 1`` bytes, so a file that grows while
  being read (or lies about its size) still cannot exhaust memory.

Problems are raised as :class:`UnsafeFileError` with a reason written for a
person; callers turn it into a broken record (records, the marker) or simply
ignore the file (the disposable listing cache). Only the standard library is
used, so the fast listing can rely on this module.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from state_format.errors import StateAccessError, StateError, StateLayoutError

#: Largest record file (and format marker) read, in bytes: 1 MiB. Records are a
#: few hundred bytes; a prompt bundle's text is the largest expected content.
MAX_RECORD_BYTES = 1 << 20
#: Largest listing cache read, in bytes: 64 MiB, room for ~130,000 constructs
#: (an entry is ~500 bytes). A larger cache is ignored and not written again.
MAX_CACHE_BYTES = 64 << 20
#: Largest version-0 ``constructs.toml`` migrated, in bytes: 64 MiB.
MAX_V0_BYTES = 64 << 20

# O_NOCTTY: a terminal device must never become our controlling terminal.
_OPEN_FLAGS = (
    os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


class UnsafeFileError(Exception):
    """A state file that must not be read as it is.

    ``reason`` completes "<path> ..." for a person (e.g. "is a named pipe
    (FIFO), not a regular file; remove it"). ``not_a_folder`` is set when a
    folder on the way to the file is a file instead (the layout is wrong, not
    the file).
    """

    def __init__(self, reason: str, *, not_a_folder: Path | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_a_folder = not_a_folder


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, for a message: ``a folder``, ``a named pipe (FIFO)`` ..."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"  # pragma: no cover - every POSIX type is listed


def _quote(text: str, limit: int = 80) -> str:
    """A short, printable rendering of a link target for a message."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return repr(shown if len(shown) <= limit else shown[: limit - 1] + "…")


def describe_symlink(path: Path | str, *, dir_fd: int | None = None) -> str:
    """Reason for refusing the symbolic link at ``path``, naming its target."""
    try:
        target = os.readlink(path, dir_fd=dir_fd)
    except OSError:
        return "is a symbolic link; state files must be regular files: remove the link"
    try:
        os.stat(path, dir_fd=dir_fd)  # follows the link: does its target exist?
        exists = True
    except OSError:
        exists = False
    where = _quote(target) + ("" if exists else ", which does not exist")
    return (
        f"is a symbolic link to {where}; state files must be regular files: "
        "replace the link with the file itself, or remove it"
    )


def first_non_folder(path: Path) -> Path | None:
    """The first of ``path`` and its parents (from the top) that exists but is not a folder."""
    for candidate in (*reversed(path.parents), path):
        if os.path.lexists(candidate) and not os.path.isdir(candidate):
            return candidate
    return None


def open_regular(path: Path | str, *, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading if it is a regular file; returns ``(fd, fstat)``.

    Never blocks and never follows a symbolic link at ``path`` itself (folders
    above it may be links). Raises FileNotFoundError when nothing is there,
    else :class:`UnsafeFileError` for a link, a folder, a FIFO, a device, a
    socket or a file that cannot be opened. The caller closes the fd.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _open_error(exc, path, dir_fd) from None
    try:
        st = os.fstat(fd)
    except OSError as exc:  # pragma: no cover - fstat on an open fd does not fail
        os.close(fd)
        raise UnsafeFileError(f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = kind_of(st.st_mode)
        hint = "move it out of the way" if kind == "a folder" else "remove it"
        raise UnsafeFileError(f"is {kind}, not a regular file; {hint}")
    return fd, st


def _open_error(exc: OSError, path: Path | str, dir_fd: int | None) -> UnsafeFileError:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link at the last component
        return UnsafeFileError(describe_symlink(path, dir_fd=dir_fd))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UnsafeFileError(
            "cannot be read: permission denied; make it readable by the user running "
            "synthetic (check its owner and mode, e.g. `chmod u+rw`)"
        )
    if exc.errno == errno.ENOTDIR:
        culprit = first_non_folder(Path(path)) if dir_fd is None else None
        return UnsafeFileError(
            f"cannot be read: {culprit or 'a folder on its path'} is not a folder",
            not_a_folder=culprit,
        )
    return UnsafeFileError(f"cannot be read: {exc.strerror or exc}")


def read_limited(fd: int, limit: int, size_hint: int = 0) -> bytes:
    """Read the whole of ``fd`` but at most ``limit`` bytes.

    Raises :class:`UnsafeFileError` when there is more than ``limit``: the
    read stops at ``limit + 1`` bytes whatever the file claims its size is.
    ``size_hint`` (the fstat size) sizes the first read, so a small file
    takes one read plus the one that sees its end.
    """
    want = limit + 1
    chunks: list[bytes] = []
    total = 0
    step = min(max(size_hint + 1, 1 << 12), want)
    while total < want:
        try:
            chunk = os.read(fd, min(step, want - total))
        except OSError as exc:
            raise UnsafeFileError(f"cannot be read: {exc.strerror or exc}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        step = min(max(step, 1 << 16), want)
    raise UnsafeFileError(
        f"is larger than {_size(limit)}; a state file this big was not written by "
        "Synthetic: move it away and check what wrote it"
    )


def _size(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes"


def read_regular(path: Path | str, limit: int, *, dir_fd: int | None = None) -> bytes:
    """The content of the regular file ``path`` (at most ``limit`` bytes).

    FileNotFoundError when nothing is there; :class:`UnsafeFileError` for
    anything that is not a regular file, cannot be opened, or is too large.
    """
    return read_regular_stat(path, limit, dir_fd=dir_fd)[0]


def read_regular_stat(
    path: Path | str, limit: int, *, dir_fd: int | None = None
) -> tuple[bytes, os.stat_result, os.stat_result]:
    """:func:`read_regular`, plus the file's ``fstat`` before and after the read.

    The two differ when the file changed while it was read (a cache must then
    not remember what was read under either key).
    """
    fd, before = open_regular(path, dir_fd=dir_fd)
    try:
        if before.st_size > limit:
            raise UnsafeFileError(
                f"is larger than {_size(limit)} ({before.st_size} bytes); a state file this "
                "big was not written by Synthetic: move it away and check what wrote it"
            )
        data = read_limited(fd, limit, before.st_size)
        return data, before, os.fstat(fd)
    finally:
        os.close(fd)


# -- errors for the state's own folders and writes ----------------------------------


def not_a_folder_error(path: Path) -> StateLayoutError:
    """The error for ``path`` existing where the state needs a folder."""
    try:
        kind = kind_of(os.lstat(path).st_mode)
    except OSError:
        kind = "not a folder"
    kind = "a file" if kind == "not a regular file" else kind
    return StateLayoutError(
        str(path),
        f"{path} is {kind}, but Synthetic keeps a folder there; move it out of the way "
        "(nothing was read or changed)",
    )


def access_error(path: Path, exc: OSError, doing: str, *, changed: bool = False) -> StateError:
    """A StateError for the OSError ``exc`` raised while ``doing`` (e.g. "write") ``path``.

    ENOTDIR becomes a :class:`StateLayoutError` naming the file that stands
    where a folder belongs; anything else a :class:`StateAccessError` saying
    what to do about it. ``changed`` says whether the failure came after the
    state was already changed (else the message says nothing was).
    """
    if exc.errno == errno.ENOTDIR:
        culprit = first_non_folder(path)
        if culprit is not None:
            return not_a_folder_error(culprit)
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        hint = "the disk (or your quota) is full: free some space and try again"
    elif exc.errno == errno.EROFS:
        hint = "the file system is mounted read-only"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        hint = (
            "the state folder must be writable by the user running synthetic "
            "(check its owner and mode, and `lsattr -d` for the immutable flag)"
        )
    else:
        hint = "check the disk and the folder's permissions"
    tail = "" if changed else " (nothing was changed)"
    reason = exc.strerror or str(exc)
    return StateAccessError(str(path), exc.errno, f"cannot {doing} {path}: {reason}; {hint}{tail}")
