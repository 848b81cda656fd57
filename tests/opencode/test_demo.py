"""`synthetic demo`, the README's main job (issue 22, item 5): the whole story.

The real CLI, the real `opencode serve` and the offline model: the agent's
edit is reviewed (`diff`), committed and landed on the demo repository's
main branch, the demo says what to try next, and nothing is left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _demo_processes() -> list[str]:
    """Live processes started by a demo (its HOME is in its temporary folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"synthetic-demo-" in environ and state not in ("Z", "X"):
            found.append(entry.name)
    return found


def test_the_demo_reviews_commits_and_lands_the_agents_edit(opencode_bin: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "SYNTHETIC_OPENCODE_BIN": opencode_bin}
    before = set(_demo_processes())
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "demo"], env=env,
                          capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for step in ("$ synthetic trust --list", "$ synthetic diff", "+<p>Hello!</p>",
                 "$ synthetic commit", "$ synthetic land", "Landed ",
                 "Add a greeting to the home page", "Next, on your own repository"):
        assert step in out, (step, out[-3000:])
    assert "$ synthetic rm" not in out  # the edit is landed, not thrown away
    assert set(_demo_processes()) <= before  # nothing of it runs on
