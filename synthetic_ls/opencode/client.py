"""A small httpx client for the HTTP API of ``opencode serve`` (checked against 1.18.33).

Every failure becomes one :class:`OpenCodeError` with a stable ``code``:

=========================  ====================================================
``opencode-unreachable``   nothing answers at the URL (refused, reset, DNS)
``opencode-timeout``       connecting or reading took longer than the timeout
``opencode-auth``          401: no password or the wrong one
``opencode-session-gone``  404 on a session's URL: the session does not exist
``opencode-http``          any other 4xx or 5xx
``opencode-bad-response``  a body that is not the JSON shape expected
``opencode-stream-cut``    the event stream ended or broke
=========================  ====================================================

Its ``fields`` hold ``url`` and, where they apply, ``method``, ``path``,
``status``, ``session_id`` and ``detail`` (the server's own message).

API facts this relies on (from ``GET /doc`` and real calls):

* ``GET /global/health`` -> ``{"healthy": true, "version": "1.18.33"}``.
* ``GET /config/providers`` -> ``{"providers": [{"id", "models": {id: ...}}],
  "default": {provider: model}}``: only the providers usable now (with
  credentials, or needing none); ``GET /provider`` lists every known one.
* ``POST /session?directory=D`` body ``{"title", "model": {"id", "providerID"},
  "agent"}`` -> a Session ``{"id": "ses_...", "directory", "title",
  "projectID", "version", "model": {...}, "time": {"created", "updated"}}``
  (times in ms). ``GET /session/{id}`` and ``DELETE`` (-> ``true``) answer 404
  ``{"name": "NotFoundError", "data": {"message"}}`` for an unknown id.
* ``GET /session/status?directory=D`` -> ``{session id: {"type": "busy" |
  "idle" | "retry", ...}}``; idle sessions are usually left out.
* ``POST /session/{id}/message`` body ``{"parts": [{"type": "text", "text"}],
  "model": {"providerID", "modelID"}, "agent"}`` waits for the turn and returns
  ``{"info": AssistantMessage, "parts": [...]}``; ``prompt_async`` takes the
  same body and returns 204 at once. ``GET /session/{id}/message`` -> a list
  of ``{"info", "parts"}``.
* ``GET /permission`` -> ``[{"id": "per_...", "sessionID", "permission",
  "patterns", "metadata", "always", "tool": {"messageID", "callID"}}]``;
  ``POST /permission/{id}/reply`` body ``{"reply": "once" | "always" |
  "reject", "message"?}`` -> ``true``.
* ``GET /event?directory=D``: SSE, ``data:`` lines only, each
  ``{"id": "evt_...", "type", "properties": {...}}``; the first is
  ``server.connected``. ``GET /global/event`` wraps each one as
  ``{"payload": {...}}`` (plus ``directory`` on per-directory events).
* Errors: 404 bodies are ``{"name": "NotFoundError", "data": {"message"}}``
  (sessions) or ``{"_tag": "PermissionNotFoundError", "message"}``; 401 has an
  empty body. ``POST /session/{unknown}/abort`` answers 200 ``true``. A
  session whose directory does not exist is created, but a prompt in it fails
  with 500 ("Unexpected server error"): create the worktree first.
* Without a title, the first prompt makes OpenCode ask the model for one (a
  system prompt starting "You are a title generator") and set it.
* With ``OPENCODE_SERVER_PASSWORD`` set, every route needs Basic auth with user
  ``opencode`` and answers 401 otherwise.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthetic_ls.errors import SyntheticError

if TYPE_CHECKING:
    import httpx

# httpx (about 40 ms to import) is imported where a client is made or a
# request is sent: reads that find no running server, and every command that
# only names OpenCodeError, never load it.

UNREACHABLE = "opencode-unreachable"
TIMEOUT = "opencode-timeout"
HTTP = "opencode-http"
BAD_RESPONSE = "opencode-bad-response"
AUTH = "opencode-auth"
SESSION_GONE = "opencode-session-gone"
STREAM_CUT = "opencode-stream-cut"

USERNAME = "opencode"
#: Per-request timeout for quick calls; a prompt that waits for its turn uses its own.
DEFAULT_TIMEOUT = 5.0
#: A turn of a real model can take minutes.
TURN_TIMEOUT = 600.0
#: The server loads a folder's config and providers on its first request there:
#: over 5 s after a cold start on two loaded cores (measured), so the calls that
#: may be that first request wait this long, unless ``LOAD_TIMEOUT_ENV`` says otherwise.
FOLDER_LOAD_TIMEOUT = 60.0
#: Seconds to wait for the server to load a folder (a slower or faster machine).
LOAD_TIMEOUT_ENV = "SYNTHETIC_OPENCODE_LOAD_TIMEOUT"
#: The event stream sends a heartbeat about every 10 s; longer silence is a dead stream.
EVENT_READ_TIMEOUT = 30.0


def folder_load_timeout() -> float:
    """How long a call that may load a folder waits: ``LOAD_TIMEOUT_ENV``, else the default.

    A value that is not a positive number of seconds is refused with
    ``invalid-input`` rather than silently replaced.
    """
    raw = os.environ.get(LOAD_TIMEOUT_ENV, "").strip()
    if not raw:
        return FOLDER_LOAD_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise SyntheticError(
            f"{LOAD_TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}",
            code="invalid-input",
        )
    return value


class OpenCodeError(SyntheticError):
    """A failed call to an OpenCode server; ``code`` says which kind (see module doc)."""

    def __init__(self, message: str, *, code: str, **fields: Any) -> None:
        super().__init__(
            message, code=code, fields={k: v for k, v in fields.items() if v is not None}
        )


# --- what the client returns ------------------------------------------------


@dataclass(frozen=True)
class Health:
    healthy: bool
    version: str


@dataclass(frozen=True)
class Session:
    id: str
    directory: str
    title: str
    project_id: str | None = None
    version: str | None = None
    provider_id: str | None = None
    model_id: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Message:
    """One message with its parts; ``text`` joins its text parts."""

    id: str
    session_id: str
    role: str
    text: str
    finish: str | None = None
    error: dict[str, Any] | None = None
    parts: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tool_parts(self) -> list[dict[str, Any]]:
        return [p for p in self.parts if p.get("type") == "tool"]


@dataclass(frozen=True)
class Permission:
    id: str
    session_id: str
    permission: str
    patterns: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Providers:
    """Usable providers: their model ids, and each one's default model."""

    models: dict[str, list[str]]
    defaults: dict[str, str]


@dataclass(frozen=True)
class Event:
    """One event of the stream: ``type`` (``session.status`` ...) and ``properties``."""

    type: str
    properties: dict[str, Any]
    id: str | None = None

    @property
    def session_id(self) -> str | None:
        sid = self.properties.get("sessionID")
        return sid if isinstance(sid, str) else None


# --- parsing ----------------------------------------------------------------


def _bad(what: str, body: Any, url: str) -> OpenCodeError:
    return OpenCodeError(
        f"OpenCode at {url} sent an unexpected {what}",
        code=BAD_RESPONSE, url=url, detail=repr(body)[:200],
    )


def _session(body: Any, url: str) -> Session:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise _bad("session", body, url)
    model: dict[str, Any] = body["model"] if isinstance(body.get("model"), dict) else {}
    times: dict[str, Any] = body["time"] if isinstance(body.get("time"), dict) else {}
    return Session(
        id=body["id"],
        directory=str(body.get("directory", "")),
        title=str(body.get("title", "")),
        project_id=body.get("projectID"),
        version=body.get("version"),
        provider_id=model.get("providerID"),
        model_id=model.get("id"),
        created_ms=times.get("created"),
        updated_ms=times.get("updated"),
        raw=body,
    )


def _message(body: Any, url: str) -> Message:
    if not isinstance(body, dict) or not isinstance(body.get("info"), dict):
        raise _bad("message", body, url)
    info, parts = body["info"], body.get("parts") or []
    if not isinstance(parts, list) or not isinstance(info.get("id"), str):
        raise _bad("message", body, url)
    text = "".join(
        str(p.get("text", "")) for p in parts
        if isinstance(p, dict) and p.get("type") == "text" and not p.get("synthetic")
    )
    return Message(
        id=info["id"], session_id=str(info.get("sessionID", "")),
        role=str(info.get("role", "")), text=text, finish=info.get("finish"),
        error=info.get("error"), parts=[p for p in parts if isinstance(p, dict)], raw=body,
    )


def _permission(body: Any, url: str) -> Permission:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise _bad("permission request", body, url)
    return Permission(
        id=body["id"], session_id=str(body.get("sessionID", "")),
        permission=str(body.get("permission", "")),
        patterns=[str(p) for p in body.get("patterns") or []], raw=body,
    )


def _list(body: Any, what: str, url: str) -> list[Any]:
    if not isinstance(body, list):
        raise _bad(what, body, url)
    return body


# --- the client ---------------------------------------------------------------


class OpenCodeClient:
    """Calls one OpenCode server. Thread-safe (one httpx.Client); close when done."""

    def __init__(
        self,
        base_url: str,
        *,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx  # only where a client is made: see the imports above

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        auth = httpx.BasicAuth(USERNAME, password) if password else None
        self._http = httpx.Client(
            base_url=self.base_url, auth=auth, timeout=timeout, transport=transport,
            headers={"accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenCodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # - plumbing -

    def _fail_transport(self, err: httpx.TransportError, method: str, path: str) -> OpenCodeError:
        import httpx  # loaded already: a client was made

        if isinstance(err, httpx.TimeoutException):
            return OpenCodeError(
                f"OpenCode at {self.base_url} did not answer {method} {path} in time",
                code=TIMEOUT, url=self.base_url, method=method, path=path,
                detail=type(err).__name__,
            )
        return OpenCodeError(
            f"OpenCode is not reachable at {self.base_url} ({type(err).__name__})",
            code=UNREACHABLE, url=self.base_url, method=method, path=path, detail=str(err),
        )

    def _fail_status(
        self, response: httpx.Response, method: str, path: str, session_id: str | None
    ) -> OpenCodeError:
        status = response.status_code
        detail = _error_detail(response)
        if status == 401:
            return OpenCodeError(
                f"OpenCode at {self.base_url} refused the password (401)",
                code=AUTH, url=self.base_url, method=method, path=path, status=status,
            )
        if status == 404 and session_id is not None:
            return OpenCodeError(
                f"OpenCode session {session_id} no longer exists",
                code=SESSION_GONE, url=self.base_url, method=method, path=path,
                status=status, session_id=session_id, detail=detail,
            )
        return OpenCodeError(
            f"OpenCode answered {status} to {method} {path}" + (f": {detail}" if detail else ""),
            code=HTTP, url=self.base_url, method=method, path=path, status=status,
            detail=detail, session_id=session_id,
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        directory: str | None = None,
        params: dict[str, Any] | None = None,
        body: Any = None,
        session_id: str | None = None,
        timeout: float | None = None,
        expect_json: bool = True,
    ) -> Any:
        import httpx  # loaded already: a client was made

        query = dict(params or {})
        if directory is not None:
            query["directory"] = directory
        try:
            response = self._http.request(
                method, path, params=query or None, json=body,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.TransportError as err:
            raise self._fail_transport(err, method, path) from err
        if response.status_code >= 400:
            raise self._fail_status(response, method, path, session_id)
        if not expect_json:
            return None
        try:
            return response.json()
        except ValueError as err:
            raise _bad(f"body for {method} {path}", response.text, self.base_url) from err

    # - health -

    def health(self, *, timeout: float | None = None) -> Health:
        body = self._request("GET", "/global/health", timeout=timeout)
        if not isinstance(body, dict) or "healthy" not in body:
            raise _bad("health answer", body, self.base_url)
        return Health(healthy=bool(body["healthy"]), version=str(body.get("version", "")))

    def wait_healthy(self, *, within: float = 15.0, interval: float = 0.2) -> Health:
        """Poll ``/global/health`` with short timeouts until it answers (a start-up wait).

        401 fails at once (retrying cannot fix a password); other failures are
        retried until ``within`` seconds passed, then the last one is raised.
        """
        deadline = time.monotonic() + within
        while True:
            try:
                return self.health(timeout=min(1.0, self.timeout))
            except OpenCodeError as err:
                if err.code in (AUTH, BAD_RESPONSE) or time.monotonic() + interval > deadline:
                    raise
            time.sleep(interval)

    def providers(self, *, directory: str | None = None) -> Providers:
        """The providers the server can use now (``GET /config/providers``).

        A provider is listed when it has credentials or needs none (a local
        ``openai-compatible`` one); ``opencode auth login`` adds the others.
        With ``directory``, as seen from that folder (its own config counts);
        the server loads them for the folder on first use.
        """
        body = self._request(
            "GET", "/config/providers", directory=directory,
            timeout=max(self.timeout, folder_load_timeout()),
        )
        if not isinstance(body, dict) or not isinstance(body.get("providers"), list):
            raise _bad("provider list", body, self.base_url)
        models: dict[str, list[str]] = {}
        for entry in body["providers"]:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                listed = entry.get("models")
                models[entry["id"]] = sorted(listed) if isinstance(listed, dict) else []
        defaults = body.get("default")
        return Providers(
            models=models,
            defaults={
                str(k): str(v) for k, v in (defaults or {}).items() if isinstance(v, str)
            } if isinstance(defaults, dict) else {},
        )

    # - sessions -

    def create_session(
        self,
        directory: str,
        *,
        title: str | None = None,
        provider_id: str | None = None,
        model_id: str | None = None,
        agent: str | None = None,
    ) -> Session:
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if provider_id and model_id:
            body["model"] = {"providerID": provider_id, "id": model_id}
        if agent:
            body["agent"] = agent
        # Often the first request in a new worktree: the server loads the folder.
        made = self._request(
            "POST", "/session", directory=directory, body=body,
            timeout=max(self.timeout, folder_load_timeout()),
        )
        return _session(made, self.base_url)

    def get_session(self, session_id: str, *, directory: str | None = None) -> Session:
        body = self._request(
            "GET", f"/session/{session_id}", directory=directory, session_id=session_id
        )
        return _session(body, self.base_url)

    def list_sessions(self, *, directory: str | None = None) -> list[Session]:
        body = self._request("GET", "/session", directory=directory)
        return [_session(s, self.base_url) for s in _list(body, "session list", self.base_url)]

    def delete_session(self, session_id: str, *, directory: str | None = None) -> bool:
        body = self._request(
            "DELETE", f"/session/{session_id}", directory=directory, session_id=session_id
        )
        return bool(body)

    def statuses(self, *, directory: str | None = None) -> dict[str, str]:
        """Session id -> ``busy`` | ``retry`` | ``idle``; sessions not listed are idle."""
        body = self._request("GET", "/session/status", directory=directory)
        if not isinstance(body, dict):
            raise _bad("status map", body, self.base_url)
        return {
            sid: str(st.get("type", "")) if isinstance(st, dict) else ""
            for sid, st in body.items()
        }

    # - messages -

    def messages(
        self, session_id: str, *, directory: str | None = None, limit: int | None = None
    ) -> list[Message]:
        body = self._request(
            "GET", f"/session/{session_id}/message", directory=directory,
            params={"limit": limit} if limit else None, session_id=session_id,
        )
        return [_message(m, self.base_url) for m in _list(body, "message list", self.base_url)]

    @staticmethod
    def _prompt_body(
        text: str, provider_id: str | None, model_id: str | None, agent: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"parts": [{"type": "text", "text": text}]}
        if provider_id and model_id:
            body["model"] = {"providerID": provider_id, "modelID": model_id}
        if agent:
            body["agent"] = agent
        return body

    def send(
        self,
        session_id: str,
        text: str,
        *,
        directory: str | None = None,
        provider_id: str | None = None,
        model_id: str | None = None,
        agent: str | None = None,
        timeout: float = TURN_TIMEOUT,
    ) -> Message:
        """Send a prompt and wait for the turn; returns the last assistant message."""
        body = self._request(
            "POST", f"/session/{session_id}/message", directory=directory,
            body=self._prompt_body(text, provider_id, model_id, agent),
            session_id=session_id, timeout=timeout,
        )
        return _message(body, self.base_url)

    def add_context(
        self, session_id: str, text: str, *, directory: str | None = None
    ) -> Message:
        """Add ``text`` to the session's history as a user message the agent does not answer.

        (``noReply``): every later turn sees it, whoever sends the prompt.
        """
        body = {"noReply": True, "parts": [{"type": "text", "text": text}]}
        return _message(
            self._request("POST", f"/session/{session_id}/message", directory=directory,
                          body=body, session_id=session_id),
            self.base_url,
        )

    def prompt_async(
        self,
        session_id: str,
        text: str,
        *,
        directory: str | None = None,
        provider_id: str | None = None,
        model_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        """Send a prompt and return at once (204); follow it with events or statuses."""
        self._request(
            "POST", f"/session/{session_id}/prompt_async", directory=directory,
            body=self._prompt_body(text, provider_id, model_id, agent),
            session_id=session_id, expect_json=False,
        )

    def abort(self, session_id: str, *, directory: str | None = None) -> bool:
        body = self._request(
            "POST", f"/session/{session_id}/abort", directory=directory, session_id=session_id
        )
        return bool(body)

    # - permissions -

    def permissions(self, *, directory: str | None = None) -> list[Permission]:
        body = self._request("GET", "/permission", directory=directory)
        return [
            _permission(p, self.base_url) for p in _list(body, "permission list", self.base_url)
        ]

    def questions(self, *, directory: str | None = None) -> list[dict[str, Any]]:
        """Pending questions of the agents (``GET /question``): ``[{"id", "sessionID", ...}]``."""
        body = self._request("GET", "/question", directory=directory)
        return [q for q in _list(body, "question list", self.base_url) if isinstance(q, dict)]

    def reply_permission(
        self,
        request_id: str,
        reply: str,
        *,
        message: str | None = None,
        directory: str | None = None,
    ) -> bool:
        if reply not in ("once", "always", "reject"):
            raise ValueError(f"reply must be once, always or reject, not {reply!r}")
        body: dict[str, Any] = {"reply": reply}
        if message:
            body["message"] = message
        return bool(
            self._request(
                "POST", f"/permission/{request_id}/reply", directory=directory, body=body
            )
        )

    # - events -

    def events(
        self, *, directory: str | None = None, read_timeout: float = EVENT_READ_TIMEOUT
    ) -> Iterator[Event]:
        """Yield events from ``/event?directory=D`` (``/global/event`` without one).

        The stream never ends on its own: when it ends or breaks, this raises
        ``opencode-stream-cut`` (a caller that wants more reconnects). Stop
        early by closing the generator (``break`` out of the loop).
        """
        import httpx  # loaded already: a client was made
        from httpx_sse import SSEError, connect_sse

        path = "/event" if directory is not None else "/global/event"
        params = {"directory": directory} if directory is not None else None
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        try:
            with connect_sse(self._http, "GET", path, params=params, timeout=timeout) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    raise self._fail_status(source.response, "GET", path, None)
                for sse in source.iter_sse():
                    try:
                        data = json.loads(sse.data)
                    except ValueError as err:
                        raise _bad("event", sse.data, self.base_url) from err
                    # /global/event wraps each event as {"directory", "payload"}.
                    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
                        data = data["payload"]
                    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
                        raise _bad("event", data, self.base_url)
                    props = data.get("properties")
                    yield Event(
                        type=str(data.get("type")),
                        properties=props if isinstance(props, dict) else {},
                        id=data.get("id") if isinstance(data.get("id"), str) else None,
                    )
        except SSEError as err:
            raise _bad("event stream (not text/event-stream)", str(err), self.base_url) from err
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise self._fail_transport(err, "GET", path) from err
        except httpx.TransportError as err:
            raise OpenCodeError(
                f"the event stream from OpenCode at {self.base_url} broke "
                f"({type(err).__name__})",
                code=STREAM_CUT, url=self.base_url, path=path, detail=str(err),
            ) from err
        raise OpenCodeError(
            f"the event stream from OpenCode at {self.base_url} ended",
            code=STREAM_CUT, url=self.base_url, path=path,
        )


def _error_detail(response: httpx.Response) -> str | None:
    """The server's own message from an error body, if it has one."""
    import httpx  # loaded already: a response came

    try:
        response.read()
        body = response.json()
    except (ValueError, httpx.HTTPError):
        text = response.text.strip() if response.content else ""
        return text[:200] or None
    if isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
    return json.dumps(body)[:200]
