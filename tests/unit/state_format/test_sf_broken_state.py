"""A state folder broken in the ways issue 7 (item 8) found: a clear StateError, no loss.

Each case must end in a :class:`StateError` subclass whose message names the
path and what to do, with the exit code the spec documents, and must leave
every file as it was. Permission cases run in a child process that drops
root's privileges (sf_helpers.run_guarded), since root reads and writes
anything; the full disk is a real 64 KiB tmpfs mounted over the state folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo, run_guarded, small_tmpfs

from state_format.errors import (
    BrokenRecordError,
    InvalidRecordError,
    StateAccessError,
    StateError,
    StateLayoutError,
)
from state_format.listing import list_constructs
from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.cli.exit_codes import exit_code


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(make_repo(tmp_path / "repo"))


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: file bytes, or the kind of anything else."""
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            try:
                out[key] = path.read_bytes()
            except OSError as exc:  # a FIFO, a mode-000 file as non-root
                out[key] = f"unreadable: {exc.strerror}"
        else:
            out[key] = "folder" if path.is_dir() else "special"
    return out


def test_a_record_that_is_a_folder(store: Store) -> None:
    good = add_construct(store, "good")
    folder = store.folder(Construct) / "dir-1.toml"
    folder.mkdir()
    (folder / "inside.txt").write_text("a person's file")
    before = _snapshot(store.root)
    listing = store.list_constructs()
    assert [r.id for r in listing.records] == [good.id]
    (err,) = listing.broken
    assert err.path == str(folder) and "is a folder" in err.detail
    for call in (
        lambda: store.get_construct("dir-1"),
        lambda: store.resolve_construct("dir-1"),
        lambda: store.update(Construct, "dir-1", lambda c: {"name": "x"}),
        lambda: store.delete(Construct, "dir-1"),
    ):
        with pytest.raises(BrokenRecordError, match="is a folder") as info:
            call()
        assert exit_code(info.value) == 4 and str(folder) in str(info.value)
    clash = good.model_copy(update={"id": "dir-1"})
    with pytest.raises(InvalidRecordError, match="already exists"):
        store.create(clash)
    assert _snapshot(store.root) == before


@pytest.mark.parametrize("how", ["folder", "link"])
def test_a_lock_that_is_not_a_file(store: Store, tmp_path: Path, how: str) -> None:
    good = add_construct(store, "good")
    lock = store.root / ".lock"
    lock.unlink()
    victim = tmp_path / "someone-elses-file"
    victim.write_text("precious")
    if how == "folder":
        lock.mkdir()
    else:
        lock.symlink_to(victim)  # the lock would truncate it (O_TRUNC)
    before = _snapshot(store.root)
    for call in (
        lambda: add_construct(store, "new"),
        lambda: store.update(Construct, good.id, lambda c: {"name": "x"}),
        lambda: store.delete(Construct, good.id),
    ):
        with pytest.raises(StateLayoutError) as info:
            call()
        message = str(info.value)
        assert exit_code(info.value) == 4 and str(lock) in message and "remove it" in message
    assert _snapshot(store.root) == before and victim.read_text() == "precious"
    assert [r.id for r in store.list_constructs().records] == [good.id]  # reading still works


def test_constructs_is_a_file(store: Store) -> None:
    good = add_construct(store, "good")
    folder = store.folder(Construct)
    shutil.rmtree(folder)
    folder.write_text("a file where the records folder belongs\n")
    before = _snapshot(store.root)
    calls = (
        lambda: store.list_constructs(),
        lambda: list_constructs(Store.open(store.repo.worktree).root),
        lambda: store.get_construct(good.id),
        lambda: store.resolve_construct("good"),
        lambda: add_construct(store, "new"),
        lambda: store.update(Construct, good.id, lambda c: {"name": "x"}),
    )
    for call in calls:
        with pytest.raises(StateLayoutError) as info:
            call()
        message = str(info.value)
        assert exit_code(info.value) == 4, message
        assert f"{folder} is a file" in message and "move it out of the way" in message
    assert _snapshot(store.root) == before


# -- as an unprivileged user ------------------------------------------------------


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no `nobody` user to drop privileges to")
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root (the suite then runs unprivileged)")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def nobody_repo() -> Iterator[tuple[Store, tuple[int, int]]]:
    """A repository with one record, owned by ``nobody`` in a folder it can reach,
    and its store opened by root (git run as root now refuses the repository as
    another user's: safe.directory).

    pytest's tmp folders sit under /tmp/pytest-of-root (mode 0700): invisible to
    other users, so this one is made directly under /tmp.
    """
    uid, gid = _nobody()
    top = Path(tempfile.mkdtemp(prefix="sf-nobody-"))
    os.chmod(top, 0o755)
    repo = make_repo(top / "repo")
    store = Store.open(repo)
    add_construct(store, "good")
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, uid, gid)
    try:
        yield store, (uid, gid)
    finally:
        for path in top.rglob("*"):  # undo what the tests did, so root can clean up
            with contextlib.suppress(OSError):
                subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        shutil.rmtree(top, ignore_errors=True)


def test_an_unreadable_record_as_a_normal_user(
    nobody_repo: tuple[Store, tuple[int, int]],
) -> None:
    store, user = nobody_repo
    repo = store.repo.worktree
    (good,) = store.list_constructs().records
    secret = store.path_of(Construct, good.id).read_text().replace(good.id, "secret-1")
    path = store.folder(Construct) / "secret-1.toml"
    path.write_text(secret)
    os.chown(path, *user)
    os.chmod(path, 0o000)
    outs = run_guarded(
        repo, ["ls"], ["list"], ["get", "secret-1"], ["update", "secret-1"], as_user=user
    )
    for listed in outs[:2]:
        assert listed["rows"] == [good.id], listed
        (bad,) = listed["broken"]
        assert bad["path"] == str(path) and "permission denied" in bad["detail"]
    for out in outs[2:]:
        assert out["error"] == "BrokenRecordError" and out["exit_code"] == 4
        assert str(path) in out["message"] and "chmod" in out["message"]
    os.chmod(path, 0o600)
    assert path.read_text() == secret


def test_a_read_only_state_folder_as_a_normal_user(
    nobody_repo: tuple[Store, tuple[int, int]],
) -> None:
    store, user = nobody_repo
    repo = store.repo.worktree
    (good,) = store.list_constructs().records
    (store.root / ".lock").unlink()  # so the lock file must be created, and cannot be
    for folder in (store.root, store.folder(Construct)):
        os.chmod(folder, 0o500)
    before = _snapshot(store.root)
    ls, create, update, delete = run_guarded(
        repo, ["ls"], ["create", "new"], ["update", good.id], ["delete", good.id], as_user=user
    )
    assert ls["rows"] == [good.id] and ls["broken"] == []  # reading needs no write
    for out in (create, update, delete):
        assert out.get("error") == "StateAccessError", out
        assert out["exit_code"] == 4 and "Permission denied" in out["message"]
        assert str(store.root) in out["message"] and "nothing was changed" in out["message"]
    assert _snapshot(store.root) == before


def test_a_read_only_state_folder_as_root(store: Store) -> None:
    good = add_construct(store, "good")
    folder = store.folder(Construct)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here (needs root and ext4/xfs/btrfs)")
    try:
        before = _snapshot(store.root)
        for call in (
            lambda: add_construct(store, "new"),
            lambda: store.update(Construct, good.id, lambda c: {"name": "x"}),
            lambda: store.delete(Construct, good.id),
        ):
            with pytest.raises(StateAccessError) as info:
                call()
            message = str(info.value)
            assert exit_code(info.value) == 4 and info.value.errno == errno.EPERM
            assert str(folder) in message and "immutable" in message
        assert _snapshot(store.root) == before
        assert [r.id for r in store.list_constructs().records] == [good.id]
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


# -- a full disk ----------------------------------------------------------------------


@pytest.fixture
def tiny_state(tmp_path: Path) -> Iterator[Store]:
    """A store whose state folder is a 64 KiB tmpfs (skipped where mounting is not allowed)."""
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    state.mkdir()
    with small_tmpfs(state):
        yield Store.open(repo)


def _fill(folder: Path) -> None:
    """Write a filler file until the file system is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


def test_a_full_disk(tiny_state: Store) -> None:
    store = tiny_state
    good = add_construct(store, "good")
    _fill(store.root)
    before = _snapshot(store.folder(Construct))
    for call in (
        lambda: add_construct(store, "new"),
        lambda: store.update(Construct, good.id, lambda c: {"description": "x" * 5000}),
    ):
        with pytest.raises(StateAccessError) as info:
            call()
        message = str(info.value)
        assert exit_code(info.value) == 4 and info.value.errno == errno.ENOSPC
        assert "No space left" in message and "free some space" in message
    assert _snapshot(store.folder(Construct)) == before  # no half-written file, no temp
    assert [r.id for r in store.list_constructs().records] == [good.id]
    (store.root / "filler").unlink()
    assert store.update(Construct, good.id, lambda c: {"name": "after"}).name == "after"


def test_every_error_above_is_a_state_error() -> None:
    from synthetic_ls.error_codes import Kind, kind_of

    for cls, code in (
        (StateLayoutError, "state-layout"),
        (StateAccessError, "state-access"),
        (BrokenRecordError, "broken-record"),
    ):
        assert issubclass(cls, StateError) and kind_of(code) is Kind.STATE
