"""Concurrent create/edit/delete from several processes: nothing lost or corrupt.

A small run of bench/stress_constructs.py (4 processes x 25 operations); the
checks are repeated here independently of the script's own verification.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from state_format.records import Construct
from state_format.store import Store

BENCH = Path(__file__).resolve().parents[2] / "bench" / "stress_constructs.py"


def _load_stress() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stress_constructs", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered, and its folder on the path (which a spawned process inherits), so
    # that the pool's workers find the worker function by its module's name.
    sys.modules["stress_constructs"] = module
    if str(BENCH.parent) not in sys.path:
        sys.path.append(str(BENCH.parent))
    spec.loader.exec_module(module)
    return module


def test_four_processes_mixed_operations(tmp_path: Path) -> None:
    stress = _load_stress()
    repo = stress.make_repo(tmp_path / "repo")
    _, logs = stress.run(repo, procs=4, total_ops=100, seed=7)
    assert len(logs) == 4 and sum(len(log["created"]) for log in logs) > 0
    report = stress.verify(repo, logs)
    assert stress.problems(report) == 0, report

    # Independent checks, straight from the files.
    folder = Store.open(repo).folder(Construct)
    files = sorted(p for p in folder.iterdir())
    assert all(p.suffix == ".toml" and not p.name.startswith(".") for p in files)
    ids = [tomllib.loads(p.read_text())["id"] for p in files]
    assert ids == [p.stem for p in files] and len(set(ids)) == len(ids)
    created = {i for log in logs for i in log["created"]}
    deleted = [i for log in logs for i in log["deleted"]]
    assert len(deleted) == len(set(deleted))
    assert set(ids) == created - set(deleted)
