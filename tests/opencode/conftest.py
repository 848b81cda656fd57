"""Fixtures: the offline model and a real ``opencode serve`` wired to it.

The binary is taken from ``SYNTHETIC_OPENCODE_BIN``, else the project-local
install (``.tools/node_modules/.bin/opencode``, made by scripts/setup.sh),
else ``opencode`` on PATH. Tests that need it are skipped, saying so, when
none is found.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from synthetic_ls.opencode import offline_model as offline
from synthetic_ls.opencode.client import OpenCodeClient
from synthetic_ls.opencode.offline_model import OfflineModelServer, start_server_in_thread

ROOT = Path(__file__).parents[2]
LOCAL_BIN = ROOT / ".tools" / "node_modules" / ".bin" / "opencode"
PROVIDER = offline.PROVIDER_ID
MODEL = offline.MODEL_ID


def find_opencode() -> str | None:
    env = os.environ.get("SYNTHETIC_OPENCODE_BIN")
    if env:
        return env if os.access(env, os.X_OK) else None
    if os.access(LOCAL_BIN, os.X_OK):
        return str(LOCAL_BIN)
    return shutil.which("opencode")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def opencode_config(model_url: str, *, ask_bash: bool = True) -> str:
    return offline.opencode_config(model_url, ask_bash=ask_bash)


@dataclass
class OpenCodeServer:
    url: str
    password: str
    home: Path
    proc: subprocess.Popen[bytes]

    def client(self, password: str | None = None) -> OpenCodeClient:
        return OpenCodeClient(self.url, password=self.password if password is None else password)


@pytest.fixture(scope="session")
def offline_model() -> Iterator[OfflineModelServer]:
    server, stop = start_server_in_thread()
    yield server
    stop()


@contextmanager
def running_opencode(
    binary: str, home: Path, model_url: str, *, ask_bash: bool = True
) -> Iterator[OpenCodeServer]:
    """Run ``opencode serve`` with HOME and XDG_* under ``home``, healthy, then stop it.

    Without ``ask_bash`` its agents run shell commands without asking.
    """
    password = secrets.token_urlsafe(16)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENCODE")},
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_SERVER_PASSWORD": password,
        "OPENCODE_CONFIG_CONTENT": opencode_config(model_url, ask_bash=ask_bash),
    }
    with (home / "serve.log").open("ab") as log:
        proc = subprocess.Popen(
            [binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        server = OpenCodeServer(f"http://127.0.0.1:{port}", password, home, proc)
        try:
            with server.client() as client:
                client.wait_healthy(within=20)
            yield server
        finally:
            _stop_group(proc)


@pytest.fixture(scope="session")
def opencode_bin() -> str:
    binary = find_opencode()
    if binary is None:
        pytest.skip("opencode is not installed: run scripts/setup.sh "
                    "(or set SYNTHETIC_OPENCODE_BIN)")
    return binary


@pytest.fixture(scope="session")
def opencode_server(
    opencode_bin: str, offline_model: OfflineModelServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OpenCodeServer]:
    with running_opencode(
        opencode_bin, tmp_path_factory.mktemp("opencode-home"), offline_model.url
    ) as server:
        yield server


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End the server's own process group (it was started in a new session)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            # After a full run it sometimes takes ~5 s to honour SIGTERM; a test
            # server's state is thrown away, so do not wait that long.
            proc.wait(timeout=2)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def client(opencode_server: OpenCodeServer) -> Iterator[OpenCodeClient]:
    with opencode_server.client() as c:
        yield c
