"""The fast construct listing and its parse cache (state_format.listing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import add_construct, make_repo

from state_format import listing, marker, migrations
from state_format import store as store_mod
from state_format.listing import ConstructRow, cache_path, list_construct_rows
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
    real = store_mod.record_from_bytes

    def spy(kind: Any, path: Path, record_id: str, data: bytes) -> Any:
        seen.append(record_id)
        return real(kind, path, record_id, data)

    monkeypatch.setattr(store_mod, "record_from_bytes", spy)
    return seen


def _uncached(store: Store) -> tuple[list[ConstructRow], list[str]]:
    result = list_construct_rows(store.root, use_cache=False)
    return result.rows, [str(b) for b in result.broken]


def test_constants_agree_with_the_format() -> None:
    assert listing.FORMAT_VERSION == marker.CURRENT_VERSION
    from state_format.records import PID_MAX

    assert listing.PID_MAX == PID_MAX
    assert listing._V0_FILE == migrations.V0_FILE
    assert Construct.folder == listing._FOLDER
    assert ConstructRow._fields == ("id", *listing.FIELDS, "extra")
    assert set(listing.FIELDS) | {"id"} == set(Construct.model_fields)


def test_rows_match_the_models(store: Store) -> None:
    from synthetic_ls.ops.constructs import construct_as_dict

    a = add_construct(store, "alpha")
    b = add_construct(store, 'b "quoted"\nname', status="ready")
    store.update(Construct, b.id, lambda c: {"branch": "synthetic/x", "spawn_pid": 7})
    path = store.path_of(Construct, a.id)
    path.write_text(path.read_text() + 'custom = { k = [1, 2.5, "x"] }\n')
    records = store.list_constructs().records
    for use_cache in (True, True, False):
        rows = list_construct_rows(store.root, use_cache=use_cache).rows
        assert [r.id for r in rows] == [r.id for r in records]
        for row, record in zip(rows, records, strict=True):
            assert row.to_construct() == record
            file = str(store.path_of(Construct, record.id))
            assert row.as_json_dict(file) == construct_as_dict(record, store)


def test_unchanged_files_are_not_parsed_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_construct(store, f"c{i}").id for i in range(3)]
    first = list_construct_rows(store.root).rows
    assert cache_path(store.root).is_file()
    assert oct(cache_path(store.root).stat().st_mode & 0o777) == "0o600"
    reads = _reads(monkeypatch)
    assert list_construct_rows(store.root).rows == first
    assert reads == []
    store.update(Construct, ids[1], lambda c: {"name": "renamed"})
    reads.clear()  # the update itself read the record
    rows = list_construct_rows(store.root).rows
    assert reads == [ids[1]]  # only the changed file
    assert [r.name for r in rows] == ["c0", "renamed", "c2"]
    assert store.list_constructs().records[1].name == "renamed"


def test_in_place_edit_keeping_size_and_mtime_is_seen(store: Store) -> None:
    c = add_construct(store, "aaaa")
    path = store.path_of(Construct, c.id)
    list_construct_rows(store.root)
    before = path.stat()
    path.write_text(path.read_text().replace('"aaaa"', '"bbbb"'))  # same inode and size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    assert [r.name for r in list_construct_rows(store.root).rows] == ["bbbb"]  # ctime moved


def test_hand_broken_file_is_reported_despite_a_cache_entry(store: Store) -> None:
    good = add_construct(store, "good")
    victim = add_construct(store, "victim")
    list_construct_rows(store.root)
    path = store.path_of(Construct, victim.id)
    path.write_text(path.read_text().replace('status = "pending"', "status = 42"))
    expected = _uncached(store)
    result = list_construct_rows(store.root)
    assert [r.id for r in result.rows] == [good.id]
    assert len(result.broken) == 1
    err = result.broken[0]
    assert err.path == str(path) and err.line is not None and "status" in err.detail
    assert [str(b) for b in result.broken] == expected[1]
    listing_ = store.list_constructs()
    assert [r.id for r in listing_.records] == [good.id]
    assert [str(b) for b in listing_.broken] == expected[1]
    # Broken files are never cached: still reported on the next run, and after a fix
    # the record is back.
    assert [str(b) for b in list_construct_rows(store.root).broken] == expected[1]
    assert victim.id not in json.loads(cache_path(store.root).read_text())["entries"].__str__()
    path.write_text(path.read_text().replace("status = 42", 'status = "ready"'))
    assert [r.id for r in list_construct_rows(store.root).rows] == [good.id, victim.id]


def test_invalid_toml_after_caching_reports_the_line(store: Store) -> None:
    c = add_construct(store, "x")
    list_construct_rows(store.root)
    path = store.path_of(Construct, c.id)
    lines = path.read_text().splitlines()
    lines[3] = "name = = oops"
    path.write_text("\n".join(lines) + "\n")
    (err,) = list_construct_rows(store.root).broken
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
    result = list_construct_rows(store.root)
    assert (result.rows, [str(b) for b in result.broken]) == expected
    # ... and replaced by a good one
    assert list_construct_rows(store.root).rows == expected[0]
    assert json.loads(cache_path(store.root).read_text())["entries"]


@pytest.mark.parametrize(
    ("index", "value"),
    [(4, 42), (4, ""), (6, None), (7, 3), (9, "nope"), (10, "2025-01-01T00:00:00"),
     (15, True), (16, {"name": "shadow"}), (16, [])],
)  # fmt: skip
def test_cached_values_of_the_wrong_type_are_not_trusted(
    store: Store, index: int, value: Any
) -> None:
    add_construct(store, "x")
    expected = _uncached(store)
    list_construct_rows(store.root)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    entry[index] = value
    cache_path(store.root).write_text(json.dumps(doc))
    assert list_construct_rows(store.root).rows == expected[0]


def test_deleted_cache_and_deleted_records(store: Store) -> None:
    a = add_construct(store, "a")
    b = add_construct(store, "b")
    list_construct_rows(store.root)
    cache_path(store.root).unlink()
    assert [r.id for r in list_construct_rows(store.root).rows] == [a.id, b.id]
    store.delete(Construct, a.id)
    assert [r.id for r in list_construct_rows(store.root).rows] == [b.id]
    entries = json.loads(cache_path(store.root).read_text())["entries"]
    assert list(entries) == [f"{b.id}.toml"]
    import shutil

    shutil.rmtree(cache_path(store.root).parent)
    assert [r.id for r in store.list_constructs().records] == [b.id]


def test_recent_files_are_not_cached(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "RACY_NS", 2_000_000_000)
    add_construct(store, "fresh")
    list_construct_rows(store.root)
    assert not cache_path(store.root).exists()  # nothing old enough to cache


def test_toml_dates_in_unknown_keys_are_listed_but_not_cached(store: Store) -> None:
    c = add_construct(store, "x")
    path = store.path_of(Construct, c.id)
    path.write_text(path.read_text() + "reviewed = 2025-05-01\n")
    for _ in range(2):
        (row,) = list_construct_rows(store.root).rows
        assert row.as_json_dict()["extra"] == {"reviewed": "2025-05-01"}
    assert not cache_path(store.root).exists()


def test_unwritable_cache_folder_does_not_fail_the_listing(store: Store) -> None:
    add_construct(store, "x")
    (store.root / "cache").write_text("a file where the folder should be")
    assert len(list_construct_rows(store.root).rows) == 1


def test_warm_listing_imports_no_pydantic(store: Store) -> None:
    add_construct(store, "x")
    list_construct_rows(store.root)
    code = (
        "import sys\nfrom state_format.listing import open_state, list_construct_rows\n"
        f"r = list_construct_rows(open_state({str(store.repo.worktree)!r}).state_dir)\n"
        "print(len(r.rows), 'pydantic' in sys.modules, 'filelock' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["1", "False", "False"]


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


def test_id_batch_check_agrees_with_the_single_check() -> None:
    from state_format.ids import is_valid_id

    good = ["a", "abc-123", "x" * 80, "a-b-c"]
    for bad in ("", "-a", "a-", "A", "a b", "a\nb", "a\n", "é", "x" * 81, "a.b"):
        assert not listing._all_valid_ids([*good, bad]) or is_valid_id(bad)
    assert listing._all_valid_ids(good) and listing._all_valid_ids([])


def test_cached_offsets_other_than_utc_are_converted(store: Store) -> None:
    add_construct(store, "x")
    expected = _uncached(store)
    list_construct_rows(store.root)
    doc = json.loads(cache_path(store.root).read_text())
    (entry,) = doc["entries"].values()
    utc = entry[10]
    from datetime import datetime, timedelta, timezone

    moved = datetime.fromisoformat(utc).astimezone(timezone(timedelta(hours=2)))
    entry[10] = moved.isoformat()
    cache_path(store.root).write_text(json.dumps(doc))
    assert list_construct_rows(store.root).rows == expected[0]


def test_a_file_gone_between_listing_and_stat_is_skipped(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = add_construct(store, "a")
    gone = add_construct(store, "gone")
    list_construct_rows(store.root)
    names = os.listdir(store.folder(Construct))
    store.delete(Construct, gone.id)
    monkeypatch.setattr(listing.os, "listdir", lambda folder: list(names))
    for _ in range(2):
        result = list_construct_rows(store.root)
        assert [r.id for r in result.rows] == [a.id] and result.broken == []


def test_changed_and_new_files_next_to_cached_ones(store: Store) -> None:
    ids = [add_construct(store, f"c{i}").id for i in range(4)]
    list_construct_rows(store.root)
    store.update(Construct, ids[2], lambda c: {"name": "changed"})
    ids.append(add_construct(store, "new").id)
    expected = _uncached(store)
    for _ in range(2):
        result = list_construct_rows(store.root)
        assert (result.rows, [str(b) for b in result.broken]) == expected
        assert [r.id for r in result.rows] == ids
