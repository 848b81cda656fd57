"""Format marker, migrations from every older version, schemas, examples, statuses."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo

from state_format import schema_gen
from state_format.errors import BrokenRecordError, FormatTooNewError
from state_format.marker import CURRENT_VERSION
from state_format.migrations import MIGRATIONS, V0_BACKUP, V0_FILE, detect_version
from state_format.records import RECORD_KINDS, Construct, FormatMarker
from state_format.statuses import TRANSITIONS, Status, allowed_next, can_transition
from state_format.store import Store
from synthetic_ls.cli.exit_codes import exit_code

PKG = Path(schema_gen.__file__).parent


def test_newer_format_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    (state / "constructs").mkdir(parents=True)
    newer = f"version = {CURRENT_VERSION + 1}\nnew_feature = true\n"
    (state / "format.toml").write_text(newer)
    (state / "constructs" / "x-1.toml").write_text("this is = not [valid")
    with pytest.raises(FormatTooNewError, match="upgrade Synthetic"):
        Store.open(repo)
    assert (state / "format.toml").read_text() == newer


def test_format_upgraded_by_another_process_is_refused_on_write(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    store = Store.open(repo)
    record = add_construct(store, "x")
    (store.root / "format.toml").write_text(f"version = {CURRENT_VERSION + 1}\n")
    with pytest.raises(FormatTooNewError):
        store.update(Construct, record.id, lambda c: {"name": "y"})


def test_broken_marker_is_reported_with_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    state.mkdir()
    (state / "format.toml").write_text('# comment\nversion = "one"\n')
    with pytest.raises(BrokenRecordError) as info:
        Store.open(repo)
    assert info.value.line == 2


@pytest.mark.parametrize("value", ['"1"', "true", "1.0", "[1]", "-1"])
def test_a_marker_version_that_is_not_an_integer_is_refused(tmp_path: Path, value: str) -> None:
    from state_format.paths import find_repo

    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    (state / "constructs").mkdir(parents=True)
    text = f"# marker\nversion = {value}\n"
    (state / "format.toml").write_text(text)
    with pytest.raises(BrokenRecordError) as info:
        Store.open(repo)
    assert exit_code(info.value) == 4 and info.value.line == 2
    detail = info.value.detail
    assert "`version` must be" in detail and f"version = {CURRENT_VERSION}" in detail
    unchecked = Store(find_repo(repo))  # as if the marker changed after opening
    with pytest.raises(BrokenRecordError):
        add_construct(unchecked, "x")
    assert (state / "format.toml").read_text() == text
    assert not list((state / "constructs").iterdir())


def test_missing_marker_with_records_is_restored(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    store = Store.open(repo)
    record = add_construct(store, "x")
    (store.root / "format.toml").unlink()
    # Records without a marker: the oldest layout of one file per record (1),
    # brought forward when opened.
    assert detect_version(store.root) == 1
    store = Store.open(repo)
    assert tomllib.loads((store.root / "format.toml").read_text())["version"] == CURRENT_VERSION
    assert store.get_construct(record.id) == record
    add_construct(store, "y")
    assert tomllib.loads((store.root / "format.toml").read_text())["version"] == CURRENT_VERSION


def test_every_old_version_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(CURRENT_VERSION))


V0_CONTENT = """\
# written by the seed's exporter
[[constructs]]
id = "3F0C2A6E-9B1D-4C6A-8A53-1F2E7D9C0B11"
name = "Seed era construct"
description = "from sqlite"
template_id = "implementation"
workspace_path = ""
opencode_session_id = "ses_1"
status = "active"
created_at = "2024-05-01 09:30:00"
updated_at = "2024-05-02 10:00:00"
priority = 3

[[constructs]]
id = "already-valid-1"
name = "Second"
description = ""
template_id = "planning"
workspace_path = "/w/2"
opencode_session_id = ""
status = "running"
created_at = "2024-05-03 08:00:00"
updated_at = "2024-05-03 08:00:00"
"""


def test_migrate_version_0(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    state.mkdir()
    (state / V0_FILE).write_text(V0_CONTENT)
    assert detect_version(state) == 0
    store = Store.open(repo)
    assert detect_version(state) == CURRENT_VERSION
    assert (state / V0_BACKUP).read_text() == V0_CONTENT  # nothing thrown away
    assert not (state / V0_FILE).exists()
    listing = store.list_constructs()
    assert listing.broken == []
    first, second = listing.records
    assert first.name == "Seed era construct" and first.status is Status.ACTIVE
    assert first.id.startswith("seed-era-construct-")
    assert first.model_extra == {
        "priority": 3,
        "legacy_id": "3F0C2A6E-9B1D-4C6A-8A53-1F2E7D9C0B11",
        "migration_notes": [
            "id '3F0C2A6E-9B1D-4C6A-8A53-1F2E7D9C0B11' is not a valid id; "
            f"given the id {first.id} by the migration"
        ],
    }
    assert first.workspace_path is None and first.opencode_session_id == "ses_1"
    assert first.created_at.isoformat() == "2024-05-01T09:30:00+00:00"
    assert second.id == "already-valid-1" and second.workspace_path == "/w/2"
    assert second.status is Status.PENDING  # "running" is not a status any more
    assert second.model_extra == {
        "legacy_status": "running",
        "migration_notes": ["status 'running' is not a status any more; set to pending"],
    }
    # Migration is deterministic: the version-0 file put back gives the same
    # ids again (the earlier result is moved aside, not overwritten).
    (state / V0_BACKUP).rename(state / V0_FILE)
    (state / "format.toml").unlink()
    again = Store.open(repo).list_constructs()
    assert [r.id for r in again.records] == [first.id, second.id]
    aside = state / "constructs.before-v0-migration"
    assert {p.name for p in aside.iterdir()} == {f"{first.id}.toml", f"{second.id}.toml"}


def test_broken_version_0_file_is_not_migrated(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = repo / ".git" / "synthetic"
    state.mkdir()
    (state / V0_FILE).write_text("[[constructs]]\nid = \n")
    with pytest.raises(BrokenRecordError) as info:
        Store.open(repo)
    assert info.value.line == 2
    assert (state / V0_FILE).exists() and not (state / "format.toml").exists()


def test_committed_schemas_are_up_to_date() -> None:
    generated = schema_gen.generate()
    on_disk = {p.name: p.read_text() for p in (PKG / "schemas").glob("*.json")}
    stale = [name for name in generated if on_disk.get(name) != generated[name]]
    assert not stale, f"run `python -m state_format.schema_gen`; stale: {stale}"
    assert set(on_disk) == set(generated)


@pytest.mark.parametrize("kind", [*RECORD_KINDS, "format"])
def test_examples_validate_and_match_their_schema(kind: str) -> None:
    data = tomllib.loads((PKG / "examples" / f"{kind}.toml").read_text())
    model = RECORD_KINDS.get(kind, FormatMarker)
    record = model.model_validate(data)
    schema = json.loads((PKG / "schemas" / f"{kind}.schema.json").read_text())
    assert set(schema["required"]) <= set(data)
    assert set(data) <= set(schema["properties"])
    if kind in RECORD_KINDS:
        assert record.id == data["id"]


def test_transition_table_is_complete_and_consistent() -> None:
    assert set(TRANSITIONS) == set(Status)
    for status in Status:
        assert can_transition(status, status)
        assert Status.DELETING in TRANSITIONS[status] or status is Status.DELETING
    assert can_transition("pending", "active")
    assert not can_transition("archived", "active")
    assert allowed_next("archived") == ["parked", "deleting"]


def test_readme_documents_every_status_and_kind() -> None:
    readme = (PKG / "README.md").read_text()
    for status in Status:
        assert f"`{status.value}`" in readme
    for model in RECORD_KINDS.values():
        assert f"{model.folder}/" in readme
        for field in model.model_fields:
            assert f"`{field}`" in readme, (model.kind, field)
