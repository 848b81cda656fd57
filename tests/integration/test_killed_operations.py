"""A ``kill -9`` in the middle of a landing, a discard or a resolve, then ``doctor --fix``.

Each test stops the real ``synthetic`` at a known point (a git hook or a
service's stop command touches a marker file and waits; the test waits for
the marker, never for time), kills its whole process group, lets the person
go on working in the target checkout, runs ``doctor --fix`` and checks that
the operation was finished or undone without touching the person's work.
bench/fault_injection.py does the same at every step, with delays.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import GIT_ENV, make_repo, trust
from tests.gitrepo import git as run_git

SYNTHETIC = Path(sys.executable).with_name("synthetic")
CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: {
    dev: { label: "Dev" },
    svc: {
      label: "With a service whose stop command is slow",
      services: {
        // The first stop (the discard's) waits to be killed; the doctor's does not.
        s: { type: "process", run: "sleep 600", stop: "[ -e %s ] || { touch %s; sleep 600; }" },
      },
    },
  },
};
"""


def git(cwd: Path, *args: str) -> str:
    return run_git(cwd, *args).rstrip("\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    marker = tmp_path / "stopping"
    files = {
        "synthetic.config.ts": CONFIG % (marker, marker),
        "README.md": "readme\n",
        "src/a.py": "a = 1\n",
    }
    repo = make_repo(tmp_path / "app", files)
    trust(repo)
    return repo


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt")}


def synthetic(repo: Path, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNTHETIC), *argv], cwd=repo, env=_env(tmp_path), capture_output=True,
        text=True, stdin=subprocess.DEVNULL, timeout=120,
    )


def running_with(needle: str) -> list[int]:
    """Pids of live processes whose command line holds ``needle``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if needle.encode() in cmdline:
                found.append(int(entry.name))
    return found


def kill_when(repo: Path, tmp_path: Path, marker: Path, *argv: str) -> None:
    """Run ``synthetic ARGV`` in its own group; SIGKILL the group once ``marker`` appears."""
    proc = subprocess.Popen(
        [str(SYNTHETIC), *argv], cwd=repo, env=_env(tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, f"synthetic {argv} ended before {marker.name} appeared"
            assert time.monotonic() < deadline, f"{marker} never appeared"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def hook(checkout: Path, name: str, marker: Path) -> None:
    """A git hook that touches ``marker`` and then waits (until it is killed)."""
    hooks = Path(git(checkout, "rev-parse", "--git-common-dir"))
    hooks = (hooks if hooks.is_absolute() else checkout / hooks) / "hooks"
    path = hooks / name
    path.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 600\n")
    path.chmod(0o755)


def construct_with_work(repo: Path, tmp_path: Path) -> dict[str, str]:
    """A construct with one commit (a new file) that main does not have; main moved on."""
    made = json.loads(synthetic(repo, tmp_path, "new", "job", "--json").stdout)
    wt = Path(made["workspace_path"])
    (wt / "landed.txt").write_text("landed\n")
    git(wt, "add", "landed.txt")
    git(wt, "commit", "-qm", "work")
    (repo / "other.txt").write_text("main moved\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-qm", "main moves on")
    return {"id": made["id"], "wt": str(wt), "branch": made["branch"],
            "head": git(wt, "rev-parse", "HEAD")}


def persons_work(repo: Path) -> None:
    """What the person does in the target checkout after the kill: stage, and edit."""
    (repo / "mine.txt").write_text("mine\n")
    git(repo, "add", "mine.txt")
    (repo / "README.md").write_text("readme\nmy edit\n")


def assert_persons_work_and_nothing_else(repo: Path) -> None:
    assert git(repo, "show", ":mine.txt") == "mine"
    assert (repo / "README.md").read_text() == "readme\nmy edit\n"
    status = sorted(git(repo, "status", "--porcelain").splitlines())
    assert [line[3:] for line in status] == ["README.md", "mine.txt"], status


def git_file(checkout: Path, name: str) -> Path:
    path = Path(git(checkout, "rev-parse", "--git-path", name))
    return path if path.is_absolute() else checkout / path


def doctor_clean(repo: Path, tmp_path: Path) -> None:
    fixed = synthetic(repo, tmp_path, "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    again = synthetic(repo, tmp_path, "doctor")
    assert again.returncode == 0, again.stdout + again.stderr


def status_of(repo: Path, tmp_path: Path, cid: str) -> str:
    return str(json.loads(synthetic(repo, tmp_path, "show", cid, "--json").stdout)["status"])


@pytest.mark.parametrize(("strategy", "hook_name"), [
    ("--squash", "pre-commit"), ("--merge", "pre-merge-commit"),
])
def test_a_landing_killed_before_its_commit_is_undone_leaving_the_persons_work(
    repo: Path, tmp_path: Path, strategy: str, hook_name: str
) -> None:
    c = construct_with_work(repo, tmp_path)
    before = git(repo, "rev-parse", "HEAD")
    marker = tmp_path / "hooked"
    hook(repo, hook_name, marker)
    kill_when(repo, tmp_path, marker, "land", c["id"], strategy, "-m", "landed")
    assert (repo / "landed.txt").exists()  # the landing had written it when it was killed
    (repo / ".git" / "hooks" / hook_name).unlink()
    persons_work(repo)
    doctor_clean(repo, tmp_path)
    assert git(repo, "rev-parse", "HEAD") == before
    assert not (repo / "landed.txt").exists()
    for name in ("MERGE_HEAD", "SQUASH_MSG", "MERGE_MSG", "index.lock", "HEAD.lock"):
        assert not git_file(repo, name).exists(), name
    assert_persons_work_and_nothing_else(repo)
    assert status_of(repo, tmp_path, c["id"]) != "completed"


def test_a_finished_merge_whose_git_was_killed_before_its_clean_up_is_completed(
    repo: Path, tmp_path: Path
) -> None:
    """Killed after the merge commit: a MERGE_HEAD and lock files git left go; it completes."""
    c = construct_with_work(repo, tmp_path)
    marker = tmp_path / "hooked"
    hook(repo, "post-merge", marker)
    kill_when(repo, tmp_path, marker, "land", c["id"], "--merge")
    (repo / ".git" / "hooks" / "post-merge").unlink()
    merged = git(repo, "rev-parse", "HEAD")
    # What git leaves when killed between writing the commit and cleaning up.
    git_file(repo, "MERGE_HEAD").write_text(c["head"] + "\n")
    git_file(repo, "ORIG_HEAD.lock").write_text("x\n")
    git_file(repo, "refs/heads/main.lock").write_text(merged + "\n")
    persons_work(repo)
    doctor_clean(repo, tmp_path)
    assert git(repo, "rev-parse", "HEAD") == merged
    assert git(repo, "show", "HEAD:landed.txt") == "landed"
    for name in ("MERGE_HEAD", "ORIG_HEAD.lock", "refs/heads/main.lock"):
        assert not git_file(repo, name).exists(), name
    assert_persons_work_and_nothing_else(repo)
    assert status_of(repo, tmp_path, c["id"]) == "completed"


def test_a_rebase_killed_half_way_is_undone_even_when_abort_refuses(
    repo: Path, tmp_path: Path
) -> None:
    c = construct_with_work(repo, tmp_path)
    wt = Path(c["wt"])
    before = git(repo, "rev-parse", "HEAD")
    marker = tmp_path / "hooked"
    hook(repo, "pre-rebase", marker)
    kill_when(repo, tmp_path, marker, "land", c["id"], "--rebase")
    (repo / ".git" / "hooks" / "pre-rebase").unlink()
    # A rebase state half written by a killed git: `rebase --abort` cannot read it.
    git_file(wt, "rebase-merge").mkdir()
    assert subprocess.run(["git", "rebase", "--abort"], cwd=wt, capture_output=True).returncode
    persons_work(repo)
    doctor_clean(repo, tmp_path)
    assert git(repo, "rev-parse", "HEAD") == before
    assert not git_file(wt, "rebase-merge").exists()
    assert git(wt, "symbolic-ref", "HEAD") == f"refs/heads/{c['branch']}"
    assert git(wt, "rev-parse", "HEAD") == c["head"]
    assert_persons_work_and_nothing_else(repo)


def test_a_killed_discard_is_finished_as_a_discard(repo: Path, tmp_path: Path) -> None:
    """Unmerged commits and uncommitted changes go: the journal says the removal was forced."""
    made = json.loads(
        synthetic(repo, tmp_path, "new", "job", "--template", "svc", "--json").stdout
    )
    wt = Path(made["workspace_path"])
    (wt / "unmerged.txt").write_text("x\n")
    git(wt, "add", "unmerged.txt")
    git(wt, "commit", "-qm", "unmerged")
    (wt / "uncommitted.txt").write_text("y\n")
    kill_when(repo, tmp_path, tmp_path / "stopping", "discard", made["id"], "--yes")
    doctor_clean(repo, tmp_path)
    # The stop command the discard was running (its own process group, in the
    # journal) was ended by the recovery, not left sleeping.
    assert running_with(str(tmp_path / "stopping")) == []
    listed = json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"]
    assert listed == []
    assert not wt.exists()
    assert git(repo, "branch", "--list", made["branch"]) == ""


def test_a_removal_killed_while_git_deleted_the_worktree_is_finished(
    repo: Path, tmp_path: Path
) -> None:
    """`git worktree remove` killed half-way: the folder lost its `.git` link, git's entry
    is still there; the doctor puts the link back and lets git finish."""
    made = json.loads(
        synthetic(repo, tmp_path, "new", "job", "--template", "svc", "--json").stdout
    )
    wt = Path(made["workspace_path"])
    kill_when(repo, tmp_path, tmp_path / "stopping", "rm", made["id"], "--yes")
    stopping = running_with(str(tmp_path / "stopping"))
    # What the killed git had deleted already (it goes through the folder in any order).
    (wt / ".git").unlink()
    (wt / "README.md").unlink()
    doctor_clean(repo, tmp_path)
    assert stopping and running_with(str(tmp_path / "stopping")) == []
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
    assert not wt.exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "branch", "--list", made["branch"]) == ""


def _branch_as_it_was(wt: Path, c: dict[str, str], head: str) -> None:
    assert not git_file(wt, "rebase-merge").exists()
    assert git(wt, "symbolic-ref", "HEAD") == f"refs/heads/{c['branch']}"
    assert git(wt, "rev-parse", "HEAD") == head
    assert git(wt, "status", "--porcelain") == ""


def test_a_resolve_killed_mid_rebase_is_undone(repo: Path, tmp_path: Path) -> None:
    """Killed while git rebases (its post-checkout hook waits): the branch is put back."""
    c = construct_with_work(repo, tmp_path)
    wt = Path(c["wt"])
    marker = tmp_path / "hooked"
    hook(repo, "post-checkout", marker)
    kill_when(repo, tmp_path, marker, "resolve", c["id"], "--by-hand")
    (repo / ".git" / "hooks" / "post-checkout").unlink()
    assert git_file(wt, "rebase-merge").exists()  # killed half-way
    shown = json.loads(synthetic(repo, tmp_path, "show", c["id"], "--json").stdout)
    assert shown["operation"]["op"] == "resolve", shown["operation"]
    doctor_clean(repo, tmp_path)
    _branch_as_it_was(wt, c, c["head"])
    # And it can be resolved again, to the end.
    done = synthetic(repo, tmp_path, "resolve", c["id"], "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "rebased"


def test_a_resolve_continue_killed_after_git_finished_is_undone(
    repo: Path, tmp_path: Path
) -> None:
    """Left to the person, fixed, continued, killed in post-rewrite (the branch already
    moved): doctor --fix puts the branch back where it was before the resolve."""
    made = json.loads(synthetic(repo, tmp_path, "new", "job", "--json").stdout)
    wt = Path(made["workspace_path"])
    (wt / "README.md").write_text("mine\n")
    git(wt, "commit", "-qam", "mine")
    (repo / "README.md").write_text("theirs\n")
    git(repo, "commit", "-qam", "theirs")
    c = {"id": made["id"], "branch": made["branch"], "head": git(wt, "rev-parse", "HEAD")}
    left = synthetic(repo, tmp_path, "resolve", c["id"], "--by-hand")
    assert left.returncode == 5, left.stdout + left.stderr
    (wt / "README.md").write_text("both\n")
    marker = tmp_path / "rewritten"
    hook(repo, "post-rewrite", marker)
    kill_when(repo, tmp_path, marker, "resolve", c["id"], "--continue")
    (repo / ".git" / "hooks" / "post-rewrite").unlink()
    assert git(wt, "rev-parse", f"refs/heads/{c['branch']}") != c["head"]  # git had moved it
    doctor_clean(repo, tmp_path)
    _branch_as_it_was(wt, c, c["head"])
    assert (wt / "README.md").read_text() == "mine\n"


def test_a_queue_killed_at_its_second_landing_keeps_the_first(
    repo: Path, tmp_path: Path
) -> None:
    first = construct_with_work(repo, tmp_path)
    made = json.loads(synthetic(repo, tmp_path, "new", "second", "--json").stdout)
    wt = Path(made["workspace_path"])
    (wt / "second.txt").write_text("second\n")
    git(wt, "add", "second.txt")
    git(wt, "commit", "-qm", "second")
    # The hook lets the first landing's merge commit through and waits in the second's.
    once, marker = tmp_path / "once", tmp_path / "hooked"
    hooks = repo / ".git" / "hooks" / "pre-merge-commit"
    hooks.write_text(f"#!/bin/sh\nif [ -e '{once}' ]; then touch '{marker}'; sleep 600; "
                     f"else touch '{once}'; fi\n")
    hooks.chmod(0o755)
    kill_when(repo, tmp_path, marker, "land", first["id"], made["id"])
    hooks.unlink()
    landed = git(repo, "rev-parse", "HEAD")
    assert git(repo, "show", "HEAD:landed.txt") == "landed"
    doctor_clean(repo, tmp_path)
    assert git(repo, "rev-parse", "HEAD") == landed  # the first stays landed
    assert not (repo / "second.txt").exists()
    assert git(repo, "status", "--porcelain") == ""
    assert status_of(repo, tmp_path, first["id"]) == "completed"
    assert status_of(repo, tmp_path, made["id"]) != "completed"
