"""The session flow through the language server (pytest-lsp, the real server over stdio).

The construct's status follows the agent through OpenCode's event stream:
the test reads the record file itself, so the language server's listener,
not a poll by a command, is what moved it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.gitrepo import make_repo
from tests.lsp.conftest import SERVER, _session
from tests.lsp.test_lsp_commands import run
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_sessions import CONFIG
from tests.result_schemas import assert_matches


@pytest.fixture
def agent_repo(tmp_path: Path, served: OpenCodeServer) -> Path:
    """A repository whose default template has an agent; the server is named by the env."""
    return make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_URL", opencode_server.url)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_PASSWORD", opencode_server.password)
    return opencode_server


@pytest_asyncio.fixture
async def client(agent_repo: Path, served: OpenCodeServer) -> Any:
    """The real language server, started after ``served`` named the OpenCode server.

    Built by hand rather than with ``pytest_lsp.fixture``, which starts the
    server before the test's other fixtures have set its environment.
    """
    config = ClientServerConfig(server_command=SERVER, server_env=dict(os.environ))
    lsp_client = await config.start()
    sessions = _session(lsp_client, agent_repo)  # type: ignore[arg-type]
    await anext(sessions)
    yield lsp_client
    with contextlib.suppress(StopAsyncIteration):
        await anext(sessions)
    await lsp_client.stop()


def status_on_disk(repo: Path, cid: str) -> str:
    record = repo / ".git" / "synthetic" / "constructs" / f"{cid}.toml"
    return str(tomllib.loads(record.read_text())["status"])


async def until_status(repo: Path, cid: str, wanted: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while status_on_disk(repo, cid) != wanted:
        assert asyncio.get_running_loop().time() < deadline, (
            f"{cid} stayed {status_on_disk(repo, cid)!r}, expected {wanted!r}")
        await asyncio.sleep(0.1)


def plain(value: Any) -> Any:
    """A notification's params (pygls gives objects with attributes) as plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def until_told(
    told: list[dict[str, Any]], wanted: Any, timeout: float = 30
) -> dict[str, Any]:
    """The first ``synthetic/agentState`` notification ``wanted`` accepts, once it came."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for params in told:
            if wanted(params):
                return params
        assert asyncio.get_running_loop().time() < deadline, f"never told; told {told}"
        await asyncio.sleep(0.1)


async def test_create_prompt_permission_abort_through_the_server(
    client: LanguageClient, agent_repo: Path, served: OpenCodeServer
) -> None:
    told: list[dict[str, Any]] = []
    client.feature("synthetic/agentState")(lambda params: told.append(plain(params)))
    made = await run(client, "synthetic.construct.create", {"name": "Via editor"})
    cid, sid = made["id"], made["opencode_session_id"]
    assert sid and made["status"] == "ready"
    with served.client() as oc:
        assert oc.get_session(sid).directory == made["workspace_path"]

    # A tool call that needs permission: the listener moves the record, and
    # tells the client what the agent asks, as the turn it saw begin pauses.
    sent = await run(client, "synthetic.session.send",
                     {"ref": cid, "text": "[tool:bash echo from-editor > e.txt]"})
    assert sent["state"] == "busy"
    await until_status(agent_repo, cid, "awaiting_input")
    asked = await until_told(told, lambda t: t["state"] == "awaiting_input")
    assert asked["construct"] == cid and asked["name"] == "Via editor"
    assert asked["turn_ended"] is True and asked["session"] == sid
    assert asked["permission"]["permission"] == "bash"
    assert asked["permission"]["patterns"] == ["echo from-editor > e.txt"]
    pending = (await run(client, "synthetic.session.permissions", {"ref": cid}))["pending"]
    assert [p["permission"] for p in pending] == ["bash"]
    told.clear()
    await run(client, "synthetic.session.approve", {"ref": cid})
    await until_status(agent_repo, cid, "ready")
    done = await until_told(told, lambda t: t["state"] == "idle")
    assert done["turn_ended"] is True and done["construct"] == cid
    assert (Path(made["workspace_path"]) / "e.txt").read_text() == "from-editor\n"

    # A prompt that waits, then an abort of a slow turn.
    waited = await run(client, "synthetic.session.send",
                       {"ref": cid, "text": "hello", "wait": True})
    assert waited["reply"] == "Offline model reply to: hello"
    await run(client, "synthetic.session.send",
              {"ref": cid, "text": "[delay:2] many slow words to say here"})
    await until_status(agent_repo, cid, "active")
    assert (await run(client, "synthetic.session.abort", {"ref": cid}))["aborted"] is True
    await until_status(agent_repo, cid, "ready")

    # A failed turn is an error, seen through the events.
    told.clear()
    await run(client, "synthetic.session.send", {"ref": cid, "text": "[fail]"})
    await until_status(agent_repo, cid, "error")
    failed = await until_told(told, lambda t: t["state"] == "error")
    assert failed["turn_ended"] is True and "scripted failure" in (failed["error"] or "")

    log = await run(client, "synthetic.session.log", {"ref": cid})
    assert [m["role"] for m in log["messages"]][:3] == ["user", "user", "assistant"]
    opened = await run(client, "synthetic.session.open", {"ref": cid})
    assert opened["terminal_argv"][-4:] == ["session", "open", cid, "--run"]
    assert served.password not in str(opened)

    removed = await run(client, "synthetic.construct.delete", {"ref": cid, "force": True})
    assert removed["removed"] == cid


async def test_a_question_of_any_agent_is_told_with_its_text(
    client: LanguageClient, agent_repo: Path, served: OpenCodeServer
) -> None:
    """An agent that asks a question (OpenCode's question tool) is told like a permission:
    the notification carries the question's text, whichever construct asks."""
    import json

    told: list[dict[str, Any]] = []
    client.feature("synthetic/agentState")(lambda params: told.append(plain(params)))
    await run(client, "synthetic.construct.create", {"name": "Quiet one"})
    asker = await run(client, "synthetic.construct.create", {"name": "Asker"})
    args = {"questions": [{"question": "Which database?", "header": "DB",
                           "options": [{"label": "pg", "description": "PostgreSQL"}]}]}
    await run(client, "synthetic.session.send",
              {"ref": asker["id"], "text": f"[tool:question {json.dumps(args)}]"})
    asked = await until_told(told, lambda t: t["state"] == "awaiting_input")
    assert asked["construct"] == asker["id"] and asked["name"] == "Asker"
    assert asked["permission"] is None
    assert asked["question"]["questions"] == ["Which database?"]
    assert asked["question"]["id"]
    await run(client, "synthetic.session.abort", {"ref": asker["id"]})


async def test_errors_are_json_rpc_errors_with_data(
    client: LanguageClient, agent_repo: Path, served: OpenCodeServer
) -> None:
    made = await run(client, "synthetic.construct.create",
                     {"name": "plain", "template_id": "plain"})
    with pytest.raises(JsonRpcException) as err:
        await run(client, "synthetic.session.send", {"ref": made["id"], "text": "hi"})
    assert err.value.data["code"] == "no-session"
    with pytest.raises(JsonRpcException) as err:
        await run(client, "synthetic.construct.create", {"name": "x", "template_id": "nope"})
    assert err.value.data["code"] == "provider-not-usable"


async def test_a_group_is_created_shown_picked_through_the_server(
    client: Any, agent_repo: Path, served: OpenCodeServer
) -> None:
    made = await run(client, "synthetic.group.create", {"task": "Add a test", "attempts": 2})
    ids = [m["id"] for m in made["members"]]
    assert len(ids) == 2 and made["operation"] is None
    with served.client() as oc:
        for m in made["members"]:
            texts = [x.text for x in oc.messages(m["opencode_session_id"],
                                                 directory=m["workspace_path"])]
            assert "Add a test" in texts
    listed = await run(client, "synthetic.group.list")
    assert [g["id"] for g in listed["groups"]] == [made["id"]]
    shown = await run(client, "synthetic.group.show", {"ref": made["id"]})
    assert [m["id"] for m in shown["members"]] == ids
    Path(made["members"][0]["workspace_path"], "test.txt").write_text("a test\n")
    await run(client, "synthetic.construct.commit", {"ref": ids[0], "message": "a test"})
    compared = await run(client, "synthetic.group.compare", {"ref": made["id"]})
    assert_matches("compare-result", compared)
    assert [a["id"] for a in compared["attempts"]] == ids
    assert compared["files"] == [{"path": "test.txt", "changed_by": [ids[0]], "agree": True}]
    between = await run(client, "synthetic.group.diffAttempts", {"a": ids[1], "b": ids[0]})
    assert [f["path"] for f in between["files"]] == ["test.txt"] and "+a test" in (
        between["patch"])
    preview = await run(client, "synthetic.group.pickPreview", {"ref": ids[0]})
    assert [o["construct"] for o in preview["others"]] == [ids[1]]
    picked = await run(client, "synthetic.group.pick", {"ref": ids[0]})
    assert picked["landed"]["construct"]["status"] == "completed"
    assert [d["removed"] for d in picked["discarded"]] == [ids[1]]
    assert (agent_repo / "test.txt").read_text() == "a test\n"
    assert (await run(client, "synthetic.group.list"))["groups"] == []
    again = await run(client, "synthetic.group.create", {"task": "Once more", "attempts": 1})
    removed = await run(client, "synthetic.group.delete", {"ref": again["id"]})
    assert removed["members"] == [again["members"][0]["id"]]
    assert (await run(client, "synthetic.group.list"))["groups"] == []
