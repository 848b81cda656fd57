"""Run a command on a host with the system ``ssh``, within a bounded time.

The person's SSH config is the truth (aliases, keys, ProxyJump,
ControlMaster, known hosts): ssh is called as a person would call it, with
only ``-o BatchMode=yes`` (never a prompt: a missing key or an unknown host
is an error, and Synthetic never asks for a password) and ``-o
ConnectTimeout=N``, plus ``-p PORT`` and ``user@`` when the host's address
gives them. Every call has a wall-clock bound as well (a host that accepts
the connection and then says nothing cannot hang a command).

The remote command is one shell string, which ssh hands to the remote
user's shell: every variable part of it goes through :func:`shlex.quote`
(:func:`remote_command`), and a script with shell syntax runs under ``sh -c``
(:func:`posix_script`), whatever the login shell is. ssh's own failures (exit status 255) become
coded errors: ``host-unreachable``, ``host-key-changed``,
``host-key-unknown``, ``host-auth-failed``.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass

from state_format.text import one_line
from synthetic_ls.errors import SyntheticError
from synthetic_ls.remote.host_url import HostUrl

#: Seconds ssh may take to connect (its ConnectTimeout).
CONNECT_TIMEOUT = 5
#: Seconds a whole call may take, connection included, unless the caller says otherwise.
CALL_TIMEOUT = 20.0
#: ssh's exit status for its own errors (not the remote command's).
SSH_FAILED = 255


@dataclass(frozen=True)
class Completed:
    """What a remote command did: its exit status and output."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Whether the remote command exited with status 0."""
        return self.returncode == 0


def remote_command(*words: str) -> str:
    """One shell command line of ``words``, each quoted for the remote's shell."""
    return " ".join(shlex.quote(w) for w in words)


def posix_script(script: str) -> str:
    """A command line running ``script`` with ``sh -c``, whatever the remote user's login
    shell is (fish and csh read ``${X:-y}``, ``$(...)`` and ``||`` otherwise, or not at
    all). Quote every variable part of ``script`` with :func:`remote_command` first."""
    return remote_command("sh", "-c", script)


def ssh_argv(url: HostUrl, command: str) -> list[str]:
    """The ``ssh`` command line running ``command`` (already quoted) on ``url``'s host.

    ``--`` ends ssh's options, so neither the destination nor the command can
    be read as one (the host name is checked not to start with ``-`` as well).
    """
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
    if url.port is not None:
        argv += ["-p", str(url.port)]
    return [*argv, "--", url.destination, command]


def run_remote(name: str, url: HostUrl, command: str, *,
               timeout: float = CALL_TIMEOUT) -> Completed:
    """Run ``command`` (a shell line, see :func:`remote_command`) on the host called ``name``.

    Returns the remote command's status and output; ssh's own failures and a
    call that outlasts ``timeout`` raise coded errors instead.
    """
    if shutil.which("ssh") is None:
        raise SyntheticError("no ssh command was found; install OpenSSH's client "
                             "(`apt install openssh-client`)", code="ssh-not-installed")
    try:
        proc = subprocess.run(ssh_argv(url, command), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SyntheticError(
            f"host {name} ({url.destination}) did not answer within {timeout:g} s",
            code="host-unreachable", fields={"host": name, "detail": "timed out"}) from None
    if proc.returncode == SSH_FAILED:
        raise ssh_error(name, url, proc.stderr)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def ssh_error(name: str, url: HostUrl, stderr: str) -> SyntheticError:
    """The coded error for ssh's own failure, from what it wrote on stderr."""
    detail = one_line(" ".join(line for line in stderr.splitlines()
                               if line.strip() and not line.startswith("@")), 400)
    fields = {"host": name, "detail": detail}
    where = f"host {name} ({url.destination})"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or (
            "Host key verification failed" in stderr and "is known for" not in stderr):
        return SyntheticError(
            f"{where}: its host key changed, so ssh refused it (it may be reinstalled, or "
            "someone is in between); check the key with its administrator, then fix "
            "known_hosts (`ssh-keygen -R HOST`)", code="host-key-changed", fields=fields)
    if "Host key verification failed" in stderr:
        return SyntheticError(
            f"{where}: its host key is not known yet; connect once with `ssh` to check and "
            "accept it", code="host-key-unknown", fields=fields)
    if "Permission denied" in stderr:
        return SyntheticError(
            f"{where} refused the login ({detail}); Synthetic never asks for a password: "
            "give ssh a key (ssh-add, or IdentityFile in ~/.ssh/config)",
            code="host-auth-failed", fields=fields)
    return SyntheticError(f"{where} cannot be reached: {detail or 'ssh failed'}",
                          code="host-unreachable", fields=fields)
