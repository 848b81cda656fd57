"""Daemons a construct's commands double-fork are found and ended (issue 20, item 13).

``(setsid sleep 600 &)`` in a setup command leaves every process group
Synthetic records; the daemon still carries ``SYNTHETIC_CONSTRUCT_ID`` in its
environment. ``services stop`` (all), ``rm`` and ``doctor --fix`` end it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from synthetic_ls.runtime.tagged import end_processes, processes_of
from tests.gitrepo import GIT_ENV
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    recorded_groups,
    svc,
    synthetic,
)

DAEMON = "(setsid sleep 600 >/dev/null 2>&1 &)"


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))


@pytest.mark.parametrize("how", ["rm", "services stop"])
def test_a_double_forked_daemon_goes_with_its_construct(
    tmp_path: Path, groups: list[int], how: str
) -> None:
    service = svc("ready", readyPattern='"listening"')
    repo = make_service_repo(tmp_path, config(f"api: {service}", f'setup: ["{DAEMON}"],'))
    made = synthetic(repo, tmp_path, "new", "Web", "--json")
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    daemons = processes_of(cid)
    assert daemons, "the setup command's daemon runs, outside every recorded group"
    try:
        argv = ["rm", cid, "--yes", "--force"] if how == "rm" else ["services", "stop", cid]
        done = synthetic(repo, tmp_path, *argv, "--json")
        assert done.returncode == 0, done.stderr
        assert processes_of(cid) == []
        assert "outside their services" in done.stdout
    finally:
        end_processes(processes_of(cid))


def test_doctor_ends_the_daemons_of_a_construct_that_is_gone(
    tmp_path: Path, groups: list[int]
) -> None:
    repo = make_service_repo(tmp_path, config(f"api: {svc('ready')}"))
    gone = "gone-x7k2p9"
    env = {**os.environ, "SYNTHETIC_CONSTRUCT_ID": gone,
           "SYNTHETIC_CONSTRUCT_DIR": str(tmp_path / "wt" / gone)}
    daemon = subprocess.Popen(["sleep", "600"], env=env, start_new_session=True)
    try:
        found = synthetic(repo, tmp_path, "doctor", "--json")
        kinds = [f["kind"] for f in json.loads(found.stdout)["findings"]]
        assert kinds == ["orphan-process"], found.stdout
        fixed = synthetic(repo, tmp_path, "doctor", "--fix")
        assert "fixed: [orphan-process]" in fixed.stdout, fixed.stdout
        assert daemon.wait(timeout=30) is not None
        assert processes_of(gone) == []
    finally:
        daemon.kill()
        daemon.wait()


def test_doctor_reports_and_removes_logs_of_no_construct(
    tmp_path: Path, groups: list[int]
) -> None:
    """Issue 20, item 14: a creation killed while it started services leaves logs;
    the doctor says so and removes them, and keeps the logs of a construct that is there."""
    repo = make_service_repo(tmp_path, config(f"api: {svc('ready')}"))
    made = synthetic(repo, tmp_path, "new", "Web", "--json")
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    logs = repo / ".git" / "synthetic" / "service_logs"
    left = [logs / "ghost-x7k2p9-api.log", logs / "ghost-x7k2p9--setup.log"]
    for path in left:
        path.write_text("starting\n")
    found = synthetic(repo, tmp_path, "doctor", "--json")
    orphans = [f for f in json.loads(found.stdout)["findings"] if f["kind"] == "orphan-log"]
    assert sorted(f["subject"]["ref"] for f in orphans) == sorted(map(str, left))
    synthetic(repo, tmp_path, "doctor", "--fix")
    assert not any(p.exists() for p in left)
    assert (logs / f"{cid}-api.log").exists()
    assert synthetic(repo, tmp_path, "rm", cid, "--yes", "--force").returncode == 0
