"""Commands over stdio: each operation's JSON, progress, errors with data, code lens counts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from synthetic_ls.lsp.commands import COMMANDS
from tests.gitrepo import git
from tests.lsp.conftest import open_config


async def run(client: LanguageClient, command: str, args: dict[str, Any] | None = None) -> Any:
    """Execute a server command with one JSON object as its argument."""
    return await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=[args or {}])
        ),
        30,
    )


async def test_the_server_offers_every_command(client: LanguageClient) -> None:
    assert client.capabilities is not None  # initialized
    # pytest-lsp keeps the server's answer to initialize nowhere; ask again by name.
    for name in COMMANDS:
        assert name.startswith("synthetic.")
    assert set(COMMANDS) == {
        "synthetic.construct.create",
        "synthetic.construct.createRemote",
        "synthetic.trust.preview",
        "synthetic.trust.allow",
        "synthetic.opencode.status",
        "synthetic.trust.revoke",
        "synthetic.host.list",
        "synthetic.host.check",
        "synthetic.construct.list",
        "synthetic.construct.show",
        "synthetic.construct.update",
        "synthetic.construct.delete",
        "synthetic.construct.removalPreview",
        "synthetic.worktree.add",
        "synthetic.worktree.remove",
        "synthetic.doctor.run",
        "synthetic.doctor.fix",
        "synthetic.config.check",
        "synthetic.config.init",
        "synthetic.config.templates",
        "synthetic.construct.import",
        "synthetic.ports.list",
        "synthetic.services.start",
        "synthetic.services.stop",
        "synthetic.services.restart",
        "synthetic.services.status",
        "synthetic.services.logs",
        "synthetic.services.resume",
        "synthetic.services.open",
        "synthetic.session.open",
        "synthetic.session.send",
        "synthetic.session.watch",
        "synthetic.session.abort",
        "synthetic.session.log",
        "synthetic.session.permissions",
        "synthetic.session.approve",
        "synthetic.session.deny",
        "synthetic.prompts.build",
        "synthetic.prompts.preview",
        "synthetic.construct.diff",
        "synthetic.construct.file",
        "synthetic.construct.log",
        "synthetic.construct.commit",
        "synthetic.construct.landPlan",
        "synthetic.construct.land",
        "synthetic.construct.landQueue",
        "synthetic.construct.resolve",
        "synthetic.construct.discardPreview",
        "synthetic.construct.discard",
        "synthetic.construct.review",
        "synthetic.group.create",
        "synthetic.group.list",
        "synthetic.group.show",
        "synthetic.group.delete",
        "synthetic.group.pickPreview",
        "synthetic.group.pick",
        "synthetic.construct.check",
        "synthetic.group.compare",
        "synthetic.group.diffAttempts",
    }


async def test_group_commands_answer_and_refuse_with_codes(
    client: LanguageClient, repo: Path
) -> None:
    # (A group made, picked and removed through the server: tests/opencode/test_sessions_lsp.py,
    # which has the real OpenCode server its agents need.)
    nothing = {"input": 0, "output": 0, "reasoning": 0, "cache_read": 0, "cache_write": 0,
               "cost": 0.0}
    assert await run(client, "synthetic.group.list") == {"groups": [], "broken": [],
                                                         "usage": nothing}
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.show", {"ref": "nope"})
    assert caught.value.data["code"] == "record-not-found"
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.create", {"task": "Fix it", "attempts": 0})
    assert caught.value.data["code"] == "invalid-input" and "1 to 12" in caught.value.message
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.create", {"task": "Fix it", "models": ["gpt"]})
    assert caught.value.data["code"] == "invalid-input"
    alone = await run(client, "synthetic.construct.create", {"name": "Alone",
                                                             "template_id": "docs"})
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.pickPreview", {"ref": alone["id"]})
    assert caught.value.data["code"] == "invalid-input" and "not an attempt" in (
        caught.value.message)
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.compare", {"ref": "nope", "run_checks": False})
    assert caught.value.data["code"] == "record-not-found"
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.group.diffAttempts", {"a": alone["id"], "b": "nope"})
    assert caught.value.data["code"] == "record-not-found"
    assert (await run(client, "synthetic.group.list"))["groups"] == []


async def test_templates_for_a_picker(client: LanguageClient, repo: Path) -> None:
    listed = await run(client, "synthetic.config.templates")
    assert listed["default"] == "web"
    by_id = {t["id"]: t for t in listed["templates"]}
    assert by_id["web"] == {
        "id": "web",
        "label": "Web",
        "summary": "The web app",
        "type": "implementation",
        "services": ["api", "db"],
    }
    assert by_id["docs"]["type"] == "planning" and by_id["docs"]["services"] == []


async def test_construct_lifecycle(client: LanguageClient, repo: Path) -> None:
    plan = await run(client, "synthetic.construct.create", {"name": "Fix it", "dry_run": True})
    assert plan["template_id"] == "web" and plan["plan"]
    created = await run(
        client, "synthetic.construct.create", {"name": "Fix it", "template_id": "docs"}
    )
    ident = created["id"]
    assert created["name"] == "Fix it" and created["template_id"] == "docs"
    assert Path(created["workspace_path"]).is_dir()
    # A long command reported progress: begin, each step, then end.
    kinds = [[r.kind for r in reports] for reports in client.progress_reports.values()]
    assert ["begin", "report", "report", "end"] in kinds
    steps = [r.message for reports in client.progress_reports.values() for r in reports
             if r.kind == "report"]
    assert steps == ["[1/2] creating the worktree", "[2/2] marking the construct ready"]
    listed = await run(client, "synthetic.construct.list", {"inspect": False})
    assert [c["id"] for c in listed["constructs"]] == [ident]
    shown = await run(client, "synthetic.construct.show", {"ref": ident})
    assert shown["id"] == ident and "worktree" in shown
    updated = await run(client, "synthetic.construct.update", {"ref": ident, "name": "Fixed"})
    assert updated["name"] == "Fixed" and updated["changed"] == ["name"]
    removed_tree = await run(client, "synthetic.worktree.remove", {"ref": ident})
    assert not Path(created["workspace_path"]).exists(), removed_tree
    added = await run(client, "synthetic.worktree.add", {"ref": ident})
    assert Path(added["workspace_path"]).is_dir()
    doctor = await run(client, "synthetic.doctor.run")
    assert doctor["unresolved"] == 0
    removed = await run(client, "synthetic.construct.delete", {"ref": ident, "force": True})
    assert removed["removed"] == ident
    assert (await run(client, "synthetic.construct.list"))["constructs"] == []


async def test_import_and_config_check(client: LanguageClient, repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "by-hand"
    git(repo, "worktree", "add", "-q", "-b", "by-hand", str(other))
    imported = await run(
        client, "synthetic.construct.import", {"path": str(other), "name": "By hand"}
    )
    assert imported["name"] == "By hand" and Path(imported["workspace_path"]) == other
    checked = await run(client, "synthetic.config.check")
    assert checked["errors"] == 0 and checked["file"].endswith("synthetic.config.ts")
    # A relative path is relative to the repository, not to the server's cwd.
    (repo / "sub").mkdir()
    (repo / "sub" / "synthetic.config.ts").write_text("export default { templates: 1 };\n")
    checked = await run(client, "synthetic.config.check", {"path": "sub/synthetic.config.ts"})
    assert checked["errors"] == 1 and checked["file"] == str(repo / "sub" / "synthetic.config.ts")


async def test_an_error_carries_the_core_code_and_fields(
    client: LanguageClient, repo: Path
) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.show", {"ref": "nope"})
    assert caught.value.code == -32803
    assert caught.value.data["code"] == "record-not-found"  # the state format's error
    assert "nope" in caught.value.data["message"]
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.create", {"name": "x", "template_id": "missing"})
    assert caught.value.data["code"] == "unknown-template"
    # Bad arguments: InvalidParams, with the same kind of data.
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.show", {"ref": "x", "colour": "red"})
    assert caught.value.code == -32602
    assert caught.value.data["code"] == "invalid-input"
    assert caught.value.data["unknown"] == ["colour"]
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.update", {})
    assert caught.value.data["missing"] == ["ref"]


async def test_code_lens_counts_live_constructs(client: LanguageClient, repo: Path) -> None:
    path = repo / "synthetic.config.ts"
    await open_config(client, path)

    async def titles() -> dict[str, str]:
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
        )
        assert lenses is not None
        out = {}
        for lens in lenses:
            assert lens.command is not None and lens.command.arguments
            assert lens.command.command == "synthetic.newConstruct"
            out[lens.command.arguments[0]["template_id"]] = lens.command.title
        return out

    assert await titles() == {"web": "New construct (0 live)", "docs": "New construct (0 live)"}
    await run(
        client,
        "synthetic.construct.create",
        {"name": "a", "template_id": "docs", "worktree": False},
    )
    await run(
        client,
        "synthetic.construct.create",
        {"name": "b", "template_id": "docs", "worktree": False},
    )
    assert await titles() == {"web": "New construct (0 live)", "docs": "New construct (2 live)"}


async def test_config_init_writes_once(client: LanguageClient, repo: Path) -> None:
    (repo / "synthetic.config.ts").unlink()
    written = await run(client, "synthetic.config.init")
    assert written == {"file": str(repo / "synthetic.config.ts")}
    assert "templates" in (repo / "synthetic.config.ts").read_text()
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.config.init")
    assert caught.value.data["code"] == "conflict"


def hold_checkout(repo: Path, folder: Path) -> tuple[Path, Path]:
    """Hold git after the worktree's checkout, in its post-checkout hook, until released.

    Returns (started, go): the hook creates ``started``, then waits until
    ``go`` exists. A creation cannot finish before the test creates ``go``.
    """
    started, go = folder / "hook-started", folder / "hook-go"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(
        f"#!/bin/sh\ntouch '{started}'\nwhile [ ! -e '{go}' ]; do sleep 0.02; done\n"
    )
    hook.chmod(0o755)
    return started, go


async def until(check: Any, what: str, timeout: float = 30) -> Any:
    """Poll ``check()`` until it gives something true, and return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return value


async def test_a_long_command_does_not_block_the_server(
    client: LanguageClient, repo: Path, tmp_path: Path
) -> None:
    started, go = hold_checkout(repo, tmp_path)
    path = repo / "synthetic.config.ts"
    await open_config(client, path)
    creating = asyncio.ensure_future(
        run(client, "synthetic.construct.create", {"name": "slow", "template_id": "docs"})
    )
    try:
        await until(started.exists, "git's post-checkout hook")
        hover = await asyncio.wait_for(
            client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                    position=types.Position(line=6, character=6),
                )
            ),
            30,
        )
        listed = await run(client, "synthetic.construct.list", {"inspect": False})
        # Both answered while the creation could not finish (it waits for `go`).
        assert hover is not None
        assert not creating.done()
        assert [c["status"] for c in listed["constructs"]] == ["spawning"]
    finally:
        go.touch()
    created = await creating
    assert created["status"] == "ready"


async def test_a_creation_can_be_cancelled_from_its_progress(
    client: LanguageClient, repo: Path, tmp_path: Path
) -> None:
    """The client's cancel button (window/workDoneProgress/cancel): nothing is left."""
    started, go = hold_checkout(repo, tmp_path)
    before = set(client.progress_reports)
    creating = asyncio.ensure_future(
        run(client, "synthetic.construct.create", {"name": "stop", "template_id": "docs"})
    )
    try:
        token = await until(
            lambda: next((t for t in client.progress_reports
                          if t not in before and client.progress_reports[t]), None),
            "a progress report",
        )
        begin = client.progress_reports[token][0]
        assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
        await until(started.exists, "git's post-checkout hook")
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        # Answered after the cancel, so the server has handled the cancel by now.
        await run(client, "synthetic.construct.list", {"inspect": False})
    finally:
        go.touch()
    with pytest.raises(JsonRpcException) as caught:
        await creating
    assert caught.value.data["code"] == "cancelled", caught.value.data
    listed = await run(client, "synthetic.construct.list", {"inspect": False})
    assert listed["constructs"] == []
    assert "synthetic/" not in git(repo, "branch", "--list")
    assert git(repo, "worktree", "list").count("\n") == 1


@pytest.fixture
def consent_repo(tmp_path: Path) -> Path:
    """A repository whose template runs a setup command (writing a marker)."""
    from tests.gitrepo import make_repo

    root = tmp_path / "consent"
    config = ('export default { defaults: { templateId: "t" }, worktrees: { root: "../wt" },\n'
              f'  templates: {{ t: {{ setup: ["touch {tmp_path}/setup-ran"] }} }} }};\n')
    make_repo(root, {"synthetic.config.ts": config, "README.md": "hi\n"})
    return root


@pytest.mark.workspace("consent_repo")
async def test_consent_required_carries_the_items_and_allow_takes_exactly_them(
    client: LanguageClient, consent_repo: Path, tmp_path: Path
) -> None:
    """The server refuses to run what was not allowed, with the items as data (a client
    shows them); `synthetic.trust.allow` with those items lets the same command run."""
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.create", {"name": "Asked"})
    assert caught.value.data["code"] == "consent-required"
    assert caught.value.data["kind"] == "consent"
    items = caught.value.data["items"]
    assert [(i["kind"], i["where"]) for i in items] == [("setup", "template t")]
    assert not (tmp_path / "setup-ran").exists()
    preview = await run(client, "synthetic.trust.preview")
    assert [i["allowed"] for i in preview["items"]] == [False]
    # A forged item (its digest not of anything shown) is refused as input.
    with pytest.raises(JsonRpcException) as forged:
        await run(client, "synthetic.trust.allow", {"items": [{**items[0], "digest": "x"}]})
    assert forged.value.data["code"] == "invalid-input"
    allowed = await run(client, "synthetic.trust.allow", {"items": items})
    assert allowed["changed"] == 1 and [i["allowed"] for i in allowed["items"]] == [True]
    made = await run(client, "synthetic.construct.create", {"name": "Asked"})
    assert made["name"] == "Asked"
    assert (tmp_path / "setup-ran").exists()
    revoked = await run(client, "synthetic.trust.revoke")
    assert revoked["changed"] == 1


@pytest.fixture
def checks_repo(tmp_path: Path) -> Path:
    """A repository whose template has two checks: one passes, one fails."""
    from tests.gitrepo import make_repo

    root = tmp_path / "checks"
    config = ('export default { defaults: { templateId: "t" }, worktrees: { root: "../wt" },\n'
              '  templates: { t: { checks: {\n'
              '    ok: "echo fine", bad: "echo broken; exit 3" } } } };\n')
    make_repo(root, {"synthetic.config.ts": config, "README.md": "hi\n"})
    return root


@pytest.mark.workspace("checks_repo")
async def test_checks_run_after_consent_and_are_recorded(
    client: LanguageClient, checks_repo: Path
) -> None:
    """`synthetic.construct.check` refuses until the checks' commands are allowed (the client
    asks), then runs them: pass/fail per check, kept on the record that `show` reads."""
    made = await run(client, "synthetic.construct.create", {"name": "Checked"})
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.check", {"ref": made["id"]})
    assert caught.value.data["code"] == "consent-required"
    items = caught.value.data["items"]
    assert sorted(i["text"] for i in items) == ["echo broken; exit 3", "echo fine"]
    await run(client, "synthetic.trust.allow", {"items": items})
    result = await run(client, "synthetic.construct.check", {"ref": made["id"]})
    assert result["passed"] is False
    assert [(c["name"], c["passed"]) for c in result["checks"]] == [("ok", True), ("bad", False)]
    assert "broken" in result["checks"][1]["output"]
    only = await run(client, "synthetic.construct.check", {"ref": made["id"], "names": ["ok"]})
    assert only["passed"] is True and [c["name"] for c in only["checks"]] == ["ok"]
    shown = await run(client, "synthetic.construct.show", {"ref": made["id"]})
    assert sorted(c["name"] for c in shown["checks"]) == ["bad", "ok"]
    with pytest.raises(JsonRpcException) as unknown:
        await run(client, "synthetic.construct.check", {"ref": made["id"], "names": ["lnt"]})
    assert unknown.value.data["code"] == "unknown-check"
    with pytest.raises(JsonRpcException) as wrong:
        await run(client, "synthetic.construct.check", {"ref": made["id"], "on_start": "x"})
    assert wrong.value.data["code"] == "invalid-input"


@pytest.fixture
def own_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's hosts in a folder of the test's own (set before the server starts),
    holding one host at a port nothing listens on."""
    import socket

    from synthetic_ls.remote.host_store import add_host

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    add_host("down", f"ssh://127.0.0.1:{port}/srv/app")
    return tmp_path / "xdg-config"


async def test_hosts_are_listed_and_a_dead_one_checked(
    own_hosts: Path, client: LanguageClient
) -> None:
    from tests.result_schemas import assert_matches

    listed = assert_matches("host-list", await run(client, "synthetic.host.list"))
    assert [h["name"] for h in listed["hosts"]] == ["down"]
    assert listed["file"] == str(own_hosts / "synthetic" / "hosts.toml")
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.host.check", {"host": "down"})
    assert caught.value.data["code"] == "host-unreachable"
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.host.check", {})
    assert caught.value.data["missing"] == ["host"]
