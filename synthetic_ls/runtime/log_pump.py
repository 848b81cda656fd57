"""Run a service and append its output to a log file capped in size.

Run as a script, ``python -I log_pump.py LOG CAP gated COMMAND...``, as the leader
of the service's own session and process group: it starts ``COMMAND`` as its
child (same group, standard output and error into a pseudo-terminal, so that
programs flush each line as they would to a person), copies its output to
``LOG`` and exits with the command's exit status once the output closes.
It imports nothing but the standard library, and ``-I`` keeps a service's
``PYTHONPATH`` or virtual environment from breaking it; the command itself
gets the environment unchanged.

When writing a chunk would take ``LOG`` past ``CAP`` bytes, ``LOG`` is
renamed to ``LOG.1`` (replacing the older one) and a new ``LOG`` is begun, so
a service that logs forever uses at most twice the cap.

Before it starts ``COMMAND`` it waits for one byte ``g`` on its standard
input, which the launcher sends once it has recorded this process (its pid
and start time). A launcher killed before that closes the pipe unwritten,
and the pump exits without starting anything: no service runs that no record
knows of.

It ignores SIGTERM and SIGINT itself (the command does not: it gets the
default handlers back), so that a SIGTERM to the group loses none of the
command's last words: it ends when the command's output closes. SIGKILL
still ends it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pty
import signal
import stat
import struct
import subprocess
import sys
import termios


def _open(path: str) -> int:
    # Without blocking, and only a regular file: a named pipe put there must
    # not hang the service (its launcher checked the path; this is the pump's own check).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK,
                 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return fd


def pump(path: str, cap: int, source: int) -> None:
    """Copy ``source`` to ``path`` until end of file, rotating at ``cap`` bytes."""
    fd = _open(path)
    size = os.fstat(fd).st_size
    while True:
        try:
            data = os.read(source, 65536)
        except InterruptedError:
            continue
        except OSError as err:
            if err.errno == errno.EIO:  # a pseudo-terminal whose every writer closed it
                break
            raise
        if not data:
            break
        if size > 0 and size + len(data) > cap:
            os.close(fd)
            os.replace(path, path + ".1")
            fd = _open(path)
            size = 0
        os.write(fd, data)
        size += len(data)
    os.close(fd)


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal for the command's output: ``(ours, its)``.

    A program writing to a file or a pipe buffers its output in blocks (C's
    stdio, Python without ``-u``), so a ready line can sit unseen until the
    buffer fills; writing to a terminal, it flushes each line, as a tmux
    pane would show it. Output processing is off, so lines end in ``\\n``
    as written (no ``\\r`` added), and the size is a wide window.
    """
    ours, its = pty.openpty()
    attrs = termios.tcgetattr(its)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(its, termios.TCSANOW, attrs)
    fcntl.ioctl(its, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    return ours, its


def main() -> int:
    """``log_pump.py LOG CAP gated|now COMMAND...``: the command's exit status.

    ``gated`` waits for the go byte (a service, see above); ``now`` starts at
    once (a setup command, whose launcher gated the pump itself). A command
    killed by a signal ends the pump by the same signal, so that whoever
    waits for the pump learns how the command ended.
    """
    path, cap, mode, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    if mode == "gated" and sys.stdin.buffer.read(1) != b"g":
        return 0  # the launcher died before it recorded us: start nothing
    ours, its = _terminal()
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=its, stderr=its)
    except OSError as exc:
        fd = _open(path)
        os.write(fd, f"cannot run {command[0]}: {exc.strerror}\n".encode())
        os.close(fd)
        return 127
    finally:
        os.close(its)  # the child's copy stays open: its end is our end of file
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pump(path, cap, ours)
    os.close(ours)
    code = child.wait()
    if code < 0:
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return 128 - code if code < 0 else code  # a signal that did not end us


if __name__ == "__main__":
    sys.exit(main())
