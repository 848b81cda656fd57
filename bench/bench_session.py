"""Benchmark: agent sessions through Synthetic against the same calls made with bare httpx.

Starts the offline model and a real ``opencode serve`` (managed by Synthetic,
with HOME in a temporary folder), then times alternately, in one run:

* **session create**: ``OpenCodeClient.create_session`` against a bare
  ``httpx`` ``POST /session?directory=D`` with the same body;
* **prompt round trip**: ``ops.session.send_prompt(wait=True)`` (resolve the
  construct, listen to the events, send, follow the turn to idle, read the
  reply, update the status) against a bare ``POST /session/{id}/message``,
  which waits for the turn and returns the reply;
* **new with an agent**: ``ops.create_construct`` with a template that has
  an agent (worktree + session, until the session is ready) against the same
  template without one (the worktree alone).

Figures are medians; each ratio is the median of the rounds' ratios against
the baseline run just after, in the same process.
Target (issue 10): under 1.2x for create and round trip.
Run: ``.venv/bin/python bench/bench_session.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from state_format.store import Store  # noqa: E402
from synthetic_ls.opencode.offline_model import isolated_env, start_in_thread  # noqa: E402
from synthetic_ls.opencode.server import ensure_server, stop_server  # noqa: E402
from synthetic_ls.ops.constructs import (  # noqa: E402
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
)
from synthetic_ls.ops.session import send_prompt  # noqa: E402

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: {
    agent: { label: "Agent", agent: { providerId: "offline", modelId: "echo" } },
    plain: { label: "Worktree only" },
  },
};
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid",
}


def make_repo(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "synthetic.config.ts").write_text(CONFIG)
    (path / "README.md").write_text("bench\n")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def alternate(
    rounds: int, first: Callable[[], None], second: Callable[[], None]
) -> tuple[list[float], list[float]]:
    """Time ``first`` and ``second`` in turn, ``rounds`` times each (after one warm-up).

    Which goes first changes every round, so that neither always runs on the
    other's warm caches.
    """
    first()
    second()
    a: list[float] = []
    b: list[float] = []
    pairs = [(first, a), (second, b)]
    for number in range(rounds):
        for fn, out in pairs if number % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return a, b


def report(name: str, ours: list[float], base: list[float], target: float | None) -> None:
    # The median of each round's own ratio: a round's two runs share the
    # machine's load of that moment, which a ratio of medians would not.
    ratio = statistics.median(o / b for o, b in zip(ours, base, strict=True))
    verdict = ""
    if target is not None:
        verdict = f"  (target < {target:.1f}x: {'met' if ratio < target else 'MISSED'})"
    print(f"{name:<28} synthetic {median_ms(ours):8.1f} ms   baseline {median_ms(base):8.1f} ms"
          f"   ratio {ratio:5.2f}x{verdict}")


def use_local_opencode() -> bool:
    """Point Synthetic at the installed ``opencode`` (a managed server, git identity set).

    False, saying why, when none is installed.
    """
    binary = os.environ.get("SYNTHETIC_OPENCODE_BIN") or str(
        ROOT / ".tools" / "node_modules" / ".bin" / "opencode")
    if not os.access(binary, os.X_OK):
        binary = shutil.which("opencode") or ""
    if not binary:
        print("opencode is not installed: run scripts/setup.sh", file=sys.stderr)
        return False
    os.environ["SYNTHETIC_OPENCODE_BIN"] = binary
    os.environ.pop("SYNTHETIC_OPENCODE_URL", None)
    os.environ.update(GIT_ENV)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not use_local_opencode():
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-session-"))
    model_url, stop_model = start_in_thread()
    home = tmp / "home"
    server_env = isolated_env(home, model_url, ask_bash=False)
    repo = tmp / "app"
    make_repo(repo)
    os.chdir(repo)
    store = Store.open(repo)
    try:
        started = time.perf_counter()
        info = ensure_server(store, None, env=server_env)
        print(f"opencode serve started in {time.perf_counter() - started:.1f} s at {info.url}")
        client = info.client()
        bare = httpx.Client(base_url=info.url, auth=("opencode", info.password or ""),
                            timeout=600)
        directory = str(repo)
        body = {"title": "bench", "model": {"id": "echo", "providerID": "offline"}}

        made: list[str] = []
        ours, base = alternate(
            args.rounds * 2,
            lambda: made.append(client.create_session(
                directory, title="bench", provider_id="offline", model_id="echo").id),
            lambda: made.append(bare.post("/session", params={"directory": directory},
                                          json=body).json()["id"]),
        )
        report("session create", ours, base, 1.2)

        construct = create_construct(store, CreateOptions(name="bench"))
        sid = construct.construct.opencode_session_id or ""
        worktree = construct.construct.workspace_path or ""
        prompt = {"parts": [{"type": "text", "text": "hello"}],
                  "model": {"providerID": "offline", "modelID": "echo"}}
        ours, base = alternate(
            args.rounds,
            lambda: send_prompt(store, construct.construct.id, "hello", wait=True),
            lambda: bare.post(f"/session/{sid}/message", params={"directory": worktree},
                              json=prompt).raise_for_status(),
        )
        report("prompt round trip", ours, base, 1.2)

        def new(template: str) -> Callable[[], None]:
            def run() -> None:
                result = create_construct(store, CreateOptions(name=template,
                                                               template_id=template))
                made_ids.append(result.construct.id)
            return run

        made_ids: list[str] = []
        ours, base = alternate(max(3, args.rounds // 3), new("agent"), new("plain"))
        report("new with agent vs worktree", ours, base, None)
        for cid in [*made_ids, construct.construct.id]:
            remove_construct(store, RemoveOptions(ref=cid, force=True))
        for sid in made:
            client.delete_session(sid)
        client.close()
        bare.close()
    finally:
        stop_server(store)
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
