"""The inter-process lock that serialises read-modify-write of the state.

An exclusive ``flock`` on the lock file, through a file descriptor of our own
(one per thread: flocks on separate opens exclude each other, within a
process too). A plain flock has one hole: if a person or a clean-up script
deletes the lock file while a process holds it, the next process creates a
new file and locks *that*, and both believe they hold the lock. As in jj,
after acquiring we check that the file we locked (``fstat`` of our
descriptor) is still the one at the lock path (same device and inode); if not
we let go and try again. And before each write is committed,
:meth:`StateLock.ensure_still_held` checks the same thing, so a holder whose
lock file vanished aborts instead of racing a newcomer. Holding the
descriptor ourselves is what makes that check possible: :mod:`filelock`
does not expose the one it locks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from state_format.atomic import FILE_MODE, ensure_dir
from state_format.errors import LockLostError, LockTimeoutError, StateLayoutError
from state_format.files import access_error

#: Seconds to wait for another process before giving up with LockTimeoutError.
DEFAULT_TIMEOUT = 30.0
#: Seconds between two tries while another process holds the lock.
POLL_INTERVAL = 0.005


class StateLock:
    """A reentrant, inode-checked inter-process lock on one lock file.

    Use as a context manager (``with lock:``) or through :meth:`hold`.
    Reentrant within one thread so that an operation holding the lock can call
    helpers that take it too.
    """

    def __init__(self, path: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    @property
    def is_held(self) -> bool:
        """Whether the current thread holds this lock."""
        return self._depth() > 0

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds."""
        if self._depth() > 0:
            self._local.depth = self._depth() + 1
            return
        deadline = time.monotonic() + self.timeout
        # Create the folder ourselves, with the state's own mode.
        ensure_dir(self.path.parent)
        while True:
            self._check_lock_file()
            fd = self._open()
            if fd is None:
                continue
            try:
                self._flock(fd, deadline)
            except BaseException:
                os.close(fd)
                raise
            if self._still_ours(fd):
                self._local.fd = fd
                self._local.depth = 1
                return
            os.close(fd)  # closing lets go of the flock on the stale file

    def _open(self) -> int | None:
        """A descriptor of the lock file, made if absent; None if its folder vanished meanwhile."""
        # O_NOFOLLOW: a link put at the path is never followed (the check
        # above names it); nothing is truncated, nothing is ever written.
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, FILE_MODE)
        except FileNotFoundError:  # the folder went since: make it again
            ensure_dir(self.path.parent)
            return None
        except OSError as exc:  # e.g. a read-only state folder, or a link made since
            self._check_lock_file()  # made a folder or a link since the check? say so
            raise access_error(self.path, exc, "create or open the lock file") from None
        # The mode asked for at creation is cut by the umask: set it exactly.
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, FILE_MODE)
        return fd

    def _flock(self, fd: int, deadline: float) -> None:
        """Lock ``fd`` exclusively, polling until ``deadline`` (LockTimeoutError after)."""
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise access_error(self.path, exc, "lock the lock file") from None
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"another synthetic process has held {self.path} for more than "
                    f"{self.timeout:g} s; try again, or check for a stuck process"
                )
            time.sleep(POLL_INTERVAL)

    def _check_lock_file(self) -> None:
        """Refuse a lock path that is not a plain file (or absent).

        The lock file is opened without following links, so a link there
        would only fail with an obscure error, as would a folder. Neither is
        ever made by Synthetic: say what is wrong and how to fix it.
        """
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise access_error(self.path, exc, "check the lock file") from None
        if not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else (
                "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            )
            raise StateLayoutError(
                str(self.path),
                f"the lock file {self.path} is {kind}; remove it (synthetic makes a new, "
                "empty one; nothing was read or changed)",
            )

    def _still_ours(self, fd: int) -> bool:
        """Whether the file locked through ``fd`` is still the file at ``self.path``."""
        try:
            on_disk = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def ensure_still_held(self) -> None:
        """Before committing a write: fail if the lock file was deleted or replaced.

        Someone removing the lock file while we hold it lets a newcomer lock a
        fresh file, so we might no longer be alone. Aborting before the rename
        keeps the old file intact; the caller can simply retry.
        """
        if self._depth() <= 0:
            raise RuntimeError("ensure_still_held() without holding the lock")
        if not self._still_ours(self._local.fd):
            raise LockLostError(
                f"the lock file {self.path} was removed while a write was in progress; "
                "nothing was written, try again"
            )

    def release(self) -> None:
        """Release one level of the lock; the file lock goes at depth zero."""
        depth = self._depth()
        if depth <= 0:
            raise RuntimeError("StateLock.release() without acquire()")
        self._local.depth = depth - 1
        if depth == 1:
            fd, self._local.fd = self._local.fd, None
            os.close(fd)  # the flock goes with the last descriptor of the open

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Context manager form, for ``with store.lock():`` call sites."""
        self.acquire()
        try:
            yield
        finally:
            self.release()
