"""Run a child command in its own process group, and never leave it behind.

Work that a crash could interrupt (``git worktree add``, later a service's
setup) runs in a fresh process group whose id is handed to ``on_start``
as soon as it has started, so the caller can journal it; recovery
then ends that group before undoing the work, and a surviving child cannot
recreate what was just removed. If this process is interrupted (Ctrl-C) or
fails while waiting, the group is ended before the exception goes on: a
child in its own group does not get the terminal's Ctrl-C by itself.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from state_format.owner import end_group


def run_in_group(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion in a new process group; capture text output.

    ``on_start(pgid)`` is called right after the start. Raises
    :class:`FileNotFoundError` when the program does not exist and
    :class:`subprocess.TimeoutExpired` after ``timeout`` seconds (the group
    is ended first).
    """
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Paths in output are bytes; undecodable ones round-trip to the same
        # bytes in os calls instead of raising UnicodeDecodeError.
        encoding="utf-8",
        errors="surrogateescape",
        process_group=0,
    )
    try:
        if on_start is not None:
            on_start(proc.pid)
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        end_group(proc.pid, grace=0.5)
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
