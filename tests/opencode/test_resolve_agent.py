"""Conflicts back to the agent: ``synthetic resolve`` with the real ``opencode serve`` and
the offline model, then ``land``.

The person's ``--prompt "[tool:bash sh fix.sh]"`` makes the offline agent run
a script that resolves every conflict of a file by keeping both sides (it
deletes the marker lines), as an agent keeping both intentions would. With
a server whose agents run shell commands without asking, Synthetic continues
the rebase by itself after each of the agent's turns (two conflicting
commits: two rounds); with one that asks (the usual), resolve stops while
the agent waits for the person's answer, and ``--continue`` finishes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from synthetic_ls.opencode.offline_model import OfflineModelServer
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, commit_file, git, make_repo
from tests.opencode.conftest import OpenCodeServer, running_opencode
from tests.opencode.test_sessions import wait_for
from tests.result_schemas import assert_matches

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: { agent: { agent: { providerId: "offline", modelId: "echo" } } },
};
"""
#: Keeps both sides of every conflict in the files named: the marker lines go.
FIX = "sed -i -e '/^<<<<<<< /d' -e '/^=======$/d' -e '/^>>>>>>> /d' {files}\n"


@pytest.fixture(scope="module")
def bash_allowed_server(
    opencode_bin: str, offline_model: OfflineModelServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OpenCodeServer]:
    """An ``opencode serve`` whose agents run shell commands without asking."""
    with running_opencode(opencode_bin, tmp_path_factory.mktemp("opencode-bash"),
                          offline_model.url, ask_bash=False) as server:
        yield server


def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: OpenCodeServer,
        opencode_bin: str) -> Path:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, server.url)
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG,
                                        "README.md": "hello\n", "NOTES.md": "notes\n"})
    monkeypatch.chdir(repo)
    return repo


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    status = run([*argv, "--json"])
    out = capsys.readouterr()
    assert status == code, out.out + out.err
    return json.loads(out.out)  # type: ignore[no-any-return]


def test_the_agent_resolves_two_conflicting_commits_and_the_branch_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    bash_allowed_server: OpenCodeServer, opencode_bin: str,
) -> None:
    repo = lab(tmp_path, monkeypatch, bash_allowed_server, opencode_bin)
    made = cli(capsys, "new", "Greet")
    cid, wt = made["id"], Path(made["workspace_path"])
    commit_file(wt, "README.md", "hello from the construct\n", "construct: readme")
    commit_file(wt, "NOTES.md", "notes from the construct\n", "construct: notes")
    commit_file(repo, "README.md", "hello from main\n", "main: readme")
    commit_file(repo, "NOTES.md", "notes from main\n", "main: notes")
    before = git(wt, "rev-parse", "HEAD").strip()
    refused = run(["land", cid, "--json"])
    assert refused == 5 and "merge-conflict" in capsys.readouterr().err

    fix = tmp_path / "fix.sh"
    fix.write_text(FIX.format(files=f"{wt}/README.md {wt}/NOTES.md"))
    done = cli(capsys, "resolve", cid, "--prompt", f"[tool:bash sh {fix}]", "--trust")
    assert_matches("resolve-result", done)
    assert done["state"] == "rebased" and done["rounds"] == 2, done
    assert done["before"] == before and done["agent"]["state"] == "idle"
    assert done["landing"] == {"lands": True, "commits": 2, "error": None}
    assert git(wt, "rev-parse", "HEAD~2").strip() == git(repo, "rev-parse", "main").strip()
    assert (wt / "README.md").read_text() == "hello from main\nhello from the construct\n"
    assert (wt / "NOTES.md").read_text() == "notes from main\nnotes from the construct\n"

    # What the agent was given: each conflicted file, with both sides.
    log = cli(capsys, "session", "log", cid)
    # (The first user message is the prompt bundle the construct was created with.)
    prompts = [m["text"] for m in log["messages"] if m["role"] == "user"][1:]
    assert len(prompts) == 2
    first = prompts[0]
    assert "## README.md (both-modified)" in first and "NOTES.md" not in first
    assert "hello from main" in first and "hello from the construct" in first
    assert first.rstrip().endswith(f"[tool:bash sh {fix}]")
    assert "## NOTES.md (both-modified)" in prompts[1]

    landed = cli(capsys, "land", cid)
    assert landed["fast_forward"] and landed["construct"]["status"] == "completed"
    assert (repo / "README.md").read_text() == "hello from main\nhello from the construct\n"


def test_an_agent_waiting_for_permission_then_continue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    opencode_server: OpenCodeServer, opencode_bin: str,
) -> None:
    repo = lab(tmp_path, monkeypatch, opencode_server, opencode_bin)
    made = cli(capsys, "new", "Greet")
    cid, wt = made["id"], Path(made["workspace_path"])
    commit_file(wt, "README.md", "hello from the construct\n", "construct: readme")
    commit_file(repo, "README.md", "hello from main\n", "main: readme")
    fix = tmp_path / "fix.sh"
    fix.write_text(FIX.format(files=f"{wt}/README.md"))

    waiting = cli(capsys, "resolve", cid, "--prompt", f"[tool:bash sh {fix}]", "--trust",
                  code=5)
    assert_matches("resolve-result", waiting)
    assert waiting["state"] == "stopped" and waiting["reason"] == "agent-waiting"
    assert [p["permission"] for p in waiting["agent"]["permissions"]] == ["bash"]
    assert waiting["conflicts"] == [{"path": "README.md", "kind": "both-modified",
                                     "markers": True}]
    # Too early: the markers are still there; nothing moves.
    early = cli(capsys, "resolve", cid, "--continue", code=5)
    assert early["reason"] == "markers-left"

    cli(capsys, "session", "approve", cid)
    wait_for(lambda: "<<<<<<<" not in (wt / "README.md").read_text(), within=60)
    assert cli(capsys, "session", "watch", cid, "--timeout", "60")["state"] == "idle"
    done = cli(capsys, "resolve", cid, "--continue")
    assert done["state"] == "rebased" and done["landing"]["lands"] is True
    landed = cli(capsys, "land", cid)
    assert landed["construct"]["status"] == "completed"
    assert (repo / "README.md").read_text() == "hello from main\nhello from the construct\n"


def test_ctrl_c_while_the_agent_works_stops_its_turn_and_puts_the_branch_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    bash_allowed_server: OpenCodeServer, opencode_bin: str,
) -> None:
    repo = lab(tmp_path, monkeypatch, bash_allowed_server, opencode_bin)
    made = cli(capsys, "new", "Greet")
    cid, wt, sid = made["id"], Path(made["workspace_path"]), made["opencode_session_id"]
    before = commit_file(wt, "README.md", "hello from the construct\n", "construct: readme")
    commit_file(repo, "README.md", "hello from main\n", "main: readme")
    # The agent's reply streams slowly: its turn is still busy when Ctrl-C comes.
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("synthetic")), "resolve", cid, "--prompt",
         "[delay:30]", "--trust"],
        cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    with bash_allowed_server.client() as client:
        try:
            wait_for(lambda: client.statuses(directory=str(wt)).get(sid) == "busy", within=60)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        # Its turn was stopped, not left writing into the files of an undone rebase.
        wait_for(lambda: client.statuses(directory=str(wt)).get(sid) != "busy", within=20)
    assert git(wt, "rev-parse", "HEAD").strip() == before
    assert git(wt, "symbolic-ref", "--short", "HEAD").strip() == made["branch"]
    assert git(wt, "status", "--porcelain") == ""
    assert cli(capsys, "show", cid)["operation"] is None
