"""``session watch --all``: every agent's requests, told once, from the real ``opencode serve``.

Two constructs' agents (the offline model, which asks permission before
each shell command) ask for permissions before and while the watch runs;
each request is told once, with the construct's name and what it asks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from state_format.store import Store
from synthetic_ls.ops.constructs import CreateOptions, create_construct
from synthetic_ls.ops.session import approve_permission, send_prompt
from synthetic_ls.ops.watch_all import InputRequest, watch_all
from tests.opencode.test_ops_session import store  # noqa: F401  (the fixture)


def wait_for(check: Callable[[], bool], within: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.05)


def test_every_request_of_every_agent_is_told_once(store: Store) -> None:  # noqa: F811
    one = create_construct(store, CreateOptions(name="First agent")).construct
    two = create_construct(store, CreateOptions(name="Second agent")).construct
    # Asked before anyone watches: told when the watch connects.
    asked = send_prompt(store, one.id, "[tool:bash echo one]", wait=True)
    assert asked.state == "awaiting_input"

    told: list[InputRequest] = []
    stop = threading.Event()
    ended: list[object] = []
    watcher = threading.Thread(target=lambda: ended.append(
        watch_all(store, told.append, cancelled=stop.is_set)))
    watcher.start()
    try:
        wait_for(lambda: len(told) >= 1, what="the request made before watching")
        send_prompt(store, two.id, "[tool:bash echo two]")
        wait_for(lambda: len(told) >= 2, what="the second agent's request")
        approve_permission(store, one.id)
        send_prompt(store, one.id, "[tool:bash echo three]")
        wait_for(lambda: len(told) >= 3, what="the first agent's next request")
        # A question (OpenCode's question tool) is told the same way, with its text.
        third = create_construct(store, CreateOptions(name="Third agent")).construct
        send_prompt(store, third.id, "[tool:question " + json.dumps({"questions": [{
            "question": "Which database?", "header": "DB",
            "options": [{"label": "pg", "description": "Postgres"}]}]}) + "]")
        wait_for(lambda: len(told) >= 4, what="the third agent's question")
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not watcher.is_alive()
    shown = [(r.construct, r.name, r.kind, r.asks) for r in told]
    assert shown == [
        (one.id, "First agent", "permission", "bash: echo one"),
        (two.id, "Second agent", "permission", "bash: echo two"),
        (one.id, "First agent", "permission", "bash: echo three"),
        (third.id, "Third agent", "question", "Which database?"),
    ]
    assert len({r.id for r in told}) == 4 and told[3].questions == ("Which database?",)
    [result] = ended
    assert [r.to_dict() for r in result.requests] == [r.to_dict() for r in told]  # type: ignore[attr-defined]
    assert told[0].session_id == one.opencode_session_id


def test_the_cli_prints_each_request_until_interrupted(store: Store) -> None:  # noqa: F811
    one = create_construct(store, CreateOptions(name="Agent one")).construct
    two = create_construct(store, CreateOptions(name="Agent two")).construct
    repo = store.repo.worktree
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_ls", "session", "watch", "--all", "--json"],
        cwd=repo, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        send_prompt(store, one.id, "[tool:bash echo from one]")
        send_prompt(store, two.id, "[tool:bash echo from two]")
        wait_for(lambda: len(lines) >= 2, what="both requests printed")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        reader.join(timeout=10)
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert code == 130, err
    assert "Traceback" not in err
    requests = [json.loads(line) for line in lines]
    assert sorted((r["name"], r["asks"]) for r in requests) == [
        ("Agent one", "bash: echo from one"), ("Agent two", "bash: echo from two")]
    assert {r["construct"] for r in requests} == {one.id, two.id}
    assert all(r["kind"] == "permission" and r["id"] for r in requests)


def test_watch_wants_a_construct_or_all(store: Store) -> None:  # noqa: F811
    repo: Path = store.repo.worktree
    both = subprocess.run([sys.executable, "-m", "synthetic_ls", "session", "watch", "x",
                           "--all"], cwd=repo, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert both.returncode == 2 and "not both" in both.stderr
    assert "Traceback" not in both.stderr
