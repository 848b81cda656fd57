"""Review with a real agent session: reviewOnIdle, and the log's turns beside the commits."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, commit_file, make_repo
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_sessions import wait_for

CONFIG = """export default {
  defaults: { templateId: "review" },
  templates: {
    review: { agent: { providerId: "offline", modelId: "echo" }, reviewOnIdle: true },
    plain: { agent: { providerId: "offline", modelId: "echo" } },
  },
};
"""


@pytest.fixture
def repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opencode_server: OpenCodeServer,
    opencode_bin: str,
) -> Path:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, opencode_server.url)
    monkeypatch.setenv(PASSWORD_ENV, opencode_server.password)
    path = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    code = run([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)  # type: ignore[no-any-return]


def test_review_on_idle_and_the_log_interleaves_turns_and_commits(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = cli_json(capsys, "new", "Add greeting", "--description", "Say hello")
    cid, wt = made["id"], Path(made["workspace_path"])
    plain = cli_json(capsys, "new", "Other", "--template", "plain")["id"]
    sent = cli_json(capsys, "session", "send", cid, "[tool:bash echo hi > made.txt]", "--wait")
    assert sent["state"] == "awaiting_input"
    cli_json(capsys, "session", "approve", cid)
    assert cli_json(capsys, "session", "watch", cid, "--timeout", "60")["state"] == "idle"
    # The template asks for review: the finished turn leads to reviewing, not ready.
    wait_for(lambda: cli_json(capsys, "show", cid)["status"] == "reviewing")
    cli_json(capsys, "session", "send", plain, "hello", "--wait")
    wait_for(lambda: cli_json(capsys, "show", plain)["status"] == "ready")
    # Reviewing no longer follows the agent: it stays there.
    assert cli_json(capsys, "show", cid)["status"] == "reviewing"

    # Commit times have whole seconds: the commit must be dated after the
    # turn, and the next turn after the commit.
    next_whole_second()
    commit_file(wt, "made.txt", "hi\n", "add made.txt")
    next_whole_second()
    cli_json(capsys, "session", "send", cid, "what did you do?", "--wait")
    log = cli_json(capsys, "log", cid)
    kinds = [e["kind"] for e in log["entries"]]
    assert kinds == ["turn", "commit", "turn"], log
    turn = log["entries"][0]
    assert turn["prompt"] == "[tool:bash echo hi > made.txt]" and turn["tools"] == 1
    assert turn["summary"] == "Tool bash returned: (no output)"
    assert log["entries"][1]["files"] == ["made.txt"]
    assert log["entries"][2]["summary"] == "Offline model reply to: what did you do?"
    assert log["session_note"] is None

    # The squash message is drafted from the name, description and the agent's summary.
    landed = cli_json(capsys, "land", cid, "--squash")
    assert landed["construct"]["status"] == "completed"
    from tests.gitrepo import git

    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(
        "Add greeting\n\nSay hello\n\nAgent summary:\nOffline model reply to: what did you do?"
    )
    assert "* add made.txt" in message


def next_whole_second() -> None:
    """Wait until the clock has entered the next whole second (what a commit date can tell)."""
    target = math.floor(time.time()) + 1
    while time.time() < target:
        time.sleep(0.01)
