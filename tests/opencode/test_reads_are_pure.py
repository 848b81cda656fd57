"""Reads are pure: with an agent waiting for a permission and a service running, every read
(from the CLI and as the language server's commands run them) changes no byte of the state
and leaves no process behind.

Real parts throughout: the real ``opencode serve`` with the offline model, a
real dev service (a Python HTTP server on an allocated port), real git. The
state folder is compared file by file (bytes and inode: an atomic rewrite
with the same bytes still shows), the service logs and the derived listing
cache aside; processes are compared by the set of live processes whose
working folder is in the test's folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from state_format.errors import CodedError
from synthetic_ls.cli.main import run
from synthetic_ls.lsp.commands import COMMANDS
from tests.gitrepo import make_repo, trust
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.test_sessions import cli_json, served, wait_for  # noqa: F401

SERVICE = """
import http.server, os
port = int(os.environ["PORT"])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), H)
print(f"listening on {port}", flush=True)
server.serve_forever()
"""

CONFIG = f"""export default {{
  defaults: {{ templateId: "agent" }},
  templates: {{
    agent: {{
      label: "Agent and a dev server",
      agent: {{ providerId: "offline", modelId: "echo" }},
      services: [{{ id: "web", type: "process", run: "{sys.executable} web.py",
                   readyPattern: "listening on", ports: [{{ name: "http" }}] }}],
    }},
  }},
}};
"""

#: Under the state folder, what a read may change: the disposable parse
#: cache. (Logs are written by the processes that log, whatever reads.)
DERIVED = ("cache",)


def snapshot(state: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the state folder (but the derived ones): its bytes and inode."""
    out: dict[str, tuple[bytes, int]] = {}
    for path in sorted(state.rglob("*")):
        rel = path.relative_to(state)
        if rel.parts[0] in DERIVED or not path.is_file() or path.name == ".lock":
            continue
        if path.suffix == ".log" or path.name.endswith(".log.1"):
            continue
        out[str(rel)] = (path.read_bytes(), path.stat().st_ino)
    return out


def processes_in(folder: Path) -> set[int]:
    """Live processes whose working folder is inside ``folder``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X") and cwd.startswith(str(folder)):
            found.add(int(entry.name))
    return found


@pytest.fixture
def busy_repo(tmp_path: Path, served: OpenCodeServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
              capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    """A construct whose service runs and whose agent waits for a permission."""
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "web.py": SERVICE})
    trust(repo)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "trees"))
    made = cli_json(capsys, "new", "Busy")
    # Sent without waiting: the send persists `active`, and nothing of ours
    # follows the turn; the agent's permission request is watched on the
    # server directly, so the record stays as the send left it.
    sent = cli_json(capsys, "session", "send", made["id"], "[tool:bash echo x > x.txt]")
    assert sent["state"] == "busy"
    with served.client() as client:
        wait_for(lambda: any(
            p.session_id == made["opencode_session_id"]
            for p in client.permissions(directory=made["workspace_path"])
        ))
    yield repo, made
    cli_json(capsys, "rm", made["id"], "--yes", "--force")


def test_every_read_changes_no_byte_and_starts_no_process(
    busy_repo: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, made = busy_repo
    cid = made["id"]
    state = repo / ".git" / "synthetic"
    (Path(made["workspace_path"]) / "notes.txt").write_text("uncommitted work\n")
    # The record says what the last operation wrote (`active`); that the agent
    # now waits for the person is shown as an overlay, never written by a read.
    record = (state / "constructs" / f"{cid}.toml").read_text()
    assert 'status = "active"' in record
    before, running = snapshot(state), processes_in(tmp_path)
    assert before and running  # the service and its supervisor

    reads = [
        ["ls"], ["ls", "--json"], ["show", cid], ["show", cid, "--json"],
        ["services", "status"], ["services", "status", cid, "--json"], ["ports", "--json"],
        ["session", "log", cid, "--json"], ["session", "permissions", cid, "--json"],
        ["log", cid, "--json"], ["diff", cid, "--json"], ["diff", cid],
        ["doctor", "--json"], ["config", "check"], ["opencode", "status", "--json"],
        ["prompts", "preview", "--json"],
    ]
    for argv in reads:
        code = run(argv)
        out = capsys.readouterr()
        assert code in (0, 1), (argv, out.err)  # doctor and status may report findings
        assert snapshot(state) == before, f"`synthetic {' '.join(argv)}` wrote to the state"
        assert processes_in(tmp_path) == running, f"`synthetic {' '.join(argv)}` left a process"
        if argv == ["show", cid, "--json"]:
            shown = json.loads(out.out)
            assert shown["status"] == "awaiting_input"  # the overlay
            assert shown["agent"]["state"] == "awaiting_input"

    # The language server's read commands: the same ops, through its adapters.
    from state_format.store import Store

    store = Store.open(repo)
    server_reads = [
        ("synthetic.construct.list", {}), ("synthetic.construct.show", {"ref": cid}),
        ("synthetic.construct.diff", {"ref": cid}), ("synthetic.construct.log", {"ref": cid}),
        ("synthetic.construct.removalPreview", {"ref": cid}),
        ("synthetic.construct.discardPreview", {"ref": cid}),
        ("synthetic.construct.landPlan", {"ref": cid}),  # refused: the worktree is dirty
        ("synthetic.session.log", {"ref": cid}), ("synthetic.session.permissions", {"ref": cid}),
        ("synthetic.services.status", {"ref": cid}), ("synthetic.ports.list", {}),
        ("synthetic.doctor.run", {}),
    ]
    for name, args in server_reads:
        try:
            COMMANDS[name].run(store, args).to_dict()
        except CodedError as exc:
            assert name == "synthetic.construct.landPlan" and exc.code == "construct-dirty"
        assert snapshot(state) == before, f"{name} wrote to the state"
        assert processes_in(tmp_path) == running, f"{name} left a process"
    preview = COMMANDS["synthetic.construct.removalPreview"].run(store, {"ref": cid}).to_dict()
    assert preview["force_required"] is True
    assert [w["what"] for w in preview["loses"]] == ["uncommitted changes (commit or stash them)"]
    assert preview["services"] == ["web"] and preview["session"] == made["opencode_session_id"]
