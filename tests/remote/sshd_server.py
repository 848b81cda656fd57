"""A real OpenSSH server on 127.0.0.1 for the tests, and a person's SSH config to reach it.

Debian's ``sshd -D -f CONFIG -e`` runs as root with its own host key on a
free high port, letting in one key made for the test (``PasswordAuthentication
no``, ``UsePAM no``); its sessions get, through ``SetEnv``, a PATH with this
checkout's venv (so the "remote" has ``synthetic``), ``SYNTHETIC_OPENCODE_BIN``
pointing at the pinned OpenCode, and a home of their own (the machine's
user's home is never written).

The client side is what a person would have in ``~/.ssh/config``: a ``Host``
alias with HostName, Port, IdentityFile, its own known_hosts (holding the
server's key) and ``StrictHostKeyChecking yes``. OpenSSH reads the config of
the passwd entry's home, not ``$HOME``, so the tests hand it over as the
person's own: an ``ssh`` first on PATH that runs the system ssh with ``-F``
that file (Synthetic is given no option of its own for it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
#: The alias of the test server in the client config.
ALIAS = "testhost"
#: An alias at a port nothing listens on.
DOWN = "downhost"
#: An alias of the same server whose known_hosts holds another key.
CHANGED = "changedhost"
#: An alias of the same server whose known_hosts is empty.
UNKNOWN = "unknownhost"
#: An alias of the same server with a key it does not let in.
NOKEY = "nokeyhost"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "synthetic-test",
                    "-f", str(path)], check=True, capture_output=True, timeout=30)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class SshServer:
    """A running sshd and the client files that reach it."""

    dir: Path
    port: int
    process: subprocess.Popen[bytes]
    #: A folder holding the ``ssh`` that reads the test's config: put it first on PATH.
    bin: Path
    client_config: Path

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for a ``synthetic`` (or ``ssh``) subprocess of the person."""
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def stop(self) -> None:
        """Stop sshd (and wait for it)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_sshd(folder: Path) -> SshServer:
    """Start sshd with files under ``folder``; returns once a login works."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = folder / "host_ed25519"
    host_pub = _keygen(host_key)
    client_key = folder / "client_ed25519"
    client_pub = _keygen(client_key)
    (folder / "authorized_keys").write_text(client_pub + "\n")
    other_pub = _keygen(folder / "other_host_ed25519")
    _keygen(folder / "stranger_ed25519")  # a client key the server does not let in
    remote_home = folder / "remote-home"
    remote_home.mkdir()
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder
    venv_bin = Path(sys.executable).parent
    remote_path = os.pathsep.join([str(venv_bin), "/usr/local/sbin", "/usr/local/bin",
                                   "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    opencode = ROOT / ".tools" / "node_modules" / ".bin" / "opencode"
    setenv = {
        "PATH": remote_path, "HOME": str(remote_home),
        "XDG_CONFIG_HOME": str(remote_home / ".config"),
        "XDG_DATA_HOME": str(remote_home / ".local/share"),
        "XDG_CACHE_HOME": str(remote_home / ".cache"),
        "XDG_STATE_HOME": str(remote_home / ".local/state"),
        "SYNTHETIC_OPENCODE_BIN": str(opencode), "OPENCODE_DISABLE_MODELS_FETCH": "1",
    }
    last = ""
    for _ in range(5):  # another process may take the port between finding and binding it
        port = free_port()
        config = folder / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress 127.0.0.1:{port}",
            f"HostKey {host_key}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "PermitRootLogin prohibit-password",
            "StrictModes no", "UsePAM no", "PidFile none", "LogLevel INFO",
            "SetEnv " + " ".join(f"{k}={v}" for k, v in setenv.items()),
            "",
        ]))
        log = (folder / "sshd.log").open("wb")
        process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-e"], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log)
        server = _client_side(folder, port, process, host_pub, other_pub, client_key)
        if _wait_for_login(server, deadline=time.monotonic() + 20):
            return server
        server.stop()
        last = (folder / "sshd.log").read_text(errors="replace")
    raise RuntimeError(f"sshd did not start: {last[-2000:]}")


def _client_side(folder: Path, port: int, process: subprocess.Popen[bytes], host_pub: str,
                 other_pub: str, client_key: Path) -> SshServer:
    key_type, key = host_pub.split()[:2]
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key}\n")
    other_type, other = other_pub.split()[:2]
    changed = folder / "known_hosts_changed"
    changed.write_text(f"[127.0.0.1]:{port} {other_type} {other}\n")
    (folder / "known_hosts_empty").write_text("")
    settings = ["  IdentitiesOnly yes", "  User root", "  StrictHostKeyChecking yes",
                "  GlobalKnownHostsFile /dev/null", "  LogLevel ERROR"]
    common = [f"  IdentityFile {client_key}", *settings]
    config = folder / "ssh_config"
    config.write_text("\n".join([
        f"Host {ALIAS}", "  HostName 127.0.0.1", f"  Port {port}", *common,
        f"  UserKnownHostsFile {known}",
        f"Host {CHANGED}", "  HostName 127.0.0.1", f"  Port {port}", *common,
        f"  UserKnownHostsFile {changed}",
        f"Host {DOWN}", "  HostName 127.0.0.1", f"  Port {free_port()}", *common,
        f"  UserKnownHostsFile {known}",
        f"Host {UNKNOWN}", "  HostName 127.0.0.1", f"  Port {port}", *common,
        f"  UserKnownHostsFile {folder / 'known_hosts_empty'}",
        f"Host {NOKEY}", "  HostName 127.0.0.1", f"  Port {port}",
        f"  IdentityFile {folder / 'stranger_ed25519'}", *settings,
        f"  UserKnownHostsFile {known}",
        "",
    ]))
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    system_ssh = shutil.which("ssh") or "/usr/bin/ssh"
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {system_ssh} -F {config} "$@"\n')
    wrapper.chmod(0o755)
    return SshServer(folder, port, process, bin_dir, config)


def _wait_for_login(server: SshServer, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        proc = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", ALIAS,
                               "true"], env=server.env(), capture_output=True, timeout=30)
        if proc.returncode == 0:
            return True
        time.sleep(0.1)
    return False
