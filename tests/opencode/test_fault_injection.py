"""The reduced fault injection (bench/fault_injection.py --rounds 1 --sample): nothing
orphaned, a killed discard finished, a killed group of attempts undone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "bench" / "fault_injection.py"


def test_kill_9_at_every_step_then_doctor_leaves_nothing(opencode_bin: str) -> None:
    """One kill per step of the example's creation, one in a discard (deleting its
    session) and one in a group of attempts (its second member), each followed by
    ``doctor --fix``."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "1", "--sample"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "SYNTHETIC_OPENCODE_BIN": opencode_bin},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    for what in ("worktrees", "branches", "ports", "processes", "sessions"):
        assert f"orphaned {what}: 0" in lines, proc.stdout
    assert "inconsistent records: 0" in lines
    steps = lines[0].removeprefix("steps: ").split(";")[0].split(", ")
    assert steps[:2] == ["record", "worktree"] and "session" in steps
    assert sum("kill at" in line for line in lines) == len(steps)
    tally = [line for line in lines if line.startswith("discard: 1 killed (")]
    assert len(tally) == 1 and tally[0].endswith("inconsistent: 0"), proc.stdout
    tally = [line for line in lines if line.startswith("group: 1 killed (")]
    assert len(tally) == 1 and tally[0].endswith("inconsistent: 0"), proc.stdout
