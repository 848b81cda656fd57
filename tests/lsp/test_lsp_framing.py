"""Broken message framing neither kills nor deafens the server (issue 20, item 17).

The real server (``python -I -m synthetic_ls.lsp``) over real pipes: each bad
frame is written raw, then a well-formed ``initialize`` request; the server
must answer it and stay alive. The read of the answer has a deadline (the
select below), so a deaf server fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": None, "capabilities": {}}}
#: Generous: the answer comes in milliseconds; this only ends a hung test.
DEADLINE = 60.0


def frame(message: dict, *, eol: bytes = b"\r\n") -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d%s%s" % (len(body), eol, eol) + body


BAD = {
    "huge length": b"Content-Length: 99999999999\r\n\r\n{}",
    "not a number": b"Content-Length: twelve\r\n\r\n{\"jsonrpc\": \"2.0\"}",
    "negative": b"Content-Length: -5\r\n\r\n{\"jsonrpc\": \"2.0\"}",
    "too short": b"Content-Length: 3\r\n\r\n{\"jsonrpc\": \"2.0\", \"method\": \"x\"}",
    "no colon": b"Content-Length 12\r\n\r\n{\"jsonrpc\": 1}",
    "garbage line": b"\x00\xff this is not LSP at all\n" + b"x" * 100_000 + b"\n",
    "no headers": b"\r\n\r\n{}",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "synthetic_ls.lsp", "--log-file", str(tmp_path / "log")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path,
    )
    yield proc
    proc.kill()
    proc.wait()


def answer(proc: subprocess.Popen[bytes]) -> dict:
    """The server's answer to request 1 (it may report the broken frame first)."""
    while True:
        message = next_message(proc)
        if message.get("id") == 1:
            return message


def next_message(proc: subprocess.Popen[bytes]) -> dict:
    """The next message the server writes (headers, then the body), within DEADLINE."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""

    def more() -> None:
        nonlocal data
        ready, _, _ = select.select([fd], [], [], DEADLINE)
        assert ready, f"the server did not answer (exit status {proc.poll()})"
        chunk = os.read(fd, 65536)
        assert chunk, f"the server closed its output (exit status {proc.poll()})"
        data += chunk

    while b"\r\n\r\n" not in data:
        more()
    head, _, data = data.partition(b"\r\n\r\n")
    headers = dict(line.split(b":", 1) for line in head.split(b"\r\n"))
    length = int(headers[b"Content-Length"])
    while len(data) < length:
        more()
    return json.loads(data[:length])  # type: ignore[no-any-return]


@pytest.mark.parametrize("bad", list(BAD), ids=list(BAD))
def test_the_server_answers_after_a_broken_frame(
    server: subprocess.Popen[bytes], bad: str
) -> None:
    assert server.stdin is not None
    server.stdin.write(BAD[bad] + frame(INITIALIZE))
    server.stdin.flush()
    reply = answer(server)
    assert reply.get("id") == 1 and "capabilities" in reply["result"], reply
    assert server.poll() is None


def test_lf_only_headers_are_read(server: subprocess.Popen[bytes]) -> None:
    assert server.stdin is not None
    server.stdin.write(frame(INITIALIZE, eol=b"\n"))
    server.stdin.flush()
    assert answer(server)["id"] == 1
