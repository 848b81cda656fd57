"""``commit``, ``land`` and ``discard`` of a construct on another machine.

Against the real sshd of tests/remote/sshd_server.py (the fixtures of
test_remote_constructs.py): the host's worktree is a folder on this machine,
so the tests write into it directly, as an agent there would. Every wait
polls with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from state_format.records import RemoteConstruct
from state_format.store import Store
from synthetic_ls.consent.gate import TRUST
from synthetic_ls.ops.landing import LandOptions
from synthetic_ls.ops.remote_landing import (
    RemoteLandPlan,
    RemoteLandResult,
    commit_remote,
    discard_remote,
    land_remote,
)
from tests.gitrepo import commit_file, git
from tests.remote import test_remote_constructs as constructs
from tests.remote.sshd_server import DOWN
from tests.remote.test_remote_constructs import SYNTHETIC, Machines, ok_json, wait_for
from tests.result_schemas import assert_matches

#: The local repository and the host's clone, host `test` added (a fixture).
machines = constructs.machines


def make(m: Machines, name: str = "Fix it") -> tuple[dict[str, Any], Path]:
    """A remote construct, and its worktree on the host (whose git knows who commits:
    the ssh session does not get the test's environment)."""
    git(m.clone, "config", "user.name", "Host")
    git(m.clone, "config", "user.email", "host@example.com")
    made = ok_json(m.run("new", name, "--host", "test", "--trust", "--json"))
    [there] = [c for c in m.host_constructs() if c["id"] == made["remote_id"]]
    return made, Path(there["workspace_path"])


def refused(proc: subprocess.CompletedProcess[str]) -> str:
    """The error code of a refused ``--json`` command."""
    assert proc.returncode != 0, proc.stdout
    code: str = json.loads(proc.stderr)["error"]["code"]
    return code


def head(path: Path, ref: str = "HEAD") -> str:
    """The commit ``ref`` names in the repository at ``path``."""
    return git(path, "rev-parse", ref).strip()


def fetched_refs(m: Machines) -> list[str]:
    """The fetched refs left in the local repository."""
    return git(m.local, "for-each-ref", "--format=%(refname)", "refs/synthetic/").split()


def test_commit_and_land_by_merge(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    (tree / "fix.txt").write_text("fixed\n")
    committed = assert_matches("commit-result", ok_json(
        m.run("commit", made["id"], "-m", "-Fix the flake", "--json")))
    assert committed["construct"] == made["id"]
    assert [f["path"] for f in committed["files"]] == ["fix.txt"]
    assert committed["commit"] == head(tree)
    assert git(tree, "log", "-1", "--format=%s").strip() == "-Fix the flake"

    before = head(m.local)
    text = m.run("land", made["id"], "--check")
    assert text.returncode == 0 and "can land into main (merge)" in text.stdout
    assert "-Fix the flake" in text.stdout
    plan = assert_matches("land-plan", ok_json(m.run("land", made["id"], "--check",
                                                      "--json")))
    assert plan["target"] == "main" and [c["subject"] for c in plan["commits"]] == [
        "-Fix the flake"]
    assert head(m.local) == before and fetched_refs(m) == []

    landed = assert_matches("remote-land-result",
                            ok_json(m.run("land", made["id"], "--merge", "--json")))
    assert landed["marked"] and landed["commits"] == 1 and landed["before"] == before
    assert (m.local / "fix.txt").read_text() == "fixed\n"
    assert git(m.local, "merge-base", "--is-ancestor", committed["commit"], "HEAD") == ""
    assert fetched_refs(m) == [] and m.local_remotes()[0].journal is None
    [there] = m.host_constructs()
    assert there["status"] == "completed"
    assert ok_json(m.run("ls", "--json"))["constructs"][0]["status"] == "completed"


def test_the_text_forms(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    (tree / "fix.txt").write_text("fixed\n")
    out = m.run("commit", made["id"], "-m", "Fix").stdout
    assert f"in {made['id']}'s worktree on host test" in out and "? fix.txt" in out
    out = m.run("land", made["id"]).stdout
    assert f"Landed {made['id']} (host test) into main" in out
    assert f"Construct {made['remote_id']} on host test is now completed." in out
    made2, _tree2 = make(m, "Other")
    out = m.run("discard", made2["id"], "--yes", "--trust").stdout
    assert f"Discarded construct {made2['id']} on host test." in out


def test_land_squash_and_remove(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    commit_file(tree, "b.txt", "b\n", "Two")
    before = head(m.local)
    landed = ok_json(m.run("land", made["id"], "--squash", "-m", "Both\n", "--remove",
                           "--trust", "--json"))
    assert landed["removal"] == {"removed": True, "kept": [], "error": None}
    assert head(m.local, "HEAD^") == before
    assert git(m.local, "log", "-1", "--format=%s").strip() == "Both"
    assert (m.local / "a.txt").exists() and (m.local / "b.txt").exists()
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []
    assert fetched_refs(m) == [] and not tree.exists()


def test_uncommitted_work_on_the_host_is_refused(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    (tree / "README.md").write_text("changed there\n")
    before, there = head(m.local), head(tree)
    assert refused(m.run("land", made["id"], "--json")) == "construct-dirty"
    assert head(m.local) == before and head(tree) == there
    assert git(tree, "status", "--porcelain").strip() == "M README.md"
    assert fetched_refs(m) == [] and m.local_remotes()[0].journal is None
    assert m.host_constructs()[0]["status"] == "ready"


def test_a_conflicting_landing_is_refused(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "README.md", "there\n", "There")
    commit_file(m.local, "README.md", "here\n", "Here")
    before = head(m.local)
    proc = m.run("land", made["id"], "--json")
    assert refused(proc) == "merge-conflict"
    assert "README.md" in json.loads(proc.stderr)["error"]["message"]
    assert head(m.local) == before and git(m.local, "status", "--porcelain").strip() == ""
    assert fetched_refs(m) == [] and m.local_remotes()[0].journal is None
    assert m.host_constructs()[0]["status"] == "ready"


def test_discard_removes_both_sides(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    assert refused(m.run("discard", made["id"], "--json")) == "usage"  # no terminal, no --yes
    discarded = assert_matches("discard-result", ok_json(
        m.run("discard", made["id"], "--yes", "--trust", "--json")))
    assert discarded["removed"] == made["id"]
    assert [c["subject"] for c in discarded["unmerged"]] == ["One"]
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []
    assert not tree.exists()


def test_the_operations_called_directly(machines: Machines, monkeypatch: Any) -> None:
    m = machines
    monkeypatch.setenv("PATH", m.env["PATH"])
    store = Store.open(m.local)
    made, tree = make(m)
    (tree / "x.txt").write_text("x\n")
    committed = commit_remote(store, made["id"], "X").to_dict()
    assert committed["construct"] == made["id"]
    plan = land_remote(store, LandOptions(ref=made["id"], strategy="apply"), check=True)
    assert isinstance(plan, RemoteLandPlan) and len(plan.to_dict()["commits"]) == 1
    result = land_remote(store, LandOptions(ref=made["id"], strategy="apply"))
    assert isinstance(result, RemoteLandResult)
    assert result.to_dict()["staged"] == ["x.txt"] and result.marked
    git(m.local, "commit", "-q", "-m", "Applied")
    made2, _tree2 = make(m, "Other")
    gone = discard_remote(store, made2["id"], trust=True).to_dict()
    assert gone["removed"] == made2["id"]
    assert [r.id for r in m.local_remotes()] == [made["id"]]
    assert TRUST.trust


def _kill(pid_file: Path) -> None:
    """End the process whose pid the file holds, if it still runs."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.parametrize(("hook_name", "strategy", "finished"), [
    # Stopped after git wrote the merge's content, before its commit: rolled back.
    ("pre-merge-commit", "merge", False),
    # Stopped after the merge commit was made: kept, the host's construct completed.
    ("post-merge", "merge", True),
    # Stopped before the replay in the scratch worktree: rolled back, scratch gone.
    ("pre-rebase", "rebase", False),
])
def test_a_landing_killed_mid_way_is_settled_by_doctor(
        machines: Machines, request: pytest.FixtureRequest, hook_name: str, strategy: str,
        finished: bool) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    # A hook in the local repository stops the landing at a known point.
    marker = m.markers / "in-hook"
    hook = m.local / ".git" / "hooks" / hook_name
    hook_pid = m.markers / "hook-pid"
    request.addfinalizer(lambda: _kill(hook_pid))
    hook.write_text(f"#!/bin/sh\necho $$ > {hook_pid}\ntouch {marker}\nexec sleep 3000\n")
    hook.chmod(0o755)
    commit_file(m.local, "other.txt", "here\n", "Here")  # a real merge, not a fast-forward
    before = head(m.local)
    proc = subprocess.Popen([*SYNTHETIC, "land", made["id"], f"--{strategy}"], cwd=m.local,
                            env=m.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(marker.exists)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    [record] = m.local_remotes()
    assert record.journal is not None and record.journal.op == "land"
    assert ok_json(m.run("ls", "--json"))["constructs"][0]["status"] == "landing"
    hook.unlink()
    doctor = m.run("doctor", "--json")
    assert "interrupted-operation" in doctor.stdout
    fixed = m.run("doctor", "--fix", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert git(m.local, "status", "--porcelain").strip() == ""
    assert fetched_refs(m) == [] and m.local_remotes()[0].journal is None
    assert len(git(m.local, "worktree", "list", "--porcelain").split("worktree ")) == 2
    if finished:  # kept, and the host's construct marked as a landing marks it
        assert head(m.local, "HEAD^") == before and (m.local / "a.txt").exists()
        assert m.host_constructs()[0]["status"] == "completed"
        return
    assert head(m.local) == before  # rolled back
    assert m.host_constructs()[0]["status"] == "ready"
    # And it lands afterwards.
    ok_json(m.run("land", made["id"], f"--{strategy}", "--json"))
    assert (m.local / "a.txt").exists()


def test_land_by_rebase_replays_here(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    commit_file(m.local, "other.txt", "here\n", "Here")  # the commits must be replayed
    branches = git(m.local, "branch", "--format=%(refname)")
    landed = ok_json(m.run("land", made["id"], "--rebase", "--json"))
    assert landed["fast_forward"] and landed["commits"] == 1
    assert git(m.local, "log", "--format=%s", "-3").split("\n")[:3] == ["One", "Here",
                                                                       "initial"]
    assert git(m.local, "rev-list", "--merges", "HEAD").strip() == ""
    # The scratch worktree it replayed in, and the fetched ref, are gone; no branch made.
    assert len(git(m.local, "worktree", "list", "--porcelain").split("worktree ")) == 2
    assert git(m.local, "branch", "--format=%(refname)") == branches
    assert fetched_refs(m) == [] and m.host_constructs()[0]["status"] == "completed"


def test_a_host_that_does_not_answer_changes_nothing(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "a.txt", "a\n", "One")
    store = Store.open(m.local)
    store.update(RemoteConstruct, made["id"], lambda _r: {"url": f"ssh://{DOWN}{m.clone}"})
    before = head(m.local)
    for args in (["land", made["id"]], ["commit", made["id"], "-m", "x"],
                 ["discard", made["id"], "--yes"]):
        proc = m.run(*args, "--json")
        assert refused(proc) == "host-unreachable", proc.stderr
    assert head(m.local) == before and fetched_refs(m) == []
    [record] = m.local_remotes()
    assert record.journal is None
    assert m.host_constructs()[0]["status"] == "ready" and tree.is_dir()


def test_squash_on_a_terminal_opens_the_editor_after_the_checks(
        machines: Machines, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from synthetic_ls.cli.main import run

    m = machines
    made, tree = make(m, "Fix login")
    commit_file(tree, "a.txt", "a\n", "One")
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ncp "$1" {seen}\nsed -i "1s/.*/Edited title/" "$1"\n')
    editor.chmod(0o755)
    for key, value in m.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.chdir(m.local)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert run(["land", made["id"], "--squash"]) == 0, capsys.readouterr().err
    assert seen.read_text().startswith("Fix login\n\nCommits:\n* One\n")
    assert git(m.local, "log", "-1", "--format=%B").startswith("Edited title\n\nCommits:")
    assert "Landed" in capsys.readouterr().out


def test_land_goes_by_default_into_the_branch_the_construct_started_from(
        machines: Machines) -> None:
    m = machines
    git(m.local, "branch", "release")
    git(m.clone, "config", "user.name", "Host")
    git(m.clone, "config", "user.email", "host@example.com")
    made = ok_json(m.run("new", "Backport", "--host", "test", "--from", "release", "--trust",
                         "--json"))
    [record] = m.local_remotes()
    assert record.base_ref == "refs/heads/release"
    [there] = [c for c in m.host_constructs() if c["id"] == made["remote_id"]]
    (Path(there["workspace_path"]) / "backport.txt").write_text("ported\n")
    ok_json(m.run("commit", made["id"], "-m", "Backport the fix", "--json"))
    main_before = head(m.local, "main")
    # Landing needs its target checked out: here in a worktree beside the main checkout.
    git(m.local, "worktree", "add", "-q", str(m.local.parent / "release-wt"), "release")

    landed = ok_json(m.run("land", made["id"], "--json"))
    # main is checked out here, yet the landing goes where the construct came from.
    assert landed["target"] == "release"
    assert head(m.local, "main") == main_before
    assert (m.local.parent / "release-wt" / "backport.txt").read_text() == "ported\n"
