"""Processes a construct started that left its process groups: found by their environment.

A setup command or a service may double-fork a daemon (``(setsid cmd &)``):
the daemon leaves every process group Synthetic recorded, so ending those
groups misses it. But it inherited the environment Synthetic gave the
command, ``SYNTHETIC_CONSTRUCT_ID`` and ``SYNTHETIC_CONSTRUCT_DIR`` among it
(:func:`synthetic_ls.provision.services.environment`): each running process
whose environment names the construct is one of the construct's. The id is
random, so nothing else carries it; this process and its ancestors are never
counted (a command run from a construct's shell).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from state_format.owner import proc_stat

ID_VAR = b"SYNTHETIC_CONSTRUCT_ID="
DIR_VAR = b"SYNTHETIC_CONSTRUCT_DIR="


@dataclass(frozen=True)
class Tagged:
    """A running process tagged with a construct: its pid, the construct's id and folder."""

    pid: int
    construct_id: str
    construct_dir: str


def _ancestors() -> set[int]:
    """This process and its parents: never one of the construct's to end."""
    out = set()
    pid = os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
            pid = int(text.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def tagged_processes() -> list[Tagged]:
    """Every running process whose environment names a construct (that may be read)."""
    mine = _ancestors()
    found: list[Tagged] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue  # gone, a kernel thread, or another user's
        if ID_VAR not in environ:
            continue
        values = {
            item.split(b"=", 1)[0] + b"=": item.split(b"=", 1)[1]
            for item in environ.split(b"\0") if b"=" in item
        }
        ident = values.get(ID_VAR)
        if ident:
            found.append(Tagged(
                int(entry.name), ident.decode("utf-8", "replace"),
                values.get(DIR_VAR, b"").decode("utf-8", "surrogateescape"),
            ))
    return found


def processes_of(construct_id: str) -> list[int]:
    """Pids of the running processes tagged with ``construct_id``."""
    return [t.pid for t in tagged_processes() if t.construct_id == construct_id]


def end_processes(pids: list[int], *, grace: float = 2.0) -> list[int]:
    """SIGTERM ``pids``, SIGKILL what is left after ``grace``; the pids that would not end."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if _alive(p)]
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if _alive(p)]
    return left


def _alive(pid: int) -> bool:
    found = proc_stat(pid)
    return found is not None and found[0] not in ("Z", "X")
