"""Running the real ``git``: the one environment and call every git module uses.

Kept free of pygit2, so that the commands that only run git (``diff``,
``land``) start without importing it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git_env() -> dict[str, str]:
    """Environment for git subprocesses: never prompt, stable messages."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    # A caller's GIT_DIR / GIT_WORK_TREE would point every command at the
    # wrong place once we pass -C explicitly.
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        env.pop(var, None)
    return env


def git_text(cwd: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``git -C cwd args`` without a shell, text out; never raises for git's exit status.

    ``input`` is written to git's standard input (else it reads nothing).
    Raises :class:`FileNotFoundError` when git is not installed.
    """
    return subprocess.run(
        ["git", "-C", str(cwd), *args],
        capture_output=True,
        # Paths in git's output are bytes; undecodable ones round-trip to the
        # same bytes in os calls instead of raising UnicodeDecodeError.
        encoding="utf-8",
        errors="surrogateescape",
        env=git_env(),
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        check=False,
    )


def git_bytes(
    cwd: Path, *args: str, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Like :func:`git_text`, bytes in and out (file contents are not text)."""
    return subprocess.run(
        ["git", "-C", str(cwd), *args], input=input, capture_output=True, env=git_env(),
        stdin=subprocess.DEVNULL if input is None else None, check=False,
    )
