"""The fast construct listing and its parse cache (state_format.listing)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import add_construct, make_repo

from state_format import listing
from state_format.listing import cache_path, list_constructs
from state_format.records import Construct
from state_format.store import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    # Files written by the test are seconds old at most; let them be cached.
    monkeypatch.setattr(listing, "RACY_NS", 0)
    return Store.open(make_repo(tmp_path / "repo"))


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record ids whose file gets parsed from now on."""
    seen: list[str] = []
    real = listing.record_from_bytes

    def spy(kind: Any, path: Path, record_id: str, data: bytes) -> Any:
        seen.append(record_id)
        return real(kind, path, record_id, data)

    monkeypatch.setattr(listing, "record_from_bytes", spy)
    return seen


def _uncached(store: Store) -> tuple[list[Construct], list[str]]:
    result = list_constructs(store.root, use_cache=False)
    return result.records, [str(b) for b in result.broken]


def _same(a: Construct, b: Construct) -> None:
    """``a`` and ``b`` are the same model in every respect model_validate sets."""
    assert type(a) is type(b) is Construct
    assert a == b
    assert a.__dict__ == b.__dict__ and a.model_extra == b.model_extra
    assert list(a.model_extra or {}) == list(b.model_extra or {})  # same key order
    assert a.model_fields_set == b.model_fields_set
    for name in (*Construct.model_fields, *(a.model_extra or {})):
        assert type(getattr(a, name)) is type(getattr(b, name)), name
    assert a.created_at.tzinfo is b.created_at.tzinfo and a.status is b.status


def test_listing_gives_what_store_get_gives(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from state_format.journal import Journal

    a = add_construct(store, "alpha")
    b = add_construct(store, 'b "quoted"\nname', status="spawning")
    c = add_construct(store, "gamma", status="ready")
    store.update(Construct, b.id, lambda c: {"branch": "synthetic/x", "error": "x"})
    journal = Journal.begin("add-worktree", {"workspace_path": None, "branch": "old"})
    journal = journal.start("worktree").finish("worktree").with_group(4321)
    store.update(Construct, c.id, lambda c: {"journal": journal, "workspace_path": ""})
    path = store.path_of(Construct, a.id)
    # A native TOML date-time with an offset and microseconds; unknown keys.
    native = 'updated_at = 2025-05-01T09:30:00.123456+02:00 #"'
    text = path.read_text().replace('updated_at = "', native)
    extra = 'custom = { k = [1, 2.5, "x"], big = 12345678901234567890 }\nzz = "last"\n'
    path.write_text(text + extra)
    expected = [store.get(Construct, r.id) for r in (a, b, c)]
    assert expected[2].journal == journal and expected[1].error == "x"
    assert expected[0].model_extra == {
        "custom": {"k": [1, 2.5, "x"], "big": 12345678901234567890},
        "zz": "last",
    }
    reads = _reads(monkeypatch)
    # cold (reads every file, writes the cache), warm (reads none), uncached
    for use_cache, files_read in ((True, 3), (True, 0), (False, 3)):
        reads.clear()
        listed = list_constructs(store.root, use_cache=use_cache).records
        assert len(reads) == files_read
        assert [r.id for r in listed] == [a.id, b.id, c.id]
        for got, want in zip(listed, expected, strict=True):
            _same(got, want)
        assert len(json.loads(cache_path(store.root).read_text())["entries"]) == 3
    assert store.list_constructs().records == expected


def test_the_journal_is_cached(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from state_format.journal import Journal

    c = add_construct(store, "x", status="spawning")
    journal = Journal.begin("create").start("worktree")
    store.update(Construct, c.id, lambda c: {"journal": journal})
    list_constructs(store.root)
    (entry,) = json.loads(cache_path(store.root).read_text())["entries"].values()
    assert entry[4]["journal"] == journal.to_toml()
    reads = _reads(monkeypatch)
    (listed,) = list_constructs(store.root).records
    assert reads == [] and listed.journal == journal


def test_unchanged_files_are_not_parsed_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_construct(store, f"c{i}").id for i in range(3)]
    first = list_constructs(store.root).records
    assert cache_path(store.root).is_file()
    assert oct(cache_path(store.root).stat().st_mode & 0o777) == "0o600"
    reads = _reads(monkeypatch)
    assert list_constructs(store.root).records == first
    assert reads == []
    store.update(Construct, ids[1], lambda c: {"name": "renamed"})
    reads.clear()  # the update itself read the record
    rows = list_constructs(store.root).records
    assert reads == [ids[1]]  # only the changed file
    assert [r.name for r in rows] == ["c0", "renamed", "c2"]
    assert store.list_constructs().records[1].name == "renamed"


def test_in_place_edit_keeping_size_and_mtime_is_seen(store: Store) -> None:
    c = add_construct(store, "aaaa")
    path = store.path_of(Construct, c.id)
    list_constructs(store.root)
    before = path.stat()
    path.write_text(path.read_text().replace('"aaaa"', '"bbbb"'))  # same inode and size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    assert [r.name for r in list_constructs(store.root).records] == ["bbbb"]  # ctime moved


def test_hand_broken_file_is_reported_despite_a_cache_entry(store: Store) -> None:
    good = add_construct(store, "good")
    victim = add_construct(store, "victim")
    list_constructs(store.root)
    path = store.path_of(Construct, victim.id)
    path.write_text(path.read_text().replace('status = "pending"', "status = 42"))
    expected = _uncached(store)
    result = list_constructs(store.root)
    assert [r.id for r in result.records] == [good.id]
    assert len(result.broken) == 1
    err = result.broken[0]
    assert err.path == str(path) and err.line is not None and "status" in err.detail
    assert [str(b) for b in result.broken] == expected[1]
    listing_ = store.list_constructs()
    assert [r.id for r in listing_.records] == [good.id]
    assert [str(b) for b in listing_.broken] == expected[1]
    # Broken files are never cached: still reported on the next run, and after a fix
    # the record is back.
    assert [str(b) for b in list_constructs(store.root).broken] == expected[1]
    assert victim.id not in json.loads(cache_path(store.root).read_text())["entries"].__str__()
    path.write_text(path.read_text().replace("status = 42", 'status = "ready"'))
    assert [r.id for r in list_constructs(store.root).records] == [good.id, victim.id]


def test_invalid_toml_after_caching_reports_the_line(store: Store) -> None:
    c = add_construct(store, "x")
    list_constructs(store.root)
    path = store.path_of(Construct, c.id)
    lines = path.read_text().splitlines()
    lines[3] = "name = = oops"
    path.write_text("\n".join(lines) + "\n")
    (err,) = list_constructs(store.root).broken
    assert err.line == 4 and "invalid TOML" in err.detail


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff garbage",
        b"[1, 2, 3]",
        b'{"header": {"cache": "synthetic constructs", "version": 999, "format": 1}}',
        b'{"header": {"cache": "synthetic constructs", "version": 1, "format": 1}, "entries": []}',
        b"{" * 100_000,
    ],
)
def test_corrupt_cache_is_ignored(store: Store, content: bytes) -> None:
    add_construct(store, "x")
    expected = _uncached(store)
    cache_path(store.root).parent.mkdir(exist_ok=True)
    cache_path(store.root).write_bytes(content)
    result = list_constructs(store.root)
    assert (result.records, [str(b) for b in result.broken]) == expected
    # ... and replaced by a good one
    assert list_constructs(store.root).records == expected[0]
    assert json.loads(cache_path(store.root).read_text())["entries"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("name", 42), ("name", ""), ("template_id", None), ("status", "nope"),
     ("created_at", "2025-01-01T00:00:00"), ("updated_at", 5), ("workspace_path", ["x"]),
     ("journal", {"op": "nope"}),
     ("journal", {"op": "create", "owner": {"pid": -1}})],
)  # fmt: skip
def test_cached_values_that_do_not_validate_are_not_trusted(
    store: Store, key: str, value: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = add_construct(store, "x")
    expected = _uncached(store)
    list_constructs(store.root)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    entry[4][key] = value
    cache_path(store.root).write_text(json.dumps(doc))
    reads = _reads(monkeypatch)
    assert list_constructs(store.root).records == expected[0]
    assert reads == [c.id]  # read from the file again


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e[4].update(id="another-id"),  # the id is the file name's
        lambda e: e.append({}),
        lambda e: e.__setitem__(4, [1, 2]),
        lambda e: e.__setitem__(0, str(e[0])),
    ],
)
def test_cache_entries_of_the_wrong_shape_are_not_trusted(store: Store, change: Any) -> None:
    c = add_construct(store, "x")
    expected = _uncached(store)
    list_constructs(store.root)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    change(entry)
    cache_path(store.root).write_text(json.dumps(doc))
    (got,) = list_constructs(store.root).records
    assert got == expected[0][0] and got.id == c.id


def test_deleted_cache_and_deleted_records(store: Store) -> None:
    a = add_construct(store, "a")
    b = add_construct(store, "b")
    list_constructs(store.root)
    cache_path(store.root).unlink()
    assert [r.id for r in list_constructs(store.root).records] == [a.id, b.id]
    store.delete(Construct, a.id)
    assert [r.id for r in list_constructs(store.root).records] == [b.id]
    entries = json.loads(cache_path(store.root).read_text())["entries"]
    assert list(entries) == [f"{b.id}.toml"]
    import shutil

    shutil.rmtree(cache_path(store.root).parent)
    assert [r.id for r in store.list_constructs().records] == [b.id]


def test_recent_files_are_not_cached(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "RACY_NS", 2_000_000_000)
    add_construct(store, "fresh")
    list_constructs(store.root)
    assert not cache_path(store.root).exists()  # nothing old enough to cache


def test_toml_dates_in_unknown_keys_are_listed_but_not_cached(store: Store) -> None:
    c = add_construct(store, "x")
    path = store.path_of(Construct, c.id)
    path.write_text(path.read_text() + "reviewed = 2025-05-01\n")
    from datetime import date

    for _ in range(2):
        (row,) = list_constructs(store.root).records
        assert row.model_extra == {"reviewed": date(2025, 5, 1)}
    assert not cache_path(store.root).exists()


def test_unwritable_cache_folder_does_not_fail_the_listing(store: Store) -> None:
    add_construct(store, "x")
    (store.root / "cache").write_text("a file where the folder should be")
    assert len(list_constructs(store.root).records) == 1


def test_listing_leaves_the_garbage_collector_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long-running, threaded server calls this: no process-wide switches.
    import gc

    def refuse() -> None:
        raise AssertionError("gc.disable() called")

    monkeypatch.setattr(gc, "disable", refuse)
    add_construct(store, "x")
    for _ in range(2):
        assert len(list_constructs(store.root).records) == 1


def test_timestamps_format_like_strftime() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from state_format.timefmt import format_timestamp

    for value in (
        datetime(2025, 5, 1, 9, 30, tzinfo=UTC),
        datetime(2025, 5, 1, 9, 30, 0, 999_999, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 123_456, tzinfo=UTC),
        datetime(2025, 5, 1, 9, 30, 1, 500, tzinfo=timezone(timedelta(hours=-7))),
    ):
        utc = value.astimezone(UTC)  # what format_timestamp did before (strftime only)
        expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
        assert format_timestamp(value) == expected


def test_cached_offsets_other_than_utc_are_converted(store: Store) -> None:
    add_construct(store, "x")
    expected = _uncached(store)
    list_constructs(store.root)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    utc = entry[4]["created_at"]
    from datetime import datetime, timedelta, timezone

    moved = datetime.fromisoformat(utc).astimezone(timezone(timedelta(hours=2)))
    entry[4]["created_at"] = moved.isoformat()
    cache_path(store.root).write_text(json.dumps(doc))
    assert list_constructs(store.root).records == expected[0]


def test_a_file_gone_between_listing_and_stat_is_skipped(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = add_construct(store, "a")
    gone = add_construct(store, "gone")
    list_constructs(store.root)
    names = os.listdir(store.folder(Construct))
    store.delete(Construct, gone.id)
    monkeypatch.setattr(listing.os, "listdir", lambda folder: list(names))
    for _ in range(2):
        result = list_constructs(store.root)
        assert [r.id for r in result.records] == [a.id] and result.broken == []


def test_changed_and_new_files_next_to_cached_ones(store: Store) -> None:
    ids = [add_construct(store, f"c{i}").id for i in range(4)]
    list_constructs(store.root)
    store.update(Construct, ids[2], lambda c: {"name": "changed"})
    ids.append(add_construct(store, "new").id)
    expected = _uncached(store)
    for _ in range(2):
        result = list_constructs(store.root)
        assert (result.records, [str(b) for b in result.broken]) == expected
        assert [r.id for r in result.records] == ids
