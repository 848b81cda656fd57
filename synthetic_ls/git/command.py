"""Running the real ``git``: the one environment, call and error every git module uses.

:func:`run_git` is the one way Synthetic runs git (``git -C cwd ...``,
without a shell, never prompting, messages in English) and :class:`GitError`
the one error it raises; :func:`git_text` and :func:`git_bytes` are the
plain calls underneath, for steps whose failure is an answer (a conflict, a
hook's refusal). Kept free of pygit2, so that the commands that only run
git (``diff``, ``land``) start without importing it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from synthetic_ls.errors import SyntheticError


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for git subprocesses: never prompt, stable messages; ``extra`` on top."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    # A caller's GIT_DIR / GIT_WORK_TREE would point every command at the
    # wrong place once we pass -C explicitly.
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"):
        env.pop(var, None)
    env.update(extra or {})
    return env


def git_text(
    cwd: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``git -C cwd args`` without a shell, text out; never raises for git's exit status.

    ``input`` is written to git's standard input (else it reads nothing);
    ``env`` is added to :func:`git_env`.
    Raises :class:`FileNotFoundError` when git is not installed.
    """
    return subprocess.run(
        ["git", "-C", str(cwd), *args],
        capture_output=True,
        # Paths in git's output are bytes; undecodable ones round-trip to the
        # same bytes in os calls instead of raising UnicodeDecodeError.
        encoding="utf-8",
        errors="surrogateescape",
        env=git_env(env),
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


class GitError(SyntheticError):
    """A git step failed; the message names the step and git's own words."""

    code = "git-failed"

    def __init__(self, step: str, detail: str) -> None:
        self.step = step
        self.detail = detail.strip()
        super().__init__(
            f"{step} failed: {self.detail}" if self.detail else f"{step} failed",
            fields={"step": step, "detail": self.detail},
        )


def run_git(
    cwd: Path,
    *args: str,
    step: str,
    check: bool = True,
    input: str | None = None,
    on_start: Callable[[int], None] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C cwd args``; raise :class:`GitError` naming ``step`` when it fails.

    ``check=False`` returns a failed run instead (its status and output are
    the answer). ``input`` is written to git's standard input (else it reads
    nothing). With ``on_start``, git runs in its own process group, whose id
    is passed to ``on_start`` before git runs (see
    :mod:`synthetic_ls.runtime.proc`), so that a journal can record it.
    ``env`` is added to git's environment (``GIT_EDITOR=true``: no editor).
    """
    try:
        if on_start is not None:
            # The gated child reads its go byte on standard input: nothing else can go there.
            assert input is None, "a git step in its own group reads no input"
            from synthetic_ls.runtime.proc import run_in_group

            proc = run_in_group(
                ["git", "-C", str(cwd), *args], env=git_env(env), on_start=on_start
            )
        else:
            proc = git_text(cwd, *args, input=input, env=env)
    except FileNotFoundError:
        raise GitError(step, "the git command was not found on PATH") from None
    if check and proc.returncode != 0:
        raise GitError(step, proc.stderr or proc.stdout)
    return proc
