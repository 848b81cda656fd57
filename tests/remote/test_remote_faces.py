"""Every face reaches a construct on another machine: the ops the faces share
(:mod:`synthetic_ls.ops.anywhere`), the language server's commands over stdio, and the
CLI's previews (``rm --dry-run``, ``discard --dry-run``).

Against the real sshd of tests/remote/sshd_server.py (the fixtures of
test_remote_constructs.py); the language server is the real one, started by
pytest-lsp with the environment that reaches the host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from state_format.store import Store
from synthetic_ls.consent.gate import TRUST
from synthetic_ls.ops.anywhere import (
    commit_any,
    diff_any,
    discard_any,
    discard_preview_any,
    land_any,
    land_plan_any,
    log_any,
    removal_preview_any,
    remove_any,
    show_any,
)
from synthetic_ls.ops.constructs import RemoveOptions
from synthetic_ls.ops.landing import LandOptions
from synthetic_ls.ops.show import ConstructResult
from tests.gitrepo import commit_file, git
from tests.lsp.conftest import SERVER, _session
from tests.remote import test_remote_constructs as constructs
from tests.remote.test_remote_constructs import Machines, ok_json
from tests.remote.test_remote_landing import make
from tests.result_schemas import assert_matches

#: The local repository and the host's clone, host `test` added (a fixture).
machines = constructs.machines


async def run(client: LanguageClient, command: str, args: dict[str, Any] | None = None) -> Any:
    """Execute a server command with one JSON object as its argument (a host is asked over
    ssh: a longer bound than the local commands' tests)."""
    return await asyncio.wait_for(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[args or {}])), 120)


async def until(check: Any, what: str, timeout: float = 120) -> Any:
    """Poll ``check()`` until it gives something true, and return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return value


@pytest.fixture
def reaching(machines: Machines, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machines]:
    """The machines, with this process's environment the one that reaches the host (the
    language server started after this fixture inherits it)."""
    for key, value in machines.env.items():
        monkeypatch.setenv(key, value)
    yield machines


def test_every_operation_takes_a_remote_construct(reaching: Machines) -> None:
    m = reaching
    store = Store.open(m.local)
    here = ok_json(m.run("new", "here", "--no-worktree", "--json"))
    made, tree = make(m)
    commit_file(tree, "fix.txt", "fixed\n", "Fix the flake")
    (tree / "notes.txt").write_text("wip\n")

    # A local construct is still the local one's answer.
    assert isinstance(show_any(store, here["id"]), ConstructResult)
    shown = assert_matches("construct-show", show_any(store, made["id"]))
    assert shown["id"] == made["id"] and shown["host"] == "test"
    assert shown["remote_id"] == made["remote_id"]
    diff = assert_matches("diff", diff_any(store, made["id"]))
    assert diff["construct"] == made["id"]
    assert [c["subject"] for c in diff["commits"]] == ["Fix the flake"]
    assert [f["path"] for f in diff["uncommitted"]] == ["notes.txt"]
    log = log_any(store, made["id"]).to_dict()
    assert log["construct"] == made["id"] and log["entries"][0]["subject"] == "Fix the flake"
    preview = assert_matches("removal-preview", removal_preview_any(store, made["id"]))
    assert preview["construct"] == made["id"] and preview["force_required"]
    assert preview["worktree"] == str(tree) and preview["services"] == ["web"]
    doomed = assert_matches("discard-preview", discard_preview_any(store, made["id"]))
    assert [c["subject"] for c in doomed["unmerged"]] == ["Fix the flake"]
    assert [f["path"] for f in doomed["uncommitted"]] == ["notes.txt"]

    committed = assert_matches("commit-result", commit_any(store, made["id"], "Notes"))
    assert committed["construct"] == made["id"] and committed["commit"] == git(
        tree, "rev-parse", "HEAD").strip()
    plan = assert_matches("land-plan", land_plan_any(store, LandOptions(ref=made["name"])))
    assert plan["construct"] == made["id"] and len(plan["commits"]) == 2
    landed = assert_matches("remote-land-result",
                            land_any(store, LandOptions(ref=made["id"]), consent=TRUST))
    assert landed["marked"] and (m.local / "fix.txt").read_text() == "fixed\n"
    removed = assert_matches("remote-removed",
                             remove_any(store, RemoveOptions(ref=made["id"], force=True),
                                        consent=TRUST))
    assert removed["removed"] == made["id"] and m.local_remotes() == []

    other, _tree = make(m, "Other")
    gone = assert_matches("discard-result", discard_any(store, other["id"], consent=TRUST))
    assert gone["removed"] == other["id"]
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []
    # The local construct was never touched.
    assert [c["id"] for c in ok_json(m.run("ls", "--json"))["constructs"]] == [here["id"]]


def test_the_cli_previews_removal_and_discard_on_the_host(machines: Machines) -> None:
    m = machines
    made, tree = make(m)
    commit_file(tree, "fix.txt", "fixed\n", "Fix the flake")
    (tree / "notes.txt").write_text("wip\n")
    text = m.run("rm", made["id"], "--dry-run")
    assert text.returncode == 0, text.stderr
    assert f"Removing {made['id']} (Fix it):" in text.stdout
    assert f"deletes the worktree {tree}" in text.stdout
    assert "stops the services web" in text.stdout
    assert "It would not be removed without --force." in text.stdout
    preview = assert_matches("removal-preview", ok_json(m.run("rm", made["id"], "--dry-run",
                                                               "--json")))
    assert preview["construct"] == made["id"]
    text = m.run("discard", made["id"], "--dry-run")
    assert text.returncode == 0, text.stderr
    assert "1 commit(s) never landed would be lost:" in text.stdout
    assert "Fix the flake" in text.stdout and "? notes.txt" in text.stdout
    # Nothing was removed on either side.
    assert [c["id"] for c in m.host_constructs()] == [made["remote_id"]]
    assert [r.id for r in m.local_remotes()] == [made["id"]] and tree.is_dir()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def remote_client(lsp_client: LanguageClient, reaching: Machines) -> Any:
    """A language server whose workspace is the local repository (started after
    ``reaching`` set the environment that reaches the host)."""
    async for _ in _session(lsp_client, reaching.local):
        yield


async def test_the_language_server_shows_reviews_lands_and_removes_a_remote_construct(
        reaching: Machines, remote_client: LanguageClient) -> None:
    m, client = reaching, remote_client
    made, tree = make(m)
    commit_file(tree, "fix.txt", "fixed\n", "Fix the flake")
    (tree / "notes.txt").write_text("wip\n")

    listed = assert_matches("construct-list", await run(client, "synthetic.construct.list"))
    assert [(c["id"], c["host"]) for c in listed["constructs"]] == [(made["id"], "test")]
    shown = assert_matches("construct-show", await run(client, "synthetic.construct.show",
                                                       {"ref": made["id"]}))
    assert shown["host"] == "test" and [s["name"] for s in shown["services"]] == ["web"]
    diff = assert_matches("diff", await run(client, "synthetic.construct.diff",
                                            {"ref": made["id"]}))
    assert diff["construct"] == made["id"]
    assert [f["path"] for f in diff["uncommitted"]] == ["notes.txt"]
    log = await run(client, "synthetic.construct.log", {"ref": made["id"]})
    assert [e["subject"] for e in log["entries"]] == ["Fix the flake"]
    preview = assert_matches("removal-preview", await run(
        client, "synthetic.construct.removalPreview", {"ref": made["id"]}))
    assert preview["force_required"] and preview["name"] == "Fix it"
    doomed = assert_matches("discard-preview", await run(
        client, "synthetic.construct.discardPreview", {"ref": made["id"]}))
    assert [f["path"] for f in doomed["uncommitted"]] == ["notes.txt"]

    # Uncommitted work on the host: landing is refused with the list, as for a local one.
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.landPlan", {"ref": made["id"]})
    data = info.value.data  # type: ignore[attr-defined]
    assert data["code"] == "construct-dirty" and data["files"] == ["? notes.txt"]
    committed = assert_matches("commit-result", await run(
        client, "synthetic.construct.commit", {"ref": made["id"], "message": "Notes"}))
    assert [f["path"] for f in committed["files"]] == ["notes.txt"]
    plan = assert_matches("land-plan", await run(client, "synthetic.construct.landPlan",
                                                 {"ref": made["id"], "strategy": "squash"}))
    assert [c["subject"] for c in plan["commits"]] == ["Fix the flake", "Notes"]
    landed = assert_matches("remote-land-result", await run(
        client, "synthetic.construct.land", {"ref": made["id"], "strategy": "merge"}))
    assert landed["marked"] and landed["host"] == "test"
    assert (m.local / "notes.txt").read_text() == "wip\n"

    removed = assert_matches("remote-removed", await run(
        client, "synthetic.construct.delete", {"ref": made["id"], "force": True}))
    assert removed["removed"] == made["id"]
    other, _tree = make(m, "Other")
    gone = assert_matches("discard-result", await run(client, "synthetic.construct.discard",
                                                      {"ref": other["id"]}))
    assert gone["removed"] == other["id"]
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []
    # A reference that names nothing, here or elsewhere: the usual error.
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.show", {"ref": "nothing-here"})
    assert info.value.data["code"] == "record-not-found"  # type: ignore[attr-defined]


async def test_the_language_server_creates_a_construct_on_a_host(
        reaching: Machines, remote_client: LanguageClient) -> None:
    """``synthetic.construct.createRemote``: refused until the person allows exactly the
    items it lists (nothing made on either side), then made on the host and listed here."""
    m, client = reaching, remote_client
    args = {"name": "Made from the editor", "host": "test"}
    with pytest.raises(JsonRpcException) as refused:
        await run(client, "synthetic.construct.createRemote", args)
    data = refused.value.data  # type: ignore[attr-defined]
    assert data["code"] == "consent-required" and data["items"]
    assert m.host_constructs() == [] and m.local_remotes() == []
    await run(client, "synthetic.trust.allow", {"items": data["items"]})
    made = assert_matches("remote-created", await run(
        client, "synthetic.construct.createRemote", args))
    assert made["host"] == "test" and made["name"] == "Made from the editor"
    [there] = m.host_constructs()
    assert there["id"] == made["remote_id"] and there["name"] == "Made from the editor"
    listed = await run(client, "synthetic.construct.list")
    assert [(c["id"], c["host"]) for c in listed["constructs"]] == [(made["id"], "test")]
    # A host nobody added: the usual error, nothing made.
    with pytest.raises(JsonRpcException) as unknown:
        await run(client, "synthetic.construct.createRemote", {"name": "x", "host": "nope"})
    assert unknown.value.data["code"] == "unknown-host"  # type: ignore[attr-defined]
    assert len(m.host_constructs()) == 1


async def test_a_creation_on_a_host_can_be_cancelled_from_its_progress(
        reaching: Machines, remote_client: LanguageClient, tmp_path: Path) -> None:
    """Cancel while the start point is pushed: the host's `new` never runs, and nothing is
    left on either side (the record here, the incoming ref there)."""
    m, client = reaching, remote_client
    # Hold the push in the host's clone (its pre-receive hook) until the test lets it go.
    started, go = tmp_path / "push-started", tmp_path / "push-go"
    hook = m.clone / ".git" / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ncat >/dev/null\ntouch '{started}'\n"
                    f"while [ ! -e '{go}' ]; do sleep 0.02; done\n")
    hook.chmod(0o755)
    await run(client, "synthetic.trust.allow", {"items": (await run(
        client, "synthetic.trust.preview"))["items"]})
    before = set(client.progress_reports)
    creating = asyncio.ensure_future(run(client, "synthetic.construct.createRemote",
                                         {"name": "Stopped", "host": "test"}))
    try:
        token = await until(lambda: next((t for t in client.progress_reports
                                          if t not in before and
                                          len(client.progress_reports[t]) > 1), None),
                            "the first step's report", timeout=120)
        begin, first = client.progress_reports[token][:2]
        assert isinstance(begin, types.WorkDoneProgressBegin) and begin.cancellable
        assert isinstance(first, types.WorkDoneProgressReport)
        assert (first.message or "").startswith("[1/2] pushing ")
        await until(started.exists, "the host's pre-receive hook", timeout=120)
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        # Answered after the cancel, so the server has handled the cancel by now.
        await run(client, "synthetic.host.list")
    finally:
        go.touch()
    with pytest.raises(JsonRpcException) as caught:
        await creating
    assert caught.value.data["code"] == "cancelled"  # type: ignore[attr-defined]
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []
