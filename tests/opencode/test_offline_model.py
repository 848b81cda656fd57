"""The offline OpenAI-compatible model over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from httpx_sse import connect_sse

from synthetic_ls.opencode import offline_model
from synthetic_ls.opencode.offline_model import OfflineModelServer, start_server_in_thread

TITLE_SYSTEM = "You are a title generator. You output ONLY a thread title."


@pytest.fixture(scope="module")
def model() -> Iterator[OfflineModelServer]:
    server, stop = start_server_in_thread()
    yield server
    stop()


def _stream(url: str, messages: list[dict]) -> list[dict]:
    chunks: list[dict] = []
    with httpx.Client(timeout=5) as http, connect_sse(
        http, "POST", url + "/v1/chat/completions",
        json={"model": "echo", "stream": True, "messages": messages},
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        datas = [sse.data for sse in source.iter_sse()]
    assert datas[-1] == "[DONE]"
    for data in datas[:-1]:
        chunks.append(json.loads(data))
    return chunks


def test_streamed_echo_has_chunks_finish_usage_and_done(model: OfflineModelServer) -> None:
    chunks = _stream(model.url, [{"role": "user", "content": "hello there, model"}])
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Offline model reply to: hello there, model"
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert set(last["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_content_as_parts_and_the_other_path(model: OfflineModelServer) -> None:
    body = {"model": "m1", "messages": [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": "from parts"}]}]}
    r = httpx.post(model.url + "/chat/completions", json=body, timeout=5)
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion" and data["model"] == "m1"
    assert data["choices"][0]["message"]["content"] == "Offline model reply to: from parts"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["total_tokens"] > 0


def test_tool_marker_streams_a_tool_call(model: OfflineModelServer) -> None:
    chunks = _stream(model.url, [{"role": "user", "content": "please [tool:bash echo hi] now"}])
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls") or []]
    assert calls[0]["function"]["name"] == "bash" and calls[0]["id"].startswith("call_")
    args = json.loads("".join(tc["function"]["arguments"] for tc in calls))
    assert args["command"] == "echo hi" and args["description"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_marker_with_json_arguments_not_streamed(model: OfflineModelServer) -> None:
    body = {"messages": [{"role": "user", "content": '[tool:read {"filePath": "a.txt"}]'}]}
    data = httpx.post(model.url + "/v1/chat/completions", json=body, timeout=5).json()
    call = data["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "read"
    assert json.loads(call["function"]["arguments"]) == {"filePath": "a.txt"}
    assert data["choices"][0]["finish_reason"] == "tool_calls"


def test_after_a_tool_result_it_summarises(model: OfflineModelServer) -> None:
    messages = [
        {"role": "user", "content": "[tool:bash echo hi]"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hi\nmore"},
    ]
    chunks = _stream(model.url, messages)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Tool bash returned: hi"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_title_request_gets_a_short_title(model: OfflineModelServer) -> None:
    messages = [{"role": "system", "content": TITLE_SYSTEM},
                {"role": "user",
                 "content": "fix the login [tool:bash ls] bug in the web app please"}]
    chunks = _stream(model.url, messages)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Offline: fix the login bug in the"


def test_fail_marker_and_bad_bodies_are_a_400(model: OfflineModelServer) -> None:
    body = {"stream": True, "messages": [{"role": "user", "content": "x [fail]"}]}
    r = httpx.post(model.url + "/v1/chat/completions", json=body, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("scripted failure")
    r = httpx.post(model.url + "/v1/chat/completions", content=b"{nope", timeout=5)
    assert r.status_code == 400
    assert httpx.post(model.url + "/v1/other", json={}, timeout=5).status_code == 404


def test_requests_are_recorded_and_models_listed(model: OfflineModelServer) -> None:
    before = len(model.requests)
    httpx.post(model.url + "/v1/chat/completions",
               json={"messages": [{"role": "user", "content": "count me"}]}, timeout=5)
    assert len(model.requests) == before + 1
    assert model.requests[-1]["messages"][0]["content"] == "count me"
    ids = [m["id"] for m in httpx.get(model.url + "/v1/models", timeout=5).json()["data"]]
    assert ids == ["echo"]


def test_decide_tool_marker_json_arguments_may_hold_arrays() -> None:
    args = {"questions": [{"question": "Which database?", "options": [{"label": "pg"}]}]}
    reply = offline_model.decide(
        [{"role": "user", "content": f"first [tool:question {json.dumps(args)}] then"}])
    assert reply.tool_call is not None and reply.tool_call.name == "question"
    assert json.loads(reply.tool_call.arguments) == args
    # Not JSON, or not closed by `]`: the marker as before (up to the first `]`).
    plain = offline_model.decide([{"role": "user", "content": "[tool:bash echo [x]"}])
    assert plain.tool_call is not None
    assert json.loads(plain.tool_call.arguments)["command"] == "echo [x"


def test_decide_delay_marker_is_capped() -> None:
    reply = offline_model.decide([{"role": "user", "content": "[delay:999] hi"}])
    assert reply.delay == offline_model.MAX_DELAY


def test_start_in_thread_stop_frees_the_port() -> None:
    url, stop = offline_model.start_in_thread()
    assert url.startswith("http://127.0.0.1:")
    assert httpx.get(url + "/v1/models", timeout=5).status_code == 200
    stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models", timeout=2)


def test_cli_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_ls.opencode.offline_model", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        body = {"messages": [{"role": "user", "content": "cli"}]}
        data = httpx.post(url + "/v1/chat/completions", json=body, timeout=5).json()
        assert data["choices"][0]["message"]["content"] == "Offline model reply to: cli"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
