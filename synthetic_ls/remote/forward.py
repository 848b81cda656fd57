"""Local forwards to a host's loopback over ssh: how a remote agent or service is reached.

A construct on another machine listens on that machine's 127.0.0.1 only
(its OpenCode server, its services). To reach one, Synthetic runs the
person's ``ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:REMOTE HOST`` (their SSH
config applies: keys, ProxyJump, ControlMaster), so the port is opened on
this machine's loopback and nowhere else, and nothing listens on the
network on either side.

Each forward is recorded in ``<state>/forwards/<host>-<remote port>.toml``
(ssh's messages in ``.log`` beside it)
(``url``: the local address; ``host``, ``address``, ``remote_port``, and
the ssh process as an owner), under a lock, so that every command and the
editors share one forward per remote port; a recorded forward whose
process is gone or no longer answers is replaced. :func:`close_forward`
ends it (its process group) and removes the record.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from state_format.atomic import atomic_delete, atomic_write, ensure_dir
from state_format.errors import StateError
from state_format.locking import StateLock
from state_format.owner import Liveness, Owner
from state_format.tomlio import parse, read_text, render_new
from synthetic_ls.errors import SyntheticError
from synthetic_ls.remote.host_url import HostUrl, parse_url
from synthetic_ls.remote.ssh import CONNECT_TIMEOUT, ssh_error
from synthetic_ls.runtime.groups import end_group

#: Under the state folder: one record per forward.
FOLDER = "forwards"
#: Seconds a new forward may take to answer on its local port.
OPEN_TIMEOUT = 20.0

_HEADER = ("A local forward to a host's loopback over ssh (`synthetic` ends it when no longer",
           "needed). Spec: state_format/README.md in the Synthetic sources.")


@dataclass(frozen=True)
class Forward:
    """A running forward: ``local_port`` here reaches ``remote_port`` on the host's loopback."""

    host: str
    address: str
    remote_port: int
    local_port: int
    owner: Owner
    #: The local id of the remote construct whose service it reaches; None for the
    #: host's OpenCode server, which every construct of that host shares.
    construct: str | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<local port>``."""
        return f"http://127.0.0.1:{self.local_port}"


def _record_path(state_dir: Path, host: str, remote_port: int) -> Path:
    return state_dir / FOLDER / f"{host}-{remote_port}.toml"


def read_forward(state_dir: Path, host: str, remote_port: int) -> Forward | None:
    """The recorded forward, or None (no record, or one that cannot be read); a read."""
    path = _record_path(state_dir, host, remote_port)
    try:
        data = parse(read_text(path), path)
        owner = Owner.from_toml(data.get("owner"))
        url, address = data.get("url"), data.get("address")
        if not isinstance(url, str) or not isinstance(address, str):
            return None
        local_port = int(url.rsplit(":", 1)[1])
        construct = data.get("construct")
    except (FileNotFoundError, StateError, ValueError, IndexError):
        return None
    return Forward(host, address, remote_port, local_port, owner,
                   construct if isinstance(construct, str) else None)


def _answers(port: int) -> bool:
    """Whether something accepts a connection on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forward_argv(url: HostUrl, local_port: int, remote_port: int) -> list[str]:
    """``ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:REMOTE ... -- HOST``: the person's ssh, no shell."""
    argv = ["ssh", "-N", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
            "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15",
            "-L", f"127.0.0.1:{local_port}:127.0.0.1:{remote_port}"]
    if url.port is not None:
        argv += ["-p", str(url.port)]
    return [*argv, "--", url.destination]


def usable(forward: Forward | None, address: str) -> bool:
    """Whether a recorded forward goes to ``address`` and answers now (a read)."""
    return (forward is not None and forward.address == address
            and forward.owner.liveness() is Liveness.ALIVE and _answers(forward.local_port))


def open_forward(state_dir: Path, host: str, address: str, remote_port: int, *,
                 within: float = OPEN_TIMEOUT, construct: str | None = None) -> Forward:
    """The forward to ``remote_port`` on ``host``: the recorded one when it answers, else new.

    ``construct`` (a remote construct's local id) marks a forward to one of
    its services, closed with it. Raises the coded ssh errors
    (``host-unreachable``, ``host-key-changed`` ...) when ssh cannot make it;
    nothing is left running or recorded then.
    """
    if shutil.which("ssh") is None:
        raise SyntheticError("no ssh command was found; install OpenSSH's client",
                             code="ssh-not-installed")
    url = parse_url(address)
    ensure_dir(state_dir / FOLDER)
    lock = StateLock(state_dir / FOLDER / f".{host}-{remote_port}.lock", timeout=within + 10)
    with lock:
        found = read_forward(state_dir, host, remote_port)
        if found is not None:
            if usable(found, address) and found.construct == construct:
                return found
            _end(state_dir, found)
        return _start(state_dir, host, url, address, remote_port, within, construct)


def _start(state_dir: Path, host: str, url: HostUrl, address: str, remote_port: int,
           within: float, construct: str | None) -> Forward:
    local_port = _free_port()
    # ssh's messages go to a file: a pipe nobody reads would block it, a closed one end it.
    log = _record_path(state_dir, host, remote_port).with_suffix(".log")
    with open(log, "wb") as err:
        proc = subprocess.Popen(forward_argv(url, local_port, remote_port),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    forward = Forward(host, address, remote_port, local_port, Owner.of(proc.pid), construct)
    try:
        fields = {"url": forward.url, "host": host, "address": address,
                  "remote_port": remote_port, "owner": forward.owner.to_toml()}
        if construct is not None:
            fields["construct"] = construct
        text = render_new(fields, _HEADER)
        atomic_write(_record_path(state_dir, host, remote_port), text.encode("utf-8"))
        _wait_answering(proc, host, url, remote_port, local_port, within,
                        lambda: log.read_text(errors="replace"))
    except BaseException:
        _end(state_dir, forward)
        raise
    return forward


def _wait_answering(proc: subprocess.Popen[bytes], host: str, url: HostUrl, remote_port: int,
                    local_port: int, within: float, messages: Callable[[], str]) -> None:
    """Return once the forward's local port answers; ssh's coded error when it ended."""
    deadline = time.monotonic() + within
    while not _answers(local_port):
        if proc.poll() is not None:
            raise ssh_error(host, url, messages())
        if time.monotonic() >= deadline:
            raise SyntheticError(
                f"the forward to port {remote_port} of host {host} did not answer within "
                f"{within:g} s", code="host-unreachable", fields={"host": host})
        time.sleep(0.05)


#: ``sh -c`` around a read's own ssh: it exits with ssh, and a reader of its standard
#: input (a pipe this process holds) ends ssh when the pipe closes, so the forward goes
#: with the process that opened it even after a ``kill -9`` (a background list's standard
#: input is /dev/null unless redirected: hence fd 3).
_TIE = ('exec 3<&0; "$@" </dev/null 3<&- & p=$!; '
        '{ read _x <&3; kill "$p" 2>/dev/null; } & wait "$p"')


def transient_forward(host: str, address: str, remote_port: int, *,
                      within: float = OPEN_TIMEOUT) -> tuple[Forward, Callable[[], None]]:
    """A forward of a read's own, recorded nowhere, and the function that ends it.

    A read leaves no state behind and no process running: it uses a
    recorded forward when one answers, else this one, ended when it is done
    (or, should this process die first, when its pipe to the forward's
    watchdog closes). The function may be called more than once.
    """
    if shutil.which("ssh") is None:
        raise SyntheticError("no ssh command was found; install OpenSSH's client",
                             code="ssh-not-installed")
    url = parse_url(address)
    local_port = _free_port()
    err = tempfile.TemporaryFile()  # noqa: SIM115 (closed by end(), after ssh)
    # Tied to this process: the watchdog's pipe closes when it dies, whatever kills it.
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(["sh", "-c", _TIE, "sh",
                                 *forward_argv(url, local_port, remote_port)],
                                stdin=read_end, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    ended = False

    def end() -> None:
        nonlocal ended
        if ended:
            return
        ended = True
        if proc.poll() is None:
            end_group(proc.pid, grace=1.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        # The group's reader may outlive ssh until its pipe closes: close it now.
        os.close(write_end)
        err.close()

    def messages() -> str:
        err.seek(0)
        return err.read().decode("utf-8", "replace")

    try:
        _wait_answering(proc, host, url, remote_port, local_port, within, messages)
    except BaseException:
        end()
        raise
    return Forward(host, address, remote_port, local_port, Owner.of(proc.pid)), end


def _end(state_dir: Path, forward: Forward) -> None:
    if forward.owner.liveness() is Liveness.ALIVE:
        end_group(forward.owner.pid, grace=1.0)
    path = _record_path(state_dir, forward.host, forward.remote_port)
    with contextlib.suppress(FileNotFoundError):
        atomic_delete(path)
    with contextlib.suppress(FileNotFoundError):
        path.with_suffix(".log").unlink()


def close_forward(state_dir: Path, host: str, remote_port: int) -> bool:
    """End the forward to ``remote_port`` on ``host`` and forget it; False when there was none."""
    found = read_forward(state_dir, host, remote_port)
    if found is None:
        return False
    ensure_dir(state_dir / FOLDER)
    with StateLock(state_dir / FOLDER / f".{host}-{remote_port}.lock", timeout=OPEN_TIMEOUT + 10):
        found = read_forward(state_dir, host, remote_port)
        if found is None:
            return False
        _end(state_dir, found)
    return True


def recorded_forwards(state_dir: Path) -> list[Forward]:
    """Every recorded forward (a read: nothing is checked or started)."""
    folder = state_dir / FOLDER
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.toml")):
        host, _, port = path.stem.rpartition("-")
        if host and port.isdigit():
            found = read_forward(state_dir, host, int(port))
            if found is not None:
                out.append(found)
    return out
