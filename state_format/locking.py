"""The inter-process lock that serialises read-modify-write of the state.

Built on :mod:`filelock` (``flock`` on POSIX). A plain flock has one hole: if a
person or a clean-up script deletes the lock file while a process holds it, the
next process creates a new file and locks *that*, and both believe they hold
the lock. As in jj, after acquiring we check that the file we locked is still
the one at the lock path (same device and inode); if not we let go and try again.
And before each write is committed, :meth:`StateLock.ensure_still_held` checks the
same thing, so a holder whose lock file vanished aborts instead of racing a
newcomer.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from state_format.atomic import FILE_MODE, ensure_dir
from state_format.errors import LockLostError, LockTimeoutError, StateLayoutError
from state_format.files import access_error

#: Seconds to wait for another process before giving up with LockTimeoutError.
DEFAULT_TIMEOUT = 30.0


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

    def _lock_obj(self) -> FileLock:
        lock = getattr(self._local, "lock", None)
        if lock is None:
            lock = FileLock(str(self.path), mode=FILE_MODE, thread_local=True)
            self._local.lock = lock
        return lock

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
        # Create the folder ourselves: filelock would use the umask (e.g. 0755).
        ensure_dir(self.path.parent)
        lock = self._lock_obj()
        while True:
            self._check_lock_file()
            remaining = deadline - time.monotonic()
            try:
                lock.acquire(timeout=max(remaining, 0.0), poll_interval=0.005)
            except Timeout:
                raise LockTimeoutError(
                    f"another synthetic process has held {self.path} for more than "
                    f"{self.timeout:g} s; try again, or check for a stuck process"
                ) from None
            except FileNotFoundError:
                # The lock file vanished between filelock's exists() and open();
                # simply try again.
                continue
            except OSError as exc:  # e.g. a read-only state folder
                self._check_lock_file()  # made a folder since the check? say so
                raise access_error(self.path, exc, "create or open the lock file") from None
            if self._still_ours(lock):
                self._local.depth = 1
                return
            lock.release(force=True)

    def _check_lock_file(self) -> None:
        """Refuse a lock path that is not a plain file (or absent).

        filelock opens the path with ``O_TRUNC``, following links: a link
        there would empty whatever it points to, and a folder gives
        IsADirectoryError. Neither is ever made by Synthetic.
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

    def _still_ours(self, lock: FileLock) -> bool:
        """Whether the file we flock'ed is still the file at ``self.path``."""
        fd = getattr(lock._context, "lock_file_fd", None)  # filelock has no public accessor
        if fd is None:
            return True  # cannot check; behave like plain filelock
        try:
            on_disk = os.stat(self.path)
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
        if not self._still_ours(self._lock_obj()):
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
            self._lock_obj().release(force=True)

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
