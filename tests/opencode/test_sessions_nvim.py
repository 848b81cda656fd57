"""The Neovim plugin's agent-session commands, in a real headless Neovim.

The harness is tests/e2e/test_nvim.py's (a Lua scenario, the real language
server started by Neovim); the OpenCode server is the real ``opencode serve``
with the offline model (tests/opencode/conftest.py), named to Synthetic by
``SYNTHETIC_OPENCODE_URL``/``_PASSWORD`` in the environment, which reaches
Neovim, its language server and the terminal it opens.

What a person is told about their agents (a permission it waits for, a failed
turn, a turn done) comes from the server's ``synthetic/agentState``
notification; the scenarios wait for those messages.
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_nvim import _cli, pytestmark, run_scenario
from tests.gitrepo import make_repo
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_sessions import CONFIG

__all__ = ["pytestmark"]  # the e2e module's skip (or failure) without nvim

#: Lua helpers for the scenarios: the :SyntheticList lines (the picker is
#: cancelled), polled until one of them contains a text.
LIST_HELPERS = """
local function list_lines()
  T.script_ui({}, {})
  vim.cmd("SyntheticList")
  T.wait(function() return #T.prompts > 0 end, 15000, ":SyntheticList")
  return T.prompts[1].items
end
local function list_until(needles, ms)
  local deadline = vim.uv.hrtime() / 1e6 + (ms or 30000)
  local lines
  while true do
    lines = list_lines()
    local all = true
    for _, needle in ipairs(needles) do
      if not lines[1] or not lines[1]:find(needle, 1, true) then all = false end
    end
    if all then return lines[1] end
    if vim.uv.hrtime() / 1e6 > deadline then
      error("no :SyntheticList line with " .. vim.inspect(needles) .. ": " .. vim.inspect(lines))
    end
    vim.wait(200)
  end
end
local function note(needle, ms)
  return T.wait(function()
    for _, n in ipairs(T.notes) do
      if n.msg:find(needle, 1, true) then return n end
    end
  end, ms or 30000, "a message with " .. needle)
end
"""


def told(result: dict[str, Any], needle: str) -> list[str]:
    """The messages of the scenario that contain ``needle``."""
    return [n["msg"] for n in result["notes"] if needle in n["msg"]]


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_URL", opencode_server.url)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_PASSWORD", opencode_server.password)
    return opencode_server


@pytest.fixture
def repo(tmp_path: Path, served: OpenCodeServer) -> Path:
    """A repository whose default template has an agent (the offline model)."""
    return make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})


def scenario(repo: Path, lua: str, tmp_path: Path) -> dict[str, Any]:
    return run_scenario(repo, LIST_HELPERS + lua, tmp_path, timeout=150)


def errors_in(result: dict[str, Any]) -> list[str]:
    """Notifications that look like a Lua error rather than a message."""
    return [n["msg"] for n in result["notes"]
            if "traceback" in n["msg"] or ".lua:" in n["msg"]]


def test_send_bang_shows_the_reply(repo: Path, tmp_path: Path) -> None:
    """:SyntheticSend! picks among the constructs with a session, asks the prompt, shows the reply;
    with the ref on the command line it asks nothing; in the construct's worktree it needs no ref.
    """
    made = _cli(repo, "new", "Chat")
    _cli(repo, "new", "Plain", "--template", "plain")
    worktree = made["workspace_path"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        T.script_ui({{ "Chat" }}, {{}})
        vim.cmd("SyntheticSend!")
        -- The prompt is typed in a multi-line editor beside the file; `:w` sends it.
        local editor = T.wait(function()
          local b = vim.fn.bufnr("synthetic://prompt/{made["id"]}")
          return b ~= -1 and vim.fn.bufwinid(b) ~= -1 and b
        end, 30000, "the prompt editor")
        local win = vim.fn.bufwinid(editor)
        T.results.editor = {{ winbar = vim.wo[win].winbar,
                             current = win == vim.api.nvim_get_current_win() }}
        vim.api.nvim_buf_set_lines(editor, 0, -1, false,
                                   {{ "hello there", "", "a second paragraph" }})
        vim.cmd("write")
        T.results.first = note("replied").msg
        T.results.editor.gone = not vim.api.nvim_buf_is_valid(editor)
        -- Closed unsent (:q!): nothing is sent, the editor is gone.
        vim.cmd("SyntheticSend {made["id"]}")
        local cancelled = T.wait(function()
          local b = vim.fn.bufnr("synthetic://prompt/{made["id"]}")
          return b ~= -1 and vim.fn.bufwinid(b) ~= -1 and b
        end, 30000, "the prompt editor again")
        vim.api.nvim_buf_set_lines(cancelled, 0, -1, false, {{ "never sent" }})
        vim.api.nvim_set_current_win(vim.fn.bufwinid(cancelled))
        vim.cmd("quit!")
        T.results.cancelled_gone = not vim.api.nvim_buf_is_valid(cancelled)
        T.results.prompts = T.prompts
        T.script_ui({{}}, {{}})
        vim.cmd("SyntheticSend! {made["id"]} second question")
        T.results.second = note("second question").msg
        T.results.second_prompts = T.prompts
        -- In the construct's worktree: that construct, without a picker.
        vim.cmd("edit " .. vim.fn.fnameescape({json.dumps(worktree)} .. "/README.md"))
        T.client(0)
        T.script_ui({{}}, {{}})
        vim.cmd("SyntheticSend! from the worktree")
        T.results.third = note("from the worktree").msg
        T.results.third_prompts = T.prompts
        -- The transcript, completion of refs, :checkhealth.
        vim.cmd("SyntheticLog")
        local log = T.wait(function()
          local b = vim.fn.bufnr("synthetic://log/{made["id"]}")
          return b ~= -1 and vim.api.nvim_buf_line_count(b) > 1 and b
        end, 15000, "the transcript")
        T.results.log = vim.api.nvim_buf_get_lines(log, 0, -1, false)
        T.results.completion = vim.fn.getcompletion("SyntheticAbort ", "cmdline")
        T.results.send_completion = vim.fn.getcompletion("SyntheticSend {made["id"]} ", "cmdline")
        vim.cmd("checkhealth synthetic")
        T.results.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
        """, tmp_path)
    r = result["results"]
    cid = made["id"]
    assert r["first"].startswith(f"Synthetic: {cid} replied:\nOffline model reply to: hello there")
    assert r["editor"] == {"winbar": f"Prompt for {cid} — :w or <C-s> sends, :q! cancels",
                           "current": True, "gone": True}
    assert r["cancelled_gone"] and told(result, "sent to ") == []  # (the others wait: `!`)
    [select] = r["prompts"]
    assert select["prompt"] == "Send to which agent?"
    # Only the construct with a session is offered, with its agent's state.
    assert len(select["items"]) == 1 and select["items"][0].startswith("Chat  [ready]")
    assert select["items"][0].endswith("[agent: idle]")
    assert r["second"].endswith("Offline model reply to: second question")
    assert r["second_prompts"] == []
    assert r["third"].endswith("Offline model reply to: from the worktree")
    assert r["third_prompts"] == []
    log = r["log"]
    assert log[0].startswith("# ") and log[0].endswith(f"({cid}, {made['opencode_session_id']})")
    # (a context-only user message, the construct's prompt bundle, may come first)
    assert [line for line in log if line == "[assistant]"] == ["[assistant]"] * 3
    assert "Offline model reply to: from the worktree" in log
    assert r["completion"] == [cid]  # only the constructs with a session
    assert r["send_completion"] == []  # after the ref comes the prompt
    health = "\n".join(r["health"])
    assert "2 construct(s): 2 ready" in health and "agents: 1 idle" in health
    assert not errors_in(result)


def test_tool_call_waits_in_the_list_then_approve(repo: Path, tmp_path: Path) -> None:
    """A tool call asks permission: awaiting_input in :SyntheticList; approved; file written."""
    made = _cli(repo, "new", "Tool user")
    cid = made["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        vim.cmd("SyntheticSend {cid} [tool:bash echo hi > f.txt]")
        T.results.sent = note("sent to").msg
        -- The server tells (synthetic/agentState) when the agent needs a permission.
        T.results.told = note("waits for your permission").msg
        T.results.waiting = list_until({{
          "[awaiting_input]", "[agent: awaiting_input (1 permission)]" }})
        T.script_ui({{ "Tool user", "bash: echo hi > f.txt" }}, {{}})
        vim.cmd("SyntheticApprove")
        T.results.approved = note("approved").msg
        T.results.approve_prompts = T.prompts
        T.results.ready = list_until({{ "[ready]", "[agent: idle]" }})
        T.results.done = note("the agent is done").msg
        vim.cmd("SyntheticLog {cid}")
        T.results.log = T.wait(function()
          local b = vim.fn.bufnr("synthetic://log/{cid}")
          return b ~= -1 and vim.api.nvim_buf_get_lines(b, 0, -1, false)
        end, 15000, "the transcript")
        """, tmp_path)
    r = result["results"]
    assert "- tool bash (completed): echo hi > f.txt" in r["log"]
    # What is asked is read before approving: in the message and in the picker,
    # under the construct's name (its id is what the person types).
    assert r["told"] == ("Synthetic: Tool user waits for your permission: bash: echo hi > f.txt"
                         f" — :SyntheticApprove {cid} or :SyntheticDeny {cid}")
    assert r["done"] == "Synthetic: Tool user: the agent is done"
    assert len(told(result, "waits for your permission")) == 1
    assert len(told(result, "the agent is done")) == 1
    assert r["sent"].startswith(f"Synthetic: sent to {cid}")
    assert r["waiting"].startswith("Tool user  [awaiting_input]  agent/")
    assert r["approved"] == f"Synthetic: approved bash: echo hi > f.txt for {cid} (once)"
    assert [p["prompt"] for p in r["approve_prompts"]] == [
        "Approve a permission of which agent?", f"Approve which request of {cid}?"]
    assert r["approve_prompts"][1]["items"] == ["bash: echo hi > f.txt"]
    assert r["ready"].startswith("Tool user  [ready]")
    assert (Path(made["workspace_path"]) / "f.txt").read_text() == "hi\n"
    assert not errors_in(result)


def test_deny_a_permission(repo: Path, tmp_path: Path) -> None:
    made = _cli(repo, "new", "Refused")
    cid = made["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        vim.cmd("SyntheticSend! {cid} [tool:bash echo no > nope.txt]")
        T.results.asked = note("waits for your permission").msg
        T.script_ui({{ "bash: echo no > nope.txt" }}, {{}})
        vim.cmd("SyntheticDeny {cid}")
        T.results.denied = note("Synthetic: denied ").msg
        T.results.deny_prompts = T.prompts
        T.results.ready = list_until({{ "[ready]", "[agent: idle]" }})
        vim.cmd("SyntheticApprove {cid}")
        T.results.nothing = note("no pending permission").msg
        """, tmp_path)
    r = result["results"]
    assert r["asked"] == ("Synthetic: Refused waits for your permission: bash: echo no > nope.txt"
                          f" — :SyntheticApprove {cid} or :SyntheticDeny {cid}")
    # The waited send and the server's notification both bring the request: told once.
    assert told(result, "waits for your permission") == [r["asked"]]
    assert r["denied"] == f"Synthetic: denied bash: echo no > nope.txt for {cid} (reject)"
    assert [(p["prompt"], p["items"]) for p in r["deny_prompts"]] == [
        (f"Deny which request of {cid}?", ["bash: echo no > nope.txt"])]
    assert r["nothing"] == f"Synthetic: {cid} has no pending permission request"
    assert not (Path(made["workspace_path"]) / "nope.txt").exists()
    assert not errors_in(result)


def test_abort_a_slow_turn(repo: Path, tmp_path: Path) -> None:
    cid = _cli(repo, "new", "Slow")["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        vim.cmd("SyntheticSend {cid} [delay:2] many slow words to say here")
        T.results.busy = list_until({{ "[active]", "[agent: busy]" }})
        vim.cmd("SyntheticAbort {cid}")
        T.results.stopped = note("stopped the agent").msg
        T.results.ready = list_until({{ "[ready]", "[agent: idle]" }})
        T.results.done = note("the agent is done").msg
        """, tmp_path)
    r = result["results"]
    assert r["done"] == "Synthetic: Slow: the agent is done"
    assert r["busy"].startswith("Slow  [active]")
    assert r["stopped"] == f"Synthetic: stopped the agent of {cid}"
    assert r["ready"].startswith("Slow  [ready]")
    assert not errors_in(result)


def test_done_and_failed_turns_are_told(repo: Path, tmp_path: Path) -> None:
    """Without `!`, the server's notification says when the turn is done, or failed and why."""
    cid = _cli(repo, "new", "Told")["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        vim.cmd("SyntheticSend {cid} hello")
        T.results.done = note("the agent is done").msg
        vim.cmd("SyntheticSend {cid} [fail] and now fail")
        local failed = note("turn failed")
        T.results.failed, T.results.level = failed.msg, failed.level
        T.results.listed = list_until({{ "[error]" }})
        """, tmp_path)
    r = result["results"]
    assert r["done"] == "Synthetic: Told: the agent is done"
    assert r["failed"].startswith("Synthetic: Told: the agent's turn failed: ")
    assert "scripted failure" in r["failed"], r["failed"]
    assert r["failed"].endswith(f"(:SyntheticLog {cid} shows it)")
    assert r["level"] == 4  # vim.log.levels.ERROR
    assert r["listed"].startswith("Told  [error]")
    assert len(told(result, "the agent is done")) == 1
    assert not errors_in(result)


def test_a_turn_that_ended_before_neovim_listened_is_told(
    repo: Path, tmp_path: Path, served: OpenCodeServer
) -> None:
    """A prompt sent from the CLI, whose turn ended before this Neovim was open: the server
    still knows the turn began (the record says active), so Neovim is told it is done.
    Constructs prompted from elsewhere are told about, not only those prompted from here."""
    made = _cli(repo, "new", "Elsewhere")
    cid, sid = made["id"], made["opencode_session_id"]
    _cli(repo, "session", "send", cid, "from the terminal")
    record = repo / ".git" / "synthetic" / "constructs" / f"{cid}.toml"
    wt = made["workspace_path"]
    deadline = time.monotonic() + 60
    # The turn ends with nobody listening: the agent is idle, its answer the newest message.
    with served.client() as client:
        while True:
            last = client.messages(sid, directory=wt, limit=1)
            idle = client.statuses(directory=wt).get(sid, "idle") == "idle"
            if idle and last and last[-1].role == "assistant" and last[-1].finish:
                break
            assert time.monotonic() < deadline, "the turn did not end"
            time.sleep(0.1)
    assert tomllib.loads(record.read_text())["status"] == "active"  # as the send left it
    result = scenario(repo, """
        vim.cmd("edit README.md")
        T.client(0)
        T.results.done = note("the agent is done").msg
        """, tmp_path)
    assert result["results"]["done"] == "Synthetic: Elsewhere: the agent is done"
    assert tomllib.loads(record.read_text())["status"] == "ready"  # persisted by the follower
    assert not errors_in(result)


def test_session_opens_the_terminal_ui(repo: Path, tmp_path: Path, served: OpenCodeServer) -> None:
    """:SyntheticSession runs `synthetic session open ID --run` in a terminal split, which
    starts `opencode attach URL --dir WT --session SID` (the password only in its environment).
    """
    made = _cli(repo, "new", "Terminal")
    cid, sid = made["id"], made["opencode_session_id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        local wins = #vim.api.nvim_list_wins()
        vim.cmd("SyntheticSession {cid}")
        local bufnr = T.wait(function()
          local b = vim.api.nvim_get_current_buf()
          return vim.bo[b].buftype == "terminal" and vim.b[b].synthetic_session and b
        end, 30000, "the terminal buffer")
        T.results.split = #vim.api.nvim_list_wins() == wins + 1
        T.results.info = vim.b[bufnr].synthetic_session
        local job = vim.b[bufnr].terminal_job_id
        local pid = vim.fn.jobpid(job)
        local function cmdline(p)
          local f = io.open("/proc/" .. p .. "/cmdline", "rb")
          if not f then return nil end
          local s = f:read("*a")
          f:close()
          return vim.split(s:gsub("%z$", ""), "\\0", {{ plain = true }})
        end
        local function environ_has(p, text)
          local f = io.open("/proc/" .. p .. "/environ", "rb")
          if not f then return nil end
          local s = f:read("*a")
          f:close()
          return s:find(text, 1, true) ~= nil
        end
        -- (Right after the fork, the child still shows Neovim's command line.)
        T.results.job_argv = T.wait(function()
          local argv = cmdline(pid)
          return argv and vim.tbl_contains(argv, "--run") and argv
        end, 15000, "the job to run the command")
        -- The TUI process: a descendant of the job running `attach`.
        local function find_attach(p)
          for _, child in ipairs(vim.api.nvim_get_proc_children(p)) do
            local argv = cmdline(child)
            -- (not the `attach --help` that checks the subcommand first)
            if argv and vim.tbl_contains(argv, "attach")
                and vim.tbl_contains(argv, "--session") then
              return child, argv
            end
            local found, fargv = find_attach(child)
            if found then return found, fargv end
          end
        end
        local tui
        T.results.tui_argv = T.wait(function()
          local found, argv = find_attach(pid)
          tui = found
          return argv
        end, 30000, "opencode attach to start")
        T.results.password_in_env = environ_has(tui, "OPENCODE_SERVER_PASSWORD=")
        -- Closing the terminal ends the job and the TUI.
        vim.cmd("bwipeout! " .. bufnr)
        T.wait(function() return vim.fn.jobwait({{ job }}, 0)[1] ~= -1 end, 15000, "the job to end")
        T.wait(function() return vim.uv.kill(tui, 0) ~= 0 end, 15000, "the TUI to end")
        """, tmp_path)
    r = result["results"]
    assert r["split"]
    assert r["info"]["construct"] == cid and r["info"]["session_id"] == sid
    assert r["job_argv"][-4:] == ["session", "open", cid, "--run"]
    # Isolated (-I): the terminal starts with the worktree as its folder.
    assert r["job_argv"][1:4] == ["-I", "-m", "synthetic_ls.cli"]
    tui = r["tui_argv"]
    assert tui[tui.index("attach") + 1] == served.url
    assert tui[tui.index("--session") + 1] == sid
    assert tui[tui.index("--dir") + 1] == made["workspace_path"]
    assert served.password not in json.dumps(r)
    assert r["password_in_env"] is True
    assert not errors_in(result)


def test_errors_are_messages_not_tracebacks(repo: Path, tmp_path: Path) -> None:
    """No construct with a session; one without it named; an unknown ref: clear messages."""
    plain = _cli(repo, "new", "Plain", "--template", "plain")["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        T.script_ui({{}}, {{}})
        vim.cmd("SyntheticSend")
        T.results.none = note("no construct has an agent session").msg
        vim.cmd("SyntheticSend {plain} hello")
        T.results.no_session = note("has no agent session (").msg
        vim.cmd("SyntheticAbort nosuchthing")
        T.results.unknown = T.wait(function()
          for _, n in ipairs(T.notes) do
            if n.level == vim.log.levels.ERROR and n.msg:find("nosuchthing", 1, true) then
              return n
            end
          end
        end, 15000, "the unknown ref").msg
        """, tmp_path)
    r = result["results"]
    assert r["none"].startswith("Synthetic: no construct has an agent session")
    assert r["no_session"].startswith(f"Synthetic: construct {plain} has no agent session")
    assert r["unknown"].startswith("Synthetic: ")
    assert not errors_in(result)


def test_remove_closes_the_construct_s_terminal(repo: Path, tmp_path: Path) -> None:
    """After :SyntheticRemove, the OpenCode terminal of the removed construct (attached
    to a deleted session) is closed, its job ended; the person's own window stays."""
    cid = _cli(repo, "new", "Short lived")["id"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        local wins = #vim.api.nvim_list_wins()
        vim.cmd("SyntheticSession {cid}")
        local bufnr = T.wait(function()
          local b = vim.api.nvim_get_current_buf()
          return vim.bo[b].buftype == "terminal" and vim.b[b].synthetic_session and b
        end, 30000, "the terminal buffer")
        local job = vim.b[bufnr].terminal_job_id
        T.results.opened = #vim.api.nvim_list_wins() == wins + 1
        T.script_ui({{ "Remove" }}, {{}})
        vim.cmd("SyntheticRemove {cid}")
        note("Synthetic: removed ")
        T.results.terminal_gone = not vim.api.nvim_buf_is_valid(bufnr)
        T.results.wins = #vim.api.nvim_list_wins() == wins
        T.results.shown = vim.api.nvim_buf_get_name(0)
        T.wait(function() return vim.fn.jobwait({{ job }}, 0)[1] ~= -1 end, 15000, "the job to end")
        """, tmp_path)
    r = result["results"]
    assert r["opened"] and r["terminal_gone"] and r["wins"]
    assert r["shown"] == str(repo / "README.md")
    assert not errors_in(result)


def test_the_list_and_show_tell_what_each_agent_cost(
    repo: Path, tmp_path: Path, served: OpenCodeServer
) -> None:
    """After a turn, :SyntheticList's line and its Show tell the agent's tokens and cost,
    and the picker's title what all the agents cost together."""
    from tests.opencode.test_sessions import wait_for
    from tests.opencode.test_usage import told

    made = _cli(repo, "new", "Costly")
    cid = made["id"]
    _cli(repo, "session", "send", cid, "hello there", "--wait")
    seen: dict[str, Any] = {}

    def settled() -> bool:
        # The session's sums take in a turn's answer a moment after it ends.
        seen["usage"] = _cli(repo, "show", cid)["agent"]["usage"]
        with served.client() as client:
            tokens_in, tokens_out, _cost, answered = told(
                client, made["opencode_session_id"], made["workspace_path"])
        return answered == 1 and (seen["usage"]["input"], seen["usage"]["output"]) == (
            tokens_in, tokens_out)

    wait_for(settled)
    shown = seen["usage"]
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        T.results.line = list_until({{ "tokens $" }})
        T.results.title = T.prompts[1].prompt
        T.script_ui({{ "Costly", "Show" }}, {{}})
        vim.cmd("SyntheticList")
        T.results.shown = T.wait(function()
          local b = vim.fn.bufnr("synthetic://construct/{cid}")
          return b ~= -1 and vim.api.nvim_buf_line_count(b) > 1
            and vim.api.nvim_buf_get_lines(b, 0, -1, false)
        end, 15000, "the construct's buffer")
        """, tmp_path)
    r = result["results"]
    assert shown["input"] > 0 and shown["output"] > 0 and shown["cost"] > 0
    short = f"{shown['input'] / 1000:.1f}k" if shown["input"] >= 1000 else str(shown["input"])
    figure = f"{short}/{shown['output']} tokens ${shown['cost']:.4f}"
    assert r["line"].startswith("Costly  [ready]") and r["line"].endswith(f"[{figure}]")
    assert r["title"] == f"Constructs (all agents: {figure})"
    assert (f"usage:       {shown['input']} tokens in, {shown['output']} out, "
            f"${shown['cost']:.4f}") in r["shown"]
    assert not errors_in(result)


def test_a_question_of_an_agent_not_in_view_is_told_once_with_its_text(
        repo: Path, tmp_path: Path) -> None:
    """Item 6 of issue 25: an agent's question reaches the person with what it asks, even for
    a construct Neovim never opened nor prompted (the CLI sent the prompt)."""
    _cli(repo, "new", "Quiet one")
    asker = _cli(repo, "new", "Asker")
    args = {"questions": [{"question": "Which database?", "header": "DB",
                           "options": [{"label": "pg", "description": "PostgreSQL"}]}]}
    result = scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        vim.fn.system({{ "python3", "-m", "synthetic_ls", "session", "send", "{asker['id']}",
                        {json.dumps("[tool:question " + json.dumps(args) + "]")} }})
        T.results.asked = note("asks:").msg
        -- A later look at the list (the follower polls again) tells nothing again.
        T.results.lines = list_lines()
        """, tmp_path)
    r = result["results"]
    assert r["asked"] == (f"Synthetic: Asker asks: Which database? — :SyntheticSession "
                          f"{asker['id']} to answer")
    assert any(line.startswith("Asker  [awaiting_input]") for line in r["lines"]), r["lines"]
    assert told(result, "asks:") == [r["asked"]]
    assert not errors_in(result)
