"""Agent sessions per construct, against the real ``opencode serve`` and the offline model.

Every test drives the real CLI (in-process) on a real repository; the server
is the session-wide real one, named by ``SYNTHETIC_OPENCODE_URL``, or a
:mod:`fault_proxy` in front of it where a test needs it to fail at one point.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from synthetic_ls.opencode.client import LOAD_TIMEOUT_ENV, OpenCodeClient, OpenCodeError
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import git, make_repo
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.fault_proxy import Rule, fault_proxy

CONFIG = """export default {
  defaults: { templateId: "agent" },
  worktrees: { branchPrefix: "agent/" },
  templates: {
    agent: { label: "With agent", agent: { providerId: "offline", modelId: "echo" } },
    plain: { label: "No agent" },
    nope: { label: "Unknown provider", agent: { providerId: "nope", modelId: "x" } },
    nomodel: { label: "Unknown model", agent: { providerId: "offline", modelId: "gpt-9" } },
  },
};
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    """The real server, named by the environment (as a user with their own server would)."""
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, opencode_server.url)
    monkeypatch.setenv(PASSWORD_ENV, opencode_server.password)
    return opencode_server


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> dict:
    got, out, err = cli(capsys, *argv, "--json")
    assert got == code, (out, err)
    return json.loads(out if out.strip() else err)  # type: ignore[no-any-return]


def new_agent(capsys: pytest.CaptureFixture[str], name: str = "Add login") -> dict:
    return cli_json(capsys, "new", name)


def show(capsys: pytest.CaptureFixture[str], cid: str) -> dict:
    return cli_json(capsys, "show", cid)


def wait_for(check: Callable[[], bool], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def nothing_left(repo: Path, client: OpenCodeClient) -> None:
    """No record, no worktree, no branch but main (sessions are checked by id)."""
    state = repo / ".git" / "synthetic" / "constructs"
    assert not state.exists() or list(state.iterdir()) == []
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    trees = repo.parent / "app.worktrees"
    assert not trees.exists() or list(trees.iterdir()) == []



def sessions_in(client: OpenCodeClient, directory: Path) -> list[str]:
    """The sessions rooted in ``directory`` (OpenCode lists sessions by folder)."""
    return [s.id for s in client.list_sessions(directory=str(directory))
            if s.directory == str(directory)]


# -- create, show, remove ---------------------------------------------------------


def test_new_with_agent_makes_a_session_in_the_worktree_and_rm_deletes_it(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_agent(capsys)
    sid = made["opencode_session_id"]
    assert sid and sid.startswith("ses_")
    with served.client() as client:
        session = client.get_session(sid)
        assert session.directory == made["workspace_path"]
        assert session.title == "Add login"
        assert (session.provider_id, session.model_id) == ("offline", "echo")
        shown = show(capsys, made["id"])
        assert shown["opencode_session_id"] == sid
        # No answer yet: nothing spent (the session's sums, from the server).
        assert shown["agent"] == {"state": "idle", "pending_permissions": [], "usage": {
            "input": 0, "output": 0, "reasoning": 0, "cache_read": 0, "cache_write": 0,
            "cost": 0.0}}
        assert shown["status"] == "ready"
        assert cli(capsys, "rm", made["id"], "--yes")[0] == 0
        with pytest.raises(OpenCodeError) as gone:
            client.get_session(sid)
        assert gone.value.code == "opencode-session-gone"
        nothing_left(repo, client)


def test_rm_keep_session_and_a_template_without_agent(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = cli_json(capsys, "new", "plain one", "--template", "plain")
    assert plain["opencode_session_id"] is None
    forced = cli_json(capsys, "new", "asked for", "--template", "plain", "--agent")
    assert forced["opencode_session_id"]
    none = cli_json(capsys, "new", "declined", "--no-agent")
    assert none["opencode_session_id"] is None
    # Its worktree taken away and given back: still no session (issue 20, item 25).
    cli_json(capsys, "worktree", "rm", none["id"])
    again = cli_json(capsys, "worktree", "add", none["id"])
    assert again["workspace_path"] and again["opencode_session_id"] is None
    code, _out, err = cli(capsys, "rm", forced["id"], "--yes", "--keep-session")
    assert code == 0, err
    with served.client() as client:
        assert client.get_session(forced["opencode_session_id"]).id
        client.delete_session(forced["opencode_session_id"])


def test_dry_run_names_the_model_and_server_and_makes_nothing(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = cli_json(capsys, "new", "x", "--dry-run")
    session = next(p for p in plan["plan"] if p["resource"] == "session")
    assert session["details"]["provider_id"] == "offline"
    assert session["details"]["server"] == served.url
    with served.client() as client:
        nothing_left(repo, client)


def test_preflight_refuses_an_unusable_provider_or_model_before_anything(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    err = cli_json(capsys, "new", "x", "--template", "nope", code=1)["error"]
    assert err["code"] == "provider-not-usable"
    assert "opencode auth login" in err["message"] and "offline" in err["message"]
    assert "opencode auth login" in err["hint"]
    err = cli_json(capsys, "new", "x", "--template", "nomodel", code=1)["error"]
    # A typo in the model id is not a login problem (issue 20, item 20).
    assert err["code"] == "model-not-found" and "gpt-9" in err["message"]
    assert "auth login" not in err["hint"] and "modelId" in err["hint"]
    with served.client() as client:
        nothing_left(repo, client)


# -- a turn: prompt, tool call with permission, abort, error ------------------------------


def test_prompt_and_reply_status_follows_and_log_reads_it_back(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = new_agent(capsys)["id"]
    sent = cli_json(capsys, "session", "send", cid, "hello there", "--wait")
    assert sent["state"] == "idle"
    assert sent["reply"] == "Offline model reply to: hello there"
    wait_for(lambda: show(capsys, cid)["status"] == "ready")
    code, out, _ = cli(capsys, "session", "send", cid, "second", "--wait")
    assert code == 0 and "agent: Offline model reply to: second" in out
    log = cli_json(capsys, "session", "log", cid)
    texts = [(m["role"], m["text"]) for m in log["messages"]]
    # First the prompt bundle (the construct's context), added without a reply.
    assert texts[0][0] == "user" and texts[0][1].startswith("## This construct")
    assert texts[1:3] == [
        ("user", "hello there"), ("assistant", "Offline model reply to: hello there")
    ]
    assert len(texts) == 5
    code, out, _ = cli(capsys, "session", "log", cid)
    assert "[assistant]\nOffline model reply to: second" in out


def test_tool_call_asks_permission_and_is_approved(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_agent(capsys)
    cid = made["id"]
    sent = cli_json(capsys, "session", "send", cid, "[tool:bash echo hi > made.txt]", "--wait")
    assert sent["state"] == "awaiting_input"
    [asked] = sent["permissions"]
    assert asked["permission"] == "bash" and asked["patterns"] == ["echo hi > made.txt"]
    shown = show(capsys, cid)
    assert shown["status"] == "awaiting_input"
    assert shown["agent"]["pending_permissions"] == [asked["id"]]
    listed = cli_json(capsys, "session", "permissions", cid)
    assert [p["id"] for p in listed["pending"]] == [asked["id"]]
    replied = cli_json(capsys, "session", "approve", cid)
    assert replied == {"construct": cid, "session_id": made["opencode_session_id"],
                       "permission_id": asked["id"], "reply": "once"}
    watched = cli_json(capsys, "session", "watch", cid, "--timeout", "60")
    assert watched["state"] == "idle"
    assert (Path(made["workspace_path"]) / "made.txt").read_text() == "hi\n"
    assert show(capsys, cid)["status"] == "ready"
    log = cli_json(capsys, "session", "log", cid)
    tools = [t for m in log["messages"] for t in m["tools"]]
    assert tools == [{"tool": "bash", "status": "completed", "title": "echo hi > made.txt"}]


def test_watch_of_an_agent_waiting_for_permission_stops_at_its_timeout(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stream is quiet but for heartbeats: watch ends at --timeout and says the agent
    waits for a permission, without reconnecting (issue 20, item 19)."""
    cid = new_agent(capsys)["id"]
    assert cli_json(capsys, "session", "send", cid, "[tool:bash echo hi]", "--wait")[
        "state"] == "awaiting_input"
    code, out, err = cli(capsys, "session", "watch", cid, "--timeout", "2", "--json")
    assert code == 0, (out, err)
    assert json.loads(out)["state"] == "awaiting_input"
    assert "reconnecting" not in out + err and "still working" not in out + err
    assert cli_json(capsys, "session", "deny", cid)["reply"] == "reject"


def test_deny_ends_the_turn_and_approve_without_request_is_clear(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = new_agent(capsys)["id"]
    err = cli_json(capsys, "session", "approve", cid, code=3)["error"]
    assert err["code"] == "no-pending-permission"
    assert cli_json(capsys, "session", "send", cid, "[tool:bash rm -rf x]", "--wait")[
        "state"] == "awaiting_input"
    assert cli_json(capsys, "session", "deny", cid)["reply"] == "reject"
    cli_json(capsys, "session", "watch", cid, "--timeout", "60")
    wait_for(lambda: show(capsys, cid)["status"] == "ready")


def test_abort_stops_a_busy_turn(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = new_agent(capsys)["id"]
    sent = cli_json(capsys, "session", "send", cid, "[delay:2] a long answer with many words")
    assert sent == {"construct": cid, "session_id": sent["session_id"], "waited": False,
                    "state": "busy", "reply": None, "error": None, "permissions": []}
    wait_for(lambda: show(capsys, cid)["agent"]["state"] == "busy")
    assert show(capsys, cid)["status"] == "active"
    assert cli_json(capsys, "session", "abort", cid)["aborted"] is True
    wait_for(lambda: show(capsys, cid)["agent"]["state"] == "idle")
    assert show(capsys, cid)["status"] == "ready"


def test_a_failed_turn_is_an_error_status_until_the_next_prompt(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = new_agent(capsys)["id"]
    code, out, err = cli(capsys, "session", "send", cid, "[fail]", "--wait")
    assert code == 1 and "scripted failure" in err, (out, err)
    assert "error: scripted failure" in out
    assert show(capsys, cid)["status"] == "error"
    assert cli_json(capsys, "session", "send", cid, "again", "--wait")["state"] == "idle"
    # The reply comes with the turn's last message; OpenCode may say busy a
    # moment longer (its bookkeeping), and a show in between says so.
    wait_for(lambda: show(capsys, cid)["status"] == "ready")


def test_open_prints_the_attach_command_without_the_password(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_agent(capsys)
    opened = cli_json(capsys, "session", "open", made["id"])
    assert opened["argv"][1:] == ["attach", served.url, "--dir", made["workspace_path"],
                                  "--session", made["opencode_session_id"]]
    assert opened["env_names"] == ["OPENCODE_SERVER_PASSWORD"]
    assert served.password not in json.dumps(opened)
    code, out, _ = cli(capsys, "session", "open", made["id"])
    assert code == 0 and out.startswith('OPENCODE_SERVER_PASSWORD="$SYNTHETIC_OPENCODE_PASSWORD"')


def test_the_session_terminal_runs_no_code_of_the_worktree(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The editors start ``terminal`` in the worktree: its argparse.py must not run."""
    made = new_agent(capsys)
    worktree = Path(made["workspace_path"])
    marker = tmp_path / "ran"
    (worktree / "argparse.py").write_text(f"open({str(marker)!r}, 'a').write('ran')\n")
    terminal = cli_json(capsys, "session", "open", made["id"])["terminal_argv"]
    assert terminal[-1] == "--run"
    # Without --run it prints the attach command and ends: the same start-up.
    proc = subprocess.run(terminal[:-1], cwd=worktree, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(worktree)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OPENCODE_SERVER_PASSWORD=")
    assert not marker.exists()


# -- errors -----------------------------------------------------------------------


def test_a_construct_without_session_and_a_gone_session(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = cli_json(capsys, "new", "plain", "--template", "plain")
    err = cli_json(capsys, "session", "send", plain["id"], "hi", code=3)["error"]
    assert err["code"] == "no-session"
    made = new_agent(capsys)
    with served.client() as client:
        client.delete_session(made["opencode_session_id"])
    err = cli_json(capsys, "session", "send", made["id"], "hi", code=3)["error"]
    assert err["code"] == "opencode-session-gone"
    assert "doctor --fix" in err["hint"]
    doctor = cli_json(capsys, "doctor", code=1)
    [finding] = [f for f in doctor["findings"] if f["kind"] == "session-missing"]
    assert finding["subject"] == {"type": "construct", "ref": made["id"]} and finding["fixable"]
    fixed = cli_json(capsys, "doctor", "--fix-one", finding["id"])
    assert fixed["fixed"] and fixed["fix_notes"]
    new_sid = show(capsys, made["id"])["opencode_session_id"]
    assert new_sid and new_sid != made["opencode_session_id"]
    assert cli_json(capsys, "session", "send", made["id"], "hi", "--wait")["state"] == "idle"


def test_wrong_password_and_unreachable_server_create_nothing(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    err = cli_json(capsys, "new", "x", code=1)["error"]
    assert err["code"] == "opencode-auth" and "wrong" not in err["message"]
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    err = cli_json(capsys, "new", "x", code=1)["error"]
    assert err["code"] == "opencode-unreachable" and "127.0.0.1:9" in err["message"]
    monkeypatch.setenv(PASSWORD_ENV, served.password)
    monkeypatch.setenv(URL_ENV, served.url)
    with served.client() as client:
        nothing_left(repo, client)


def test_rm_with_the_server_down_refuses_and_changes_nothing(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = new_agent(capsys)
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9")
    err = cli_json(capsys, "rm", made["id"], "--yes", code=1)["error"]
    assert err["code"] == "session-server-unreachable" and "--keep-session" in err["message"]
    assert Path(made["workspace_path"]).is_dir()
    assert show(capsys, made["id"])["status"] == "ready"
    assert cli(capsys, "rm", made["id"], "--yes", "--keep-session")[0] == 0
    monkeypatch.setenv(URL_ENV, served.url)
    with served.client() as client:
        client.delete_session(made["opencode_session_id"])
        nothing_left(repo, client)


def test_a_failed_session_creation_rolls_the_construct_back(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^POST /session\?", status=500,
                                body=b'{"name":"UnknownError","data":{"message":"disk full"}}'))
        monkeypatch.setenv(URL_ENV, proxy.url)
        err = cli_json(capsys, "new", "x", code=1)["error"]
        assert "creating the agent session" in err["message"] and "disk full" in err["message"]
        with served.client() as client:
            nothing_left(repo, client)


def test_keep_failed_keeps_the_record_as_error_and_nothing_else(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^POST /session\?", status=503, body=b"{}"))
        monkeypatch.setenv(URL_ENV, proxy.url)
        code, _out, err = cli(capsys, "new", "kept", "--keep-failed", "--progress")
    assert code == 1
    assert err.splitlines()[:2] == [
        "[1/4] creating the worktree", "[2/4] assembling the prompt bundle"]
    assert "kept record" in err
    [kept] = cli_json(capsys, "ls")["constructs"]
    assert kept["status"] == "error" and kept["workspace_path"] is None
    assert kept["error"].startswith("creating the agent session failed: OpenCode answered 503")
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert not (repo.parent / "app.worktrees").exists() or not list(
        (repo.parent / "app.worktrees").iterdir())
    assert cli(capsys, "rm", kept["id"], "--yes")[0] == 0


def test_malformed_json_and_a_slow_server_are_clear(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = new_agent(capsys)["id"]
    with fault_proxy(served.url) as proxy:
        monkeypatch.setenv(URL_ENV, proxy.url)
        proxy.rules.append(Rule(r"^GET /session/ses_\w+/message", status=200, body=b"{nope"))
        err = cli_json(capsys, "session", "log", cid, code=1)["error"]
        assert err["code"] == "opencode-bad-response"
        proxy.rules[:] = [Rule(r"^POST /session/ses_\w+/abort", delay=8.0)]
        err = cli_json(capsys, "session", "abort", cid, code=1)["error"]
        assert err["code"] == "opencode-timeout"


def test_watch_reconnects_after_the_stream_is_cut_mid_event(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cid = new_agent(capsys)["id"]
    with fault_proxy(served.url) as proxy:
        monkeypatch.setenv(URL_ENV, proxy.url)
        # The first stream is cut mid-event during the turn; the second one works.
        proxy.rules.append(Rule(r"^GET /event", cut_after=1500, times=1))
        sent = cli_json(capsys, "session", "send", cid, "[delay:0.3] slow words here", "--wait")
        assert sent["state"] == "idle", sent
        assert sent["reply"].startswith("Offline model reply to")
        assert sum(1 for line in proxy.seen if line.startswith("GET /event")) >= 2


# -- crashes and the managed server ------------------------------------------------


def test_kill_9_while_the_session_is_made_is_rolled_back_by_doctor(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """The session exists on the server, its id never reached the record: found by folder."""
    import os
    import signal
    import subprocess
    import sys

    from tests.gitrepo import GIT_ENV

    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^POST /session\?", delay=30.0))
        env = {**os.environ, **GIT_ENV, URL_ENV: proxy.url}
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthetic_ls.cli", "new", "doomed", "--json"],
            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        trees = repo.parent / "app.worktrees"
        made: list[str] = []
        with served.client() as client:
            def session_made() -> bool:
                folders = list(trees.iterdir()) if trees.is_dir() else []
                made[:] = sessions_in(client, folders[0]) if folders else []
                return bool(made)

            try:
                wait_for(session_made, within=60)
            except AssertionError:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate(timeout=10)
                raise AssertionError((out, err, proxy.seen)) from None
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            listed = cli_json(capsys, "ls")["constructs"]
            assert [c["operation"]["state"] for c in listed] == ["interrupted"]
            assert listed[0]["opencode_session_id"] is None
            fixed = cli_json(capsys, "doctor", "--fix")
            notes = " ".join(n for f in fixed["findings"] for n in f["fix_notes"])
            assert "rolled back" in notes and f"deleted OpenCode session {made[0]}" in notes
            with pytest.raises(OpenCodeError):
                client.get_session(made[0])
            nothing_left(repo, client)


def test_a_slow_session_creation_times_out_and_leaves_no_session(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenCode made the session but answered too late: the rollback finds it by folder."""
    monkeypatch.setenv(LOAD_TIMEOUT_ENV, "5")  # the proxy holds the answer longer
    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^POST /session\?", delay=8.0))
        monkeypatch.setenv(URL_ENV, proxy.url)
        err = cli_json(capsys, "new", "late", code=1)["error"]
        assert err["code"] == "opencode-timeout"
        [deleted] = [n for n in err["rolled_back"] if n.startswith("deleted OpenCode session")]
        with served.client() as client:
            with pytest.raises(OpenCodeError):
                client.get_session(deleted.rsplit(" ", 1)[1])
            nothing_left(repo, client)


def test_the_managed_server_rehydrates_sessions_after_a_restart(
    repo: Path, tmp_path: Path, opencode_bin: str, offline_model: object,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from state_format.owner import Liveness
    from state_format.store import Store
    from synthetic_ls.runtime.groups import end_group
    from synthetic_ls.runtime.opencode_record import read_server
    from tests.opencode.test_server import home_env

    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    home = tmp_path / "home"
    home.mkdir()
    for key, value in home_env(home, offline_model.url).items():  # type: ignore[attr-defined]
        monkeypatch.setenv(key, value)
    try:
        made = new_agent(capsys)  # starts the managed server
        cid, sid = made["id"], made["opencode_session_id"]
        assert cli_json(capsys, "session", "send", cid, "before", "--wait")["state"] == "idle"
        assert cli_json(capsys, "opencode", "stop")["stopped"] is True
        assert show(capsys, cid)["agent"] == {"state": "unknown", "pending_permissions": [],
                                              "usage": None}
        # Reading the log is a read: it starts no server, and says what would.
        stopped = cli_json(capsys, "session", "log", cid, code=1)["error"]
        assert stopped["code"] == "opencode-stopped" and "opencode start" in stopped["message"]
        assert read_server(Store.open(repo).root) is None
        # Sending starts a new server; the session is found again by its id.
        after = cli_json(capsys, "session", "send", cid, "after", "--wait")
        assert after["reply"] == "Offline model reply to: after"
        log = cli_json(capsys, "session", "log", cid)
        assert log["session_id"] == sid
        assert [m["text"] for m in log["messages"]][1:] == [
            "before", "Offline model reply to: before", "after", "Offline model reply to: after"]
        assert cli(capsys, "rm", cid, "--yes")[0] == 0
    finally:
        record = read_server(Store.open(repo).root)
        if record is not None and record.owner.liveness() is Liveness.ALIVE:
            end_group(record.owner.pid, grace=1.0)


def test_opencode_not_installed_creates_nothing(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", str(tmp_path / "no-such-opencode"))
    err = cli_json(capsys, "new", "x", code=1)["error"]
    assert err["code"] == "opencode-not-installed" and "scripts/setup.sh" in err["hint"]
    state = repo / ".git" / "synthetic" / "constructs"
    assert not state.exists() or list(state.iterdir()) == []
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    # A construct without an agent needs no OpenCode at all.
    assert cli_json(capsys, "new", "plain", "--template", "plain")["opencode_session_id"] is None


def test_the_prompt_bundle_is_the_session_first_message(
    tmp_path: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, offline_model: object,
) -> None:
    config = CONFIG.replace(
        '  defaults: { templateId: "agent" },',
        '  defaults: { templateId: "agent" },\n  promptSources: ["docs/brief.md"],')
    repo = make_repo(tmp_path / "briefed", {
        "synthetic.config.ts": config, "docs/brief.md": "Brief for ${constructName}.\n"})
    monkeypatch.chdir(repo)
    made = new_agent(capsys, "Briefed one")
    log = cli_json(capsys, "session", "log", made["id"])
    [first] = log["messages"]
    assert first["role"] == "user" and first["text"].startswith("Brief for Briefed one.")
    assert "## This construct" in first["text"]
    requests = offline_model.requests  # type: ignore[attr-defined]
    before = len(requests)
    cli_json(capsys, "session", "send", made["id"], "go", "--wait")
    seen = [m for r in offline_model.requests[before:]  # type: ignore[attr-defined]
            for m in r["messages"] if m["role"] == "user"]
    assert any("Brief for Briefed one." in str(m["content"]) for m in seen)
    rebuilt = cli_json(capsys, "prompts", "build", made["id"])
    assert rebuilt["delivered"] is True


def test_a_slow_folder_load_is_told_while_it_lasts(
    repo: Path, served: OpenCodeServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 20, item 18: a cold OpenCode loading the new worktree (here held back by
    the proxy) is said while it lasts, with what is awaited and the bound; the
    creation then finishes."""
    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^GET /config/providers\?directory=", delay=5.0, times=1))
        monkeypatch.setenv(URL_ENV, proxy.url)
        code, _out, err = cli(capsys, "new", "slow", "--progress", "--json")
        assert code == 0, err
        told = [line for line in err.splitlines()
                if "waiting for OpenCode to load the worktree" in line]
        assert told, err
        assert re.match(r"\[\d/\d\] creating the agent session: waiting for OpenCode", told[0])
        assert "at most 60 s" in told[0]
        made = json.loads(_out)
        assert cli(capsys, "rm", made["id"], "--yes", "--force")[0] == 0
