"""An offline, scripted OpenAI-compatible chat model for development, demos and tests.

It needs no credentials and listens on 127.0.0.1 only. OpenCode talks to it
through a provider such as::

    {"provider": {"offline": {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": "<url>/v1"},
        "models": {"echo": {"name": "Offline echo"}}}}}

Endpoints: ``POST /v1/chat/completions`` (also ``/chat/completions``), and
``GET /v1/models``. With ``"stream": true`` the answer is a series of OpenAI
``chat.completion.chunk`` SSE lines, a last chunk with ``finish_reason`` and
``usage``, then ``data: [DONE]``; otherwise one ``chat.completion`` object.

Behaviour is deterministic, chosen from the request's messages:

* **title request** (a system message asking for a title, as OpenCode sends on
  the first prompt of a session): answers ``Offline: <first words of the
  user's text>``.
* **after a tool result** (the last message has role ``tool``): a short
  summary, ``Tool <name> returned: <first line of its output>``.
* **tool marker** in the last user message, ``[tool:NAME ARGS]``: a
  ``delta.tool_calls`` call to tool NAME. For ``bash`` ARGS is the command
  (``[tool:bash echo hi]`` calls bash with ``{"command": "echo hi",
  "description": ...}``, which OpenCode asks permission for); for any other
  tool ARGS must be a JSON object, the call's arguments
  (``[tool:read {"filePath": "README.md"}]``; arrays in it are fine:
  ``[tool:question {"questions": [...]}]`` asks the person a question).
* **failure marker** ``[fail]``: HTTP 400 with an OpenAI-style error body;
  OpenCode does not retry a 4xx, so the turn ends in ``session.error``.
* **delay marker** ``[delay:SECONDS]`` (combinable with the others): waits
  that long before each streamed chunk after the first, so a turn stays busy
  long enough to be aborted.
* otherwise an **echo**: ``Offline model reply to: <the last user text>``.

Run it with ``python -m synthetic_ls.opencode.offline_model --port 0``: it
prints its base URL (``http://127.0.0.1:PORT``) on the first line of stdout and
serves until interrupted. Tests use :func:`start_in_thread`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
TOOL_MARKER = re.compile(r"\[tool:([A-Za-z0-9_.\-]+)(?:\s+([^\]]*))?\]")
DELAY_MARKER = re.compile(r"\[delay:(\d+(?:\.\d+)?)\]")
FAIL_MARKER = "[fail]"
ECHO_PREFIX = "Offline model reply to: "
TITLE_PREFIX = "Offline: "
MAX_DELAY = 30.0


@dataclass(frozen=True)
class ToolCall:
    """One scripted tool call: the tool's name and its JSON arguments."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    """What the model answers to one request."""

    text: str = ""
    tool_call: ToolCall | None = None
    delay: float = 0.0
    fail: str | None = None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_call else "stop"


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in (None, "text")
        )
    return ""


def _is_title_request(messages: list[dict[str, Any]]) -> bool:
    for message in messages:
        if message.get("role") == "system":
            text = message_text(message).lower()
            if "title generator" in text or "generate a title" in text:
                return True
    return False


def _last(messages: list[dict[str, Any]], role: str) -> dict[str, Any] | None:
    for message in reversed(messages):
        if message.get("role") == role:
            return message
    return None


def _tool_arguments(name: str, raw: str) -> str:
    if name == "bash":
        return json.dumps({"command": raw, "description": f"Run {raw}"[:80]})
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"input": raw}
    if not isinstance(parsed, dict):
        parsed = {"input": parsed}
    return json.dumps(parsed)


def _json_arguments(text: str, match: re.Match[str]) -> str | None:
    """A JSON object written after ``[tool:NAME `` whole, ``]`` inside it included (the
    marker's pattern stops at the first ``]``, which a JSON array holds)."""
    start = text.find("{", match.start(), match.end())
    if start == -1 or text[match.start():start].strip().count(" ") > 0:
        return None
    try:
        _value, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return text[start:end] if text[end:end + 1] == "]" else None


def _tool_name_for(messages: list[dict[str, Any]], tool_call_id: str | None) -> str:
    for message in reversed(messages):
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id") == tool_call_id:
                return str((call.get("function") or {}).get("name", "tool"))
    return "tool"


def decide(messages: list[dict[str, Any]]) -> Reply:
    """The scripted reply to a conversation (pure; see the module docstring)."""
    user = _last(messages, "user")
    user_text = message_text(user).strip() if user else ""
    delay_match = DELAY_MARKER.search(user_text)
    delay = min(float(delay_match.group(1)), MAX_DELAY) if delay_match else 0.0
    if _is_title_request(messages):
        words = " ".join(TOOL_MARKER.sub("", DELAY_MARKER.sub("", user_text)).split()[:6])
        return Reply(text=TITLE_PREFIX + (words or "session"))
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        output = message_text(last).strip().splitlines()
        first = output[0] if output else "(no output)"
        name = _tool_name_for(messages, last.get("tool_call_id"))
        return Reply(text=f"Tool {name} returned: {first}", delay=delay)
    if FAIL_MARKER in user_text:
        return Reply(fail="scripted failure ([fail] marker)")
    match = TOOL_MARKER.search(user_text)
    if match:
        name, raw = match.group(1), (match.group(2) or "").strip()
        raw = _json_arguments(user_text, match) or raw
        call = ToolCall(id="call_" + uuid.uuid4().hex[:12], name=name,
                        arguments=_tool_arguments(name, raw))
        return Reply(text="", tool_call=call, delay=delay)
    return Reply(text=ECHO_PREFIX + (user_text or "(nothing)"), delay=delay)


def _usage(messages: list[dict[str, Any]], reply: Reply) -> dict[str, int]:
    prompt = sum(len(message_text(m).split()) for m in messages)
    completion = len(reply.text.split()) + (1 if reply.tool_call else 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _pieces(text: str) -> list[str]:
    """Split text into a few stream deltas that concatenate back to it."""
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i:i + 3]) for i in range(0, len(words), 3)] or [""]


def stream_chunks(model: str, messages: list[dict[str, Any]], reply: Reply) -> Iterator[dict]:
    """The ``chat.completion.chunk`` objects of a streamed reply."""
    cid = "chatcmpl-" + uuid.uuid4().hex[:16]
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        body.update(extra)
        return body

    yield chunk({"role": "assistant", "content": ""})
    if reply.tool_call:
        call = reply.tool_call
        yield chunk({"tool_calls": [{"index": 0, "id": call.id, "type": "function",
                                     "function": {"name": call.name, "arguments": ""}}]})
        yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": call.arguments}}]})
    else:
        for piece in _pieces(reply.text):
            yield chunk({"content": piece})
    yield chunk({}, reply.finish_reason, usage=_usage(messages, reply))


def completion(model: str, messages: list[dict[str, Any]], reply: Reply) -> dict:
    """A whole ``chat.completion`` object (for ``stream: false``)."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_call:
        call = reply.tool_call
        message["tool_calls"] = [{"id": call.id, "type": "function",
                                  "function": {"name": call.name,
                                               "arguments": call.arguments}}]
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": reply.finish_reason}],
            "usage": _usage(messages, reply)}


@dataclass
class _State:
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server_version = "SyntheticOfflineModel/1"
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and demos read stdout

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [
                {"id": "echo", "object": "model", "owned_by": "synthetic-offline"}]})
        elif self.path.rstrip("/") in ("", "/health"):
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self) -> None:
        if self.path.split("?")[0].rstrip("/") not in ("/v1/chat/completions",
                                                         "/chat/completions"):
            self._send_json(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            messages = body["messages"]
            if not isinstance(messages, list):
                raise ValueError("messages is not a list")
        except (ValueError, KeyError, TypeError) as err:
            self._send_json(400, {"error": {"message": f"bad request: {err}",
                                            "type": "invalid_request_error"}})
            return
        with self.state.lock:
            self.state.requests.append(body)
        model = str(body.get("model") or "echo")
        reply = decide(messages)
        if reply.fail:
            self._send_json(
                400, {"error": {"message": reply.fail, "type": "invalid_request_error"}}
            )
            return
        if not body.get("stream"):
            self._send_json(200, completion(model, messages, reply))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for i, chunk in enumerate(stream_chunks(model, messages, reply)):
                if i and reply.delay:
                    time.sleep(reply.delay)
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away (an aborted turn)


class OfflineModelServer(ThreadingHTTPServer):
    """The HTTP server; ``requests`` holds every chat request body received."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        super().__init__((HOST, port), handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.requests)


#: What the offline model costs, in USD per million tokens in and out (made up:
#: non-zero, so that costs are computed and shown as for a paid model).
PRICE_INPUT = 1.0
PRICE_OUTPUT = 4.0

#: The provider and model id the offline model is known by in OpenCode.
PROVIDER_ID = "offline"
MODEL_ID = "echo"
#: A second model id of the same behaviour, so that attempts with different models
#: (``new --model``) can be told apart in what the model receives.
SECOND_MODEL_ID = "echo-b"


def opencode_config(model_url: str, *, ask_bash: bool = True) -> str:
    """OpenCode config (JSON, for ``OPENCODE_CONFIG_CONTENT``) using this model and no network.

    With ``ask_bash``, the agent asks permission before every shell command
    (so a demo or a test can approve or deny it).
    """
    config: dict[str, Any] = {
        "$schema": "https://opencode.ai/config.json",
        "model": f"{PROVIDER_ID}/{MODEL_ID}",
        "small_model": f"{PROVIDER_ID}/{MODEL_ID}",
        "autoupdate": False,
        "share": "disabled",
        "provider": {PROVIDER_ID: {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Offline",
            "options": {"baseURL": model_url + "/v1"},
            # A price (USD per million tokens), as a real provider's model
            # has, so that OpenCode computes what each answer cost.
            "models": {MODEL_ID: {"name": "Offline echo", "tool_call": True,
                                  "cost": {"input": PRICE_INPUT, "output": PRICE_OUTPUT}},
                       SECOND_MODEL_ID: {"name": "Offline echo B", "tool_call": True,
                                         "cost": {"input": PRICE_INPUT,
                                                  "output": PRICE_OUTPUT}}},
        }},
    }
    if ask_bash:
        config["permission"] = {"bash": "ask"}
    return json.dumps(config)


def isolated_env(home: Path, model_url: str, *, ask_bash: bool = True) -> dict[str, str]:
    """Environment for an ``opencode serve`` on this model that reads and writes only ``home``.

    HOME and the XDG folders point under ``home`` (nothing of the person's
    OpenCode setup is read or changed); the config is :func:`opencode_config`.
    """
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OPENCODE_CONFIG_CONTENT": opencode_config(model_url, ask_bash=ask_bash),
    }


def start_in_thread(port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve on 127.0.0.1 in a daemon thread; return (base url, stop)."""
    server, stop = start_server_in_thread(port)
    return server.url, stop


def start_server_in_thread(port: int = 0) -> tuple[OfflineModelServer, Callable[[], None]]:
    """Like :func:`start_in_thread` but returns the server (for its ``requests``)."""
    server = OfflineModelServer(port)
    thread = threading.Thread(target=server.serve_forever, name="offline-model", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return server, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synthetic_ls.opencode.offline_model",
        description="Serve a scripted OpenAI-compatible chat model on 127.0.0.1 "
        "(no credentials). Prints its base URL; OpenCode's baseURL is URL/v1.")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument(
        "--print-config", action="store_true",
        help="also print, on a second line, the OpenCode config (JSON) that uses this model: "
        "give it to `opencode serve` as OPENCODE_CONFIG_CONTENT",
    )
    args = parser.parse_args(argv)
    server = OfflineModelServer(args.port)
    print(server.url, flush=True)
    if args.print_config:
        print(opencode_config(server.url), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
