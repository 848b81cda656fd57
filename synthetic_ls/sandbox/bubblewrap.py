"""The ``bwrap`` command line of a construct's sandbox (bubblewrap: no image, instant).

Over a read-only view of the machine (``--ro-bind / /``), the plan's layers
(:mod:`.plan`) hide and bind; the sandbox has its own ``/dev``, ``/proc``,
PID, IPC and UTS namespaces (its processes see only each other, and all end
with it: they stay in the process group that is recorded and ended as one,
and the kernel ends a PID namespace's processes when its first process
ends), no capabilities when run as root,
and the machine's network (its services and OpenCode listen on 127.0.0.1 as
a construct's always have). A person can run the same line by hand: it is
kept in the service's log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from synthetic_ls.errors import SyntheticError
from synthetic_ls.sandbox.plan import SandboxPlan


class SandboxUnavailableError(SyntheticError):
    """The sandbox cannot be made here (no ``bwrap``, or it cannot run)."""

    code = "sandbox-unavailable"


def find_bwrap() -> str:
    """The ``bwrap`` binary; a clear error, saying how to install it, when there is none."""
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailableError(
            "this construct's template isolates it with bubblewrap, but `bwrap` is not "
            "installed; install it (Debian/Ubuntu: `apt install bubblewrap`)"
        )
    return found


def bwrap_argv(plan: SandboxPlan, command: Sequence[str], *, server: bool = False,
               read_only: Sequence[tuple[Path, Path]] = ()) -> list[str]:
    """``bwrap ... -- command`` for ``plan``.

    ``server``: the command is a detached server (the agent's OpenCode), not
    a child of a supervisor: it is the namespace's first process itself, with
    no bubblewrap reaper before it that would keep the environment it was
    given (the server's password) readable by what it starts; it outlives
    the command that started it, and stays in the process group that
    started it (recorded, and ended as one).
    ``read_only``: more files to show, read-only, as (source, target) pairs.
    """
    argv = [find_bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for layer in plan.layers:
        if layer.kind in ("hide", "scratch"):
            argv += ["--tmpfs", str(layer.target)]
        else:
            flag = "--bind" if layer.writable else "--ro-bind"
            argv += [flag, str(layer.source), str(layer.target)]
    for source, target in read_only:
        argv += ["--ro-bind", str(source), str(target)]
    # Read-only once everything inside is in place (a bind needs its mount point made).
    for layer in plan.layers:
        if layer.kind == "hide":
            argv += ["--remount-ro", str(layer.target)]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    # A supervised command stays in its supervisor's process group, which is
    # recorded and ended as one: a stop's SIGTERM reaches the command itself
    # (bwrap passes no signal on, and dying with it would be a SIGKILL: no
    # grace), and the group's SIGKILL after the grace reaches everything; the
    # namespace ends with its first process. Its terminal is its log's own.
    if server:
        argv.append("--as-pid-1")
    if os.geteuid() == 0:
        # Root in the sandbox keeps no capability: it cannot remount what is
        # read-only, nor read another process's memory or environment.
        argv += ["--cap-drop", "ALL"]
    argv += ["--setenv", "HOME", str(plan.home), "--chdir", str(plan.worktree), "--", *command]
    return argv
