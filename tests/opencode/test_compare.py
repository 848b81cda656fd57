"""``synthetic compare``: a group of three attempts side by side, against real git, the real
``opencode serve`` and the offline model (which has a price: tokens and cost are real).

After the group's prompt, each attempt's agent is given its own scripted turn (the offline
model's ``[tool:bash ...]`` marker, on a server whose agents run shell commands without
asking): all three write the same ``notes.txt``, the first two a different ``pick.txt``,
and the third a ``bad.txt`` that fails the template's check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from synthetic_ls.lsp.commands import COMMANDS
from synthetic_ls.opencode.offline_model import OfflineModelServer
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, git, make_repo, trust
from tests.opencode.conftest import OpenCodeServer, running_opencode
from tests.opencode.test_reads_are_pure import processes_in
from tests.opencode.test_sessions import wait_for
from tests.result_schemas import assert_matches

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: { agent: {
    agent: { providerId: "offline", modelId: "echo" },
    checks: { clean: "if [ -e bad.txt ]; then echo bad.txt must not exist; exit 1; fi" },
  } },
};
"""
#: What each attempt's agent is told to do (a shell command the offline model calls).
SCRIPTS = (
    "echo same > notes.txt && echo one > pick.txt",
    "echo same > notes.txt && echo two > pick.txt",
    "echo same > notes.txt && echo oops > bad.txt",
)


@pytest.fixture(scope="module")
def bash_allowed_server(
    opencode_bin: str, offline_model: OfflineModelServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OpenCodeServer]:
    """An ``opencode serve`` whose agents run shell commands without asking."""
    with running_opencode(opencode_bin, tmp_path_factory.mktemp("opencode-bash"),
                          offline_model.url, ask_bash=False) as server:
        yield server


def cli(capsys: pytest.CaptureFixture[str], *argv: str, as_json: bool = True) -> dict:  # type: ignore[type-arg]
    status = run([*argv, "--json"] if as_json else list(argv))
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    return json.loads(out.out) if as_json else {"text": out.out}


def answered(server: OpenCodeServer, sid: str, directory: str, count: int) -> bool:
    """Whether the session has ``count`` finished answers (assistant messages completed)."""
    with server.client() as client:
        done = [m for m in client.messages(sid, directory=directory)
                if m.role == "assistant" and (m.raw.get("info") or {}).get("time", {}).get(
                    "completed")]
    return len(done) >= count


def state_bytes(repo: Path) -> dict[str, str]:
    """A digest of every file of the repository's state and of git's refs and worktrees."""
    out: dict[str, str] = {}
    for folder in (repo / ".git" / "synthetic", repo / ".git" / "refs",
                   repo / ".git" / "worktrees"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            # (The listing cache is derived, rewritten by any read: see test_reads_are_pure.)
            if path.name.endswith(".lock") or path.suffix == ".log" or "cache" in path.parts:
                continue
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_compare_three_attempts_run_their_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    bash_allowed_server: OpenCodeServer, opencode_bin: str,
) -> None:
    from state_format.store import Store
    from synthetic_ls.ops.attempts_diff import diff_attempts
    from synthetic_ls.ops.compare import compare_group

    server = bash_allowed_server
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv(URL_ENV, server.url)
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(repo)
    monkeypatch.chdir(repo)

    group = cli(capsys, "new", "Write the notes", "--attempts", "3")
    members = group["members"]
    ids = [m["id"] for m in members]
    for m, script in zip(members, SCRIPTS, strict=True):
        wait_for(lambda m=m: answered(server, m["opencode_session_id"], m["workspace_path"], 1),
                 within=60)
        cli(capsys, "session", "send", m["id"], f"[tool:bash {script}]", "--wait")
    # The first attempt commits its notes: compared with the start point all the same.
    first = Path(members[0]["workspace_path"])
    git(first, "add", "notes.txt")
    git(first, "commit", "-q", "-m", "notes")

    compared = cli(capsys, "compare", group["id"], "--run-checks")
    assert_matches("compare-result", compared)
    assert compared["checks_ran"] and [a["id"] for a in compared["attempts"]] == ids
    by_id = {a["id"]: a for a in compared["attempts"]}
    verdicts = {cid: [(r["name"], r["passed"], r["stale"]) for r in a["checks"]]
                for cid, a in by_id.items()}
    assert verdicts == {ids[0]: [("clean", True, False)], ids[1]: [("clean", True, False)],
                        ids[2]: [("clean", False, False)]}
    assert by_id[ids[2]]["checks"][0]["output"] == ["bad.txt must not exist"]
    assert {f["path"]: (f["changed_by"], f["agree"]) for f in compared["files"]} == {
        "bad.txt": ([ids[2]], True),
        "notes.txt": (ids, True),
        "pick.txt": (ids[:2], False),
    }
    for a in compared["attempts"]:
        assert not a["gone"] and a["agent_state"] == "idle"
        # The group's prompt, then the scripted turn: its tool call and its summary.
        assert a["turns"] == 3 and a["duration_ms"] > 0
        assert a["stat"] == {"files": 2, "additions": 2, "deletions": 0}
        assert a["usage"]["input"] > 0 and a["usage"]["output"] > 0 and a["usage"]["cost"] > 0
    assert [f["status"] for f in by_id[ids[0]]["files"]] == ["A", "A"]  # committed + not
    # What the attempts cost adds up to the group's total, on every face.
    usages = [a["usage"] for a in compared["attempts"]]
    for key in ("input", "output", "reasoning", "cache_read", "cache_write"):
        assert compared["usage"][key] == sum(u[key] for u in usages)
    assert compared["usage"]["cost"] == pytest.approx(sum(u["cost"] for u in usages))
    shown = cli(capsys, "group", "show", group["id"])
    assert_matches("group", shown)
    assert shown["usage"] == compared["usage"]
    listed = cli(capsys, "group", "ls")
    assert_matches("group-list", listed)
    assert listed["groups"][0]["usage"] == compared["usage"] == listed["usage"]

    # A commit in the second attempt: its recorded check is now stale. Reading changes nothing.
    second = Path(members[1]["workspace_path"])
    git(second, "add", "pick.txt")
    git(second, "commit", "-q", "-m", "pick")
    before, running = state_bytes(repo), processes_in(tmp_path)
    again = compare_group(Store.open(repo), group["id"]).to_dict()
    assert not again["checks_ran"]
    assert [r["stale"] for r in again["attempts"][1]["checks"]] == [True]
    assert [r["stale"] for r in again["attempts"][0]["checks"]] == [False]
    text = cli(capsys, "compare", group["id"], as_json=False)["text"]
    assert state_bytes(repo) == before and processes_in(tmp_path) == running
    assert "DIFFER  pick.txt" in text and "agree   notes.txt" in text
    assert f"{ids[2]}: check clean failed (exit 1)" in text and "1/1 pass (stale)" in text

    # Between two attempts: only what differs (notes.txt is the same, committed or not).
    between = diff_attempts(Store.open(repo), ids[0], ids[1]).to_dict()
    assert_matches("attempts-diff", between)
    assert [f["path"] for f in between["files"]] == ["pick.txt"]
    assert "-one" in between["patch"] and "+two" in between["patch"]
    # The language server's reads of a group: the same ops through its adapters.
    store = Store.open(repo)
    for name, args in (("synthetic.group.compare", {"ref": group["id"]}),
                       ("synthetic.group.diffAttempts", {"a": ids[0], "b": ids[2]}),
                       ("synthetic.group.show", {"ref": group["id"]}),
                       ("synthetic.group.list", {})):
        COMMANDS[name].run(store, args).to_dict()
        assert state_bytes(repo) == before, f"{name} wrote to the state"
        assert processes_in(tmp_path) == running, f"{name} left a process"

    # An attempt removed on its own: shown as gone, its files out of the agreement.
    cli(capsys, "rm", ids[2], "--yes", "--force")
    after = compare_group(Store.open(repo), group["id"]).to_dict()
    assert after["attempts"][2]["gone"] and after["attempts"][2]["usage"] is None
    assert [f["path"] for f in after["files"]] == ["notes.txt", "pick.txt"]
    assert f"{ids[2]}: removed since" in cli(capsys, "compare", group["id"], as_json=False)[
        "text"]
    # A group that is not there: a clear message, no traceback.
    assert run(["compare", "no-such-group"]) != 0
    err = capsys.readouterr().err
    assert "no-such-group" in err and "Traceback" not in err

    cli(capsys, "group", "rm", group["id"], "--yes", "--force")
