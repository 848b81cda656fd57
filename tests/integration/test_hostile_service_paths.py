"""Special files where Synthetic keeps a service's log or lock (issue 20, item 15).

A named pipe at ``service_logs/<id>.log`` hung ``services start``; a folder or
a link to ``/dev/zero`` there, or a folder at ``locks/services-<id>.lock``,
made ``services start`` and ``rm`` exit 70 (and left the construct
``deleting``). Each is now a ``state-layout`` error naming the path, nothing
runs, and once the thing is moved away the same commands work.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.gitrepo import GIT_ENV
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    recorded_groups,
    svc,
    synthetic,
)

BREAKAGES = {
    "log is a named pipe": ("log", lambda p: os.mkfifo(p)),
    "log is a folder": ("log", lambda p: p.mkdir()),
    "log links to /dev/zero": ("log", lambda p: p.symlink_to("/dev/zero")),
    "lock is a folder": ("lock", lambda p: p.mkdir()),
}


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_a_special_file_at_a_service_path_is_a_clear_error(
    tmp_path: Path, groups: list[int], breakage: str
) -> None:
    service = svc("ready", readyPattern='"listening"')
    repo = make_service_repo(tmp_path, config(f"api: {service}"))
    made = synthetic(repo, tmp_path, "new", "Web", "--json")
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    assert synthetic(repo, tmp_path, "services", "stop", cid).returncode == 0
    state = repo / ".git" / "synthetic"
    where, make = BREAKAGES[breakage]
    path = (state / "service_logs" / f"{cid}-api.log" if where == "log"
            else state / "locks" / f"services-{cid}.lock")
    if os.path.lexists(path):
        path.unlink()
    make(path)

    started = synthetic(repo, tmp_path, "services", "start", cid, "--json")
    error = json.loads(started.stderr)["error"]
    assert error["code"] == "state-layout" and error["path"] == str(path), error
    assert started.returncode != 70
    groups.extend(recorded_groups(repo))
    refused = synthetic(repo, tmp_path, "rm", cid, "--yes", "--force", "--json")
    if refused.returncode != 0:  # a removal that needs the path says so, clearly
        assert json.loads(refused.stderr)["error"]["code"] == "state-layout"
    assert refused.returncode != 70

    # Moved away, the removal is finished.
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):  # (removal unlinks a pipe's or a link's name itself)
        path.unlink()
    # The interrupted removal (if it was) is finished by the doctor, as by any next change.
    fixed = synthetic(repo, tmp_path, "doctor", "--fix")
    assert fixed.returncode in (0, 1) and "Traceback" not in fixed.stderr
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
