"""Recovery at the ops level: a journal left in place is finished or undone.

A landing, a commit, a creation or a removal is interrupted for real (the process running the op
killed while git's hook holds it), or its journal is written the way the
op writes it (``state_format``: a journal whose owner is a process that is
gone), with git left in the state that step leaves. Then
:func:`synthetic_ls.ops.recovery.recover` (what the next change of the
construct runs) or ``doctor --fix`` settles it: the journal is cleared,
and only the operation's own traces are undone.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.ops.doctor import run_doctor
from synthetic_ls.ops.landing import LandOptions, land_construct
from synthetic_ls.ops.recovery import recover
from synthetic_ls.provision.context import Context
from synthetic_ls.runtime.groups import group_alive
from tests.gitrepo import commit_file, git
from tests.integration.ops_helpers import branches, leave_journal, make_store, new, worktrees

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return make_store(tmp_path, monkeypatch)


def head(path: Path, rev: str = "HEAD") -> str:
    return git(path, "rev-parse", rev).strip()


def land_facts(store: Store, cid: str, wt: Path, strategy: str) -> dict[str, str]:
    """The facts :func:`land_construct` journals before its first step."""
    repo = store.repo.worktree
    return {
        "strategy": strategy, "target": "main", "checkout": str(repo), "before": head(repo),
        "head": head(wt), "branch": f"synthetic/{cid}", "worktree": str(wt),
    }


def settle(store: Store, cid: str) -> list[str]:
    recovery = recover(Context(store), store.get_construct(cid))
    assert recovery is not None and recovery.op in ("land", "commit")
    assert store.get_construct(cid).journal is None
    assert recover(Context(store), store.get_construct(cid)) is None  # nothing left to do
    return recovery.notes


def test_a_squash_killed_in_its_commit_hook_is_rolled_back_by_doctor(
    store: Store, tmp_path: Path
) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "change util")
    before = head(repo)
    marker = tmp_path / "in-hook"
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nexec sleep 60\n")
    hook.chmod(0o755)
    code = (
        "import sys; from state_format.store import Store\n"
        "from synthetic_ls.ops.landing import LandOptions, land_construct\n"
        f"land_construct(Store.open({str(repo)!r}), LandOptions(ref={cid!r}, "
        "strategy='squash', message='m'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the landing ended before its hook ran"
            assert time.monotonic() < deadline, "the hook never ran"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    journal = store.get_construct(cid).journal
    assert journal is not None and journal.op == "land" and journal.started[-1] == "commit"
    group = journal.groups[-1]  # git commit, still held by its hook
    assert group_alive(group)
    assert git(repo, "diff", "--cached", "--name-only") == "src/util.py\n"

    report = run_doctor(store, fix=True).to_dict()
    (finding,) = report["findings"]
    assert finding["kind"] == "interrupted-operation" and finding["fixed"] is True
    assert not group_alive(group)
    assert store.get_construct(cid).journal is None
    assert store.get_construct(cid).status.value == "ready"
    assert head(repo) == before
    assert git(repo, "status", "--porcelain") == ""
    assert not (repo / ".git" / "index.lock").exists()
    assert not (repo / ".git" / "SQUASH_MSG").exists()
    hook.unlink()  # and the same landing goes through now
    assert land_construct(store, LandOptions(ref=cid, strategy="squash", message="m")).commits == 1


def test_an_interrupted_squash_keeps_what_the_person_staged_since(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "change util")
    commit_file(wt, "src/new.py", "n = 1\n", "add new")
    facts = land_facts(store, cid, wt, "squash")
    git(repo, "merge", "--squash", facts["head"])  # the step's work, then a crash
    leave_journal(store, cid, "land", ["squash", "commit"], **facts)
    # The person works in the main checkout before anyone recovers.
    (repo / "notes.txt").write_text("mine\n")
    (repo / "src/main.py").write_text("print('mine')\n")
    git(repo, "add", "notes.txt", "src/main.py")
    (repo / "src/util.py").write_text("x = 'edited by hand'\n")  # one of the landing's paths

    notes = settle(store, cid)
    assert head(repo) == facts["before"]
    assert any("src/util.py" in n for n in notes)  # left: the person edited it
    assert not (repo / "src/new.py").exists()  # the landing's own path is undone
    assert (repo / "notes.txt").read_text() == "mine\n"
    # src/util.py: its index entry was the landing's, and goes back; the file
    # holds the person's edit, and stays.
    assert git(repo, "status", "--porcelain").splitlines() == [
        "A  notes.txt", "M  src/main.py", " M src/util.py"]
    assert store.get_construct(cid).status.value == "ready"


def test_an_interrupted_merge_git_finished_is_completed(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "change util")
    commit_file(repo, "src/main.py", "print(2)\n", "main moves")
    facts = land_facts(store, cid, wt, "merge")
    git(repo, "merge", "--no-edit", "-q", facts["head"])  # git finished; the record did not
    leave_journal(store, cid, "land", ["merge"], **facts)
    notes = settle(store, cid)
    assert any("finished" in n for n in notes)
    assert store.get_construct(cid).status.value == "completed"
    assert head(repo, "HEAD^2") == facts["head"]


@pytest.mark.parametrize("agent_went_on", [False, True])
def test_an_interrupted_rebase_is_undone_only_while_the_branch_is_as_it_left_it(
    store: Store, agent_went_on: bool
) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "change util")
    commit_file(repo, "src/main.py", "print(2)\n", "main moves")
    facts = land_facts(store, cid, wt, "rebase")
    git(wt, "rebase", "-q", facts["before"])  # the rebase ran; the fast-forward did not
    rebased = head(wt)
    leave_journal(store, cid, "land", ["rebase", "fast-forward"], rebased=rebased, **facts)
    if agent_went_on:
        later = commit_file(wt, "src/more.py", "m = 1\n", "the agent goes on")
    notes = settle(store, cid)
    assert head(repo) == facts["before"]  # main was never moved
    if agent_went_on:
        assert head(wt) == later and head(wt, "HEAD^") == rebased  # nothing reset away
        assert any("left as it is" in n for n in notes)
    else:
        assert head(wt) == facts["head"]  # the landing's rebase undone
    assert store.get_construct(cid).status.value == "ready"


@pytest.mark.parametrize("committed", [False, True])
def test_an_interrupted_commit_is_kept_or_its_index_put_back(
    store: Store, committed: bool
) -> None:
    cid, wt = new(store)
    (wt / "src/util.py").write_text("x = 2\n")
    (wt / "added.txt").write_text("new\n")
    facts = {
        "worktree": str(wt), "head": head(wt),
        "index": git(wt, "write-tree").strip(),
    }
    git(wt, "add", "-A", "src/util.py", "added.txt")  # the stage step, then a crash
    if committed:
        git(wt, "commit", "-q", "-m", "agent work")
    leave_journal(store, cid, "commit", ["stage", "commit"], **facts)
    notes = settle(store, cid)
    if committed:
        assert head(wt, "HEAD^") == facts["head"] and any("kept" in n for n in notes)
        assert git(wt, "status", "--porcelain") == ""
    else:
        assert head(wt) == facts["head"]
        assert git(wt, "write-tree").strip() == facts["index"]
        assert sorted(git(wt, "status", "--porcelain").splitlines()) == [
            " M src/util.py", "?? added.txt"]


def _flow_journal(store: Store, cid: str, op: str, status: str, steps: list[str]) -> None:
    """A creation or removal that finished ``steps`` and died, as its journal says."""
    leave_journal(store, cid, op, steps)
    journal = store.get_construct(cid).journal
    assert journal is not None
    done = dataclasses.replace(journal, done=journal.started)
    store.update(Construct, cid, lambda _c: {"journal": done, "status": status})


def test_an_interrupted_creation_is_undone(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    _flow_journal(store, cid, "create", "spawning", ["worktree", "include-files"])
    recovery = recover(Context(store), store.get_construct(cid))
    assert recovery is not None and recovery.op == "create"
    assert store.list(Construct).records == []
    assert not wt.exists() and worktrees(repo) == [] and f"synthetic/{cid}" not in branches(repo)


def test_an_interrupted_removal_is_finished(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    _flow_journal(store, cid, "remove", "deleting", ["include-files"])
    before = worktrees(repo)
    assert before == [str(wt)]
    report = run_doctor(store, fix=True).to_dict()
    assert [(f["kind"], f["fixed"]) for f in report["findings"]] == [
        ("interrupted-operation", True)]
    assert store.list(Construct).records == []
    assert not wt.exists() and worktrees(repo) == [] and f"synthetic/{cid}" not in branches(repo)
