"""Shared pieces of the services tests: a repository with small Python services, cleanup.

The services are real processes (``svc.py`` below, run with this Python),
on real ports, in real git worktrees. The ``cleanup`` fixture makes sure no
process of any recorded service group survives a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from state_format.records import Service
from state_format.store import Store
from synthetic_ls.runtime.groups import end_group, group_alive
from tests.gitrepo import GIT_ENV, make_repo, trust

PY = sys.executable
#: This source tree: subprocesses import it first (not an older installed copy).
PROJECT = Path(__file__).resolve().parents[2]

#: A service script with modes: ready (HTTP server), silent, exit, stubborn, chatty.
SVC = r'''
import http.server, json, os, signal, subprocess, sys, time

def note_sigterm():
    """On SIGTERM, add this pid to $MARKER_DIR/sigterm (when set) and go on."""
    def noted(signum, frame):
        if os.environ.get("MARKER_DIR"):
            with open(os.path.join(os.environ["MARKER_DIR"], "sigterm"), "a") as out:
                out.write(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, noted)

mode = sys.argv[1]
port = int(os.environ.get("PORT", "0") or 0)
if mode == "ready":
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({k: v for k, v in os.environ.items()
                               if k.isupper() and not k.startswith(("PYTHON", "PATH"))}).encode()
            self.send_response(200); self.end_headers(); self.wfile.write(body)
        def log_message(self, *a):
            pass
    server = http.server.HTTPServer(("127.0.0.1", port), H)
    print(f"listening on {port}", flush=True)
    server.serve_forever()
elif mode == "silent":
    time.sleep(600)
elif mode == "exit":
    print("boom: missing DATABASE_URL", flush=True)
    sys.exit(3)
elif mode == "stubborn":
    # Ignores SIGTERM, and so does its child: ready once both do.
    note_sigterm()
    child = subprocess.Popen([sys.executable, sys.argv[0], "stubborn-child"],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "child up\n"
    print(f"stubborn ready child={child.pid}", flush=True)
    time.sleep(600)
elif mode == "stubborn-child":
    note_sigterm()
    print("child up", flush=True)
    time.sleep(600)
elif mode == "chatty":
    for i in range(4000):
        print(f"line {i:05d} " + "x" * 60)
    print("chatty ready", flush=True)
    time.sleep(600)
'''


def config(services: str, extra: str = "") -> str:
    """A config whose template ``t`` (the default) has ``services``."""
    return f"""export default {{
  defaults: {{ templateId: "t" }},
  templates: {{
    t: {{
      {extra}
      services: {{ {services} }},
    }},
    bare: {{ label: "Bare" }},
  }},
}};
"""


def svc(mode: str, **fields: str) -> str:
    """A process service running ``svc.py MODE`` with this test's Python."""
    run = f'"{PY} {{svc}} {mode}"'.replace("{svc}", "${constructDir}/svc.py")
    parts = [f"run: {run}"] + [f"{k}: {v}" for k, v in fields.items()]
    return "{ " + ", ".join(parts) + " }"


def make_service_repo(tmp_path: Path, cfg: str, files: dict[str, str] | None = None) -> Path:
    """A committed repository with ``svc.py`` and the config ``cfg``."""
    all_files = {"synthetic.config.ts": cfg, "svc.py": SVC, "README.md": "hi\n"}
    all_files.update(files or {})
    repo = make_repo(tmp_path / "app", all_files)
    trust(repo)
    return repo


def env(tmp_path: Path, **more: str) -> dict[str, str]:
    """Environment for a ``synthetic`` subprocess (this source tree first on its path)."""
    path = os.pathsep.join(p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt"),
            "PYTHONPATH": path, **more}


def synthetic(
    repo: Path, tmp_path: Path, *argv: str, extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a subprocess (the same Python, this source tree)."""
    return subprocess.run(
        [PY, "-m", "synthetic_ls", *argv], cwd=repo, env=env(tmp_path, **(extra_env or {})),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
    )


def recorded_groups(repo: Path) -> list[int]:
    """Every pid recorded in a service record of ``repo`` (each leads its own group)."""
    try:
        store = Store.open(repo)
    except Exception:
        return []
    return [s.pid for s in store.list(Service).records if s.pid]


def wait_until(check: object, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check()`` until true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(name="groups")
def groups_fixture() -> Iterator[list[int]]:
    """Process groups a test saw; after it, every one must be gone (and is ended if not)."""
    seen: list[int] = []
    yield seen
    alive = [g for g in seen if group_alive(g)]
    for g in alive:
        end_group(g, grace=0.2)
    assert not alive, f"process groups survived the test: {alive}"
