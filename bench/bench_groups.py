"""Benchmark: a group of three attempts against three single creations, in one run.

Starts the offline model and a real ``opencode serve`` (managed by Synthetic,
HOME in a temporary folder), then times alternately, in one process:

* **group of three**: ``ops.groups.create_group(attempts=3)``: the group
  record and its journal, three constructs (worktree, session), each sent
  the prompt;
* **three singles**: three ``ops.constructs.create_construct`` with the same
  template, each followed by ``ops.session.send_prompt`` of the same prompt
  (what a person would do by hand, without the group's record and journal);
* **same order**: the three creations first, then the three prompts, as the
  group does them: what the group's record and journal cost on their own.

No prompt is waited for (neither ``new --attempts`` nor ``session send`` without
``--wait`` waits for the turn): in the singles, the first agents' turns run
during the later creations; in a group, after the last one.

Each run is removed (untimed) before the next. Figures are medians; the ratio
is the median of the rounds' own ratios.
Run: ``.venv/bin/python bench/bench_groups.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_session import make_repo, report, use_local_opencode  # noqa: E402
from state_format.store import Store  # noqa: E402
from synthetic_ls.opencode.offline_model import isolated_env, start_in_thread  # noqa: E402
from synthetic_ls.opencode.server import ensure_server, stop_server  # noqa: E402
from synthetic_ls.ops.constructs import (  # noqa: E402
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
)
from synthetic_ls.ops.groups import GroupOptions, create_group, remove_group  # noqa: E402
from synthetic_ls.ops.session import send_prompt  # noqa: E402

TASK = "Write the changelog"


def alternate_apart(rounds: int, first: Callable[[], None], second: Callable[[], None],
                    clean: Callable[[], None]) -> tuple[list[float], list[float]]:
    """Time ``first`` and ``second`` in turn (after one warm-up of each), ``clean`` run
    untimed before each; which goes first changes every round."""
    for fn in (first, second):
        clean()
        fn()
    a: list[float] = []
    b: list[float] = []
    pairs = [(first, a), (second, b)]
    for number in range(rounds):
        for fn, out in pairs if number % 2 == 0 else pairs[::-1]:
            clean()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    clean()
    return a, b


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not use_local_opencode():
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-groups-"))
    model_url, stop_model = start_in_thread()
    server_env = isolated_env(tmp / "home", model_url, ask_bash=False)
    repo = tmp / "app"
    make_repo(repo)
    os.chdir(repo)
    os.environ["SYNTHETIC_WORKTREES_DIR"] = str(tmp / "wt")
    store = Store.open(repo)
    try:
        started = time.perf_counter()
        info = ensure_server(store, None, env=server_env)
        print(f"opencode serve started in {time.perf_counter() - started:.1f} s at {info.url}")
        # Named from here on, as a person's own server would be: an operation's own look
        # for the managed server must not restart it without the offline model's config.
        os.environ["SYNTHETIC_OPENCODE_URL"] = info.url
        os.environ["SYNTHETIC_OPENCODE_PASSWORD"] = info.password or ""
        groups: list[str] = []
        singles: list[str] = []

        def group() -> None:
            groups.append(create_group(store, GroupOptions(task=TASK, attempts=3)).group.id)

        def three() -> None:
            for number in range(1, 4):
                made = create_construct(store, CreateOptions(name=f"{TASK} #{number}",
                                                             description=TASK))
                send_prompt(store, made.construct.id, TASK)
                singles.append(made.construct.id)

        def three_then_send() -> None:
            made = [create_construct(store, CreateOptions(name=f"{TASK} #{n}", description=TASK))
                    for n in range(1, 4)]
            for m in made:
                send_prompt(store, m.construct.id, TASK)
                singles.append(m.construct.id)

        def clean() -> None:
            for gid in groups:
                remove_group(store, gid, force=True)
            groups.clear()
            for cid in singles:
                remove_construct(store, RemoveOptions(ref=cid, force=True))
            singles.clear()

        ours, base = alternate_apart(args.rounds, group, three, clean)
        report("group of 3 vs 3 singles", ours, base, None)
        ours, base = alternate_apart(args.rounds, group, three_then_send, clean)
        report("group of 3 vs same order", ours, base, None)
        for gid in groups:
            remove_group(store, gid, force=True)
        for cid in singles:
            remove_construct(store, RemoveOptions(ref=cid, force=True))
    finally:
        stop_server(store)
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
