""":SyntheticCompare in a real headless Neovim, against the real language server, the real
``opencode serve`` with the offline model and real git: the buffer's table and file list,
the diff between two attempts, the checks run from the buffer (one failing), and landing
an attempt with the others discarded after what they lose is listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_nvim import _cli, pytestmark, run_scenario
from tests.gitrepo import commit_file, git, make_repo, trust
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_compare import CONFIG, answered
from tests.opencode.test_sessions import wait_for
from tests.opencode.test_sessions_nvim import errors_in

__all__ = ["pytestmark"]


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_URL", opencode_server.url)
    monkeypatch.setenv("SYNTHETIC_OPENCODE_PASSWORD", opencode_server.password)
    return opencode_server


def test_compare_buffer_diff_checks_and_land(
    tmp_path: Path, served: OpenCodeServer
) -> None:
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(repo)
    group = _cli(repo, "new", "Pick a word", "--attempts", "2")
    one, two = group["members"]
    for m in (one, two):
        wait_for(lambda m=m: answered(served, m["opencode_session_id"], m["workspace_path"], 1),
                 within=60)
    commit_file(Path(one["workspace_path"]), "pick.txt", "one\n", "pick one")
    (Path(two["workspace_path"]) / "pick.txt").write_text("two\n")
    (Path(two["workspace_path"]) / "bad.txt").write_text("oops\n")
    gid, a, b = group["id"], one["id"], two["id"]
    result: dict[str, Any] = run_scenario(repo, f"""
        vim.cmd("edit README.md")
        T.client(0)
        local name = "synthetic://compare/{gid}"
        local function lines_until(needle)
          return T.wait(function()
            local buf = vim.fn.bufnr(name)
            if buf == -1 then return nil end
            local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
            for _, l in ipairs(lines) do
              if l:find(needle, 1, true) then return lines end
            end
          end, 60000, "the compare buffer with " .. needle)
        end
        local function row_of(id)
          for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
            if vim.startswith(l, id .. " ") then return i end
          end
        end
        T.script_ui({{ "{b}", "Land and discard the others" }}, {{}})
        vim.cmd("SyntheticCompare {gid}")
        T.results.first = lines_until("Files:")
        vim.api.nvim_win_set_cursor(0, {{ row_of("{a}"), 0 }})
        vim.api.nvim_feedkeys("D", "x", false)
        T.results.between = T.wait(function()
          local buf = vim.fn.bufnr("synthetic://compare/{b}..{a}")
          return buf ~= -1 and vim.api.nvim_buf_get_lines(buf, 0, -1, false)
        end, 30000, "the diff between the attempts")
        vim.api.nvim_set_current_win(vim.fn.bufwinid(name))
        vim.api.nvim_feedkeys("c", "x", false)
        T.results.checked = lines_until("check clean failed")
        vim.api.nvim_set_current_win(vim.fn.bufwinid(name))
        vim.api.nvim_win_set_cursor(0, {{ row_of("{a}"), 0 }})
        vim.api.nvim_feedkeys("L", "x", false)
        T.results.landed = T.wait(function()
          for _, n in ipairs(T.notes) do
            if n.msg:find("landed ", 1, true) then return n.msg end
          end
        end, 60000, "the landing")
        """, tmp_path, timeout=200)
    assert result["ok"], result["error"]
    r = result["results"]
    first = r["first"]
    assert first[0].startswith(f"# Compare {gid}: Pick a word (template agent, from ")
    header = first[2].split()
    assert header == ["ATTEMPT", "STATUS", "AGENT", "MODEL", "TURNS", "TIME", "FILES",
                      "LINES", "CHECKS", "USAGE"]
    rows = {line.split()[0]: line.split() for line in first[3:5]}
    assert set(rows) == {a, b}
    # id, status, agent, model ("template's"), turns, time, files, lines, checks, usage...
    assert rows[a][6:9] == ["1", "+1", "-0"] and rows[a][9] == "not" and rows[a][10] == "run"
    assert rows[b][6:9] == ["2", "+2", "-0"]
    assert rows[a][4] == "1" and "$" in first[3] and "$" in first[4]
    assert next(line for line in first if line.startswith("Group usage: ")).endswith(
        tuple("0123456789"))
    assert f"  DIFFER  pick.txt  (2/2: {a}, {b})" in first
    assert f"  agree   bad.txt   (1/2: {b})" in first  # the paths aligned
    # From the other attempt to the one under the cursor: its bad.txt goes, its word changes.
    assert "-two" in r["between"] and "+one" in r["between"]
    assert "diff --git a/bad.txt b/bad.txt" in r["between"]
    checked = r["checked"]
    assert f"{b}: check clean failed (exit 1)" in checked
    assert "  bad.txt must not exist" in checked
    assert any(line.startswith(a) and "1/1 pass" in line for line in checked)
    # The confirmation listed what the other attempt loses, beside the question.
    confirm = result["prompts"][-1]
    assert confirm["prompt"].startswith(f"Land {a} and discard 1 other attempt(s)?")
    listed = confirm["shown"][f"synthetic://pick/{a}"]
    assert "  ? bad.txt" in listed and "  ? pick.txt" in listed
    assert r["landed"].startswith(f"Synthetic: landed {a} into main; discarded {b}")
    assert (repo / "pick.txt").read_text() == "one\n"
    # The landed attempt stays (as `land` leaves it); the other one's worktree is gone.
    assert not Path(two["workspace_path"]).exists() and Path(one["workspace_path"]).is_dir()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2
    assert not errors_in(result)
