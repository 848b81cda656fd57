"""Constructs on other machines in a real headless Neovim, against the real server and sshd.

A construct made with ``synthetic new --host`` on the sshd of
tests/remote/sshd_server.py (the "remote" is a second clone on this machine), a
local one, and the record of a construct on a host that does not answer:
:SyntheticList shows each construct's host (and warns of the host that did not
answer, whose construct is marked ``unreachable``); its "Show" opens the
host's account in a buffer; :SyntheticDiff lists the host's changed files;
:SyntheticRemove removes it on the host, after the host's preview.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from state_format.records import RemoteConstruct, utc_now
from state_format.store import Store
from tests.e2e.test_nvim import PROJECT, run_scenario
from tests.gitrepo import GIT_ENV, commit_file, git, make_repo, trust
from tests.remote.sshd_server import ALIAS, DOWN, SSHD, SshServer, start_sshd

CONFIG = 'export default { defaults: { templateId: "t" }, templates: { t: {} } };\n'


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """A running sshd reaching this machine (as tests/remote/conftest.py's)."""
    if not os.path.exists(SSHD) or os.geteuid() != 0:
        if os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1":
            pytest.fail("needs sshd, run as root")
        pytest.skip("needs sshd, run as root")
    server = start_sshd(tmp_path / "sshd")
    try:
        yield server
    finally:
        server.stop()


def test_the_list_shows_hosts_and_show_diff_remove_reach_the_host(
        tmp_path: Path, sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(repo)
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "user.name", "Host")
    git(clone, "config", "user.email", "host@example.com")
    # Neovim's server gets this environment (run_scenario starts from os.environ): the
    # person's ssh, and the hosts file of the scenario's XDG_CONFIG_HOME.
    monkeypatch.setenv("PATH", f"{sshd.bin}{os.pathsep}{os.environ['PATH']}")
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(PROJECT),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}

    def cli(*args: str) -> dict[str, Any]:
        proc = subprocess.run([sys.executable, "-m", "synthetic_ls", *args, "--json"], cwd=repo,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    def host_constructs() -> list[Any]:
        proc = subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} ls --json"], env=env,
                              capture_output=True, text=True, timeout=120)
        listed: list[Any] = json.loads(proc.stdout)["constructs"]
        return listed

    cli("host", "add", "test", f"ssh://{ALIAS}{clone}")
    cli("host", "add", "down", f"ssh://{DOWN}{clone}")
    local = cli("new", "Local one", "--no-worktree")
    far = cli("new", "Remote fix", "--host", "test")
    [there] = host_constructs()
    commit_file(Path(there["workspace_path"]), "fix.txt", "fixed\n", "Fix the flake")
    now = utc_now()
    Store.open(repo).create(RemoteConstruct(
        id="far-away-abc123", name="Far away", host="down", url=f"ssh://{DOWN}{clone}",
        remote_id="far-away-xyz789", created_at=now, updated_at=now))
    try:
        result = run_scenario(
            repo,
            f"""
            vim.cmd("edit README.md")
            T.client(0)
            local function note(pattern)
              return T.wait(function()
                for _, n in ipairs(T.notes) do
                  if n.msg:find(pattern, 1, true) then return n.msg end
                end
              end, 60000, pattern)
            end
            T.script_ui({{ "Remote fix", "Show" }}, {{}})
            vim.cmd("SyntheticList")
            local bufnr = T.wait(function()
              local b = vim.fn.bufnr("synthetic://construct/{far['id']}")
              return b ~= -1 and vim.api.nvim_buf_line_count(b) > 3 and b
            end, 60000, "the remote construct's buffer")
            T.results.shown = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
            T.results.warned = note("host down did not answer")
            T.results.picker = T.prompts[1].items
            T.results.actions = T.prompts[2].items

            T.script_ui({{ "Remote fix", "Open a service here" }}, {{}})
            vim.cmd("SyntheticList")
            T.results.no_service = note("has no service port to open")

            vim.cmd("SyntheticDiff {far['id']}")
            T.results.diff_note = note("changed file(s) of {far['id']} on host test")
            local qf = vim.fn.getqflist({{ title = 1, items = 1 }})
            T.results.qf_title = qf.title
            T.results.qf = vim.tbl_map(function(i) return i.module .. " " .. i.text end, qf.items)

            T.script_ui({{ "Remove" }}, {{}})
            vim.cmd("SyntheticRemove {far['id']}")
            T.results.removed = note("removed {far['id']} on host test")
            """,
            tmp_path,
            timeout=240,
        )
        res = result["results"]
        picker = res["picker"]
        [remote_line] = [x for x in picker if x.startswith("Remote fix")]
        assert f"on host test as {far['remote_id']}" in remote_line, picker
        [far_line] = [x for x in picker if x.startswith("Far away")]
        assert "[unreachable]" in far_line and "on host down as far-away-xyz789" in far_line
        [local_line] = [x for x in picker if x.startswith("Local one")]
        assert "on host" not in local_line and local["id"] in local_line
        actions = res["actions"]
        assert actions[0] == "Show (from host test)" and actions[-1] == "Remove (on host test)"
        assert "Diff its changes (:SyntheticDiff)" in actions
        assert "Land its branch (:SyntheticLand)" in actions
        assert not [a for a in actions if "worktree" in a], actions
        assert "Open a service here (forwarded from host test)" in actions
        assert "Stop its services (on host test)" in actions
        # Its template has no services: the host says so, through the server.
        assert "Remote fix has no service port to open on host test" in res["no_service"]
        shown = res["shown"]
        assert shown[0] == "# Remote fix"
        assert f"id:          {far['id']}" in shown
        assert "host:        test" in shown and f"remote id:   {far['remote_id']}" in shown
        assert "Synthetic: host down did not answer (unreachable)" in res["warned"]
        assert res["qf_title"].endswith("on host test")
        assert res["qf"] == ["test:fix.txt A +1 -0 (committed)"], res["qf"]
        remove = result["prompts"][-1]
        preview = f"synthetic://remove/{far['id']}"
        assert remove["prompt"] == (f"Remove Remote fix on host test? ({preview} lists what "
                                    "goes and what is kept)")
        lines = remove["shown"][preview]
        assert lines[0] == f"# Remove Remote fix ({far['id']}) on host test"
        assert f"deletes the worktree {there['workspace_path']}" in lines
        assert host_constructs() == []
        assert [r.id for r in Store.open(repo).list(RemoteConstruct).records] == [
            "far-away-abc123"]
    finally:
        for c in host_constructs():
            subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} rm --yes --force --trust "
                            f"-- {c['id']}"], env=env, capture_output=True, timeout=120)


def test_new_asks_where_and_makes_the_construct_on_the_host(
        tmp_path: Path, sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """:SyntheticNew with a host added: "Where" lists this machine and the host; the host
    chosen, the construct is made there, and :SyntheticList shows it on that host."""
    repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(repo)
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    monkeypatch.setenv("PATH", f"{sshd.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(PROJECT)}

    def host_constructs() -> list[Any]:
        proc = subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} ls --json"], env=env,
                              capture_output=True, text=True, timeout=120)
        listed: list[Any] = json.loads(proc.stdout)["constructs"]
        return listed

    added = subprocess.run([sys.executable, "-m", "synthetic_ls", "host", "add", "test",
                            f"ssh://{ALIAS}{clone}"], cwd=repo, env=env, capture_output=True,
                           text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    try:
        result = run_scenario(
            repo,
            """
            vim.cmd("edit README.md")
            T.client(0)
            T.script_ui({ "host test", "t" }, { "Made in Neovim" })
            local made
            require("synthetic.commands").new({ on_done = function(r) made = r end })
            T.results.made = T.wait(function() return made end, 120000, ":SyntheticNew on the host")
            T.results.where = T.prompts[1]
            T.script_ui({}, {})
            vim.cmd("SyntheticList")
            T.wait(function() return #T.prompts > 0 end, 60000, "the list")
            T.results.listed = T.prompts[1].items
            """,
            tmp_path,
            timeout=240,
        )
        res = result["results"]
        assert res["where"]["prompt"] == "Where"
        assert res["where"]["items"] == ["This machine", f"host test (ssh://{ALIAS}{clone})"]
        made = res["made"]
        assert made["host"] == "test"
        [there] = host_constructs()
        assert there["id"] == made["remote_id"] and there["name"] == "Made in Neovim"
        [line] = res["listed"]
        assert line.startswith("Made in Neovim") and f"on host test as {made['remote_id']}" in line
        assert "Synthetic: created " + made["id"] + " on host test" in " ".join(
            n["msg"] for n in result["notes"])
    finally:
        for c in host_constructs():
            subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} rm --yes --force --trust "
                            f"-- {c['id']}"], env=env, capture_output=True, timeout=120)
