"""A forwarding HTTP proxy in front of the real ``opencode serve``, for fault injection.

Every request goes to the real server unchanged, except where a rule says
otherwise: answer with a status or a body of its own, hold the answer back,
or cut an event stream after some bytes. It is how the tests make a real
server fail at one exact point (a 500 on session creation, a stream cut
mid-event, a slow answer) without imitating the server.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Rule:
    """What to do with requests whose ``METHOD path`` matches ``pattern`` (a regex)."""

    pattern: str
    status: int | None = None  # answer this status instead of forwarding
    body: bytes = b""
    delay: float = 0.0  # forward, but hold the answer this long
    cut_after: int | None = None  # stream: close the connection after this many bytes
    times: int | None = None  # apply this many times, then forward as usual
    hits: int = 0

    def matches(self, line: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return re.search(self.pattern, line) is not None


@dataclass
class FaultProxy:
    """The proxy's address and its rules (change them while it runs)."""

    target: str
    url: str = ""
    rules: list[Rule] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def rule(self, line: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(line):
                rule.hits += 1
                return rule
        return None


def _handler(proxy: FaultProxy, client: httpx.Client) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            line = f"{self.command} {self.path}"
            proxy.seen.append(line)
            rule = proxy.rule(line)
            if rule is not None and rule.status is not None:
                time.sleep(rule.delay)
                self.send_response(rule.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(rule.body)))
                self.end_headers()
                self.wfile.write(rule.body)
                return
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            request = client.build_request(self.command, proxy.target + self.path,
                                           headers=headers, content=body)
            response = client.send(request, stream=True)
            try:
                if rule is not None:
                    time.sleep(rule.delay)
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("connection", "close")
                self.end_headers()
                sent = 0
                for chunk in response.iter_raw():
                    if rule is not None and rule.cut_after is not None:
                        room = rule.cut_after - sent
                        if room <= 0 or len(chunk) > room:
                            self.wfile.write(chunk[:max(room, 0)])
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, OSError):
                return
            finally:
                response.close()
            self.close_connection = True

        do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _forward

    return Handler


@contextmanager
def fault_proxy(target: str) -> Iterator[FaultProxy]:
    """Run a proxy to ``target`` on a free loopback port until the block ends."""
    proxy = FaultProxy(target.rstrip("/"))
    client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy, client))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        client.close()
