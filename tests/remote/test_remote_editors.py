"""The editors' side of a construct on another machine: its agent's states and permission
prompts, and its services, through the real language server.

Against the real sshd of tests/remote/sshd_server.py, the host's real ``opencode serve``
with the offline model (the ``reach`` fixture of test_remote_reach.py) and the real
language server, driven over its stdio by a small JSON-RPC client of this module (so
the test sees the server's process end, and what it leaves behind). Every wait polls
with a deadline.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from state_format.records import RemoteConstruct
from state_format.store import Store
from synthetic_ls.remote.forward import recorded_forwards
from tests.opencode.conftest import offline_model, opencode_bin  # noqa: F401 (fixtures)
from tests.remote.sshd_server import ALIAS, DOWN
from tests.remote.test_remote_constructs import ok_json, wait_for
from tests.remote.test_remote_reach import Reach, _ssh_n_processes, reach  # noqa: F401
from tests.result_schemas import assert_matches

#: Generous: a host is asked over ssh, the agent answers through a forward.
DEADLINE = 120.0


class Server:
    """The real language server over pipes, and a reader of what it sends."""

    def __init__(self, root: Path, env: dict[str, str], log: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synthetic_ls.lsp", "--log-file", str(log),
             "--log-level", "INFO"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, env=env)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                    "capabilities": {},
                                    "workspaceFolders": [{"uri": root.as_uri(),
                                                          "name": root.name}]})
        self.notify("initialized", {})

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(out.read(length))
            if "id" in message and "method" in message:  # a request of the server's: answer
                self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "method" in message:
                self.notifications.append(message)
            else:
                self.messages.put(message)

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        """Send a request and wait (with a deadline) for its answer; an error fails."""
        self._next += 1
        self._send({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params})
        deadline = time.monotonic() + DEADLINE
        while True:
            message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if message.get("id") == self._next:
                assert "error" not in message, message["error"]
                return message.get("result")

    def run(self, command: str, args: dict[str, Any]) -> Any:
        """``workspace/executeCommand`` with one JSON object."""
        return self.request("workspace/executeCommand",
                            {"command": command, "arguments": [args]})

    def agent_state(self, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first ``synthetic/agentState`` whose params pass ``check`` (waited for)."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [n["params"] for n in list(self.notifications)
                        if n["method"] == "synthetic/agentState" and check(n["params"])]
            return bool(found)

        wait_for(seen, DEADLINE)
        return found[0]

    def exit(self) -> None:
        """``shutdown`` then ``exit``; wait for the process to end."""
        self.request("shutdown", None)
        self.notify("exit", None)
        self.proc.wait(timeout=60)


def _own_forwards(r: Reach, before: set[int]) -> set[int]:
    """The ``ssh -N`` processes of the test's config that no record holds (a read's own)."""
    recorded = {f.owner.pid for f in recorded_forwards(Store.open(r.local).local_dir)}
    return _ssh_n_processes(r.config) - before - recorded


def test_a_remote_agents_permission_reaches_the_editor_and_is_approved_there(
        reach: Reach, tmp_path: Path) -> None:  # noqa: F811
    r = reach
    before = _ssh_n_processes(r.config)
    made = ok_json(r.run("new", "Fix it", "--host", "test", "--trust", "--json"))
    rid = made["id"]
    # A second construct whose host does not answer: its follower backs off, alone.
    down = ok_json(r.run("new", "Elsewhere", "--host", "test", "--trust", "--json"))
    store = Store.open(r.local)
    store.update(RemoteConstruct, down["id"],
                 lambda _r: {"url": f"ssh://{DOWN}{r.clone}", "host": "down"})

    # The host's agent server stopped: an editor opening never starts it.
    server_toml = r.clone / ".git" / "synthetic" / "opencode" / "server.toml"
    assert r.host_server_port()
    stop = subprocess.run(["ssh", ALIAS, f"synthetic -C {r.clone} opencode stop"], env=r.env,
                          capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    log = tmp_path / "ls.log"
    server = Server(r.local, r.env, log)
    try:
        wait_for(lambda: log.exists() and f"the agent of {rid} on host test is not followed "
                 "now: opencode-stopped" in log.read_text(), DEADLINE)
        assert not server_toml.exists()
        assert _ssh_n_processes(r.config) - before == set()
        # Started there (not by an editor): the follower finds it at its next look.
        start = subprocess.run(["ssh", ALIAS, f"synthetic -C {r.clone} opencode start"],
                               env=r.env, capture_output=True, text=True, timeout=120)
        assert start.returncode == 0, start.stderr
        # The follower reads the host's agents through a forward of its own (no shared one
        # is open, and an editor opens none): it is not recorded.
        wait_for(lambda: len(_own_forwards(r, before)) == 1, DEADLINE)
        assert recorded_forwards(store.local_dir) == []
        # The agent asks to run a tool: the editor is told, with this machine's id.
        asked = ok_json(r.run("session", "send", rid, "[tool:bash echo hi]", "--wait",
                              "--json"))
        assert asked["state"] == "awaiting_input"
        told = server.agent_state(lambda p: p["permission"] is not None)
        assert told["construct"] == rid and told["name"] == "Fix it"
        assert told["host"] == "test" and told["root"] == str(r.local)
        assert told["state"] == "awaiting_input"
        assert told["permission"]["id"] == asked["permissions"][0]["id"]
        assert told["permission"]["permission"] == "bash"
        # Approved from the editor: the agent runs it and its turn ends, as the editor hears.
        approved = server.run("synthetic.session.approve", {"ref": rid})
        assert approved["permission_id"] == told["permission"]["id"]
        server.agent_state(lambda p: p["construct"] == rid and p["state"] == "idle"
                           and p["turn_ended"])
        log = ok_json(r.run("session", "log", rid, "--json"))
        assert any(t["tool"] == "bash" for m in log["messages"] for t in m["tools"])
        # The host that does not answer held up nothing, and the list still answers.
        listed = server.run("synthetic.construct.list", {})
        assert {c["id"]: c["status"] for c in listed["constructs"]}[down["id"]] == "unreachable"

        # A service of the remote construct, opened from the editor: a local URL.
        opened = assert_matches("services-open", server.run(
            "synthetic.services.open", {"ref": rid, "service": "web"}))
        [web] = opened["forwards"]
        assert opened["host"] == "test" and web["service"] == "web"
        with urllib.request.urlopen(web["url"] + "/README.md", timeout=20) as answer:
            assert answer.read() == b"hi\n"
        logs = server.run("synthetic.services.logs", {"ref": rid, "service": "web"})
        assert logs["construct_id"] == rid and logs["path"] == ""
        assert any("Serving HTTP" in line for line in logs["lines"])
    finally:
        server.exit()
    # The server's own forward went with it; the recorded ones stay for the commands.
    wait_for(lambda: _own_forwards(r, before) == set())

    # A server killed outright leaves no forward of its own either.
    for f in recorded_forwards(store.local_dir):
        os.killpg(f.owner.pid, signal.SIGKILL)
    wait_for(lambda: _ssh_n_processes(r.config) - before == set())
    killed = Server(r.local, r.env, tmp_path / "killed.log")
    wait_for(lambda: len(_ssh_n_processes(r.config) - before) == 1, DEADLINE)
    killed.proc.kill()
    killed.proc.wait()
    wait_for(lambda: _ssh_n_processes(r.config) - before == set())


def test_the_services_of_a_remote_construct_stop_and_start_from_here(
        reach: Reach) -> None:  # noqa: F811
    r = reach
    made = ok_json(r.run("new", "Serve", "--host", "test", "--trust", "--json"))
    rid = made["id"]
    stopped = ok_json(r.run("services", "stop", rid, "--json"))
    assert stopped["construct_id"] == rid
    assert [(s["name"], s["state"]) for s in stopped["services"]] == [("web", "stopped")]
    status = ok_json(r.run("services", "status", rid, "--json"))
    assert [s["state"] for s in status["services"]] == ["stopped"]
    started = ok_json(r.run("services", "start", rid, "web", "--json"))
    assert [(s["name"], s["state"]) for s in started["services"]] == [("web", "ready")]
    assert any("services open" in n for n in started["notes"])
    restarted = ok_json(r.run("services", "restart", rid, "--json"))
    assert [s["state"] for s in restarted["services"]] == ["ready"]
    text = r.run("services", "logs", rid, "web")
    assert text.returncode == 0 and "Serving HTTP" in text.stdout
    follow = r.run("services", "logs", rid, "web", "-f")
    assert follow.returncode != 0 and "on its host" in follow.stderr
    # A service the host's construct does not have: the host's refusal, with its code.
    missing = r.run("services", "stop", rid, "nothing", "--json")
    assert missing.returncode != 0
    error = json.loads(missing.stderr)["error"]
    assert error["code"] == "remote-failed" and error["remote_code"] == "unknown-service"

    # The host's config changed since: what it would run now is asked about here (no
    # terminal: refused, listing it; nothing stopped there), then allowed here (--trust),
    # and the host runs exactly that.
    pid = ok_json(r.run("services", "status", rid, "--json"))["services"][0]["pid"]
    config = r.clone / "synthetic.config.ts"
    config.write_text(config.read_text().replace("python3 -u -m", "python3 -u -X utf8 -m"))
    refused = r.run("services", "restart", rid, "--json")
    assert refused.returncode != 0
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "consent-required", error
    assert "-X utf8" in " ".join(str(i["text"]) for i in error["items"])
    assert ok_json(r.run("services", "status", rid, "--json"))["services"][0]["pid"] == pid
    trusted = ok_json(r.run("services", "restart", rid, "--trust", "--json"))
    [web] = trusted["services"]
    assert web["state"] == "ready" and web["pid"] != pid
