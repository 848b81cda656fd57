"""Hosts: ``synthetic host add|ls|rm|check`` against a real sshd (tests/remote/sshd_server.py).

The person's SSH config is the truth: ``synthetic`` runs with the test's
config as the person's own (an ``ssh`` first on PATH), never with an option
of Synthetic's. Nothing here waits a fixed time or asserts a wall-clock bound.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthetic_ls.ops.hosts import add_host, check_host, list_hosts, remove_host
from synthetic_ls.ops.version import version_info
from synthetic_ls.remote.host_store import hosts_file
from tests.gitrepo import git, make_repo
from tests.remote.sshd_server import ALIAS, CHANGED, DOWN, NOKEY, UNKNOWN, SshServer
from tests.result_schemas import assert_matches

SYNTHETIC = [sys.executable, "-m", "synthetic_ls"]


def synthetic(*args: str, cwd: Path, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    """Run the ``synthetic`` command as the person would."""
    return subprocess.run([*SYNTHETIC, *args], cwd=cwd, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=120)


def error_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON error a ``--json`` command wrote on stderr."""
    error: dict[str, Any] = json.loads(proc.stderr)["error"]
    return error


# -- the hosts file -------------------------------------------------------------------


def test_add_ls_rm_round_trip_in_the_persons_config(tmp_path: Path, hosts_home: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    added = add_host("build-box", "ssh://me@build.example:2222/srv/src/app/")
    assert_matches("host-change", added)
    assert hosts_file() == hosts_home / "synthetic" / "hosts.toml"
    assert not hosts_file().is_relative_to(repo)
    listed = assert_matches("host-list", list_hosts())
    assert listed["hosts"] == [{
        "name": "build-box", "url": "ssh://me@build.example:2222/srv/src/app",
        "destination": "me@build.example", "port": 2222, "path": "/srv/src/app",
        "added": listed["hosts"][0]["added"]}]

    proc = synthetic("host", "add", "gpu", "ssh://gpu-alias/home/me/app", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    proc = synthetic("host", "ls", "--json", cwd=repo)
    assert [h["name"] for h in json.loads(proc.stdout)["hosts"]] == ["build-box", "gpu"]
    proc = synthetic("host", "add", "gpu", "ssh://other/x", "--json", cwd=repo)
    assert proc.returncode == 5 and error_of(proc)["code"] == "host-exists"

    assert remove_host("build-box").host.name == "build-box"
    proc = synthetic("host", "rm", "gpu", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert list_hosts().hosts == []
    proc = synthetic("host", "rm", "gpu", "--json", cwd=repo)
    assert proc.returncode == 3 and error_of(proc)["code"] == "unknown-host"
    assert git(repo, "status", "--porcelain") == ""  # nothing was written in the repository


def test_a_repository_cannot_add_a_host(tmp_path: Path, hosts_home: Path) -> None:
    """Nothing under a repository is read for hosts, even where a relative
    XDG_CONFIG_HOME would lead into it."""
    planted = "[hosts.evil]\nurl = \"ssh://attacker.example/srv/x\"\n"
    repo = make_repo(tmp_path / "repo", {
        "hosts.toml": planted, ".config/synthetic/hosts.toml": planted,
        "synthetic/hosts.toml": planted, ".synthetic/hosts.toml": planted})
    for env in ({**os.environ}, {**os.environ, "XDG_CONFIG_HOME": "."},
                {**os.environ, "XDG_CONFIG_HOME": "", "HOME": str(tmp_path / "home")}):
        proc = synthetic("host", "ls", "--json", cwd=repo, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["hosts"] == []


@pytest.mark.parametrize(("name", "url", "key"), [
    ("Box", "ssh://box/srv/a", "name"),
    ("my_box", "ssh://box/srv/a", "name"),
    ("a" * 40, "ssh://box/srv/a", "name"),
    ("box", "http://box/srv/a", "url"),
    ("box", "ssh://box", "url"),
    ("box", "ssh://box/srv/a b", "url"),
    ("box", "ssh://-oProxyCommand=x/srv/a", "url"),
    ("box", "ssh://box/srv/a;rm -rf ~", "url"),
    ("box", "ssh://box/srv/$(id)", "url"),
    ("box", "ssh://box/srv/a`id`", "url"),
    ("box", "ssh://box/srv/../etc", "url"),
    ("box", "ssh://me:secret@box/srv/a", "url"),
    ("box", "ssh://box:99999/srv/a", "url"),
    ("box", "ssh://box/srv/a?x=1", "url"),
])
def test_bad_names_and_addresses_are_refused_and_nothing_is_written(
        tmp_path: Path, hosts_home: Path, name: str, url: str, key: str) -> None:
    proc = synthetic("host", "add", name, url, "--json", cwd=tmp_path)
    assert proc.returncode == 7, proc.stderr
    error = error_of(proc)
    assert error["code"] == "invalid-input" and error["key"] == key, error
    assert "Traceback" not in proc.stderr
    assert not hosts_file().exists()


def test_a_broken_hosts_file_is_a_clear_error_and_is_kept(tmp_path: Path,
                                                          hosts_home: Path) -> None:
    path = hosts_home / "synthetic" / "hosts.toml"
    path.parent.mkdir(parents=True)
    for text in ("[hosts.box\nurl = 1\n", "[hosts.box]\nurl = \"ssh://box/a;b\"\n",
                 "hosts = 3\n"):
        path.write_text(text)
        for args in (("host", "ls", "--json"), ("host", "add", "x", "ssh://x/y", "--json")):
            proc = synthetic(*args, cwd=tmp_path)
            assert proc.returncode == 4, proc.stderr
            error = error_of(proc)
            assert error["code"] == "hosts-file-broken" and error["file"] == str(path)
            assert path.read_text() == text


def test_version_says_the_state_format(tmp_path: Path) -> None:
    from state_format.marker import CURRENT_VERSION

    assert version_info().state_format == CURRENT_VERSION
    proc = synthetic("version", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert assert_matches("version", json.loads(proc.stdout)) == version_info().to_dict()


# -- host check against the real sshd ----------------------------------------------------


@pytest.fixture
def local_and_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A repository, and a second clone of it in another folder: the "remote" one."""
    local = make_repo(tmp_path / "local")
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(local), str(clone))
    return local, clone


def statuses(check: dict[str, Any]) -> dict[str, str]:
    """Item -> status of a ``host check`` result."""
    return {i["item"]: i["status"] for i in check["items"]}


def test_check_says_every_item_is_ok(sshd: SshServer, hosts_home: Path,
                                     local_and_clone: tuple[Path, Path],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    local, clone = local_and_clone
    env = sshd.env()
    assert synthetic("host", "add", "test", f"ssh://{ALIAS}{clone}", cwd=local,
                     env=env).returncode == 0
    proc = synthetic("host", "check", "test", "--json", cwd=local, env=env)
    assert proc.returncode == 0, proc.stderr
    check = assert_matches("host-check", json.loads(proc.stdout))
    assert check["ok"] is True
    assert statuses(check) == {i: "ok" for i in (
        "reachable", "git", "synthetic", "state-format", "opencode", "clone", "repository")}
    proc = synthetic("host", "check", "test", cwd=local, env=env)
    assert proc.returncode == 0 and "Constructs could live there." in proc.stdout

    # The operation itself, as a face calls it.
    monkeypatch.setenv("PATH", env["PATH"])
    assert check_host("test", local).ok


def test_check_says_when_the_clone_is_missing_or_another_repository(
        sshd: SshServer, hosts_home: Path, local_and_clone: tuple[Path, Path],
        tmp_path: Path) -> None:
    local, _clone = local_and_clone
    other = make_repo(tmp_path / "other", {"OTHER.md": "another project\n"})
    env = sshd.env()
    for name, path, wanted in (
            ("missing", tmp_path / "nowhere", {"clone": "failed", "repository": "skipped"}),
            ("plain", tmp_path, {"clone": "failed", "repository": "skipped"}),
            ("other", other, {"clone": "ok", "repository": "failed"})):
        assert synthetic("host", "add", name, f"ssh://{ALIAS}{path}", cwd=local,
                         env=env).returncode == 0
        proc = synthetic("host", "check", name, "--json", cwd=local, env=env)
        assert proc.returncode == 1, proc.stderr
        check = assert_matches("host-check", json.loads(proc.stdout))
        assert check["ok"] is False
        got = statuses(check)
        assert {k: got[k] for k in wanted} == wanted, check
        assert got["reachable"] == "ok"


def test_a_host_that_does_not_answer_is_unreachable_and_ls_does_not_wait(
        sshd: SshServer, hosts_home: Path, tmp_path: Path) -> None:
    env = sshd.env()
    silent = socket.socket()  # accepts connections and never says a word
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        port = silent.getsockname()[1]
        assert synthetic("host", "add", "down", f"ssh://{DOWN}/srv/app", cwd=tmp_path,
                         env=env).returncode == 0
        assert synthetic("host", "add", "silent", f"ssh://127.0.0.1:{port}/srv/app",
                         cwd=tmp_path, env=env).returncode == 0
        for name in ("down", "silent"):
            proc = synthetic("host", "check", name, "--json", cwd=tmp_path, env=env)
            assert proc.returncode == 1, proc.stderr
            error = error_of(proc)
            assert error["code"] == "host-unreachable" and error["host"] == name, error
        # `host ls` reads the file only: the dead hosts are listed, none is contacted.
        proc = synthetic("host", "ls", "--json", cwd=tmp_path, env=env)
        assert proc.returncode == 0
        assert [h["name"] for h in json.loads(proc.stdout)["hosts"]] == ["down", "silent"]
    finally:
        silent.close()


def test_a_changed_host_key_is_refused(sshd: SshServer, hosts_home: Path,
                                       local_and_clone: tuple[Path, Path]) -> None:
    local, clone = local_and_clone
    env = sshd.env()
    known = sshd.dir / "known_hosts_changed"
    before = known.read_text()
    assert synthetic("host", "add", "moved", f"ssh://{CHANGED}{clone}", cwd=local,
                     env=env).returncode == 0
    proc = synthetic("host", "check", "moved", "--json", cwd=local, env=env)
    assert proc.returncode == 1, proc.stderr
    error = error_of(proc)
    assert error["code"] == "host-key-changed", error
    assert known.read_text() == before  # never accepted
    proc = synthetic("host", "check", "moved", cwd=local, env=env)
    assert "host key changed" in proc.stderr and "ssh-keygen -R" in proc.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_host_actions_and_names(tmp_path: Path, hosts_home: Path) -> None:
    from tests.integration.test_completion import _env, complete

    repo = make_repo(tmp_path / "app")
    add_host("gpu", "ssh://gpu/srv/app")
    add_host("build", "ssh://build/srv/app")
    env = {**_env(tmp_path), "XDG_CONFIG_HOME": str(hosts_home)}

    def words(line: str) -> list[str]:
        return [w for w in complete(repo, env, line) if not w.startswith("-")]

    assert words("synthetic host ") == ["add", "ls", "rm", "check"]
    assert words("synthetic host check ") == ["build", "gpu"]
    assert complete(repo, env, "synthetic host rm g") == ["gpu"]


def test_an_unknown_host_key_and_a_key_not_let_in_are_errors_never_prompts(
        sshd: SshServer, hosts_home: Path, local_and_clone: tuple[Path, Path]) -> None:
    local, clone = local_and_clone
    env = sshd.env()
    empty = sshd.dir / "known_hosts_empty"
    for name, alias, code in (("new", UNKNOWN, "host-key-unknown"),
                              ("stranger", NOKEY, "host-auth-failed")):
        assert synthetic("host", "add", name, f"ssh://{alias}{clone}", cwd=local,
                         env=env).returncode == 0
        proc = synthetic("host", "check", name, "--json", cwd=local, env=env)
        assert proc.returncode == 1, proc.stderr
        assert error_of(proc)["code"] == code, proc.stderr
    assert empty.read_text() == ""  # the unknown key was not accepted


def test_ls_contacts_no_host_and_check_needs_ssh(tmp_path: Path, hosts_home: Path) -> None:
    """``host ls`` reads the file only: an ``ssh`` that leaves a mark is never run."""
    add_host("far", "ssh://far.example/srv/app")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mark = tmp_path / "ssh-was-run"
    fake = bin_dir / "ssh"
    fake.write_text(f"#!/bin/sh\ntouch {mark}\nexit 255\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = synthetic("host", "ls", cwd=tmp_path, env=env)
    assert proc.returncode == 0 and "far" in proc.stdout
    assert not mark.exists()
    proc = synthetic("host", "check", "far", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 1 and mark.exists()  # check is the one that asks the host

    no_ssh = {**os.environ, "PATH": str(tmp_path / "empty")}
    proc = synthetic("host", "check", "far", "--json", cwd=tmp_path, env=no_ssh)
    assert error_of(proc)["code"] == "ssh-not-installed", proc.stderr
