"""Agent session ops, called directly against the real ``opencode serve`` and offline model.

Each op's typed result is checked with what it leaves: the construct's
status (the agent's state persisted), the session's messages and pending
permissions on the server; each refusal with its declared code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.errors import CodedError
from state_format.store import Store
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from synthetic_ls.ops.agent_status import persist_agent_states
from synthetic_ls.ops.constructs import (
    CreateOptions,
    EditOptions,
    create_construct,
    edit_construct,
)
from synthetic_ls.ops.session import (
    abort_session,
    approve_permission,
    deny_permission,
    list_permissions,
    open_session,
    reply_permission,
    send_prompt,
    session_log,
    watch_session,
)
from synthetic_ls.provision.context import Context
from tests.gitrepo import make_repo
from tests.opencode.conftest import OpenCodeServer

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: {
    agent: { label: "Agent", agent: { providerId: "offline", modelId: "echo" } },
    plain: { label: "Plain" },
  },
};
"""


@pytest.fixture
def store(
    tmp_path: Path, opencode_server: OpenCodeServer, opencode_bin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Store:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, opencode_server.url)
    monkeypatch.setenv(PASSWORD_ENV, opencode_server.password)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    return Store.open(make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG}))


def status(store: Store, cid: str) -> str:
    return store.get_construct(cid).status.value


def test_send_approve_deny_watch_log_abort(store: Store) -> None:
    made = create_construct(store, CreateOptions(name="Agent")).construct
    cid, sid = made.id, made.opencode_session_id
    assert sid is not None and status(store, cid) == "ready"

    opened = open_session(store, cid).to_dict()
    assert opened["session_id"] == sid and opened["directory"] == made.workspace_path
    assert sid in opened["argv"]

    asked = send_prompt(store, cid, "[tool:bash echo hi]", wait=True)
    assert (asked.construct, asked.session_id, asked.waited) == (cid, sid, True)
    assert asked.state == "awaiting_input" and len(asked.permissions) == 1
    assert status(store, cid) == "awaiting_input"
    (pending,) = list_permissions(store, cid).to_dict()["pending"]
    assert pending == asked.permissions[0]

    approved = approve_permission(store, cid).to_dict()
    assert approved["permission_id"] == pending["id"] and approved["reply"] == "once"
    lines: list[str] = []
    watched = watch_session(store, cid, lines.append, timeout=60)
    assert watched.state == "idle" and lines
    assert status(store, cid) == "ready"
    assert list_permissions(store, cid).pending == []
    log = session_log(store, cid).to_dict()
    tools = [t for m in log["messages"] for t in m["tools"]]
    assert [(t["tool"], t["status"]) for t in tools] == [("bash", "completed")]

    asked = send_prompt(store, cid, "[tool:bash echo no]", wait=True)
    assert asked.state == "awaiting_input"
    denied = deny_permission(store, cid).to_dict()
    assert denied["reply"] == "reject"
    watch_session(store, cid, lambda _line: None, timeout=60)
    assert list_permissions(store, cid).pending == []
    with pytest.raises(CodedError) as none_left:
        approve_permission(store, cid)
    assert none_left.value.code == "no-pending-permission"
    with pytest.raises(CodedError) as bad:
        reply_permission(store, cid, approve=False, always=True)
    assert bad.value.code == "invalid-input"

    busy = send_prompt(store, cid, "[delay:30] a long answer")
    assert busy.waited is False and busy.state == "busy"
    assert status(store, cid) == "active"
    aborted = abort_session(store, cid).to_dict()
    assert aborted == {"construct": cid, "session_id": sid, "aborted": True}
    assert status(store, cid) == "ready"


def test_session_ops_refuse_a_construct_without_session(store: Store) -> None:
    made = create_construct(store, CreateOptions(name="Plain", template_id="plain")).construct
    cid = made.id
    ops = [
        lambda: open_session(store, cid),
        lambda: send_prompt(store, cid, "hello"),
        lambda: abort_session(store, cid),
        lambda: session_log(store, cid),
        lambda: list_permissions(store, cid),
        lambda: approve_permission(store, cid),
        lambda: deny_permission(store, cid),
        lambda: watch_session(store, cid, lambda _line: None, timeout=5),
    ]
    before = (store.root / "constructs" / f"{cid}.toml").read_text()
    for op in ops:
        with pytest.raises(CodedError) as error:
            op()
        assert error.value.code == "no-session"
    assert (store.root / "constructs" / f"{cid}.toml").read_text() == before
    with_agent = create_construct(store, CreateOptions(name="Agent")).construct.id
    with pytest.raises(CodedError) as empty:
        send_prompt(store, with_agent, "   ")
    assert empty.value.code == "invalid-input"


def test_persist_agent_states_moves_only_constructs_that_follow_their_agent(
    store: Store,
) -> None:
    first = create_construct(store, CreateOptions(name="One")).construct
    second = create_construct(store, CreateOptions(name="Two")).construct
    assert first.opencode_session_id and second.opencode_session_id
    ctx = Context(store)
    changed = persist_agent_states(ctx, {first.opencode_session_id: "busy"})
    assert changed == [first.id]
    assert (status(store, first.id), status(store, second.id)) == ("active", "ready")
    assert persist_agent_states(ctx, {first.opencode_session_id: "busy"}) == []  # no change
    assert persist_agent_states(ctx, {"ses_unknown": "busy"}) == []
    assert persist_agent_states(ctx, {first.opencode_session_id: "idle"}) == [first.id]
    assert status(store, first.id) == "ready"
    # A parked construct no longer follows its agent.
    edit_construct(store, EditOptions(ref=second.id, status="parked"))
    assert persist_agent_states(ctx, {second.opencode_session_id: "busy"}) == []
    assert status(store, second.id) == "parked"
