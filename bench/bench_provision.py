"""Benchmark: provisioning a whole construct against the same steps done by hand.

The template has two process services (each a small HTTP server on its own
port, ready when it says so) and an agent on the offline model. In one run,
alternating which goes first, it times:

* **Synthetic**: ``ops.create_construct`` in a warm process (as the language
  server runs it): record, worktree, ports, prompt bundle, both services up
  and ready, the agent session and its context message;
* **by hand**: ``git worktree add -b``, starting the two servers on free
  ports and waiting for their ready lines, and one ``POST /session`` with
  bare httpx.

Each construct (or hand-made equivalent) is removed before the next round.
The ratio is the median of the rounds' own ratios. Target (issue 13): under
1.3x. Run: ``.venv/bin/python bench/bench_provision.py [--rounds N]``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_session import use_local_opencode  # noqa: E402

from state_format.store import Store  # noqa: E402
from synthetic_ls.opencode.offline_model import isolated_env, start_in_thread  # noqa: E402
from synthetic_ls.opencode.server import ensure_server, stop_server  # noqa: E402
from synthetic_ls.ops.constructs import (  # noqa: E402
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
)

#: A small dev server: serves the folder on $PORT, says when it listens.
SERVER = """import http.server, os
server = http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])),
                                http.server.SimpleHTTPRequestHandler)
print("listening", flush=True)
server.serve_forever()
"""
CONFIG = """export default {
  defaults: { templateId: "full" },
  templates: {
    full: {
      label: "Two services and an agent",
      agent: { providerId: "offline", modelId: "echo" },
      services: {
        api: { type: "process", ports: [{ name: "http" }], readyPattern: "listening",
               run: "python3 serve.py" },
        web: { type: "process", ports: [{ name: "http" }], readyPattern: "listening",
               run: "python3 serve.py" },
      },
    },
  },
};
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_by_hand(cwd: Path) -> subprocess.Popen[bytes]:
    """One dev server on a free port, started as a person would, waited for until ready."""
    env = {**os.environ, "PORT": str(free_port())}
    proc = subprocess.Popen(
        ["python3", "serve.py"], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if b"listening" in line:
            return proc
    raise RuntimeError("the dev server exited before it was ready")


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    if not use_local_opencode():
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-provision-"))
    os.environ["SYNTHETIC_WORKTREES_DIR"] = str(tmp / "trees")
    model_url, stop_model = start_in_thread()
    home = tmp / "home"
    server_env = isolated_env(home, model_url, ask_bash=False)
    repo = tmp / "app"
    repo.mkdir()
    (repo / "synthetic.config.ts").write_text(CONFIG)
    (repo / "index.html").write_text("<h1>bench</h1>\n")
    (repo / "serve.py").write_text(SERVER)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    os.chdir(repo)
    store = Store.open(repo)
    info = ensure_server(store, None, env=server_env)
    bare = httpx.Client(base_url=info.url, auth=("opencode", info.password or ""), timeout=60)
    body = {"title": "by hand", "model": {"id": "echo", "providerID": "offline"}}
    ours: list[float] = []
    hand: list[float] = []
    hand_context: list[float] = []
    context = "## This construct\n\n" + "- a line of the construct's context\n" * 20
    try:
        def synthetic_round(number: int) -> float:
            start = time.perf_counter()
            made = create_construct(store, CreateOptions(name=f"bench {number}"),
                                    progress=step_timer)
            took = time.perf_counter() - start
            remove_construct(store, RemoveOptions(ref=made.construct.id, force=True))
            return took

        def hand_round(number: int) -> float:
            path = tmp / "trees" / f"hand-{number}"
            start = time.perf_counter()
            git(repo, "worktree", "add", "-q", "-b", f"hand/{number}", str(path))
            servers = [start_by_hand(path), start_by_hand(path)]
            session = bare.post("/session", params={"directory": str(path)}, json=body).json()
            took = time.perf_counter() - start
            # The same context message Synthetic sends (its prompt bundle), timed apart.
            bare.post(f"/session/{session['id']}/message", params={"directory": str(path)},
                      json={"noReply": True, "parts": [{"type": "text", "text": context}]})
            hand_context.append(time.perf_counter() - start - took)
            for proc in servers:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            bare.delete(f"/session/{session['id']}")
            git(repo, "worktree", "remove", "--force", str(path))
            git(repo, "branch", "-D", f"hand/{number}")
            return took

        steps: dict[str, list[float]] = {}
        last: list[tuple[str, float]] = []

        def step_timer(number: int, total: int, title: str) -> None:
            now = time.perf_counter()
            if last:
                steps.setdefault(last[-1][0], []).append(now - last[-1][1])
            last[:] = [(title, now)] if number < total else []

        synthetic_round(-1)
        hand_round(-1)
        for number in range(args.rounds):
            pair = [(synthetic_round, ours), (hand_round, hand)]
            for run, out in pair if number % 2 == 0 else pair[::-1]:
                out.append(run(number))
        ratio = statistics.median(o / h for o, h in zip(ours, hand, strict=True))
        with_context = [h + c for h, c in zip(hand, hand_context[1:], strict=True)]
        ratio_context = statistics.median(
            o / h for o, h in zip(ours, with_context, strict=True))
        print(f"provision (2 services + agent)  synthetic {statistics.median(ours) * 1000:7.0f} ms"
              f"   by hand {statistics.median(hand) * 1000:7.0f} ms   ratio {ratio:5.2f}x"
              f"  (target < 1.3x: {'met' if ratio < 1.3 else 'MISSED'})")
        print(f"  by hand, plus the context message Synthetic sends: "
              f"{statistics.median(with_context) * 1000:7.0f} ms   ratio {ratio_context:5.2f}x")
        for title, took in steps.items():
            print(f"  {title:<32} {statistics.median(took) * 1000:7.0f} ms")
    finally:
        bare.close()
        stop_server(store)
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
