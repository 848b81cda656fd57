"""A real failure at each step of a full creation undoes every step before it.

The template has a port, a prompt file, two real services and an agent on
the real ``opencode serve``. Each test makes one step fail for a real reason
and checks that nothing is left: no record, worktree, branch, port record,
service process, prompt bundle or OpenCode session.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import git
from tests.integration.services_helpers import SVC, config, make_service_repo, svc
from tests.integration.services_helpers import synthetic as run_synthetic
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.fault_proxy import Rule, fault_proxy

AGENT = 'agent: { providerId: "offline", modelId: "echo" }, prompts: ["docs/brief.md"],'
BRIEF = {"docs/brief.md": "Brief: api at ${services.api.url}.\n", "svc.py": SVC}


def make(tmp_path: Path, services: str) -> Path:
    return make_service_repo(tmp_path, config(services, AGENT), BRIEF)


def new(repo: Path, tmp_path: Path, url: str, password: str) -> subprocess.CompletedProcess[str]:
    return run_synthetic(repo, tmp_path, "new", "doomed", "--json", "--progress", extra_env={
        "SYNTHETIC_OPENCODE_URL": url, "SYNTHETIC_OPENCODE_PASSWORD": password,
        "SYNTHETIC_OPENCODE_BIN": os.environ.get("SYNTHETIC_OPENCODE_BIN", "")})


def processes_in(folder: Path) -> list[str]:
    """Processes whose working folder is under ``folder`` (a service left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(folder)):
                found.append(f"{entry.name} in {cwd}")
    return found


def nothing_left(repo: Path, tmp_path: Path) -> None:
    state = repo / ".git" / "synthetic"
    for kind in ("constructs", "port_allocations", "services", "prompt_bundles"):
        folder = state / kind
        assert not folder.is_dir() or list(folder.iterdir()) == [], kind
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    trees = tmp_path / "wt"
    assert not trees.exists() or list(trees.iterdir()) == []
    assert processes_in(trees) == []


API = "api: " + svc("ready", ports='[{ name: "http" }]', readyPattern='"listening on"')
FAILING_DB = "db: " + svc("exit", readyPattern='"never"')


def test_a_service_that_exits_undoes_the_port_bundle_worktree_and_the_other_service(
    tmp_path: Path, served: OpenCodeServer,
) -> None:
    repo = make(tmp_path, f"{API}, {FAILING_DB}")
    proc = new(repo, tmp_path, served.url, served.password)
    assert proc.returncode != 0
    err = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert err["step"] == "starting services" and "boom: missing DATABASE_URL" in err["message"]
    steps = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert steps[-1].endswith("starting services")
    assert any("stopped service api" in n for n in err["rolled_back"])
    assert not any(line.endswith("creating the agent session") for line in steps)
    nothing_left(repo, tmp_path)


def test_a_failing_session_undoes_the_running_services_and_ports(
    tmp_path: Path, served: OpenCodeServer,
) -> None:
    repo = make(tmp_path, API)
    with fault_proxy(served.url) as proxy:
        proxy.rules.append(Rule(r"^POST /session\?", status=500,
                                body=b'{"name":"UnknownError","data":{"message":"no disk"}}'))
        proc = new(repo, tmp_path, proxy.url, served.password)
    assert proc.returncode == 1, proc.stderr
    err = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert err["step"] == "creating the agent session" and "no disk" in err["message"]
    undone = " ".join(err["rolled_back"])
    for what in ("stopped service api", "deleted prompt bundle", "removed worktree",
                 "deleted branch"):
        assert what in undone, undone
    assert err["leftovers"] == []
    nothing_left(repo, tmp_path)


def test_a_worktree_whose_opencode_config_disables_the_provider_fails_at_the_session_step(
    tmp_path: Path, served: OpenCodeServer,
) -> None:
    # OpenCode reads a folder's own opencode.json: the model usable for the
    # server may not be in the new worktree. Checked there (ahead of the step,
    # beside the services), and refused before any session is made.
    repo = make_service_repo(tmp_path, config(API, AGENT), {
        **BRIEF, "opencode.json": json.dumps({"disabled_providers": ["offline"]}),
    })
    proc = new(repo, tmp_path, served.url, served.password)
    assert proc.returncode != 0, proc.stderr
    err = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert err["step"] == "creating the agent session", err
    assert "cannot use provider 'offline'" in err["message"], err["message"]
    assert "stopped service api" in " ".join(err["rolled_back"])
    nothing_left(repo, tmp_path)
    client = served.client()
    assert [s for s in client.list_sessions() if str(tmp_path) in s.directory] == []


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    return opencode_server
