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


def _legacy(store: Store, pid: int, status: str = "spawning") -> Construct:
    """A record as an older Synthetic wrote it mid-creation: spawn_pid, no journal."""
    record = add_construct(store, "old", status=status)
    path = store.path_of(Construct, record.id)
    path.write_text(path.read_text() + f"spawn_pid = {pid}\n")
    return store.get(Construct, record.id)


def test_a_journal_round_trips_through_the_file(store: Store) -> None:
    record = add_construct(store, "x", status="spawning")
    journal = Journal.begin("create").start("worktree").with_group(4321)
    store.update(Construct, record.id, lambda c: {"journal": journal})
    text = store.path_of(Construct, record.id).read_text()
    assert "journal = {" in text and 'op = "create"' in text  # one inline table
    again = store.get(Construct, record.id)
    assert again.journal == journal and again.effective_journal() == journal
    store.update(Construct, record.id, lambda c: {"journal": None})
    assert "journal" not in store.path_of(Construct, record.id).read_text()


def test_a_legacy_spawning_record_reads_as_a_create_journal(store: Store) -> None:
    record = _legacy(store, os.getpid())
    assert record.journal is None
    journal = record.effective_journal(["worktree", "include-files"])
    assert journal == Journal(
        op="create",
        owner=Owner(os.getpid(), None, host_id(), "", pid_namespace()),
        started=("worktree", "include-files"),
    )
    assert journal.done == () and journal.groups == () and not journal.rolls_forward
    # Known by pid only: alive exactly while a process with that pid runs.
    assert journal.owner.liveness() is Liveness.ALIVE
    (listed,) = store.list_constructs().records
    assert listed.effective_journal(["worktree", "include-files"]) == journal


def test_a_legacy_owner_that_is_gone_is_dead(store: Store) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    record = _legacy(store, proc.pid)
    journal = record.effective_journal()
    assert journal is not None and journal.started == LEGACY_CREATE_STEPS
    assert journal.owner.liveness() is Liveness.DEAD


def test_no_journal_without_an_operation(store: Store) -> None:
    assert add_construct(store, "plain").effective_journal() is None
    assert add_construct(store, "spawning", status="spawning").effective_journal() is None
    # spawn_pid only means something while spawning.
    assert _legacy(store, os.getpid(), status="error").effective_journal() is None


def test_a_journal_wins_over_a_legacy_spawn_pid(store: Store) -> None:
    record = _legacy(store, os.getpid())
    journal = Journal.begin("create")
    store.update(Construct, record.id, lambda c: {"journal": journal})
    assert store.get(Construct, record.id).effective_journal(["worktree"]) == journal
