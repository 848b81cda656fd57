"""Locate the state folder: ``<git common dir>/synthetic/``.

The common dir (not the per-worktree git dir) is used so that the main checkout
and every linked worktree see the same records. ``git rev-parse`` is asked
once, via a subprocess, because it already implements every rule we need
(``.git`` files, ``commondir``, ``GIT_DIR``, ``GIT_COMMON_DIR``, safe.directory,
discovery across file systems) and costs a few milliseconds; pygit2 is not
allowed here so that this package stays importable on its own.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from state_format.errors import (
    BareRepositoryError,
    NotARepositoryError,
    StateError,
    UnsafeRepositoryError,
)
from state_format.text import one_line

#: Name of the folder inside the git common dir that holds all state.
STATE_DIR_NAME = "synthetic"


@dataclass(frozen=True)
class RepoPaths:
    """Where a repository keeps its work tree and its shared state.

    ``common_dir`` is the git common dir (shared by all worktrees), ``worktree``
    the top of the work tree the caller is in, ``state_dir`` the Synthetic
    state root inside ``common_dir``.
    """

    common_dir: Path
    worktree: Path

    @property
    def state_dir(self) -> Path:
        """``<git common dir>/synthetic``."""
        return self.common_dir / STATE_DIR_NAME


def find_repo(start: Path | str | None = None) -> RepoPaths:
    """Find the repository containing ``start`` (default: the current folder).

    Raises :class:`NotARepositoryError` outside a repository and
    :class:`BareRepositoryError` in a bare one (constructs need a work tree).
    """
    cwd = Path(start) if start is not None else Path.cwd()
    if not cwd.is_dir():
        raise NotARepositoryError(f"not a directory: {cwd}")
    # Order matters: rev-parse prints each answer in turn and stops with an
    # error at --show-toplevel when there is no work tree, so the first two
    # lines are still there to tell a bare repository from no repository.
    cmd = [
        "git",
        "rev-parse",
        "--path-format=absolute",
        "--is-bare-repository",
        "--git-common-dir",
        "--show-toplevel",
    ]
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C")  # stable messages for the checks below
    try:
        # Bytes, not text: a path is any bytes but NUL and "/", not necessarily
        # UTF-8; os.fsdecode maps them to str and back without loss.
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False, timeout=30)
    except FileNotFoundError:
        raise StateError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise StateError("git rev-parse did not answer within 30 s") from None
    # One answer per line, split on "\n" only: splitlines() would also cut a
    # path at "\r" (or, for text, at "\x0b", "\x1c"...), all legal in names.
    lines = [os.fsdecode(line) for line in proc.stdout.split(b"\n")]
    if lines and not lines[-1]:
        lines.pop()
    if proc.returncode != 0 or len(lines) < 3:
        if lines and lines[0] == "true":
            common = lines[1] if len(lines) > 1 else "?"
            raise BareRepositoryError(
                f"{common} is a bare repository; run synthetic inside a work tree"
            )
        if len(lines) >= 2 and lines[0] == "false":
            raise NotARepositoryError(
                f"{cwd} is inside the git directory, not a work tree; "
                "run synthetic from the work tree"
            )
        raise _refusal(cwd, git_message(proc.stderr))
    is_bare, common_dir, toplevel = lines[0], lines[1], lines[2]
    if is_bare == "true":
        raise BareRepositoryError(
            f"{common_dir} is a bare repository; run synthetic inside a work tree"
        )
    return RepoPaths(common_dir=Path(common_dir), worktree=Path(toplevel))


def git_message(stderr: bytes, limit: int = 500) -> str:
    """git's error output as one printable line: ``fatal: `` dropped, lines joined."""
    parts = []
    for raw in os.fsdecode(stderr).splitlines():
        line = raw.strip()
        if line.startswith(("fatal: ", "error: ")):
            line = line.split(": ", 1)[1]
        if line:
            parts.append(line if line.endswith((".", ":")) else line + ".")
    return one_line(" ".join(parts), limit).rstrip(".")


def _refusal(cwd: Path, message: str) -> NotARepositoryError:
    """The error for a failed ``rev-parse`` in ``cwd``, saying what git said."""
    if "safe.directory" in message:  # a config key: the same in every language
        return UnsafeRepositoryError(
            f"git refuses to use this repository: {message} "
            "(only if you trust the user who owns it)"
        )
    git_dir = os.environ.get("GIT_DIR")
    if git_dir:
        return NotARepositoryError(
            f"GIT_DIR is set to {one_line(git_dir, 200)}, which git cannot use "
            f"({message or 'no message'}); unset GIT_DIR or point it at a repository"
        )
    if not message or "not a git repository" in message:
        return NotARepositoryError(f"not a git repository: {cwd} (run `git init` first)")
    return NotARepositoryError(f"git cannot find a repository at {cwd}: {message}")
