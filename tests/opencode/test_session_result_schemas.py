"""The agent session's results match their committed JSON Schemas, from a real OpenCode.

The session-wide ``opencode serve`` (on the offline model) answers; the
operations are called as the language server calls them, and each result
(open, send, permissions, approve, watch, log, abort) is checked against
``synthetic_ls/schemas/results``. The other operations' results:
tests/integration/test_results_match_schemas.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from synthetic_ls.ops.constructs import CreateOptions, create_construct
from synthetic_ls.ops.session import (
    abort_session,
    approve_permission,
    list_permissions,
    open_session,
    send_prompt,
    session_log,
    watch_session,
)
from tests.gitrepo import make_repo
from tests.opencode.conftest import OpenCodeServer
from tests.result_schemas import assert_matches

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: { agent: { label: "Agent", agent: { providerId: "offline", modelId: "echo" } } },
};
"""


def test_session_results_match_their_schemas(
    tmp_path: Path, opencode_server: OpenCodeServer, opencode_bin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, opencode_server.url)
    monkeypatch.setenv(PASSWORD_ENV, opencode_server.password)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    store = Store.open(repo)
    cid = create_construct(store, CreateOptions(name="Agent")).construct.id

    assert_matches("session-open", open_session(store, cid))
    asked = assert_matches(
        "session-send", send_prompt(store, cid, "[tool:bash echo hi]", wait=True)
    )
    assert asked["state"] == "awaiting_input" and asked["permissions"]
    assert assert_matches("session-permissions", list_permissions(store, cid))["pending"]
    assert_matches("session-reply", approve_permission(store, cid))
    lines: list[str] = []
    watched = watch_session(store, cid, lines.append, timeout=60)
    # The server's command adds the lines it saw (lsp/commands.py).
    assert_matches("session-watch", {**watched.to_dict(), "lines": lines})
    log = assert_matches("session-log", session_log(store, cid))
    assert any(t["tool"] == "bash" for m in log["messages"] for t in m["tools"])
    busy = assert_matches("session-send", send_prompt(store, cid, "[delay:2] a long answer"))
    assert busy["waited"] is False
    assert_matches("session-abort", abort_session(store, cid))
