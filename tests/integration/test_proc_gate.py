"""run_in_group's gate: the command runs only once ``on_start`` has recorded its group.

Real processes throughout: a parent killed inside ``on_start`` (by itself or
from outside) must leave nothing running and nothing done, and a normal run
must look exactly as it did before the gate (output, status, cwd,
environment, standard input at end of file, the group it runs in).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthetic_ls.git.command import GitError, run_git
from synthetic_ls.runtime.groups import group_alive
from synthetic_ls.runtime.proc import run_in_group

ROOT = Path(__file__).resolve().parents[2]

# A parent that starts `touch MARKER` through run_in_group (or as a setup
# command) and dies inside on_start, once it has written the group's id to
# PGID_FILE.
PARENT = """
import os, signal, sys, time
from pathlib import Path
from synthetic_ls.runtime.proc import run_in_group
from synthetic_ls.runtime.service_process import run_commands

pgid_file, marker, how, entry = sys.argv[1:]

def on_start(pgid: int) -> None:
    Path(pgid_file + ".tmp").write_text(str(pgid))
    os.rename(pgid_file + ".tmp", pgid_file)
    if how == "self":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # until the test kills us

if entry == "run_in_group":
    run_in_group(["touch", marker], on_start=on_start)
else:
    folder = Path(marker).parent
    run_commands(
        [f"touch '{marker}'"], cwd=folder, env=dict(os.environ), log=folder / "setup.log",
        what="setup", on_start=on_start,
    )
"""


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _wait_gone(pgid: int, timeout: float = 5) -> None:
    """Wait until no process of group ``pgid`` is left, not even a zombie."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"group {pgid} is still there"
        time.sleep(0.02)


@pytest.mark.parametrize("entry", ["run_in_group", "run_commands"])
@pytest.mark.parametrize("how", ["self", "outside"])
def test_a_parent_killed_inside_on_start_leaves_the_command_unrun(
    tmp_path: Path, how: str, entry: str
) -> None:
    pgid_file, marker = tmp_path / "pgid", tmp_path / "marker"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(pgid_file), str(marker), how, entry],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        _wait_for(pgid_file)
        pgid = int(pgid_file.read_text())
        if how == "outside":
            parent.kill()
        assert parent.wait(timeout=20) == -signal.SIGKILL
    finally:
        parent.kill()
        parent.wait()
    _wait_gone(pgid)
    assert not group_alive(pgid)
    # The command would have run in that group (the gate execs it, and sh
    # runs a setup command there too): with the group gone, a command let
    # through has finished, so its marker would be there now.
    assert not marker.exists()


@pytest.mark.parametrize("gated", [True, False])
def test_a_normal_run_is_as_before(tmp_path: Path, gated: bool) -> None:
    """Status, output, cwd and standard input at end of file, with and without the gate."""
    groups: list[int] = []
    script = (
        'cat; echo "read $?"; echo out; echo err >&2; pwd;'
        ' echo "$(ps -o pgid= -p $$)"; exit 3'
    )
    proc = run_in_group(
        ["sh", "-c", script], cwd=tmp_path, on_start=groups.append if gated else None
    )
    assert proc.args == ["sh", "-c", script]
    assert proc.returncode == 3
    assert proc.stderr == "err\n"
    read, out, cwd, pgid = proc.stdout.splitlines()
    assert (read, out, cwd) == ("read 0", "out", str(tmp_path))  # cat got EOF at once
    if gated:
        # The group on_start got is the one the command itself runs in.
        assert groups == [int(pgid)]


@pytest.mark.parametrize("pwd", [None, "/somewhere/else"])
def test_the_environment_reaches_the_command_unchanged(tmp_path: Path, pwd: str | None) -> None:
    """The gate's shell sets a PWD of its own: the command never sees it."""
    env = {"PATH": os.environ["PATH"], "SYNTHETIC_X": "a b\nc", "EMPTY": ""}
    if pwd is not None:
        env["PWD"] = pwd
    proc = run_in_group(["env", "-0"], cwd=tmp_path, env=env, on_start=lambda _: None)
    got = dict(item.split("=", 1) for item in proc.stdout.split("\0") if item)
    assert got == env


def test_a_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    started: list[int] = []
    with pytest.raises(FileNotFoundError):
        run_in_group(["no-such-program-synthetic"], on_start=started.append)
    with pytest.raises(FileNotFoundError):
        run_in_group(["./missing"], cwd=tmp_path, on_start=started.append)
    with pytest.raises(FileNotFoundError):
        run_in_group(["git"], env={"PATH": str(tmp_path)}, on_start=started.append)
    assert started == []


def test_git_missing_is_still_reported_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_git's gated path (worktree add) tells "git not found" from git failing."""
    monkeypatch.setenv("PATH", str(tmp_path))
    started: list[int] = []
    with pytest.raises(GitError, match="the git command was not found on PATH"):
        run_git(tmp_path, "worktree", "add", "x", step="add", on_start=started.append)
    assert started == []


def test_a_program_is_looked_up_like_subprocess_does(tmp_path: Path) -> None:
    """On the given environment's PATH, or relative to ``cwd`` with a slash."""
    tool = tmp_path / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    env = {"PATH": f"{tool.parent}:{os.environ['PATH']}"}
    on_path = run_in_group(["tool"], env=env, on_start=lambda _: None)
    relative = run_in_group(["bin/tool"], cwd=tmp_path, on_start=lambda _: None)
    assert on_path.stdout == relative.stdout == "tool ran\n"
    tool.chmod(0o644)
    with pytest.raises(PermissionError):
        run_in_group(["bin/tool"], cwd=tmp_path, on_start=lambda _: None)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_when_on_start_raises_the_command_never_runs(
    tmp_path: Path, error: type[BaseException]
) -> None:
    marker = tmp_path / "marker"
    groups: list[int] = []

    def on_start(pgid: int) -> None:
        groups.append(pgid)
        raise error("journal full")

    with pytest.raises(error, match="journal full"):
        run_in_group(["touch", str(marker)], on_start=on_start)
    (pgid,) = groups
    _wait_gone(pgid)  # ended and reaped before the exception went on
    assert not marker.exists()  # the group is gone: a command let through would have run


def test_a_timeout_ends_the_group(tmp_path: Path) -> None:
    groups: list[int] = []
    script = "sleep 30 & wait"
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_group(["sh", "-c", script], cwd=tmp_path, on_start=groups.append, timeout=0.5)
    _wait_gone(groups[0])
