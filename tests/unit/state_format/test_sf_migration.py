"""The version-0 migration loses no row and is all or nothing (issue 7, item 7)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sf_helpers import make_repo, small_tmpfs

from state_format import atomic, migrations
from state_format.errors import BrokenRecordError, StateAccessError
from state_format.marker import CURRENT_VERSION
from state_format.migrations import V0_BACKUP, V0_FILE, V0_REPORT, detect_version
from state_format.records import Construct
from state_format.store import Store

UUID = "3F0C2A6E-9B1D-4C6A-8A53-1F2E7D9C0B11"


def _row(id_: str, name: str, created: str = "2024-05-01 09:30:00", **more: Any) -> str:
    lines = [
        "[[constructs]]",
        f'id = "{id_}"',
        f'name = "{name}"',
        'description = ""',
        'template_id = "impl"',
        'status = "active"',
        f'created_at = "{created}"',
        'updated_at = "2024-05-02 10:00:00"',
    ]
    lines += [f"{k} = {v}" for k, v in more.items()]
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "repo") / ".git" / "synthetic"
    path.mkdir()
    return path


def _records(state: Path) -> dict[str, dict[str, Any]]:
    folder = state / "constructs"
    return {
        p.stem: tomllib.loads(p.read_text()) for p in sorted(folder.glob("*.toml"))
    }


def test_duplicate_ids_are_kept_under_new_ids(state: Path) -> None:
    text = (
        _row("task-1", "first")
        + _row("task-1", "second")
        + _row(UUID, "third")
        + _row(UUID, "fourth")
    )
    (state / V0_FILE).write_text(text)
    store = Store.open(state.parent.parent)
    listing = store.list_constructs()
    assert listing.broken == []
    by_name = {r.name: r for r in listing.records}
    assert sorted(by_name) == ["first", "fourth", "second", "third"]  # 4 rows, 4 records
    assert by_name["first"].id == "task-1" and "legacy_id" not in by_name["first"].model_extra
    assert by_name["second"].id != "task-1"
    assert by_name["second"].model_extra["legacy_id"] == "task-1"
    assert by_name["third"].id != by_name["fourth"].id
    assert by_name["fourth"].model_extra["legacy_id"] == UUID
    for name, first_row in (("second", 1), ("fourth", 3)):
        (note,) = by_name[name].model_extra["migration_notes"]
        assert "duplicate id" in note and f"first used by row {first_row}" in note
    # ... and the person is told, row by row, in the report and on the store.
    report = (state / V0_REPORT).read_text()
    assert "row 2 (line 10)" in report and "row 4 (line 28)" in report
    summary, _to_2 = store.migration_reports
    assert len(summary.records) == 4 and not summary.skipped
    # Rows 2 and 4 repeat an id; row 3's UUID is not a valid id (as before).
    assert [n.index for n in summary.renamed] == [2, 3, 4]
    assert "4 of 4 construct rows" in summary.summary()
    assert str(state / V0_BACKUP) in summary.summary()
    assert (state / V0_BACKUP).read_text() == text


def test_a_bad_timestamp_is_repaired_and_the_original_kept(state: Path) -> None:
    text = (
        _row("good-1", "good")
        + _row("bad-1", "bad", created="yesterday")
        + _row("odd-1", "odd", created="2024-13-45 99:00:00")
    )
    (state / V0_FILE).write_text(text)
    store = Store.open(state.parent.parent)
    records = {r.id: r for r in store.list_constructs().records}
    assert sorted(records) == ["bad-1", "good-1", "odd-1"]
    bad = records["bad-1"]
    # created_at falls back to the row's valid updated_at; the original is kept.
    assert bad.created_at == records["good-1"].updated_at == bad.updated_at
    assert bad.model_extra["legacy_created_at"] == "yesterday"
    assert "created_at" in bad.model_extra["migration_notes"][0]
    assert records["odd-1"].model_extra["legacy_created_at"] == "2024-13-45 99:00:00"
    report = (state / V0_REPORT).read_text()
    assert "row 2 (line 10)" in report and "yesterday" in report
    assert (state / V0_BACKUP).read_text() == text


def test_rows_that_cannot_be_read_are_reported_and_the_others_migrated(state: Path) -> None:
    text = (
        'constructs = [\n'
        '  { id = "a-1", name = "a", template_id = "t", status = "ready" },\n'
        '  42,\n'
        '  { id = "c-1", name = "c", template_id = "t", status = "ready" },\n'
        ']\n'
    )
    (state / V0_FILE).write_text(text)
    store = Store.open(state.parent.parent)
    assert [r.id for r in store.list_constructs().records] == ["a-1", "c-1"] or sorted(
        r.id for r in store.list_constructs().records
    ) == ["a-1", "c-1"]
    report, _to_2 = store.migration_reports
    (skipped,) = report.skipped
    assert skipped.index == 2 and "not a table" in skipped.message
    assert "row 2" in (state / V0_REPORT).read_text()
    assert (state / V0_BACKUP).read_text() == text  # the skipped row is still there


def test_odd_values_are_kept_not_dropped(state: Path) -> None:
    text = _row(
        "x-1",
        "x",
        workspace_path="[1, 2]",
        branch='"from a hand edit"',
        legacy_id='"a column named like ours"',
        priority="3",
    )
    (state / V0_FILE).write_text(text)
    (record,) = Store.open(state.parent.parent).list_constructs().records
    extra = record.model_extra
    assert record.workspace_path is None and extra["legacy_workspace_path"] == [1, 2]
    assert record.branch is None and extra["legacy_branch"] == "from a hand edit"
    assert extra["v0_legacy_id"] == "a column named like ours" and extra["priority"] == 3


def test_a_failure_midway_leaves_nothing_half_done(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "".join(_row(f"r-{i}", f"row {i}") for i in range(5))
    (state / V0_FILE).write_text(text)
    real = atomic.atomic_write
    calls: list[Path] = []

    def failing(path: Path, data: bytes, mode: int = 0o600) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise StateAccessError(str(path), 28, f"cannot write {path}: No space left")
        real(path, data, mode)

    monkeypatch.setattr(migrations, "atomic_write", failing)
    with pytest.raises(StateAccessError):
        Store.open(state.parent.parent)
    # Nothing half done: the version-0 file alone, as before.
    assert sorted(os.listdir(state)) == [".lock", V0_FILE]
    assert (state / V0_FILE).read_text() == text and detect_version(state) == 0
    monkeypatch.undo()
    store = Store.open(state.parent.parent)
    assert len(store.list_constructs().records) == 5


def test_a_full_disk_midway_leaves_nothing_half_done(state: Path) -> None:
    text = "".join(_row(f"r-{i}", f"row {i}") for i in range(40))  # ~10 KB, 40 files
    with small_tmpfs(state):  # 64 KiB: each file takes a 4 KiB page
        (state / V0_FILE).write_text(text)
        with pytest.raises(StateAccessError) as info:
            Store.open(state.parent.parent)
        assert "No space left" in str(info.value) and "nothing was changed" in str(info.value)
        assert sorted(os.listdir(state)) == [".lock", V0_FILE]
        assert (state / V0_FILE).read_text() == text


def test_a_crash_after_the_switch_is_finished_by_the_next_run(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _row("a-1", "a") + _row("b-1", "b")
    (state / V0_FILE).write_text(text)
    real_replace = os.replace

    def crash(src: Any, dst: Any, **kw: Any) -> None:
        if str(dst).endswith(V0_BACKUP):
            raise KeyboardInterrupt  # as if killed right after the records went live
        real_replace(src, dst, **kw)

    monkeypatch.setattr(migrations.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        Store.open(state.parent.parent)
    monkeypatch.undo()
    assert (state / V0_FILE).exists() and sorted(_records(state)) == ["a-1", "b-1"]
    store = Store.open(state.parent.parent)  # finishes: nothing redone, nothing moved aside
    assert sorted(r.id for r in store.list_constructs().records) == ["a-1", "b-1"]
    assert sorted(os.listdir(state)) == sorted(
        [".lock", "constructs", "format.toml", V0_BACKUP, V0_REPORT]
    )
    assert detect_version(state) == CURRENT_VERSION


def test_a_records_folder_of_unknown_origin_is_moved_aside(state: Path) -> None:
    (state / V0_FILE).write_text(_row("a-1", "a"))
    (state / "constructs").mkdir()
    (state / "constructs" / "notes.txt").write_text("a person's notes")
    store = Store.open(state.parent.parent)
    assert [r.id for r in store.list_constructs().records] == ["a-1"]
    aside = state / "constructs.before-v0-migration"
    assert (aside / "notes.txt").read_text() == "a person's notes"
    report, _to_2 = store.migration_reports
    assert report.moved_aside == aside and str(aside) in (state / V0_REPORT).read_text()


def test_an_unreadable_version_0_file_is_not_migrated(state: Path) -> None:
    (state / V0_FILE).write_text("[[constructs]]\nid = \n")
    with pytest.raises(BrokenRecordError):
        Store.open(state.parent.parent)
    assert sorted(os.listdir(state)) == [".lock", V0_FILE]


def test_the_spec_describes_the_migration() -> None:
    readme = (Path(migrations.__file__).parent / "README.md").read_text()
    for needle in (V0_BACKUP, V0_REPORT, "migration_notes", "legacy_created_at", "duplicate"):
        assert needle in readme, needle
    assert Construct.folder == "constructs"
