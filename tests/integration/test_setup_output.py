"""Setup commands' output is capped like a service's (issue 20, item 14).

A setup that printed 300 MB made a 300 MB log: setup output now goes through
the same log pump as a service's (``SYNTHETIC_SERVICE_LOG_MAX``, the older
part kept as ``.log.1``), so it takes at most twice the cap.
"""

from __future__ import annotations

import json
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

CAP = 64 * 1024


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))


def test_a_chatty_setup_keeps_at_most_twice_the_cap(tmp_path: Path, groups: list[int]) -> None:
    chatty = "head -c 2000000 /dev/zero | tr \\\\\\\\0 x; echo; echo setup-finished"
    repo = make_service_repo(tmp_path, config(f"api: {svc('ready')}", f'setup: ["{chatty}"],'))
    made = synthetic(repo, tmp_path, "new", "Chatty", "--json",
                     extra_env={"SYNTHETIC_SERVICE_LOG_MAX": str(CAP)})
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    logs = repo / ".git" / "synthetic" / "service_logs"
    setup = [p for p in logs.iterdir() if p.name.startswith(f"{cid}--setup.log")]
    assert setup and sum(p.stat().st_size for p in setup) <= 2 * CAP + 4096
    assert "setup-finished" in (logs / f"{cid}--setup.log").read_text()
    assert synthetic(repo, tmp_path, "rm", cid, "--yes", "--force").returncode == 0
