"""Who is doing an operation: a process named so that it is never mistaken.

A record that is being created or removed names the process doing it. A pid
alone is not enough: pids are reused, another host may share the disk, and
another PID namespace (a container, ``unshare --pid``) sees other numbers.
So an owner is the pid plus the process's start time (clock ticks since
boot, from ``/proc/<pid>/stat``), the host (``/etc/machine-id``, else the
host name), the boot id and the PID namespace. From another host, boot or
namespace we cannot look at the process, so :meth:`Owner.liveness` answers
``unknown``, and nothing is rolled back on a guess.

Child process groups (``git worktree add``, a service's setup) are named the
same way, by their leader, so that recovery can make sure a dead owner's
children are gone before it undoes their work.
"""

from __future__ import annotations

import enum
import functools
import os
import socket
from dataclasses import dataclass
from typing import Any


class Liveness(enum.Enum):
    """What can be known about a recorded process from here."""

    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"  # another host, boot-independent view or PID namespace


def _read_small(path: str) -> str:
    """The first line of a small system file, or "" when it cannot be read."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(256).strip()
    except OSError:
        return ""


@functools.cache
def host_id() -> str:
    """This machine's id: ``/etc/machine-id`` when present, else the host name."""
    return _read_small("/etc/machine-id") or f"host:{socket.gethostname()}"


def boot_id() -> str:
    """The kernel's id of the current boot ("" where the system has none)."""
    return _read_small("/proc/sys/kernel/random/boot_id")


def pid_namespace() -> str:
    """The PID namespace this process sees pids in, e.g. ``pid:[4026531836]``."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time) of ``pid`` from ``/proc/<pid>/stat``.

    The command name (field 2) may hold spaces and parentheses, so fields are
    counted after its last ``)``.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read(4096)
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return fields[0].decode("ascii", "replace"), int(fields[2]), int(fields[19])
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; None if it is gone or a zombie.

    A zombie has finished: only its exit status waits to be collected (and
    where nothing reaps orphans, it may wait forever).
    """
    if pid <= 0 or pid > 2**22:  # the kernel's pid_max ceiling
        return None
    stat = proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return None
    return stat[2]


@dataclass(frozen=True)
class Owner:
    """A process, named well enough to tell "gone" from "elsewhere" and "reused"."""

    pid: int
    start: int | None
    host: str
    boot: str
    pidns: str

    @classmethod
    def current(cls) -> Owner:
        """This process."""
        return cls.of(os.getpid())

    @classmethod
    def of(cls, pid: int) -> Owner:
        """Process ``pid`` of this host, as seen now."""
        return cls(pid, start_time(pid), host_id(), boot_id(), pid_namespace())

    def liveness(self) -> Liveness:
        """Whether this process still runs, as far as can be seen from here."""
        if self.host != host_id() or self.pidns != pid_namespace():
            return Liveness.UNKNOWN
        if self.boot and self.boot != boot_id():
            return Liveness.DEAD  # the machine restarted since
        now = start_time(self.pid)
        if now is None:
            return Liveness.DEAD
        if self.start is not None and now != self.start:
            return Liveness.DEAD  # the pid was reused by another process
        return Liveness.ALIVE

    def where(self) -> str:
        """A short description for messages: ``process 123`` (``on another host`` ...)."""
        if self.host != host_id():
            return f"process {self.pid} on another host ({self.host[:12]})"
        if self.pidns != pid_namespace():
            return f"process {self.pid} in another PID namespace ({self.pidns})"
        return f"process {self.pid}"

    def to_toml(self) -> dict[str, Any]:
        """The inline-table form stored in records."""
        out: dict[str, Any] = {"pid": self.pid}
        if self.start is not None:
            out["start"] = self.start
        out.update(host=self.host, boot=self.boot, pidns=self.pidns)
        return out

    @classmethod
    def from_toml(cls, value: Any) -> Owner:
        """Read the inline table back; ValueError when it is not one."""
        if not isinstance(value, dict):
            raise ValueError("an owner must be a table {pid, start, host, boot, pidns}")
        pid = value.get("pid")
        start = value.get("start")
        if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
            raise ValueError("owner.pid must be a process id (1 to 2^31-1)")
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            raise ValueError("owner.start must be an integer")
        texts = [value.get(k, "") for k in ("host", "boot", "pidns")]
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("owner.host, owner.boot and owner.pidns must be strings")
        return cls(pid, start, *texts)
