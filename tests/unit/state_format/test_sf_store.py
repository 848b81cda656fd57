"""Store round trips, in-place edits, broken records, references and permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo

from state_format.errors import (
    AmbiguousReferenceError,
    BrokenRecordError,
    InvalidRecordError,
    RecordNotFoundError,
)
from state_format.marker import CURRENT_VERSION
from state_format.records import Construct
from state_format.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(make_repo(tmp_path / "repo"))


def test_reading_a_fresh_repository_creates_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    store = Store.open(repo)
    assert store.list_constructs().records == []
    assert not (repo / ".git" / "synthetic").exists()


def test_create_get_round_trip_and_layout(store: Store) -> None:
    created = add_construct(store, "Fix login")
    path = store.root / "constructs" / f"{created.id}.toml"
    assert path.is_file()
    assert (store.root / "format.toml").read_text().strip().endswith(f"version = {CURRENT_VERSION}")
    again = store.get_construct(created.id)
    assert again == created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.root / "constructs").st_mode) == 0o700
    text = path.read_text()
    assert "workspace_path" not in text  # unset optionals are omitted, not ""
    assert 'created_at = "' in text and text.count("Z\"") == 2


def test_update_keeps_comments_order_and_unknown_keys(store: Store) -> None:
    record = add_construct(store, "Keep my comments")
    path = store.path_of(Construct, record.id)
    original = path.read_text()
    edited = original.replace(
        'status = "pending"', '# my note about status\nstatus = "pending" # inline'
    ) + 'added_by_newer_tool = {x = 1}\n'
    path.write_text(edited)
    updated = store.update(Construct, record.id, lambda c: {"status": "ready", "name": "Renamed"})
    text = path.read_text()
    assert "# my note about status" in text
    assert 'status = "ready" # inline' in text
    assert "added_by_newer_tool = {x = 1}" in text
    assert text.index("name =") < text.index("status =")  # order kept
    assert updated.model_extra == {"added_by_newer_tool": {"x": 1}}
    assert updated.updated_at >= record.updated_at


def test_update_removes_key_when_set_to_none(store: Store) -> None:
    record = add_construct(store, "x")
    store.update(Construct, record.id, lambda c: {"workspace_path": "/w"})
    assert 'workspace_path = "/w"' in store.path_of(Construct, record.id).read_text()
    store.update(Construct, record.id, lambda c: {"workspace_path": None})
    assert "workspace_path" not in store.path_of(Construct, record.id).read_text()


def test_update_rejects_invalid_values_without_writing(store: Store) -> None:
    record = add_construct(store, "x")
    path = store.path_of(Construct, record.id)
    before = path.read_bytes()
    with pytest.raises(InvalidRecordError):
        store.update(Construct, record.id, lambda c: {"status": "bogus"})
    with pytest.raises(InvalidRecordError):
        store.update(Construct, record.id, lambda c: {"id": "other-id"})
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ('id = "ID"\nname = "x\n', 2, "invalid TOML"),
        ('id = "ID"\nname = "x"\nstatus = 42\n', 3, "status"),
        ('id = "ID"\nname = "x"\n', None, "required key"),
        ('id = "ID"\n\n\nstatus = "nope"\n', 4, "status"),
        (b'id = "ID"\nname = "\xff"\n', 2, "UTF-8"),
    ],
)
def test_broken_record_reported_with_path_and_line(
    store: Store, content: str | bytes, line: int | None, needle: str
) -> None:
    good = add_construct(store, "good one")
    path = store.root / "constructs" / "broken-1.toml"
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw.replace(b"ID", b"broken-1"))
    listing = store.list_constructs()
    assert [r.id for r in listing.records] == [good.id]
    assert len(listing.broken) == 1
    err = listing.broken[0]
    assert err.path == str(path) and err.line == line and needle in str(err)
    with pytest.raises(BrokenRecordError):
        store.resolve_construct("broken-1")
    with pytest.raises(BrokenRecordError):
        store.update(Construct, "broken-1", lambda c: {"name": "y"})
    with pytest.raises(BrokenRecordError):
        store.delete(Construct, "broken-1")
    assert path.read_bytes() == raw.replace(b"ID", b"broken-1")  # never overwritten


def test_id_must_match_file_name(store: Store) -> None:
    record = add_construct(store, "x")
    copy = store.root / "constructs" / "copied-1.toml"
    copy.write_text(store.path_of(Construct, record.id).read_text())
    broken = store.list_constructs().broken
    assert len(broken) == 1 and "does not match the file name" in str(broken[0])


def test_temp_files_and_foreign_files_are_ignored(store: Store) -> None:
    record = add_construct(store, "x")
    (store.root / "constructs" / f".{record.id}.toml.1234.tmp").write_text("half")
    (store.root / "constructs" / "README.txt").write_text("notes")
    listing = store.list_constructs()
    assert [r.id for r in listing.records] == [record.id] and listing.broken == []


def test_resolve_by_id_name_and_prefix(store: Store) -> None:
    a = add_construct(store, "alpha task")
    b = add_construct(store, "alpha tusk")
    c = add_construct(store, "Spaced")
    assert store.resolve_construct(a.id) == a
    assert store.resolve_construct("alpha task") == a
    assert store.resolve_construct("  Spaced ") == c
    assert store.resolve_construct(b.id[:-2]) == b
    with pytest.raises(AmbiguousReferenceError) as info:
        store.resolve_construct("alpha-t")
    assert a.id in str(info.value) and b.id in str(info.value)
    with pytest.raises(RecordNotFoundError):
        store.resolve_construct("nothing-like-it")
    with pytest.raises(RecordNotFoundError):
        store.resolve_construct("../../etc/passwd")
    with pytest.raises(RecordNotFoundError):
        store.resolve_construct("   ")


def test_duplicate_names_are_ambiguous(store: Store) -> None:
    a = add_construct(store, "same")
    b = add_construct(store, "same")
    with pytest.raises(AmbiguousReferenceError) as info:
        store.resolve_construct("same")
    assert a.id in str(info.value) and b.id in str(info.value)


def test_delete(store: Store) -> None:
    record = add_construct(store, "x")
    store.delete(Construct, record.id)
    assert not store.path_of(Construct, record.id).exists()
    with pytest.raises(RecordNotFoundError):
        store.get_construct(record.id)


def test_create_never_replaces_an_existing_file(store: Store) -> None:
    record = add_construct(store, "x")
    with pytest.raises(InvalidRecordError):
        store.create(record)
