"""Stress test: many processes creating, editing and deleting constructs at once.

Run by hand (it is not a timed test)::

    .venv/bin/python bench/stress_constructs.py            # 16 processes, 1,000 ops
    .venv/bin/python bench/stress_constructs.py --procs 4 --ops 200

Every worker logs what succeeded. Afterwards the state must add up exactly:
every file parses, no id was created twice, every created construct is either
present or was deleted by exactly one successful ``rm``, and each surviving
construct's edit counter equals the number of successful edits of it (a lost
update would show here). The same operations are then run serially for a time
comparison. A small version runs in the test suite
(tests/integration/test_state_concurrency.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from state_format.errors import RecordNotFoundError
from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.ops import constructs as ops
from synthetic_ls.provision.flow import OperationInProgressError

#: Seconds the pool may take for all its operations before the run fails.
POOL_TIMEOUT = 600

CONFIG = """export default {
  defaults: { templateId: "impl" },
  templates: { impl: { label: "Implement" } },
};
"""


def make_repo(path: Path) -> Path:
    """A git repository with a one-template config, ready for constructs."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "synthetic.config.ts").write_text(CONFIG)
    return path


def _edit(current: Construct) -> dict[str, Any]:
    # Read-modify-write of a counter: a lost update would make it too small.
    return {"description": str(int(current.description or "0") + 1)}


def worker(args: tuple[str, int, int]) -> dict[str, Any]:
    """Run ``n`` mixed operations; return what succeeded (ids and counts)."""
    repo, n, seed = args
    rng = random.Random(seed)
    store = Store.open(repo, lock_timeout=120)
    created: list[str] = []
    deleted: list[str] = []
    edits: Counter[str] = Counter()
    misses = 0
    for i in range(n):
        ids = store.list_ids(Construct)
        roll = rng.random()
        if roll < 0.4 or not ids:
            name = rng.choice(["Fix login", "Añadir caché", "🚀 launch", "a/../b", "x"]) + f" {i}"
            # Records only: this measures the state store, not git.
            options = ops.CreateOptions(name=name, description="0", worktree=False)
            result = ops.create_construct(store, options)
            created.append(result.construct.id)
        elif roll < 0.8:
            target = rng.choice(ids)
            try:
                store.update(Construct, target, _edit)
                edits[target] += 1
            except RecordNotFoundError:
                misses += 1  # deleted by another worker meanwhile: expected
        else:
            target = rng.choice(ids)
            try:
                ops.remove_construct(store, ops.RemoveOptions(ref=target))
                deleted.append(target)
            except (RecordNotFoundError, OperationInProgressError):
                misses += 1  # removed, or being created or removed, by another worker
    return {"created": created, "deleted": deleted, "edits": dict(edits), "misses": misses}


def run(
    repo: Path, procs: int, total_ops: int, seed: int = 1
) -> tuple[float, list[dict[str, Any]]]:
    """Run ``total_ops`` operations split over ``procs`` processes; returns (seconds, logs)."""
    base, rest = divmod(total_ops, procs)
    shares = [base + (1 if i < rest else 0) for i in range(procs)]
    jobs = [(str(repo), share, seed * 1000 + i) for i, share in enumerate(shares)]
    start = time.perf_counter()
    if procs == 1:
        logs = [worker(jobs[0])]
    else:
        # Spawned, not forked: a fork copies whatever locks the caller's other threads
        # hold (a test process has several), and a worker stuck on one hung the pool.
        # A worker that never answers fails the run rather than hang it.
        with multiprocessing.get_context("spawn").Pool(procs) as pool:
            logs = pool.map_async(worker, jobs).get(timeout=POOL_TIMEOUT)
    return time.perf_counter() - start, logs


def verify(repo: Path, logs: list[dict[str, Any]]) -> dict[str, Any]:
    """Check the state against the logs; all problem counts must be 0."""
    store = Store.open(repo)
    listing = store.list_constructs()
    present = Counter(c.id for c in listing.records)
    created = Counter(i for log in logs for i in log["created"])
    deleted = Counter(i for log in logs for i in log["deleted"])
    edits: Counter[str] = Counter()
    for log in logs:
        edits.update(log["edits"])
    expected = set(created) - set(deleted)
    lost = sorted(expected - set(present))
    unexpected = sorted(set(present) - expected)
    wrong_counter = [
        c.id for c in listing.records if int(c.description or "0") != edits.get(c.id, 0)
    ]
    return {
        "constructs": len(listing.records),
        "created": sum(created.values()),
        "deleted": sum(deleted.values()),
        "edits": sum(edits.values()),
        "misses": sum(log["misses"] for log in logs),
        "corrupt": len(listing.broken),
        "lost": len(lost),
        "unexpected": len(unexpected),
        "duplicate_creates": sum(1 for v in created.values() if v > 1),
        "double_deletes": sum(1 for v in deleted.values() if v > 1),
        "lost_updates": len(wrong_counter),
        "counts_add_up": len(listing.records) == sum(created.values()) - sum(deleted.values()),
    }


def problems(report: dict[str, Any]) -> int:
    """Total of everything that must be zero."""
    keys = ("corrupt", "lost", "unexpected", "duplicate_creates", "double_deletes", "lost_updates")
    return sum(int(report[k]) for k in keys) + (0 if report["counts_add_up"] else 1)


def main(argv: list[str] | None = None) -> int:
    """Run the stress test in parallel and serially and print both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="synthetic-stress-") as tmp:
        par_time, par_logs = run(make_repo(Path(tmp) / "parallel"), args.procs, args.ops, args.seed)
        par = verify(Path(tmp) / "parallel", par_logs)
        ser_time, ser_logs = run(make_repo(Path(tmp) / "serial"), 1, args.ops, args.seed)
        ser = verify(Path(tmp) / "serial", ser_logs)
    out = {
        "procs": args.procs,
        "ops": args.ops,
        "parallel_seconds": round(par_time, 3),
        "serial_seconds": round(ser_time, 3),
        "parallel_vs_serial": round(par_time / ser_time, 2),
        "parallel": par,
        "serial": ser,
        "lost_or_corrupt": par["lost"] + par["corrupt"] + ser["lost"] + ser["corrupt"],
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.ops} mixed ops: {args.procs} processes {par_time:.2f} s, "
              f"serial {ser_time:.2f} s (ratio {out['parallel_vs_serial']}x serial)")
        for label, rep in (("parallel", par), ("serial", ser)):
            print(f"  {label}: {rep}")
        print(f"lost or corrupt records: {out['lost_or_corrupt']}")
    return 1 if problems(par) or problems(ser) else 0


if __name__ == "__main__":
    sys.exit(main())
