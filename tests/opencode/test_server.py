"""The managed OpenCode server, against the real ``opencode serve`` and the offline model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from state_format.owner import Liveness, Owner
from state_format.store import Store
from synthetic_ls.opencode.client import OpenCodeClient, OpenCodeError
from synthetic_ls.opencode.offline_model import OfflineModelServer, isolated_env
from synthetic_ls.opencode.server import (
    PASSWORD_ENV,
    URL_ENV,
    ensure_server,
    server_status,
    stop_server,
)
from synthetic_ls.ops.opencode import opencode_start, opencode_status, opencode_stop
from synthetic_ls.runtime.groups import end_group, group_alive
from synthetic_ls.runtime.opencode_record import (
    ServerRecord,
    password_path,
    read_server,
    record_path,
    write_server,
)
from tests.gitrepo import GIT_ENV, make_repo

SYNTHETIC = Path(sys.executable).with_name("synthetic")


def home_env(home: Path, model_url: str) -> dict[str, str]:
    """HOME and XDG_* under ``home`` and the offline model: nothing of the user's is touched."""
    return isolated_env(home, model_url)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A repository's store; any server recorded in it, or started by a test, is ended."""
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    repo = make_repo(tmp_path / "app")
    store = Store.open(repo)
    yield store
    record = read_server(store.root)
    if record is not None and record.owner.liveness() is Liveness.ALIVE:
        end_group(record.owner.pid, grace=1.0)


@pytest.fixture
def env(tmp_path: Path, offline_model: OfflineModelServer, opencode_bin: str,
        monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    home = tmp_path / "home"
    home.mkdir()
    return home_env(home, offline_model.url)


def test_start_reuse_kill_restart_stop(
    store: Store, env: dict[str, str], request: pytest.FixtureRequest,
) -> None:
    assert server_status(store).state == "stopped"
    first = ensure_server(store, env=env)
    assert first.managed and not first.reused and first.pid is not None
    status = server_status(store)
    assert (status.state, status.url, status.pid, status.healthy) == (
        "running", first.url, first.pid, True)
    assert status.version
    assert os.stat(password_path(store.root)).st_mode & 0o777 == 0o600

    again = ensure_server(store, env=env)
    assert again.reused and (again.url, again.pid) == (first.url, first.pid)

    with OpenCodeClient(first.url, password=(password_path(store.root).read_text())) as c:
        assert c.health().healthy
    with OpenCodeClient(first.url, password="wrong") as c, pytest.raises(OpenCodeError) as err:
        c.health()
    assert err.value.code == "opencode-auth"

    os.kill(first.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while server_status(store, check_health=False).state != "dead":
        assert time.monotonic() < deadline, "the killed server still counts as running"
        time.sleep(0.05)

    second = ensure_server(store, env=env)
    request.addfinalizer(lambda: end_group(second.pid or 0, grace=1.0))
    assert not second.reused and second.pid != first.pid
    assert server_status(store).healthy is True
    assert not group_alive(first.pid)

    before = stop_server(store)
    assert before.state == "running"
    assert not group_alive(second.pid)
    assert read_server(store.root) is None and not password_path(store.root).exists()
    assert server_status(store).state == "stopped"
    assert stop_server(store).state == "stopped"  # nothing left: fine


def test_a_reused_pid_is_not_taken_for_our_server(store: Store, env: dict[str, str]) -> None:
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        real = Owner.of(other.pid)
        fake = Owner(other.pid, (real.start or 0) + 12345, real.host, real.boot, real.pidns)
        write_server(store.root, ServerRecord("http://127.0.0.1:9", fake, "", ""), "pw")
        assert server_status(store).state == "foreign"
        info = ensure_server(store, env=env)  # starts our own, leaves the other alone
        assert info.pid != other.pid and not info.reused
        assert other.poll() is None
        stop_server(store)
        assert other.poll() is None
        # A foreign record is removed by stop without signalling anyone.
        write_server(store.root, ServerRecord("http://127.0.0.1:9", fake, "", ""), "pw")
        assert stop_server(store).state == "foreign"
        assert other.poll() is None and not record_path(store.root).exists()
    finally:
        other.kill()
        other.wait()


def test_a_record_from_an_earlier_boot_signals_nothing(store: Store) -> None:
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        real = Owner.of(other.pid)
        old = Owner(other.pid, real.start, real.host, "an-earlier-boot", real.pidns)
        write_server(store.root, ServerRecord("http://127.0.0.1:9", old, "", ""), "pw")
        assert server_status(store).state == "dead"
        stop_server(store)
        assert other.poll() is None and read_server(store.root) is None
    finally:
        other.kill()
        other.wait()


def test_the_named_server_is_used_as_it_is(
    store: Store, opencode_server: object, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, password = opencode_server.url, opencode_server.password  # type: ignore[attr-defined]
    monkeypatch.setenv(URL_ENV, url + "/")
    monkeypatch.setenv(PASSWORD_ENV, password)
    info = ensure_server(store)
    assert (info.url, info.password, info.managed) == (url, password, False)
    status = opencode_status(store)
    assert (status.state, status.url, status.healthy) == ("external", url, True)
    result = opencode_start(store)
    assert result.to_dict()["managed"] is False
    assert read_server(store.root) is None  # nothing started, nothing recorded
    assert opencode_stop(store).to_dict()["stopped"] is False


def test_the_cli(store: Store, env: dict[str, str]) -> None:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE")}
    run_env.update(GIT_ENV, **env)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNTHETIC), "opencode", *argv], cwd=store.repo.worktree, env=run_env,
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )

    out = cli("status", "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["state"] == "stopped"
    out = cli("start", "--json")
    assert out.returncode == 0, out.stderr
    started = json.loads(out.stdout)
    assert started["state"] == "running" and started["managed"] and started["healthy"]
    out = cli("status")
    assert out.returncode == 0 and f"running at {started['url']}" in out.stdout
    out = cli("start", "--json")
    assert json.loads(out.stdout)["reused"] is True
    out = cli("stop")
    assert out.returncode == 0 and "Stopped" in out.stdout, out.stderr
    assert not group_alive(started["pid"])


def test_not_installed_is_a_clear_error(store: Store, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", str(tmp_path / "nope"))
    with pytest.raises(OpenCodeError) as err:
        ensure_server(store)
    assert err.value.code == "opencode-not-installed"
    assert read_server(store.root) is None


def test_the_pinned_opencode_is_found_without_path_and_matches_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20, item 20: after the README's PATH step, `opencode` is not on PATH; the one
    set-up installed (the version setup.sh pins) is used, and the hint names that version."""
    from synthetic_ls.opencode.server import PINNED, PINNED_VERSION, find_binary

    setup = (Path(__file__).parents[2] / "scripts" / "setup.sh").read_text()
    assert f"OPENCODE_VERSION={PINNED_VERSION}\n" in setup
    monkeypatch.delenv("SYNTHETIC_OPENCODE_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no opencode here
    assert find_binary() == str(PINNED)  # scripts/setup.sh installed it (tests/opencode need it)
    monkeypatch.setattr("synthetic_ls.opencode.server.PINNED", tmp_path / "none")
    with pytest.raises(OpenCodeError) as err:
        find_binary()
    assert err.value.code == "opencode-not-installed"
    assert f"opencode-ai@{PINNED_VERSION}" in str(err.value)


def _servers_of(home: Path) -> list[int]:
    """Live processes started with HOME=``home`` (the servers a test started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"HOME={home}".encode() in environ and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def test_a_server_whose_record_cannot_be_written_is_not_left_running(
    store: Store, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`opencode start` on a full disk (issue 20, item 14): the server started, its
    record could not be written; it is ended, so "nothing was changed" is true."""
    import synthetic_ls.opencode.server as server_module
    from state_format.errors import StateAccessError

    def full_disk(*_args: object, **_kwargs: object) -> None:
        raise StateAccessError(str(record_path(store.root)), 28,
                               "no space left on device (nothing was changed)")

    monkeypatch.setattr(server_module, "write_server", full_disk)
    with pytest.raises(StateAccessError):
        ensure_server(store, env=env)
    home = Path(env["HOME"])
    deadline = time.monotonic() + 20
    while _servers_of(home):
        assert time.monotonic() < deadline, f"left running: {_servers_of(home)}"
        time.sleep(0.05)
    assert read_server(store.root) is None
    assert server_status(store).state == "stopped"


def test_a_changed_opencode_config_takes_a_new_server_when_no_agent_works(
    store: Store, env: dict[str, str],
) -> None:
    """Issue 20, item 20: a changed `OPENCODE_CONFIG_CONTENT`, global config file or
    `opencode auth login` used to be ignored until `synthetic opencode stop`."""
    first = ensure_server(store, env=env)
    assert ensure_server(store, env=env).pid == first.pid  # nothing changed: reused
    # The variable changes (in a process that sets it): a new server.
    changed = {**env, "OPENCODE_CONFIG_CONTENT": env["OPENCODE_CONFIG_CONTENT"].replace(
        "{", '{"share": "disabled", ', 1)}
    second = ensure_server(store, env=changed)
    assert second.pid != first.pid and not second.reused
    assert not group_alive(first.pid or 0)
    # A process that sets no config variable (an editor started from the desktop)
    # does not replace it: the files are the same.
    quiet = {k: v for k, v in changed.items() if k != "OPENCODE_CONFIG_CONTENT"}
    assert ensure_server(store, env=quiet).pid == second.pid
    # The person's global config file changes: a new server, for every process.
    global_config = Path(env["XDG_CONFIG_HOME"]) / "opencode" / "opencode.json"
    global_config.parent.mkdir(parents=True, exist_ok=True)
    global_config.write_text('{"share": "disabled"}\n')
    third = ensure_server(store, env=changed)
    assert third.pid != second.pid
    assert stop_server(store).state == "running"
