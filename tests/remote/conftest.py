"""Fixtures of the remote tests: a real sshd on 127.0.0.1 (one per test worker).

Without sshd (or without root, which sshd needs to log a session in) the
tests are skipped, or fail under ``SYNTHETIC_E2E_REQUIRED=1``
(scripts/test.sh), where scripts/setup.sh has installed openssh-server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.remote.sshd_server import SSHD, SshServer, start_sshd

REQUIRED = os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A running sshd and a person's SSH config reaching it; stopped at the end."""
    missing = None
    if not os.path.exists(SSHD):
        missing = f"no {SSHD} (apt install openssh-server; scripts/setup.sh does)"
    elif os.geteuid() != 0:
        missing = "sshd must run as root to log a session in"
    if missing:
        if REQUIRED:
            pytest.fail(missing)
        pytest.skip(missing)
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hosts_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder of the test's own: the person's hosts file goes there."""
    folder = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder
