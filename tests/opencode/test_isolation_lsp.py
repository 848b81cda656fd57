"""An isolated construct through the language server: the editors reach its agent as any.

Its OpenCode server runs in its sandbox, not the repository's shared one;
the language server follows that server's events too, so the editor is told
the permission the agent asks (with its command) and can approve it, and
the tree's agent state comes from it (real bwrap, OpenCode, offline model).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pytest_lsp import ClientServerConfig, LanguageClient

from synthetic_ls.opencode.offline_model import OfflineModelServer, isolated_env
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, make_repo, trust
from tests.lsp.conftest import SERVER, _session
from tests.lsp.test_lsp_commands import run
from tests.opencode.test_sessions_lsp import plain, until_status, until_told

CONFIG = """export default {
  defaults: { templateId: "iso" },
  templates: {
    iso: {
      isolation: { runtime: "bubblewrap" },
      agent: { providerId: "offline", modelId: "echo" },
    },
  },
};
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("bwrap") is None:
        if os.environ.get("SYNTHETIC_E2E_REQUIRED"):
            pytest.fail("bwrap is not installed (scripts/setup.sh installs bubblewrap)")
        pytest.skip("bwrap is not installed")
    made = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(made)
    return made


@pytest_asyncio.fixture
async def client(repo: Path, tmp_path: Path, offline_model: OfflineModelServer,
                 opencode_bin: str) -> Any:
    env = {**os.environ, **GIT_ENV, **isolated_env(tmp_path / "home", offline_model.url),
           "SYNTHETIC_OPENCODE_BIN": opencode_bin,
           "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    env.pop(URL_ENV, None)
    env.pop(PASSWORD_ENV, None)
    lsp_client = await ClientServerConfig(server_command=SERVER, server_env=env).start()
    sessions = _session(lsp_client, repo)  # type: ignore[arg-type]
    await anext(sessions)
    yield lsp_client
    with contextlib.suppress(StopAsyncIteration):
        await anext(sessions)
    await lsp_client.stop()


async def test_the_editor_follows_and_approves_an_isolated_agent(
    client: LanguageClient, repo: Path
) -> None:
    told: list[dict[str, Any]] = []
    client.feature("synthetic/agentState")(lambda params: told.append(plain(params)))
    made = await run(client, "synthetic.construct.create", {"name": "Boxed"})
    cid = made["id"]
    assert made["isolation"] == "bubblewrap"
    assert not (repo / ".git" / "synthetic" / "opencode" / "server.toml").exists(), (
        "an isolated construct starts no shared server")
    sent = await run(client, "synthetic.session.send",
                     {"ref": cid, "text": "[tool:bash echo boxed > e.txt]"})
    assert sent["state"] == "busy"
    asked = await until_told(told, lambda t: t["state"] == "awaiting_input", timeout=60)
    assert asked["construct"] == cid and asked["permission"]["permission"] == "bash"
    assert asked["permission"]["patterns"] == ["echo boxed > e.txt"]
    await until_status(repo, cid, "awaiting_input")
    listed = await run(client, "synthetic.construct.list", {})
    [row] = [c for c in listed["constructs"] if c["id"] == cid]
    assert row["agent"]["state"] == "awaiting_input"
    await run(client, "synthetic.session.approve", {"ref": cid})
    await until_status(repo, cid, "ready", timeout=60)
    assert (Path(made["workspace_path"]) / "e.txt").read_text() == "boxed\n"
    removed = await run(client, "synthetic.construct.delete", {"ref": cid, "force": True})
    assert removed["removed"] == cid
    assert not (repo / ".git" / "synthetic" / "sandboxes" / cid).exists()
