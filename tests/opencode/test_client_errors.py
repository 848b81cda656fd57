"""Every failure of the client maps to one OpenCodeError code (fake servers on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from synthetic_ls.cli.exit_codes import ExitCode, exit_code
from synthetic_ls.errors import SyntheticError
from synthetic_ls.opencode import client as oc
from synthetic_ls.opencode.client import OpenCodeClient, OpenCodeError


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> OpenCodeClient:
    return OpenCodeClient("http://opencode.test", transport=httpx.MockTransport(handler))


def _raises(code: str, call: Callable[[], object]) -> OpenCodeError:
    with pytest.raises(OpenCodeError) as err:
        call()
    assert err.value.code == code, err.value
    assert isinstance(err.value, SyntheticError)
    return err.value


def test_5xx_is_http_error_with_the_server_message() -> None:
    c = _mock(lambda r: httpx.Response(500, json={"name": "UnknownError",
                                                  "data": {"message": "boom"}}))
    err = _raises(oc.HTTP, c.list_sessions)
    assert err.fields["status"] == 500 and err.fields["detail"] == "boom"
    assert "boom" in str(err) and exit_code(err) == ExitCode.FAILED


def test_400_is_http_error_and_404_of_a_session_is_gone() -> None:
    c = _mock(lambda r: httpx.Response(400, text="bad"))
    assert _raises(oc.HTTP, lambda: c.create_session("/x")).fields["detail"] == "bad"
    c = _mock(lambda r: httpx.Response(404, json={"name": "NotFoundError",
                                                  "data": {"message": "Session not found"}}))
    err = _raises(oc.SESSION_GONE, lambda: c.messages("ses_1"))
    assert err.fields["session_id"] == "ses_1" and exit_code(err) == ExitCode.NOT_FOUND


def test_401_is_auth() -> None:
    c = _mock(lambda r: httpx.Response(401, text="Unauthorized"))
    assert _raises(oc.AUTH, c.health).fields["status"] == 401


def test_malformed_json_and_wrong_shapes_are_bad_response() -> None:
    c = _mock(lambda r: httpx.Response(200, text="<html>not json"))
    _raises(oc.BAD_RESPONSE, c.list_sessions)
    c = _mock(lambda r: httpx.Response(200, json={"not": "a list"}))
    _raises(oc.BAD_RESPONSE, c.list_sessions)
    c = _mock(lambda r: httpx.Response(200, json=[{"no": "id"}]))
    _raises(oc.BAD_RESPONSE, c.list_sessions)
    c = _mock(lambda r: httpx.Response(200, json={"info": "x"}))
    _raises(oc.BAD_RESPONSE, lambda: c.send("ses_1", "hi"))
    c = _mock(lambda r: httpx.Response(200, json=["x"]))
    _raises(oc.BAD_RESPONSE, c.statuses)


def test_requests_carry_directory_and_bodies() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "ses_1", "directory": "/w", "title": "t"})

    c = _mock(handler)
    c.create_session("/w", title="t", provider_id="p", model_id="m", agent="build")
    assert seen[0].url.params["directory"] == "/w"
    assert seen[0].read() == (b'{"title":"t","model":{"providerID":"p","id":"m"},'
                              b'"agent":"build"}')
    with pytest.raises(ValueError):
        c.reply_permission("per_1", "maybe")


def _raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    conns: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conns.append(conn)
            conn.recv(65536)
            respond(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    # shutdown() wakes the accept() above; close() alone would leave the thread
    # blocked on a descriptor number the next socket of this process reuses
    # (the offline model's listener, whose connections it would then steal).
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=5)
    listener.close()
    for conn in conns:
        conn.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    yield from _raw_server(lambda conn: None)  # accepts, reads, never answers


def test_a_server_that_never_answers_is_a_timeout(silent_server: str) -> None:
    with OpenCodeClient(silent_server, timeout=0.3) as c:
        err = _raises(oc.TIMEOUT, c.health)
        assert err.fields["path"] == "/global/health"
        _raises(oc.TIMEOUT, lambda: c.wait_healthy(within=0.5, interval=0.1))


SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


EVENT = b'data: {"id":"evt_1","type":"server.connected","properties":{}}\n\n'


@pytest.fixture
def cut_stream_server() -> Iterator[str]:
    def respond(conn: socket.socket) -> None:
        conn.sendall(SSE_HEAD + _chunk(EVENT) + _chunk(b'data: {"type":"sess'))
        conn.close()  # mid-event, and mid chunked body

    yield from _raw_server(respond)


@pytest.fixture
def ended_stream_server() -> Iterator[str]:
    def respond(conn: socket.socket) -> None:
        conn.sendall(SSE_HEAD + _chunk(EVENT) + b"0\r\n\r\n")  # a clean end
        conn.close()

    yield from _raw_server(respond)


@pytest.fixture
def garbage_stream_server() -> Iterator[str]:
    def respond(conn: socket.socket) -> None:
        conn.sendall(SSE_HEAD + _chunk(b"data: {not json\n\n") + b"0\r\n\r\n")
        conn.close()

    yield from _raw_server(respond)


def test_a_stream_cut_mid_event(cut_stream_server: str) -> None:
    with OpenCodeClient(cut_stream_server) as c:
        stream = c.events(directory="/w")
        assert next(stream).type == "server.connected"
        err = _raises(oc.STREAM_CUT, lambda: next(stream))
        assert err.fields["path"] == "/event"


def test_a_stream_that_ends_is_cut_too(ended_stream_server: str) -> None:
    with OpenCodeClient(ended_stream_server) as c:
        stream = c.events()
        assert next(stream).type == "server.connected"
        assert _raises(oc.STREAM_CUT, lambda: next(stream)).fields["path"] == "/global/event"


def test_a_malformed_event_is_bad_response(garbage_stream_server: str) -> None:
    with OpenCodeClient(garbage_stream_server) as c:
        _raises(oc.BAD_RESPONSE, lambda: next(c.events(directory="/w")))


def test_global_events_are_unwrapped() -> None:
    body = (b'data: {"directory":"/w","payload":{"type":"session.idle",'
            b'"properties":{"sessionID":"ses_1"}}}\n\n')
    c = _mock(lambda r: httpx.Response(200, content=body,
                                       headers={"content-type": "text/event-stream"}))
    stream = c.events()
    event = next(stream)
    assert (event.type, event.session_id) == ("session.idle", "ses_1")
    _raises(oc.STREAM_CUT, lambda: next(stream))
