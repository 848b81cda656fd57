"""Process owners: alive, dead, reused pids, other hosts and PID namespaces; ending groups."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from state_format.owner import Liveness, Owner
from synthetic_ls.runtime.groups import end_group, group_alive, group_members


def test_this_process_is_alive() -> None:
    me = Owner.current()
    assert me.liveness() is Liveness.ALIVE
    assert Owner.from_toml(me.to_toml()) == me


def test_a_finished_process_is_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = Owner.of(proc.pid)
    proc.wait()
    assert owner.liveness() is Liveness.DEAD


def test_a_zombie_is_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = Owner.of(proc.pid)
    # Until it has exited, without reaping it (WNOWAIT): a zombie.
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    assert _state(proc.pid) == "Z"
    assert owner.liveness() is Liveness.DEAD
    proc.wait()


def _state(pid: int) -> str:
    """The state letter of process ``pid`` (R, S, Z ...), from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_reused_pid_is_dead() -> None:
    """Same pid, another start time: the pid now belongs to someone else."""
    me = Owner.current()
    assert me.start is not None
    earlier = dataclasses.replace(me, start=me.start - 1)
    assert earlier.liveness() is Liveness.DEAD


def test_another_boot_is_dead() -> None:
    me = Owner.current()
    assert dataclasses.replace(me, boot="another-boot").liveness() is Liveness.DEAD


def test_another_host_is_unknown_never_dead() -> None:
    other = dataclasses.replace(Owner.current(), pid=2**30, host="someone-else")
    assert other.liveness() is Liveness.UNKNOWN
    assert "another host" in other.where()


@pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0, reason="needs root and unshare"
)
def test_seen_from_another_pid_namespace_is_unknown() -> None:
    """A creation running out here, judged from inside `unshare --pid`: not dead."""
    me = json.dumps(Owner.current().to_toml())
    code = (
        "import json,sys; from state_format.owner import Owner;"
        f"print(Owner.from_toml(json.loads({me!r})).liveness().value)"
    )
    proc = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("PID namespaces are not permitted here")
    assert proc.stdout.strip() == "unknown", proc.stderr


@pytest.mark.parametrize(
    "bad", [None, 3, {"pid": "x"}, {"pid": 2**63 - 1}, {"pid": 1, "start": "a"}]
)
def test_bad_owner_tables_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        Owner.from_toml(bad)


def test_end_group_kills_a_child_that_ignores_sigterm() -> None:
    # Each says so once it ignores SIGTERM; the child writes to the same pipe.
    script = (
        "import signal,subprocess,sys,time;signal.signal(signal.SIGTERM,signal.SIG_IGN);"
        "subprocess.Popen([sys.executable,'-c','import signal,time;"
        "signal.signal(signal.SIGTERM,signal.SIG_IGN);print(\\'child up\\',flush=True);"
        "time.sleep(60)']);print('up',flush=True);time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], process_group=0, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert sorted([proc.stdout.readline().strip(), proc.stdout.readline().strip()]) == [
        "child up", "up"
    ]
    assert len(group_members(proc.pid)) == 2
    assert end_group(proc.pid, grace=0.3)
    assert not group_alive(proc.pid)
    proc.wait()
