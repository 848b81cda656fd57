"""Temp files left by writers killed mid-write: found when old, removed on request."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo

from state_format import atomic
from state_format.listing import CACHE_DIR
from state_format.records import Construct, PortAllocation
from state_format.store import Store

HOUR = 3600.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(make_repo(tmp_path / "repo"))
    add_construct(store, "x")
    return store


def _age(path: Path, seconds: float) -> None:
    """Set ``path``'s mtime ``seconds`` back, as `touch -d` does (its ctime moves to now)."""
    when = time.time() - seconds
    os.utime(path, (when, when), follow_symlinks=False)


def _clock(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    """Look at the files at time ``now`` (a ctime cannot be set back, so move the clock)."""
    monkeypatch.setattr(atomic.time, "time", lambda: now)


def _temp(folder: Path, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / atomic.temp_name(target)
    path.write_bytes(b"half written")
    return path


def test_temp_names_match_the_writers_pattern() -> None:
    name = atomic.temp_name("abc-123.toml")
    assert atomic.is_temp_name(name) and name.startswith(".abc-123.toml.")
    for other in (
        "abc.toml", ".abc.toml.tmp", ".abc.toml.1234567.tmp", ".abc.toml.ABCDEF12.tmp",
        ".abc.toml.0123456789.tmp", ".constructs.v0-migration.tmp", ".lock", "x.12345678.tmp",
    ):  # fmt: skip
        assert not atomic.is_temp_name(other), other


def test_old_temp_files_in_every_folder_are_found_and_removed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    constructs = store.folder(Construct)
    (record,) = store.list_constructs().records
    stale = [
        _temp(constructs, f"{record.id}.toml"),
        _temp(store.root, "format.toml"),
        _temp(store.root / CACHE_DIR, "constructs.json"),
        _temp(store.folder(PortAllocation), "p-1.toml"),
    ]
    fresh = _temp(constructs, f"{record.id}.toml")  # a write in progress
    # Not a writer's temp file, however old: never touched.
    others = [constructs / "notes.tmp", constructs / ".x.toml.tmp", store.root / ".lock.bak"]
    for path in others:
        path.write_text("mine")
    folder_like = constructs / atomic.temp_name("y.toml")
    folder_like.mkdir()
    link = constructs / atomic.temp_name("z.toml")
    link.symlink_to(store.path_of(Construct, record.id))
    for path in [*stale, *others, link]:
        _age(path, 2 * HOUR)
    # An mtime set back is not enough: the ctime says they were just written.
    assert store.stale_temp_files() == []

    later = time.time() + 2 * HOUR
    _clock(monkeypatch, later)  # two hours from now ...
    os.utime(fresh, (later - 60, later - 60))  # ... the write in progress is a minute old
    found = store.stale_temp_files()
    assert sorted(f.path for f in found) == sorted(stale)
    assert all(f.size == len(b"half written") and f.age >= 2 * HOUR - 60 for f in found)
    assert store.list_constructs().broken == []  # readers never see them

    removed = store.remove_stale_temp_files()
    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and folder_like.is_dir() and link.is_symlink()
    assert all(p.read_text() == "mine" for p in others)
    assert store.stale_temp_files() == [] and store.remove_stale_temp_files() == []
    assert [r.id for r in store.list_constructs().records] == [record.id]


def test_one_stale_file_can_be_removed_on_its_own(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    constructs = store.folder(Construct)
    a = _temp(constructs, "a.toml")
    b = _temp(store.root, "format.toml")
    not_stale = _temp(constructs, "c.toml")
    later = time.time() + 2 * HOUR
    _clock(monkeypatch, later)
    os.utime(not_stale, (later, later))
    assert sorted(f.path for f in store.stale_temp_files()) == sorted([a, b])
    # Asking for a file that is not (or no longer) stale removes nothing.
    assert store.remove_stale_temp_files(only=[not_stale]) == []
    assert store.remove_stale_temp_files(only=[b]) == [b]
    assert a.exists() and not b.exists() and not_stale.exists()
    assert [f.path for f in store.stale_temp_files()] == [a]


def test_nothing_is_created_when_there_is_nothing_to_remove(tmp_path: Path) -> None:
    store = Store.open(make_repo(tmp_path / "repo"))
    assert store.stale_temp_files() == []
    assert store.remove_stale_temp_files(older_than=0) == []
    assert not store.root.exists()  # no state folder, no lock file
