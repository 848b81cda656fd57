"""Crash safety of writes and the behaviour of the state lock."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from filelock import FileLock, Timeout
from sf_helpers import add_construct, make_repo

from state_format import atomic
from state_format.errors import LockLostError, LockTimeoutError, StateAccessError
from state_format.locking import StateLock
from state_format.records import Construct
from state_format.store import Store


def test_failed_rename_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(make_repo(tmp_path / "repo"))
    record = add_construct(store, "x")
    path = store.path_of(Construct, record.id)
    before = path.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(StateAccessError, match="No space left"):
        store.update(Construct, record.id, lambda c: {"name": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_writer_killed_between_temp_write_and_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    store = Store.open(repo)
    record = add_construct(store, "survivor")
    path = store.path_of(Construct, record.id)
    before = path.read_bytes()
    flag = tmp_path / "in-rename"
    child = textwrap.dedent(
        f"""
        import os, time
        from state_format import atomic
        from state_format.records import Construct
        from state_format.store import Store

        def stuck(src, dst):
            open({str(flag)!r}, "w").close()
            time.sleep(60)

        atomic.os.replace = stuck
        store = Store.open({str(repo)!r})
        store.update(Construct, {record.id!r}, lambda c: {{"name": "half written"}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 20
        while not flag.exists():
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never reached the rename"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before  # old file intact
    temps = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1  # the fully written temp file is left behind ...
    listing = store.list_constructs()  # ... and ignored by readers
    assert [r.id for r in listing.records] == [record.id] and listing.broken == []
    # The dead writer's lock is gone with it: the next write goes through.
    assert store.update(Construct, record.id, lambda c: {"name": "after"}).name == "after"
    # It is not taken for stale while it may be a write in progress; an hour on, it is.
    assert store.stale_temp_files() == [] and store.remove_stale_temp_files() == []
    later = time.time() + atomic.STALE_TEMP_AGE + 1
    monkeypatch.setattr(atomic.time, "time", lambda: later)
    assert [f.path for f in store.stale_temp_files()] == temps
    assert store.remove_stale_temp_files() == temps and not temps[0].exists()


def test_lock_times_out_while_another_process_holds_it(tmp_path: Path) -> None:
    lock_path = tmp_path / "state" / ".lock"
    held = tmp_path / "held"
    child = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from state_format.locking import StateLock
        with StateLock(Path({str(lock_path)!r})):
            open({str(held)!r}, "w").close()
            time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        while not held.exists():
            assert proc.poll() is None
            time.sleep(0.01)
        with pytest.raises(LockTimeoutError), StateLock(lock_path, timeout=0.2):
            pass
    finally:
        proc.kill()
        proc.wait()
    with StateLock(lock_path, timeout=5):  # released by the kernel on death
        pass


def test_lock_file_deleted_between_uses_is_recreated(tmp_path: Path) -> None:
    lock = StateLock(tmp_path / "s" / ".lock", timeout=1)
    with lock:
        pass
    (tmp_path / "s" / ".lock").unlink()
    with lock:
        assert (tmp_path / "s" / ".lock").exists()
    assert (os.stat(tmp_path / "s" / ".lock").st_mode & 0o777) == 0o600
    assert (os.stat(tmp_path / "s").st_mode & 0o777) == 0o700


def test_lock_taken_on_a_file_deleted_meanwhile_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reproduce the race deterministically: the file is unlinked right after
    # it was flock'ed (as if a previous holder cleaned it up). A plain flock
    # would now "hold" a lock nobody else can see; StateLock must notice and retry.
    path = tmp_path / ".lock"
    original = fcntl.flock
    locked: list[int] = []

    def racing_flock(fd: int, operation: int) -> None:
        original(fd, operation)
        if operation & fcntl.LOCK_EX:
            locked.append(os.fstat(fd).st_ino)
            if len(locked) == 1:
                os.unlink(path)

    monkeypatch.setattr(fcntl, "flock", racing_flock)
    lock = StateLock(path, timeout=5)
    with lock:
        assert len(locked) == 2  # the first file vanished: locked again, on the new one
        assert os.stat(path).st_ino == locked[1]  # the lock now is on the file at the path
        lock.ensure_still_held()
    monkeypatch.undo()
    with StateLock(path, timeout=0.1):  # released properly
        pass


def test_the_lock_excludes_other_processes_and_filelock_users(tmp_path: Path) -> None:
    """A flock like filelock's: a FileLock on the same path waits for a StateLock."""
    path = tmp_path / ".lock"
    with StateLock(path, timeout=1):
        with pytest.raises(Timeout):
            FileLock(str(path), timeout=0).acquire()
        with pytest.raises(LockTimeoutError), StateLock(path, timeout=0):
            pass  # another thread's (or another StateLock's) open of the file
    held = FileLock(str(path), timeout=1)
    with held, pytest.raises(LockTimeoutError), StateLock(path, timeout=0):
        pass


def test_holder_whose_lock_file_vanished_does_not_write(tmp_path: Path) -> None:
    store = Store.open(make_repo(tmp_path / "repo"))
    record = add_construct(store, "x")
    path = store.path_of(Construct, record.id)
    before = path.read_bytes()

    def change(current: Construct) -> dict[str, str]:
        (store.root / ".lock").unlink()  # removed while we hold it
        return {"name": "changed"}

    with pytest.raises(LockLostError):
        store.update(Construct, record.id, change)
    assert path.read_bytes() == before
    store.update(Construct, record.id, lambda c: {"name": "retried"})
    assert store.get_construct(record.id).name == "retried"
