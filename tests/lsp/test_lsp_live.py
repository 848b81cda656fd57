"""Live state, several repositories, and trust: over stdio, with the real CLI in a subprocess."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from synthetic_ls.lsp.live_state import WATCHING
from tests.gitrepo import GIT_ENV, make_repo
from tests.lsp.conftest import CLEAN_CONFIG, open_config
from tests.lsp.test_lsp_commands import run

NOTIFICATION = "synthetic/constructsChanged"


def cli(repo: Path, *args: str) -> str:
    """Run the real ``synthetic`` command in ``repo``, in its own process."""
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "synthetic_ls.cli.main", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def changed_for(client: LanguageClient, root: Path, timeout: float = 15) -> dict[str, Any]:
    """Wait for a constructsChanged notification about ``root`` sent from now on.

    Reads the list the client fixture fills from the notification handler,
    so a notification about another repository arriving first cannot make
    this one be missed.
    """
    seen: list[Any] = client.constructs_changed  # type: ignore[attr-defined]
    start = len(seen)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for params in seen[start:]:
            if Path(params.root) == root:
                return {"root": params.root, "stateDir": params.stateDir}
        await asyncio.sleep(0.02)
    raise AssertionError(f"no synthetic/constructsChanged about {root} within {timeout} s")


async def watching(client: LanguageClient, *roots: Path, timeout: float = 15) -> None:
    """Wait until the server has said (window/logMessage) that it watches each of ``roots``.

    It starts watching a repository just after it sees it (once git has said
    where the state is): changes made before that are not notified.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    wanted = {f"{WATCHING} {root} " for root in roots}
    while True:
        said = {m.message for m in client.log_messages}
        if all(any(m.startswith(w) for m in said) for w in wanted):
            return
        assert asyncio.get_running_loop().time() < deadline, f"not watching {roots}: {said}"
        await asyncio.sleep(0.02)


async def test_a_change_made_by_the_cli_reaches_the_client(
    client: LanguageClient, repo: Path
) -> None:
    await watching(client, repo)
    waiting = asyncio.ensure_future(changed_for(client, repo))
    cli(repo, "new", "From the CLI", "--template", "docs", "--no-worktree")
    params = await waiting
    assert params["stateDir"].endswith("synthetic")
    # An edit of a record, then its removal, are changes too.
    ident = cli(repo, "ls", "--json")
    import json

    construct = json.loads(ident)["constructs"][0]["id"]
    waiting = asyncio.ensure_future(changed_for(client, repo))
    cli(repo, "edit", construct, "--name", "Renamed")
    await waiting
    waiting = asyncio.ensure_future(changed_for(client, repo))
    cli(repo, "rm", construct, "--yes")
    await waiting
    assert client.lens_refreshes  # type: ignore[attr-defined]


@pytest.fixture
def two_repos(tmp_path: Path) -> tuple[Path, Path]:
    """Two repositories, each with a config."""
    return (
        make_repo(tmp_path / "one", {"synthetic.config.ts": CLEAN_CONFIG}),
        make_repo(tmp_path / "two", {"synthetic.config.ts": CLEAN_CONFIG}),
    )


@pytest.fixture
def parent(two_repos: tuple[Path, Path]) -> Path:
    """The folder holding both repositories (the first workspace folder)."""
    return two_repos[0]


@pytest.mark.workspace("parent")
async def test_several_repositories(client: LanguageClient, two_repos: tuple[Path, Path]) -> None:
    one, two = two_repos
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=two.as_uri(), name="two")], removed=[]
            )
        )
    )
    await watching(client, one, two)
    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.construct.list")
    assert caught.value.data["code"] == "invalid-input"
    assert sorted(caught.value.data["roots"]) == sorted([str(one), str(two)])
    waiting = asyncio.ensure_future(changed_for(client, two))
    made = await run(
        client, "synthetic.construct.create", {"root": str(two), "name": "x", "worktree": False}
    )
    assert Path((await waiting)["root"]) == two
    assert (await run(client, "synthetic.construct.list", {"root": str(one)}))["constructs"] == []
    listed = await run(client, "synthetic.construct.list", {"root": str(two)})
    assert [c["id"] for c in listed["constructs"]] == [made["id"]]
    # Both are watched: a change in either reaches the client, named by its root.
    waiting = asyncio.ensure_future(changed_for(client, one))
    cli(one, "new", "In one", "--no-worktree")
    assert Path((await waiting)["root"]) == one
    # Diagnostics of both configs, each checked against its own repository.
    assert await open_config(client, one / "synthetic.config.ts") == []
    assert await open_config(client, two / "synthetic.config.ts") == []


HOSTILE = """\
import { execSync } from "child_process";
const x = execSync("touch PWNED");
export default defineSyntheticConfig({
  templates: { a: { label: require("fs").writeFileSync("PWNED2", "x") } },
  worktrees: { root: `${execSync("touch PWNED3")}` },
});
"""


@pytest.fixture
def hostile_repo(tmp_path: Path) -> Path:
    """A cloned repository whose config would run commands if it were executed."""
    return make_repo(tmp_path / "hostile", {"synthetic.config.ts": HOSTILE})


@pytest.mark.workspace("hostile_repo")
async def test_opening_a_repository_runs_and_writes_nothing(
    client: LanguageClient, hostile_repo: Path
) -> None:
    before = sorted(p.relative_to(hostile_repo) for p in hostile_repo.rglob("*"))
    path = hostile_repo / "synthetic.config.ts"
    diagnostics = await open_config(client, path)
    assert {d.code for d in diagnostics} >= {"non-literal"}
    await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            position=types.Position(line=3, character=20),
        )
    )
    await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )
    # The last thing the server does on its own for a repository it sees:
    # start watching it (which must create nothing either).
    await watching(client, hostile_repo)
    after = sorted(p.relative_to(hostile_repo) for p in hostile_repo.rglob("*"))
    assert after == before  # no PWNED file, and no state folder made under .git
    assert not any(p.name.startswith("PWNED") for p in hostile_repo.parent.rglob("*"))
