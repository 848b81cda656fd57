"""Run a child command in its own process group, and never leave it behind.

Work that a crash could interrupt (``git worktree add``, a template's setup
commands) runs in a fresh process group whose id is handed to ``on_start``,
so the caller can journal it; recovery then ends that group before undoing
the work, and a surviving child cannot recreate what was just removed. If
this process is interrupted (Ctrl-C) or fails while waiting, the group is
ended before the exception goes on: a child in its own group does not get
the terminal's Ctrl-C by itself.

The command does not start until ``on_start`` has returned. The child is
first a small ``/bin/sh`` gate that waits for one byte, :data:`GO`, on its
standard input, sent only once ``on_start`` has recorded the group; then it
replaces itself with the command (``exec``: same pid, same group, standard
input ``/dev/null`` as before). If this process dies before that (even by
SIGKILL), the pipe closes unwritten, the gate reads end of file and exits
without running anything: no command runs that no journal knows of. If
``on_start`` raises, no byte is sent either. A service's supervisor
(:mod:`synthetic_ls.runtime.log_pump`) waits for the same byte the same way;
:func:`release` sends it to both.

Without ``on_start`` nothing is recorded, so there is no window to close:
the command is started directly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthetic_ls.runtime.groups import end_group

#: The byte a gated child waits for before it runs anything.
GO = b"g"

# Run by /bin/sh (dash here: POSIX, and about a millisecond to start). After
# the go, the command gets the standard input (/dev/null) and environment it
# would have had without the gate, but for two shell habits: the shell sets
# and exports a PWD of its own, so $1 carries the one the command must get
# ("+value", or "" for none); and it drops variables whose names are not
# shell names (bash's exported functions, BASH_FUNC_name%%), which we accept.
# A single "g" then end of file makes `read` fail but still set $go, hence
# `;` rather than `&&` after it.
_GATE = (
    'IFS= read -r go; [ "$go" = g ] || exit 1; '
    'case $1 in +*) export PWD="${1#+}" ;; *) unset PWD ;; esac; '
    'shift; exec "$@" </dev/null'
)


def how_it_ended(returncode: int) -> str:
    """A process's end in words: ``exited with status 3``, ``was killed by signal 9 (SIGKILL)``.

    ``subprocess`` reports a death by signal as a negative status; a person
    reads ``-9`` as an exit status it never was.
    """
    if returncode >= 0:
        return f"exited with status {returncode}"
    number = -returncode
    try:
        name = f" ({signal.Signals(number).name})"
    except ValueError:
        name = ""
    return f"was killed by signal {number}{name}"


def release(proc: subprocess.Popen[Any], *, go: bool) -> None:
    """Let a gated child run (``go``) or not, then close the pipe it waits on.

    Closing without the byte makes the child exit without running anything.
    It may be gone already (killed): a broken pipe is fine.
    """
    pipe, proc.stdin = proc.stdin, None  # closed: communicate() must not flush it
    if pipe is None or pipe.closed:
        return
    if go:
        # Past any text or buffering layer: the gate wants exactly this byte.
        with contextlib.suppress(OSError):
            os.write(pipe.fileno(), GO)
    with contextlib.suppress(OSError):
        pipe.close()


def _check_program(program: str, env: Mapping[str, str] | None, cwd: Path | str | None) -> None:
    """Raise the error starting ``program`` directly would have raised, if any.

    The gate's shell would report a missing program only as exit status 127,
    which callers cannot tell from the program's own; they rely on
    :class:`FileNotFoundError` (``git`` not installed). So look it up first,
    the way :mod:`subprocess` does: on the environment's PATH unless the name
    has a slash, relative paths from ``cwd``. (A program removed in between
    is still reported, by the shell, as exit status 127.)
    """
    if os.path.dirname(program):
        candidates = [program]
    else:
        candidates = [os.path.join(d, program) for d in os.get_exec_path(env)]
    base = os.fspath(cwd) if cwd is not None else os.curdir
    found = [p for c in candidates if os.path.exists(p := os.path.join(base, c))]
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
    if not any(os.path.isfile(p) and os.access(p, os.X_OK) for p in found):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), program)


def end_child(proc: subprocess.Popen[Any]) -> None:
    """End the whole group of ``proc`` (started here) and reap it.

    For a caller interrupted while waiting: the group does not get the
    terminal's Ctrl-C by itself.
    """
    end_group(proc.pid, grace=0.5)
    proc.kill()
    proc.wait()


def start_in_group(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """Start ``argv`` in a new process group, its standard input ``/dev/null``.

    ``on_start(pgid)`` is called before the command runs, which it does only
    once ``on_start`` has returned; if it raises, the command never runs, the
    group is ended and the exception goes on. ``popen`` goes to
    :class:`subprocess.Popen` (output, encoding). Raises
    :class:`FileNotFoundError` when the program does not exist.
    """
    env = dict(env) if env is not None else None
    if on_start is None:
        return subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, process_group=0, **popen
        )
    _check_program(argv[0], env, cwd)
    pwd = (os.environ if env is None else env).get("PWD")
    proc = subprocess.Popen(
        ["/bin/sh", "-c", _GATE, "sh", "" if pwd is None else "+" + pwd, *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        process_group=0,
        **popen,
    )
    try:
        on_start(proc.pid)
    except BaseException:
        release(proc, go=False)
        end_child(proc)
        raise
    release(proc, go=True)
    return proc


def run_in_group(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion in a new process group; capture text output.

    ``on_start(pgid)`` is called before the command runs (see
    :func:`start_in_group`). Raises :class:`FileNotFoundError` when the
    program does not exist and :class:`subprocess.TimeoutExpired` after
    ``timeout`` seconds (the group is ended first).
    """
    proc = start_in_group(
        argv,
        cwd=cwd,
        env=env,
        on_start=on_start,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Paths in output are bytes; undecodable ones round-trip to the same
        # bytes in os calls instead of raising UnicodeDecodeError.
        encoding="utf-8",
        errors="surrogateescape",
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        end_child(proc)
        raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
