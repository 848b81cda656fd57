"""Process groups: who is in one, and ending one for good.

Child work (``git worktree add``, a service, a setup command) runs in a
process group of its own (:mod:`synthetic_ls.runtime.proc`); a journal
records the group, and recovery ends it with :func:`end_group` before it
undoes or finishes the work, so nothing the group started can race it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from state_format.owner import proc_stat


def group_members(pgid: int) -> list[int]:
    """Pids of the running (not zombie) processes of process group ``pgid``."""
    if pgid <= 1:
        return []
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` still runs."""
    return bool(group_members(pgid))


def _signal_and_wait(pgid: int, sig: signal.Signals, seconds: float) -> bool:
    """Send ``sig`` to group ``pgid``; True once the group is gone, within ``seconds``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.02)
    return False


def end_group(pgid: int, *, grace: float = 2.0, timeout: float = 10.0) -> bool:
    """Stop every process of group ``pgid``: SIGTERM, then SIGKILL after ``grace`` s.

    Returns True once the group is gone (waiting at most ``timeout`` s more
    after SIGKILL), so a caller can undo the group's work without racing it.
    """
    if not group_alive(pgid):
        return True
    return _signal_and_wait(pgid, signal.SIGTERM, grace) or _signal_and_wait(
        pgid, signal.SIGKILL, timeout
    )
