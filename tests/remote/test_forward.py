"""Local forwards to a host's loopback over the real sshd (issue 24, item 3's building block).

A small HTTP server on 127.0.0.1 stands for a remote agent's server (the
test's host is this machine, reached over ssh): the forward reaches it from
a port of this machine's loopback, is shared while it answers, replaced when
its ssh is gone, and ends (process and record) when closed; a host that
refuses gives ``host-unreachable`` and leaves nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from state_format.owner import Liveness
from synthetic_ls.errors import SyntheticError
from synthetic_ls.remote.forward import (
    close_forward,
    open_forward,
    read_forward,
    recorded_forwards,
)
from tests.opencode.test_sessions import wait_for
from tests.remote.sshd_server import ALIAS, DOWN, SshServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def remote_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture
def on_path(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The person's ssh (with the test's config) first on PATH, as in the other tests."""
    monkeypatch.setenv("PATH", sshd.env()["PATH"])


def answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


def test_a_forward_reaches_the_hosts_loopback_is_shared_and_closes(
    on_path: None, remote_port: int, tmp_path: Path
) -> None:
    address = f"ssh://{ALIAS}/srv/clone"
    forward = open_forward(tmp_path, "test", address, remote_port)
    assert forward.local_port != remote_port
    assert get(forward.url) == "hello from the host"
    again = open_forward(tmp_path, "test", address, remote_port)
    assert again == forward, "an answering forward is shared"
    assert recorded_forwards(tmp_path) == [forward]
    # Its ssh killed: the next open replaces it.
    os.killpg(forward.owner.pid, signal.SIGKILL)
    wait_for(lambda: not answers(forward.local_port))
    replaced = open_forward(tmp_path, "test", address, remote_port)
    assert replaced.owner.pid != forward.owner.pid
    assert get(replaced.url) == "hello from the host"
    assert close_forward(tmp_path, "test", remote_port) is True
    assert replaced.owner.liveness() is not Liveness.ALIVE
    assert read_forward(tmp_path, "test", remote_port) is None
    assert close_forward(tmp_path, "test", remote_port) is False


def test_a_host_that_refuses_leaves_no_forward(
    on_path: None, remote_port: int, tmp_path: Path
) -> None:
    with pytest.raises(SyntheticError) as err:
        open_forward(tmp_path, "down", f"ssh://{DOWN}/srv/clone", remote_port)
    assert err.value.code == "host-unreachable"
    assert recorded_forwards(tmp_path) == []
    assert not list((tmp_path / "forwards").glob("*.log"))
