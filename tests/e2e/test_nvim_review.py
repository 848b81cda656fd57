""":SyntheticDiff, :SyntheticLand and :SyntheticDiscard in a real headless Neovim.

The prompts are read as the person sees them: each with the scratch buffers
shown beside it (the harness records them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_nvim import CLEAN_CONFIG, _cli, pytestmark, run_scenario  # noqa: F401
from tests.gitrepo import commit_file, git, make_repo, trust


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(tmp_path / "repo", {"synthetic.config.ts": CLEAN_CONFIG, "README.md": "hi\n"})
    trust(path)  # the person's own repository
    return path


def _construct(repo: Path, name: str) -> dict:  # type: ignore[type-arg]
    return _cli(repo, "new", name, "--template", "docs")


def test_diff_fills_the_quickfix_list_and_opens_a_diff_split(repo: Path, tmp_path: Path) -> None:
    made = _construct(repo, "Docs work")
    wt = Path(made["workspace_path"])
    commit_file(wt, "README.md", "hi\nmore\n", "extend readme")
    commit_file(wt, "docs/guide.md", "# Guide\n", "add guide")
    (wt / "notes.txt").write_text("wip\n")
    result = run_scenario(
        repo,
        f"""
        vim.cmd("edit README.md")
        T.client(0)
        T.script_ui({{ "README.md" }}, {{}})
        vim.cmd("SyntheticDiff {made['id']}")
        T.wait(function() return #vim.api.nvim_list_tabpages() == 2 end, 30000, "the diff tab")
        local qf = vim.fn.getqflist({{ title = 1, items = 1 }})
        T.results.title = qf.title
        T.results.items = vim.tbl_map(function(i)
          return {{ file = vim.api.nvim_buf_get_name(i.bufnr), text = i.text }}
        end, qf.items)
        local wins = vim.api.nvim_tabpage_list_wins(0)
        T.results.wins = vim.tbl_map(function(w)
          local b = vim.api.nvim_win_get_buf(w)
          return {{ diff = vim.wo[w].diff, name = vim.api.nvim_buf_get_name(b),
                   lines = vim.api.nvim_buf_get_lines(b, 0, -1, false) }}
        end, wins)
        """,
        tmp_path,
    )
    res = result["results"]
    assert res["title"].startswith(f"Synthetic diff: {made['id']} (2 commit(s)")
    assert [(Path(i["file"]).relative_to(wt).as_posix(), i["text"]) for i in res["items"]] == [
        ("README.md", "M +1 -0 (committed)"),
        ("docs/guide.md", "A +1 -0 (committed)"),
        ("notes.txt", "? untracked (uncommitted)"),
    ]
    left, right = res["wins"]
    assert left["diff"] and right["diff"]
    assert left["lines"] == ["hi"] and "@" in left["name"]  # the merge base's version
    assert right["name"] == str(wt / "README.md") and right["lines"] == ["hi", "more"]


def test_land_reports_conflicts_then_lands_and_discard_confirms(
    repo: Path, tmp_path: Path
) -> None:
    clash = _construct(repo, "Clash")
    commit_file(Path(clash["workspace_path"]), "README.md", "theirs\n", "theirs")
    good = _construct(repo, "Good")
    commit_file(Path(good["workspace_path"]), "docs/a.md", "a\n", "add a")
    (Path(good["workspace_path"]) / "docs" / "left.md").write_text("uncommitted\n")
    dropped = _construct(repo, "Dropped")
    dropped_commit = commit_file(Path(dropped["workspace_path"]), "docs/b.md", "b\n", "add b")
    # Uncommitted work too: discarding deletes it, so the prompt must list it.
    (Path(dropped["workspace_path"]) / "scratch.txt").write_text("draft\n")
    (Path(dropped["workspace_path"]) / "README.md").write_text("edited\n")
    commit_file(repo, "README.md", "ours\n", "ours")
    head = git(repo, "rev-parse", "HEAD")
    result = run_scenario(
        repo,
        f"""
        vim.cmd("edit README.md")
        T.client(0)
        local function note(pattern)
          for _, n in ipairs(T.notes) do
            if n.msg:find(pattern, 1, true) then return n.msg end
          end
        end
        T.script_ui({{ "merge", "squash", "Commit them", "Land", "Discard" }},
                    {{ "Committed from Neovim", "Landed from Neovim" }})
        vim.cmd("SyntheticLand {clash['id']}")
        T.results.conflict = T.wait(function() return note("conflict") end, 30000, "conflict")
        T.results.qf = vim.tbl_map(function(i)
          return vim.api.nvim_buf_get_name(i.bufnr)
        end, vim.fn.getqflist())
        vim.cmd("SyntheticLand {good['id']}")
        T.results.landed = T.wait(function()
          return note("Synthetic: landed ")
        end, 30000, "the landing")
        vim.cmd("SyntheticDiscard {dropped['id']}")
        T.results.discarded = T.wait(function()
          return note("Synthetic: discarded ")
        end, 30000, "discard")
        """,
        tmp_path,
        timeout=120,
    )
    res = result["results"]
    assert "would conflict in 1 file(s)" in res["conflict"] and "README.md" in res["conflict"]
    assert res["qf"] == [str(repo / "README.md")]
    assert res["landed"].startswith(f"Synthetic: landed {good['id']} into main (squash)")
    assert git(repo, "log", "-1", "--format=%s").strip() == "Landed from Neovim"
    # The drafted body is kept under the typed first line; the uncommitted file
    # was offered for a commit first, and landed with the rest.
    body = git(repo, "log", "-1", "--format=%b")
    assert f"Construct: {good['id']}" in body and "* Committed from Neovim" in body, body
    assert (repo / "docs" / "left.md").read_text() == "uncommitted\n"
    offer = [p for p in result["prompts"] if "uncommitted change(s)" in (p["prompt"] or "")]
    assert offer and "? docs/left.md" in offer[0]["prompt"], offer
    assert git(repo, "rev-parse", "HEAD~1") == head
    prompts = [p for p in result["prompts"] if p["kind"] == "select"]
    assert prompts[0]["prompt"] == "Land Clash how?"
    # Nothing lands unseen: the confirmation lists the commits, the typed message on top.
    land = prompts[-2]
    listed_land = f"synthetic://land/{good['id']}"
    assert land["items"] == ["Land", "Land and remove", "Cancel"]
    assert land["prompt"] == (
        f"Land 2 commit(s) of Good into main (squash)? {listed_land} lists them")
    shown = land["shown"][listed_land]
    assert shown[:5] == [
        f"# Land Good ({good['id']})", "",
        f"squash the branch {good['branch']} into main ({repo})", "", "2 commit(s):"]
    subjects = [line.split(" ", 3)[-1] for line in shown[5:7]]
    assert subjects == ["add a", "Committed from Neovim"]
    assert shown[8:10] == ["message:", "  Landed from Neovim"]
    discard = prompts[-1]
    listed = f"synthetic://discard/{dropped['id']}"
    assert discard["prompt"] == (
        f"Discard Dropped and delete its branch {dropped['branch']}? It loses 1 commit(s) "
        f"never landed ({dropped_commit[:12]} add b) and 2 uncommitted file(s) "
        f"(M README.md, ? scratch.txt); {listed} lists them all"
    )
    assert discard["shown"][listed] == [
        f"# Discard Dropped ({dropped['id']})",
        "",
        f"deletes the worktree and the branch {dropped['branch']}",
        "",
        "1 commit(s) never landed:",
        f"  {dropped_commit[:12]} add b",
        "",
        "2 uncommitted file(s):",
        "  M README.md",
        "  ? scratch.txt",
    ]
    assert res["discarded"] == (
        f"Synthetic: discarded {dropped['id']} and its branch {dropped['branch']} "
        "with 1 commit(s) and 2 uncommitted file(s)"
    )
    assert not Path(dropped["workspace_path"]).exists()
    assert dropped["branch"] not in git(repo, "branch")
    # The clash landed nothing.
    assert (repo / "README.md").read_text() == "ours\n"


def test_list_reaches_commit_and_land_and_land_confirms_with_the_commits(
    repo: Path, tmp_path: Path
) -> None:
    """:SyntheticList's action picker offers the branch's actions; :SyntheticCommit
    commits in the worktree; a cancelled land confirmation lands nothing."""
    good = _construct(repo, "Good")
    wt = Path(good["workspace_path"])
    added = commit_file(wt, "docs/a.md", "a\n", "add a")
    (wt / "docs" / "left.md").write_text("uncommitted\n")
    head = git(repo, "rev-parse", "HEAD")
    result = run_scenario(
        repo,
        """
        vim.cmd("edit README.md")
        T.client(0)
        local function note(pattern)
          for _, n in ipairs(T.notes) do
            if n.msg:find(pattern, 1, true) then return n.msg end
          end
        end
        T.script_ui({ "Good  [", "Commit its uncommitted work",
                      "Good  [", "Land its branch", "merge", "Cancel",
                      "Good  [", "Open its worktree",
                      "Good  [", "Land its branch", "merge", "Land and remove" },
                    { "Left file" })
        vim.cmd("SyntheticList")
        T.results.committed = T.wait(function()
          return note("Synthetic: committed ")
        end, 30000, "the commit")
        vim.cmd("SyntheticList")
        T.results.cancelled = T.wait(function()
          return note("nothing was landed")
        end, 30000, "the cancel")
        T.results.after_cancel = vim.tbl_keys(T.scratch_shown())
        vim.cmd("SyntheticList")
        T.wait(function() return #vim.api.nvim_list_tabpages() == 2 end, 30000, "the worktree tab")
        vim.cmd("SyntheticList")
        T.results.landed = T.wait(function()
          return note("Synthetic: landed ")
        end, 30000, "the landing")
        -- Landed and removed: the worktree's tab went with it (no E187 at :pwd).
        T.results.tabs = #vim.api.nvim_list_tabpages()
        T.results.pwd_ok = pcall(vim.cmd, "pwd")
        """,
        tmp_path,
        timeout=120,
    )
    res = result["results"]
    assert res["tabs"] == 1 and res["pwd_ok"]
    assert not wt.exists()
    actions = result["prompts"][1]
    assert actions["prompt"] == "Good"
    for label in ("Diff its changes", "Commit its uncommitted work", "Land its branch",
                  "Discard it with its branch"):
        assert any(item.startswith(label) for item in actions["items"]), actions["items"]
    assert res["committed"].startswith(f"Synthetic: committed 1 file(s) in {good['id']}: ")
    assert res["committed"].endswith(" Left file")
    assert res["after_cancel"] == []  # the listing closes with its prompt
    confirms = [p for p in result["prompts"]
                if p.get("items") == ["Land", "Land and remove", "Cancel"]]
    assert len(confirms) == 2
    listed = f"synthetic://land/{good['id']}"
    assert confirms[0]["prompt"] == (
        f"Land 2 commit(s) of Good into main (merge)? {listed} lists them")
    lines = confirms[0]["shown"][listed]
    assert f"  {added[:12]} add a" in lines and any(line.endswith(" Left file") for line in lines)
    assert res["landed"].startswith(f"Synthetic: landed {good['id']} into main")
    assert res["landed"].endswith("; removed it")
    assert git(repo, "rev-parse", "HEAD") != head
    assert (repo / "docs" / "left.md").read_text() == "uncommitted\n"


def test_discard_closes_what_was_opened_for_the_construct(repo: Path, tmp_path: Path) -> None:
    """After a discard, nothing the plugin opened for the construct stays: the tab
    whose :tcd was its worktree (`:pwd` would give E187), the diff tab of its files,
    its entries in the quickfix list; the person's own tab and entries stay."""
    gone = _construct(repo, "Gone")
    wt = Path(gone["workspace_path"])
    commit_file(wt, "docs/a.md", "a\n", "add a")
    result = run_scenario(
        repo,
        f"""
        vim.cmd("edit README.md")
        T.client(0)
        local function note(pattern)
          for _, n in ipairs(T.notes) do
            if n.msg:find(pattern, 1, true) then return n.msg end
          end
        end
        T.script_ui({{ "docs/a.md", "Gone  [", "Open its worktree", "Discard" }}, {{}})
        vim.cmd("SyntheticDiff {gone['id']}")
        T.wait(function() return #vim.api.nvim_list_tabpages() == 2 end, 30000, "the diff tab")
        vim.cmd("tabfirst")
        vim.fn.setqflist({{
          {{ filename = vim.fn.getcwd() .. "/README.md", lnum = 1, text = "mine" }} }}, "a")
        vim.cmd("SyntheticList")
        T.wait(function() return #vim.api.nvim_list_tabpages() == 3 end, 30000, "the worktree tab")
        T.results.before = {{ tabs = #vim.api.nvim_list_tabpages(), cwd = vim.fn.getcwd() }}
        vim.cmd("SyntheticDiscard {gone['id']}")
        T.wait(function() return note("Synthetic: discarded ") end, 30000, "discard")
        T.results.tabs = #vim.api.nvim_list_tabpages()
        T.results.pwd_ok = pcall(vim.cmd, "pwd")
        T.results.cwd = vim.fn.getcwd()
        T.results.qf = vim.tbl_map(function(i) return i.text end, vim.fn.getqflist())
        T.results.shown = {{}}
        for _, w in ipairs(vim.api.nvim_list_wins()) do
          table.insert(T.results.shown, vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(w)))
        end
        T.results.buffers = {{}}
        for _, b in ipairs(vim.api.nvim_list_bufs()) do
          if vim.api.nvim_buf_is_loaded(b) then
            table.insert(T.results.buffers, vim.api.nvim_buf_get_name(b))
          end
        end
        """,
        tmp_path,
        timeout=120,
    )
    res = result["results"]
    assert res["before"] == {"tabs": 3, "cwd": str(wt)}
    assert not wt.exists()
    assert res["tabs"] == 1
    assert res["pwd_ok"] and res["cwd"] == str(repo)
    assert res["qf"] == ["mine"]  # the diff's entries went with the worktree
    assert str(repo / "README.md") in res["shown"]
    ours = [b for b in res["buffers"]
            if b.startswith(str(wt)) or b.startswith(f"synthetic://{gone['id']}/")]
    assert ours == []
