"""The client against a real ``opencode serve`` with the offline model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from synthetic_ls.opencode import client as oc
from synthetic_ls.opencode.client import OpenCodeClient, OpenCodeError
from synthetic_ls.opencode.offline_model import OfflineModelServer

from .conftest import MODEL, PROVIDER, OpenCodeServer, free_port, running_opencode


def _wait(predicate, within: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_health(client: OpenCodeClient) -> None:
    health = client.health()
    assert health.healthy and health.version == "1.18.33"


def test_session_create_get_list_delete_then_gone(client: OpenCodeClient, tmp_path: Path) -> None:
    directory = str(tmp_path)
    session = client.create_session(directory, title="construct-a",
                                    provider_id=PROVIDER, model_id=MODEL)
    assert session.id.startswith("ses") and session.title == "construct-a"
    assert session.directory == directory
    assert (session.provider_id, session.model_id) == (PROVIDER, MODEL)

    again = client.get_session(session.id)
    assert again.id == session.id and again.directory == directory
    assert [s.id for s in client.list_sessions(directory=directory)] == [session.id]

    assert client.delete_session(session.id) is True
    with pytest.raises(OpenCodeError) as gone:
        client.get_session(session.id)
    assert gone.value.code == oc.SESSION_GONE
    assert gone.value.fields["session_id"] == session.id
    assert gone.value.fields["status"] == 404
    with pytest.raises(OpenCodeError) as gone_delete:
        client.delete_session(session.id)
    assert gone_delete.value.code == oc.SESSION_GONE
    assert client.list_sessions(directory=directory) == []


def test_prompt_and_reply_with_title(
    client: OpenCodeClient, offline_model: OfflineModelServer, tmp_path: Path
) -> None:
    directory = str(tmp_path)
    session = client.create_session(directory, provider_id=PROVIDER, model_id=MODEL)
    reply = client.send(session.id, "hello from synthetic", directory=directory,
                        provider_id=PROVIDER, model_id=MODEL, timeout=20)
    assert reply.role == "assistant" and reply.finish == "stop"
    assert reply.text == "Offline model reply to: hello from synthetic"
    history = client.messages(session.id, directory=directory)
    assert [m.role for m in history] == ["user", "assistant"]
    assert history[0].text == "hello from synthetic"
    # The first prompt of an untitled session also asks the model for a title.
    titled = _wait(lambda: client.get_session(session.id).title.startswith("Offline: "))
    assert titled
    assert client.get_session(session.id).title == "Offline: hello from synthetic"
    assert client.statuses(directory=directory).get(session.id, "idle") == "idle"
    client.delete_session(session.id)


def test_tool_call_asks_permission_and_is_approved_with_events(
    client: OpenCodeClient, tmp_path: Path
) -> None:
    directory = str(tmp_path)
    session = client.create_session(directory, title="tool", provider_id=PROVIDER,
                                    model_id=MODEL)
    seen: list[oc.Event] = []
    stream = client.events(directory=directory)
    first = next(stream)
    assert first.type == "server.connected"
    client.prompt_async(session.id, "go [tool:bash echo synthetic-ok]", directory=directory,
                        provider_id=PROVIDER, model_id=MODEL)
    for event in stream:
        seen.append(event)
        if event.type == "permission.asked":
            break
    asked = client.permissions(directory=directory)
    assert [(p.session_id, p.permission) for p in asked] == [(session.id, "bash")]
    assert client.statuses(directory=directory)[session.id] == "busy"
    assert client.reply_permission(asked[0].id, "once", directory=directory) is True
    for event in stream:
        seen.append(event)
        if event.type == "session.idle" and event.session_id == session.id:
            break
    stream.close()
    types = {e.type for e in seen}
    assert {"session.status", "message.updated", "permission.asked",
            "permission.replied", "session.idle"} <= types
    messages = client.messages(session.id, directory=directory)
    tools = [p for m in messages for p in m.tool_parts]
    assert tools[0]["tool"] == "bash" and tools[0]["state"]["status"] == "completed"
    assert "synthetic-ok" in tools[0]["state"]["output"]
    assert messages[-1].text == "Tool bash returned: synthetic-ok"
    client.delete_session(session.id)


def test_abort_a_busy_turn(client: OpenCodeClient, tmp_path: Path) -> None:
    directory = str(tmp_path)
    session = client.create_session(directory, title="slow", provider_id=PROVIDER,
                                    model_id=MODEL)
    client.prompt_async(session.id, "take your time [delay:2]", directory=directory,
                        provider_id=PROVIDER, model_id=MODEL)
    _wait(lambda: client.statuses(directory=directory).get(session.id) == "busy")
    assert client.abort(session.id, directory=directory) is True
    _wait(lambda: client.statuses(directory=directory).get(session.id, "idle") == "idle")
    last = client.messages(session.id, directory=directory)[-1]
    assert last.role == "assistant" and last.error is not None
    assert last.error.get("name") == "MessageAbortedError"
    client.delete_session(session.id)


def test_prompt_in_a_missing_directory_is_an_http_500(
    client: OpenCodeClient, tmp_path: Path
) -> None:
    directory = str(tmp_path / "not-made")
    session = client.create_session(directory, title="nowhere", provider_id=PROVIDER,
                                    model_id=MODEL)
    with pytest.raises(OpenCodeError) as err:
        client.send(session.id, "hi", directory=directory, timeout=20)
    assert err.value.code == oc.HTTP and err.value.fields["status"] == 500
    client.delete_session(session.id)


def test_wrong_password_is_auth_error(opencode_server: OpenCodeServer) -> None:
    with opencode_server.client(password="wrong") as bad:
        with pytest.raises(OpenCodeError) as err:
            bad.list_sessions()
        assert err.value.code == oc.AUTH and err.value.fields["status"] == 401
        with pytest.raises(OpenCodeError) as err2:
            bad.wait_healthy(within=5)
        assert err2.value.code == oc.AUTH
        with pytest.raises(OpenCodeError) as err_events:
            next(bad.events(directory="/tmp"))
        assert err_events.value.code == oc.AUTH
    with OpenCodeClient(opencode_server.url) as none:
        with pytest.raises(OpenCodeError) as err3:
            none.health()
        assert err3.value.code == oc.AUTH


def test_unknown_permission_is_http_404(client: OpenCodeClient) -> None:
    with pytest.raises(OpenCodeError) as err:
        client.reply_permission("per_doesnotexist", "once")
    assert err.value.code == oc.HTTP and err.value.fields["status"] == 404
    assert "per_doesnotexist" in err.value.fields["detail"]


def test_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with OpenCodeClient(url) as c:
        with pytest.raises(OpenCodeError) as err:
            c.health()
        assert err.value.code == oc.UNREACHABLE and err.value.fields["url"] == url
        # It gives up (returns) with the last failure once `within` is spent.
        with pytest.raises(OpenCodeError) as err2:
            c.wait_healthy(within=0.6, interval=0.1)
        assert err2.value.code == oc.UNREACHABLE
        with pytest.raises(OpenCodeError) as err3:
            next(c.events(directory="/tmp"))
        assert err3.value.code == oc.UNREACHABLE


@pytest.mark.slow
def test_sessions_survive_a_server_restart(
    opencode_bin: str, offline_model: OfflineModelServer, tmp_path: Path
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    with running_opencode(opencode_bin, home, offline_model.url) as first, first.client() as c:
        session = c.create_session(str(work), title="keep", provider_id=PROVIDER,
                                   model_id=MODEL)
        c.send(session.id, "remember me", directory=str(work), timeout=20)
    with running_opencode(opencode_bin, home, offline_model.url) as second, \
            second.client() as c:
        again = c.get_session(session.id)
        assert (again.id, again.title, again.directory) == (session.id, "keep", str(work))
        texts = [m.text for m in c.messages(session.id, directory=str(work))]
        assert texts == ["remember me", "Offline model reply to: remember me"]
