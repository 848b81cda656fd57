"""Running a ``process`` service: its environment, setup commands, launch, readiness, stop.

A service runs detached, in its own session and process group, so it
outlives the command (or editor) that started it; the group's leader is a
small supervisor (:mod:`synthetic_ls.runtime.log_pump`) that starts the service's
``run`` command with ``sh -c`` and copies its output to a capped log file in
the state folder. The record keeps the leader's pid *and* its start time
(:class:`state_format.owner.Owner`), so a pid reused by an unrelated process
after a crash or a reboot is never signalled.

Stopping runs the service's ``stop`` command (if any), then SIGTERM to the
group, then SIGKILL after a grace period, and waits until no process of the
group is left.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from state_format.owner import Liveness, Owner, boot_id, start_time
from state_format.text import one_line
from synthetic_ls.errors import InvalidInputError, OperationCancelledError, SyntheticError
from synthetic_ls.runtime import service_logs
from synthetic_ls.runtime.groups import end_group, group_alive
from synthetic_ls.runtime.proc import (
    end_child,
    how_it_ended,
    release,
    run_in_group,
    start_in_group,
)

#: How long a service may take to print its ``readyPattern`` when the config says nothing.
DEFAULT_READY_TIMEOUT = 60.0
#: Seconds between SIGTERM and SIGKILL when a service is stopped.
STOP_GRACE = 5.0
#: How long a ``stop`` command (and a service leaving after it) may take.
STOP_COMMAND_TIMEOUT = 30.0
#: Lines of the log quoted in the error of a service that failed.
TAIL_LINES = 15
#: The most characters of one log line an error quotes.
QUOTED_LINE = 300


class ServiceError(SyntheticError):
    """A service could not be started or stopped; the message quotes its log."""

    code = "service-failed"


_SUBST = re.compile(r"\$\{(?:env\.([A-Za-z_][A-Za-z0-9_]*)|(constructDir))\}")


def substitute(text: str, env: Mapping[str, str], construct_dir: str, where: str) -> str:
    """Replace ``${env.X}`` (from ``env``) and ``${constructDir}`` in ``text``.

    Other ``${...}`` are left for the shell. An ``${env.X}`` whose X is not
    set is an :class:`InvalidInputError` naming ``where`` it was used.
    """

    def one(match: re.Match[str]) -> str:
        if match.group(2):
            return construct_dir
        name = match.group(1)
        if name not in env:
            raise InvalidInputError(
                f"${{env.{name}}} in {where}: the variable {name} is not set",
                code="env-unset",
                fields={"variable": name},
            )
        return env[name]

    return _SUBST.sub(one, text)


def resolve_config_env(
    values: Mapping[str, Any], environ: Mapping[str, str], where: str
) -> dict[str, str]:
    """A config ``env`` table with its ``process.env.X`` references resolved now.

    A reference to an unset variable without a ``??`` default is an error
    that names it: the service would otherwise start with a hole in its
    configuration.
    """
    from synthetic_ls.config.schema import EnvRef

    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, EnvRef):
            resolved = value.resolve(environ)
            if resolved is None:
                raise InvalidInputError(
                    f"{where} env {key} is process.env.{value.name}, which is not set and has "
                    f"no default; set {value.name} or give a default with ??",
                    code="env-unset",
                    fields={"variable": value.name},
                )
            out[key] = resolved
        else:
            out[key] = str(value)
    return out


def inside(root: Path, rel: str | None, where: str) -> Path:
    """``root / rel``, refused (InvalidInputError) when it leads outside ``root``."""
    if not rel:
        return root
    target = Path(os.path.normpath(root / rel))
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(target))
    if Path(rel).is_absolute() or (real != real_root and real_root not in real.parents):
        raise InvalidInputError(
            f"{where} cwd {rel!r} leads outside the worktree {root}", code="cwd-escapes"
        )
    return target


# -- setup commands -----------------------------------------------------------------


def _wait(proc: subprocess.Popen[Any], cancelled: Callable[[], bool] | None, what: str) -> int:
    """``proc.wait()``, asking ``cancelled`` every 0.1 s (a setup may take minutes)."""
    while True:
        try:
            return proc.wait(timeout=None if cancelled is None else 0.1)
        except subprocess.TimeoutExpired:
            if cancelled is not None and cancelled():
                raise OperationCancelledError(f"cancelled while the {what} ran") from None


def run_commands(
    commands: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    what: str,
    on_start: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Run shell commands one after the other, each in its own process group.

    Output goes to ``log``; the first that fails raises :class:`ServiceError`
    with the log's last lines. ``on_start(pgid)`` journals each group so that
    recovery can end it, and the command runs only once it has (see
    :func:`synthetic_ls.runtime.proc.start_in_group`); Ctrl-C, or ``cancelled()``
    turning true (:class:`OperationCancelledError`), ends the group before
    going on.
    """
    for command in commands:
        service_logs.append(log, f"$ {command}\n")
        # Through the log pump, as a service: its output is capped like a
        # service's (a setup printing 300 MB keeps at most twice the cap)
        # and it writes to a pseudo-terminal.
        proc = start_in_group(
            service_logs.pump_argv(log, ["/bin/sh", "-c", command], gated=False),
            cwd=cwd,
            env=env,
            on_start=on_start,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            code = _wait(proc, cancelled, f"{what} command {command!r}")
        except BaseException:
            end_child(proc)
            raise
        # A command may leave background children in its group: they go too.
        end_group(proc.pid, grace=1.0)
        if code != 0:
            raise ServiceError(
                f"{what} command {command!r} failed: it {how_it_ended(code)}"
                + _quote_tail(log),
                fields={"command": command, "log": str(log), "status": code},
            )


def _quote_tail(log: Path) -> str:
    lines = service_logs.tail(log, TAIL_LINES)
    if not lines:
        return " (no output)"
    # A few lines, each cut short: a message, not a copy of the log (one
    # line of a service's output can be megabytes).
    return "; last lines of " + str(log) + ":\n" + "\n".join(
        one_line(line, QUOTED_LINE) for line in lines)


# -- launching ------------------------------------------------------------------------


@dataclass
class Launched:
    """A service just started: its supervisor process and where its log begins."""

    proc: subprocess.Popen[bytes]
    owner: Owner
    log: Path
    offset: int

    def go(self) -> None:
        """Let the service start: call once it is recorded (see :mod:`.log_pump`)."""
        release(self.proc, go=True)

    def cancel(self) -> None:
        """Never start it: the supervisor exits without running the command."""
        release(self.proc, go=False)


def launch(command: str, *, cwd: Path, env: Mapping[str, str], log: Path) -> Launched:
    """Start ``sh -c command`` detached, in a new session, output to ``log`` (capped).

    The supervisor waits for :meth:`Launched.go` before it runs the command, so
    a caller killed before it recorded the process leaves nothing running.
    """
    service_logs.append(log, f"--- started {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}: "
                        f"{command}\n")
    offset = service_logs.size(log)
    argv = service_logs.pump_argv(log, ["/bin/sh", "-c", command])
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        raise ServiceError(f"cannot start {command!r}: {exc.strerror}") from None
    return Launched(proc, Owner.of(proc.pid), log, offset)


def wait_ready(
    launched: Launched, pattern: str | None, timeout: float, name: str,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Return once a line of the new output matches ``pattern``; raise if it exits or times out.

    ``pattern`` is a readyPattern (:mod:`synthetic_ls.ready_pattern`: RE2, line
    by line, so neither the pattern nor the output can outlast the timeout).
    Without a pattern the service counts as ready once started. On failure
    the group is ended and the error quotes the log's last lines. When
    ``cancelled()`` turns true (an editor's Cancel), it stops waiting with
    :class:`OperationCancelledError`; the caller stops the service.
    """
    if pattern is None:
        return
    from synthetic_ls.ready_pattern import LineMatcher

    matcher = LineMatcher(pattern)
    deadline = time.monotonic() + timeout
    offset = launched.offset
    delay = 0.005
    while True:
        data, offset = service_logs.read_from(launched.log, offset)
        if data and matcher.feed(data.decode("utf-8", "replace")):
            return
        code = launched.proc.poll()
        if code is not None:
            # Its last words, written before it exited: a one-shot command
            # that printed the line was ready (its state then shows it gone).
            while data:
                data, offset = service_logs.read_from(launched.log, offset)
                if data and matcher.feed(data.decode("utf-8", "replace")):
                    return
            end_group(launched.proc.pid, grace=1.0)
            raise ServiceError(
                f"service {name} {how_it_ended(code)} before it was ready"
                + _quote_tail(launched.log),
                code="service-exited",
                fields={"service": name, "exit_status": code, "log": str(launched.log)},
            )
        if cancelled is not None and cancelled():
            raise OperationCancelledError(f"cancelled while service {name} was starting")
        if time.monotonic() >= deadline:
            end_group(launched.proc.pid, grace=1.0)
            launched.proc.wait()
            raise ServiceError(
                f"service {name} did not print its ready pattern {one_line(pattern, 200)!r} "
                f"within {timeout:g} s" + _quote_tail(launched.log),
                code="service-timeout",
                fields={"service": name, "log": str(launched.log)},
            )
        if not data:  # more may be waiting: read on at once (the deadline still holds)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


# -- state and stopping ------------------------------------------------------------------


def process_state(owner: Owner | None) -> str:
    """``running``, ``gone`` (dead, reused pid, or another boot) or ``elsewhere``."""
    if owner is None:
        return "gone"
    liveness = owner.liveness()
    if liveness is Liveness.ALIVE:
        return "running"
    if liveness is Liveness.UNKNOWN:
        return "elsewhere"
    return "gone"


def end_leftovers(owner: Owner) -> None:
    """End what is left of a service whose leader is gone, when it can only be ours.

    While any process of group N lives, the kernel gives no new process the
    pid N; so in the same boot, with no process N at all, the members of group
    N are the service's own children. A pid N now held by another process (a
    reused pid), or another boot, means the number is not ours: nothing is
    signalled.
    """
    if owner.boot and owner.boot == boot_id() and start_time(owner.pid) is None:
        end_group(owner.pid, grace=1.0)


def stop_process(
    owner: Owner | None,
    *,
    stop_command: str | None,
    cwd: Path | None,
    env: Mapping[str, str],
    log: Path | None,
    grace: float = STOP_GRACE,
    on_start: Callable[[int], None] | None = None,
) -> list[str]:
    """Stop a service's group: ``stop`` command, SIGTERM, SIGKILL after ``grace``.

    Only a process that is still the recorded one (same pid and start time,
    same boot) is touched; its group is then ended until none of it is left.
    The ``stop`` command runs in its own group, whose id goes to
    ``on_start`` first (a journal records it, so that a stop killed with
    its caller is ended by the recovery, not left running). Notes say what
    was done. Raises :class:`ServiceError` when the group will not end.
    """
    state = process_state(owner)
    if state == "elsewhere":
        assert owner is not None
        raise ServiceError(
            f"the service runs as {owner.where()}; stop it there", code="service-elsewhere"
        )
    if state != "running" or owner is None:
        if owner is not None:
            end_leftovers(owner)
        return []
    notes: list[str] = []
    if stop_command:
        if log is not None:
            service_logs.append(log, f"$ {stop_command}\n")
        try:
            run_in_group(
                ["/bin/sh", "-c", stop_command],
                cwd=cwd if cwd is not None and cwd.is_dir() else None,
                env=dict(env),
                on_start=on_start,
                timeout=STOP_COMMAND_TIMEOUT,
            )
            notes.append(f"ran stop command {stop_command!r}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            notes.append(f"stop command {stop_command!r} failed: {exc}")
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(owner.pid):
            time.sleep(0.02)
    if not end_group(owner.pid, grace=grace):
        raise ServiceError(
            f"process group {owner.pid} did not end after SIGKILL", code="service-stuck"
        )
    return notes
