"""Reaching a construct on another machine: its agent and services through forwards.

Against the real sshd of tests/remote/sshd_server.py (the "remote" is a
second clone of the test repository, with this checkout's Synthetic on the
sessions' PATH), the host's real ``opencode serve`` (started by the host's
own Synthetic) with the offline model, and a real ``python3 -m http.server``
service. Every wait polls with a deadline; nothing asserts a wall-clock
bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from state_format.owner import Liveness
from state_format.records import RemoteConstruct
from state_format.store import Store
from synthetic_ls.opencode.offline_model import OfflineModelServer, opencode_config
from synthetic_ls.ops.remote_reach import open_services
from synthetic_ls.ops.session import connect_session, send_prompt
from synthetic_ls.remote.forward import recorded_forwards
from tests.gitrepo import GIT_ENV, git, make_repo
from tests.opencode.conftest import offline_model, opencode_bin  # noqa: F401 (fixtures)
from tests.remote.sshd_server import ALIAS, DOWN, SshServer
from tests.remote.test_remote_constructs import alive, ok_json, synthetic, wait_for
from tests.result_schemas import assert_matches

CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      agent: { providerId: "offline", modelId: "echo" },
      services: { web: { run: "exec python3 -u -m http.server $PORT --bind 127.0.0.1",
                         readyPattern: "Serving HTTP",
                         ports: [{ name: "http", env: "PORT" }] } },
    },
  },
};
"""


class Reach:
    """The local repository, the host's clone, and the environment reaching the host."""

    def __init__(self, local: Path, clone: Path, env: dict[str, str], config: Path) -> None:
        self.local, self.clone, self.env, self.config = local, clone, env, config

    def run(self, *args: str) -> Any:
        """``synthetic ARGS`` in the local repository."""
        return synthetic(*args, cwd=self.local, env=self.env)

    def host_server_port(self) -> int:
        """The port the host's own OpenCode server listens on (its record, on the host)."""
        text = (self.clone / ".git" / "synthetic" / "opencode" / "server.toml").read_text()
        url = next(line for line in text.splitlines() if line.startswith("url"))
        return int(url.split(":")[-1].strip().strip('"'))

    def ssh_forwards(self) -> list[int]:
        """The pids of the ``ssh -N`` processes forwarding for the local repository."""
        return [f.owner.pid for f in recorded_forwards(Store.open(self.local).local_dir)
                if f.owner.liveness() is Liveness.ALIVE]


def _ssh_n_processes(config: Path) -> set[int]:
    """Every ``ssh -N`` process using the test's SSH config (the forwards, whoever opened
    them; other tests on this machine have configs of their own)."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "ssh" and b"-N" in argv \
                and str(config).encode() in argv and alive(int(entry)):
            out.add(int(entry))
    return out


@pytest.fixture
def reach(sshd: SshServer, hosts_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          offline_model: OfflineModelServer, opencode_bin: str) -> Iterator[Reach]:  # noqa: F811
    """A local repository, its clone on the host with the offline model as the host's OpenCode
    config, host ``test`` added; on teardown every construct on the host is removed, the
    host's OpenCode server stopped and the forwards closed."""
    config = sshd.dir / "remote-home" / ".config" / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(opencode_config(offline_model.url))
    local = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(local), str(clone))
    env = sshd.env(**GIT_ENV, SYNTHETIC_WORKTREES_DIR=str(tmp_path / "local-wt"))
    # The ops called in this process reach the host as the CLI does.
    monkeypatch.setenv("PATH", env["PATH"])
    r = Reach(local, clone, env, sshd.client_config)
    assert r.run("host", "add", "test", f"ssh://{ALIAS}{clone}").returncode == 0
    try:
        yield r
    finally:
        for pid in r.ssh_forwards():
            os.killpg(pid, signal.SIGKILL)
        host = synthetic("ls", "--json", cwd=clone, env=env)
        for c in json.loads(host.stdout or '{"constructs": []}')["constructs"]:
            synthetic("rm", c["id"], "--yes", "--force", "--trust", cwd=clone, env=env)
        synthetic("opencode", "stop", cwd=clone, env=env)
        config.unlink()


def test_an_agent_and_a_service_on_a_host_are_reached_through_forwards(reach: Reach) -> None:
    r = reach
    before = _ssh_n_processes(r.config)
    made = ok_json(r.run("new", "Fix it", "--host", "test", "--trust", "--json"))
    rid = made["id"]

    # A prompt and its answer, through a forward to the host's server.
    sent = ok_json(r.run("session", "send", rid, "hello over ssh", "--wait", "--json"))
    assert_matches("session-send", sent)
    assert sent["state"] == "idle" and "hello over ssh" in (sent["reply"] or "")
    host_port = r.host_server_port()
    [agent_forward] = recorded_forwards(Store.open(r.local).local_dir)
    assert agent_forward.remote_port == host_port and agent_forward.construct is None
    assert agent_forward.local_port != host_port
    opened = ok_json(r.run("session", "open", rid, "--json"))
    assert opened["url"] == f"http://127.0.0.1:{agent_forward.local_port}"
    assert opened["session_id"] == made["construct"]["opencode_session_id"]
    assert "--run" in opened["command"] and "OPENCODE_SERVER_PASSWORD" in opened["env_names"]
    # The password stayed in memory: no file of the local state holds it.
    # (asked of the host as the local side does: over ssh, in the host's environment)
    line = f"synthetic -C {r.clone} session connect --json {made['remote_id']}"
    asked_host = subprocess.run(["ssh", ALIAS, line], env=r.env, capture_output=True,
                                text=True, timeout=120)
    password = ok_json(asked_host)["password"]
    assert password and ok_json(asked_host)["port"] == host_port
    for path in (r.local / ".git" / "synthetic").rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path

    # A permission asked on the host, answered from here.
    asked = ok_json(r.run("session", "send", rid, "[tool:bash echo hi]", "--wait", "--json"))
    assert asked["state"] == "awaiting_input" and len(asked["permissions"]) == 1
    pending = ok_json(r.run("session", "permissions", rid, "--json"))["pending"]
    assert pending == asked["permissions"]
    approved = ok_json(r.run("session", "approve", rid, "--json"))
    assert approved["permission_id"] == pending[0]["id"] and approved["reply"] == "once"
    wait_for(lambda: ok_json(r.run("session", "permissions", rid, "--json"))["pending"] == [])
    log = ok_json(r.run("session", "log", rid, "--json"))
    assert any(t["tool"] == "bash" for m in log["messages"] for t in m["tools"])
    # Denied from here too; `watch` follows the turn to its end, `abort` stops none.
    ok_json(r.run("session", "send", rid, "[tool:bash echo no]", "--wait", "--json"))
    denied = ok_json(r.run("session", "deny", rid, "--json"))
    assert denied["reply"] == "reject"
    watched = ok_json(r.run("session", "watch", rid, "--timeout", "120", "--json"))
    assert watched["state"] in ("idle", "error")  # a refused tool may end the turn either way
    assert ok_json(r.run("session", "abort", rid, "--json"))["session_id"] == sent["session_id"]
    # One forward served every command.
    assert recorded_forwards(Store.open(r.local).local_dir) == [agent_forward]

    # A read with no recorded forward leaves none behind (it used one of its own).
    os.killpg(agent_forward.owner.pid, signal.SIGKILL)
    wait_for(lambda: agent_forward.owner.liveness() is Liveness.DEAD)
    assert ok_json(r.run("session", "permissions", rid, "--json"))["pending"] == []
    assert _ssh_n_processes(r.config) - before == set()
    doctor = r.run("doctor", "--json")
    assert doctor.returncode == 1  # findings to fix
    [orphan] = [f for f in json.loads(doctor.stdout)["findings"]
                if f["kind"] == "orphan-forward"]
    assert "ssh process is gone" in orphan["message"] and orphan["fixable"]
    fixed = ok_json(r.run("doctor", "--fix", "--json"))
    assert [f["fixed"] for f in fixed["findings"] if f["kind"] == "orphan-forward"] == [True]
    assert recorded_forwards(Store.open(r.local).local_dir) == []

    # The service: its status is the host's, `open` forwards its port, a GET reaches it.
    status = ok_json(r.run("services", "status", rid, "--json"))
    [web] = status["services"]
    assert web["name"] == "web" and web["state"] == "ready" and web["construct_id"] == rid
    [port] = web["ports"]
    assert any("services open" in n for n in status["notes"])
    shown = ok_json(r.run("services", "open", rid, "--json"))
    assert_matches("services-open", shown)
    [forwarded] = shown["forwards"]
    assert forwarded["remote_port"] == port["port"] and forwarded["url"] != port["url"]
    with urllib.request.urlopen(forwarded["url"] + "/README.md", timeout=20) as answer:
        assert answer.read() == b"hi\n"
    assert "web: http://127.0.0.1:" in r.run("services", "open", rid).stdout
    r.run("session", "send", rid, "again", "--wait", "--json")  # the agent's forward again
    assert len(r.ssh_forwards()) == 2

    # `rm` releases every forward: no ssh -N left.
    ok_json(r.run("rm", rid, "--yes", "--force", "--trust", "--json"))
    assert recorded_forwards(Store.open(r.local).local_dir) == []
    wait_for(lambda: _ssh_n_processes(r.config) - before == set())


def test_the_operations_called_directly_and_a_host_down(reach: Reach) -> None:
    r = reach
    store = Store.open(r.local)
    made = ok_json(r.run("new", "Direct", "--host", "test", "--trust", "--json"))
    host_store = Store.open(r.clone)
    # A read (start=False): this process's environment is not the host's sessions',
    # whose server (started by `new` there) must not be replaced by one started here.
    connected = connect_session(host_store, made["remote_id"], start=False).to_dict()
    assert_matches("session-connect", connected)
    assert connected["port"] == r.host_server_port()
    sent = send_prompt(store, made["id"], "direct hello", wait=True)
    assert sent.state == "idle" and "direct hello" in (sent.reply or "")
    opened = open_services(store, made["id"], "web").to_dict()
    assert [f["service"] for f in opened["forwards"]] == ["web"]

    # What OpenCode would load from the host's worktree, changed there since, is asked
    # about here (no terminal: refused, listing it); --trust here lets the host run it.
    tree = Path(ok_json(r.run("show", made["id"], "--json"))["workspace_path"])
    probe = {"mcp": {"probe": {"type": "local", "command": ["true"], "enabled": False}}}
    (tree / "opencode.json").write_text(json.dumps(probe))
    refused = r.run("session", "send", made["id"], "hi", "--json")
    assert refused.returncode != 0
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "consent-required"
    assert [i["kind"] for i in error["items"]] == ["opencode-config"]
    trusted = ok_json(r.run("session", "send", made["id"], "trusted", "--wait", "--trust",
                            "--json"))
    assert trusted["state"] == "idle" and "trusted" in (trusted["reply"] or "")

    # The host's server restarted (a new port): the next command forwards to the new port
    # and closes the forward to the old one.
    old_port = r.host_server_port()
    stop = subprocess.run(["ssh", ALIAS, f"synthetic -C {r.clone} opencode stop"], env=r.env,
                          capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    again = ok_json(r.run("session", "send", made["id"], "again", "--wait", "--json"))
    assert again["state"] == "idle" and r.host_server_port() != old_port
    agent_forwards = [f.remote_port for f in recorded_forwards(store.local_dir)
                      if f.construct is None]
    assert agent_forwards == [r.host_server_port()]

    # The host down (its record now names an address where nothing listens): a coded
    # error from every session and service command.
    store.update(RemoteConstruct, made["id"], lambda _r: {"url": f"ssh://{DOWN}{r.clone}"})
    for args in (("session", "send", made["id"], "hi"), ("session", "log", made["id"]),
                 ("services", "status", made["id"]), ("services", "open", made["id"])):
        proc = r.run(*args, "--json")
        assert proc.returncode != 0, args
        assert json.loads(proc.stderr)["error"]["code"] == "host-unreachable", args
