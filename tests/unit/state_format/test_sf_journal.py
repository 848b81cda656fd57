"""The journal in a construct record, and how a legacy ``spawn_pid`` reads as one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sf_helpers import add_construct, make_repo

from state_format import listing
from state_format.journal import LEGACY_CREATE_STEPS, Journal
from state_format.owner import Liveness, Owner, host_id, pid_namespace
from state_format.records import Construct
from state_format.store import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(listing, "RACY_NS", 0)
    return Store.open(make_repo(tmp_path / "repo"))


def _legacy(store: Store, pid: int | str, status: str = "spawning") -> Construct:
    """A record as an older Synthetic wrote it mid-creation (spawn_pid, no journal) in a
    version-1 state, read by this one (which brings the state to its version first)."""
    record = add_construct(store, "old", status=status)
    path = store.path_of(Construct, record.id)
    path.write_text(path.read_text() + f"spawn_pid = {pid}\n")
    (store.root / "format.toml").write_text("version = 1\n")
    again = Store.open(store.repo.worktree)
    assert "spawn_pid" not in path.read_text()
    (report,) = again.migration_reports
    assert report.from_version == 1 and report.records == [record.id]
    return again.get(Construct, record.id)


def test_a_journal_round_trips_through_the_file(store: Store) -> None:
    record = add_construct(store, "x", status="spawning")
    journal = Journal.begin("land", facts={"before": "abc", "target": "main"})
    journal = journal.step("merge").with_group(4321).step("record")
    store.update(Construct, record.id, lambda c: {"journal": journal})
    text = store.path_of(Construct, record.id).read_text()
    assert "journal = {" in text and 'op = "land"' in text  # one inline table
    again = store.get(Construct, record.id)
    assert again.journal == journal and again.journal.facts == {"before": "abc", "target": "main"}
    assert again.journal.started == ("merge", "record") and again.journal.done == ("merge",)
    store.update(Construct, record.id, lambda c: {"journal": None})
    assert "journal" not in store.path_of(Construct, record.id).read_text()


def test_a_legacy_spawning_record_becomes_a_create_journal(store: Store) -> None:
    record = _legacy(store, os.getpid())
    journal = record.journal
    assert journal == Journal(
        op="create",
        owner=Owner(os.getpid(), None, host_id(), "", pid_namespace()),
        started=LEGACY_CREATE_STEPS,
    )
    assert journal.done == () and journal.groups == () and not journal.rolls_forward
    # Known by pid only: alive exactly while a process with that pid runs.
    assert journal.owner.liveness() is Liveness.ALIVE
    (listed,) = store.list_constructs().records
    assert listed.journal == journal


def test_a_legacy_owner_that_is_gone_is_dead(store: Store) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    record = _legacy(store, proc.pid)
    journal = record.journal
    assert journal is not None and journal.started == LEGACY_CREATE_STEPS
    assert journal.owner.liveness() is Liveness.DEAD


@pytest.mark.parametrize("pid", ["9223372036854775807", "2147483648", "0", "-1", '"42"'])
def test_a_legacy_spawn_pid_no_process_can_have_is_a_stopped_creation(
    store: Store, pid: str
) -> None:
    # os.kill(9223372036854775807, 0) raises OverflowError; 0 and -1 would
    # signal a whole process group or every process: never used as an owner.
    journal = _legacy(store, pid).journal
    assert journal is not None and journal.op == "create" and journal.stopped
    assert journal.started == LEGACY_CREATE_STEPS


def test_no_journal_without_an_operation(store: Store) -> None:
    assert add_construct(store, "plain").journal is None
    assert add_construct(store, "spawning", status="spawning").journal is None
    # spawn_pid only meant something while spawning.
    assert _legacy(store, os.getpid(), status="error").journal is None


def test_a_journal_wins_over_a_legacy_spawn_pid(store: Store) -> None:
    record = add_construct(store, "old", status="spawning")
    journal = Journal.begin("create")
    store.update(Construct, record.id, lambda c: {"journal": journal})
    path = store.path_of(Construct, record.id)
    path.write_text(path.read_text() + "spawn_pid = 7\n")
    (store.root / "format.toml").write_text("version = 1\n")
    again = Store.open(store.repo.worktree).get(Construct, record.id)
    assert again.journal == journal and "spawn_pid" not in path.read_text()


def test_bringing_the_state_to_version_2_twice_changes_nothing_more(store: Store) -> None:
    record = _legacy(store, os.getpid())
    path = store.path_of(Construct, record.id)
    before = path.read_bytes()
    (store.root / "format.toml").write_text("version = 1\n")
    again = Store.open(store.repo.worktree)
    assert path.read_bytes() == before and again.migration_reports[0].records == []
