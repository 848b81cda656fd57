"""OpenCode runs nothing of a repository before the person allows it (issue 20, item 6).

OpenCode runs a folder's ``.opencode/plugin/*.js`` (and starts the MCP
servers of its ``opencode.json``) when it first serves that folder. Against
the real ``opencode serve``: the managed server starts outside the
repository, so starting it runs nothing of it; ``new`` lists the plugin and
the MCP server and refuses without consent (nothing runs, not even the
server); with consent the plugin does run in the worktree. A plugin an agent
changes in its worktree is asked about again, and a read never makes
OpenCode load it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic_ls.opencode.offline_model import OfflineModelServer, isolated_env
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, make_repo
from tests.opencode.test_sessions import wait_for

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: { agent: { agent: { providerId: "offline", modelId: "echo" } } },
};
"""

PLUGIN = """import { appendFileSync } from "node:fs";
export const Mark = async ({ directory }) => {
  appendFileSync(%r, directory + "\\n");
  return {};
};
"""


@pytest.fixture
def lab(tmp_path: Path, offline_model: OfflineModelServer, opencode_bin: str,
        monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    marks = tmp_path / "marks"
    marks.mkdir()
    opencode_json = {"mcp": {"probe": {"type": "local",
                                       "command": ["sh", "-c", f"touch {marks}/mcp; sleep 60"]}}}
    repo = make_repo(tmp_path / "app", {
        "synthetic.config.ts": CONFIG,
        ".opencode/plugin/mark.js": PLUGIN % str(marks / "plugin"),
        "opencode.json": json.dumps(opencode_json),
        "README.md": "hi\n",
    })
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **GIT_ENV, **isolated_env(home, offline_model.url),
           "SYNTHETIC_OPENCODE_BIN": opencode_bin,
           "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    env.pop(URL_ENV, None)
    env.pop(PASSWORD_ENV, None)
    yield {"repo": repo, "env": env, "marks": marks}
    subprocess.run([sys.executable, "-m", "synthetic_ls", "opencode", "stop"], cwd=repo,
                   env=env, capture_output=True, timeout=60)


def run(lab: dict[str, object], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "synthetic_ls", *argv], cwd=lab["repo"],  # type: ignore[arg-type]
        env=lab["env"], capture_output=True, text=True, stdin=subprocess.DEVNULL,  # type: ignore[arg-type]
        timeout=300,
    )


def test_nothing_of_the_repository_runs_in_opencode_before_consent(
    lab: dict[str, object],
) -> None:
    marks: Path = lab["marks"]  # type: ignore[assignment]
    repo: Path = lab["repo"]  # type: ignore[assignment]
    # The server starts outside the repository: its plugins are not loaded.
    started = run(lab, "opencode", "start", "--json")
    assert started.returncode == 0, started.stderr
    assert run(lab, "opencode", "status").returncode == 0
    refused = run(lab, "new", "First", "--json")
    assert refused.returncode == 8, refused.stderr
    items = json.loads(refused.stderr)["error"]["items"]
    assert {(i["kind"], i["where"]) for i in items} == {
        ("opencode-code", ".opencode/plugin/mark.js"), ("opencode-config", "opencode.json")}
    mcp = next(i for i in items if i["kind"] == "opencode-config")
    assert "MCP servers probe (sh -c touch" in mcp["text"]
    assert not (marks / "plugin").exists() and not (marks / "mcp").exists()
    assert not (repo / ".git" / "synthetic" / "constructs").exists() or not any(
        (repo / ".git" / "synthetic" / "constructs").iterdir())

    # With consent the plugin runs, in the worktree: the check guarded something real.
    made = run(lab, "new", "First", "--trust", "--json")
    assert made.returncode == 0, made.stderr
    worktree = json.loads(made.stdout)["workspace_path"]
    wait_for(lambda: (marks / "plugin").exists())
    assert worktree in (marks / "plugin").read_text()

    # The agent changes the plugin in its worktree; a new server has not loaded it.
    changed = Path(worktree) / ".opencode" / "plugin" / "mark.js"
    changed.write_text(PLUGIN % str(marks / "changed"))
    assert run(lab, "opencode", "stop").returncode == 0
    assert run(lab, "opencode", "start").returncode == 0
    listed = run(lab, "ls", "--json")  # a read: OpenCode must not load the folder
    assert listed.returncode == 0, listed.stderr
    sent = run(lab, "session", "send", "First", "hello", "--json")
    assert sent.returncode == 8, sent.stderr
    asked = json.loads(sent.stderr)["error"]["items"]
    assert [i["where"] for i in asked] == [".opencode/plugin/mark.js"]
    assert not (marks / "changed").exists()
    allowed = run(lab, "session", "send", "First", "hello", "--trust", "--json")
    assert allowed.returncode == 0, allowed.stderr
    wait_for(lambda: (marks / "changed").exists())
    assert run(lab, "rm", "First", "--yes", "--force").returncode == 0
