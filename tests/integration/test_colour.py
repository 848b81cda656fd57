"""Colour on terminals (issue 22, item 4): states and severities in colour on a
terminal, never when piped, with NO_COLOR, or with --color never; --color always
forces it. Our colours never let a record's own escape sequences through."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GIT_ENV, make_repo

PROJECT = Path(__file__).resolve().parents[2]
CONFIG = 'export default { defaults: { templateId: "t" }, templates: { t: {} } };\n'
GREEN = "\x1b[32m"


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return {**env, **GIT_ENV, "PYTHONPATH": str(PROJECT), "TERM": "xterm", **more}


def run(repo: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", *argv], cwd=repo,
                          env=env or _env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def on_a_terminal(repo: Path, *argv: str, env: dict[str, str]) -> str:
    """The command's output, its stdout a pseudo-terminal (as in a person's shell)."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "synthetic_ls.cli", *argv], cwd=repo,
                            env=env, stdout=child, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the other side closed: all was read
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_states_in_colour_on_a_terminal_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    run(repo, "new", "Plain", "--no-worktree", "--status", "ready")
    piped = run(repo, "ls")
    assert "\x1b" not in piped and "ready" in piped
    shown = on_a_terminal(repo, "ls", env=_env())
    assert f"{GREEN}ready" in shown and "\x1b[1mID" in shown
    assert "\x1b" not in on_a_terminal(repo, "ls", env=_env(NO_COLOR="1"))
    assert "\x1b" not in on_a_terminal(repo, "--color", "never", "ls", env=_env())
    assert f"{GREEN}ready" in run(repo, "--color", "always", "ls")
    checked = run(repo, "--color=always", "config", "check")
    assert f"{GREEN}no problems" in checked


def test_a_records_own_escapes_stay_escaped_with_colour_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    run(repo, "new", "x", "--no-worktree", "--status", "ready")
    record = next((repo / ".git" / "synthetic" / "constructs").glob("*.toml"))
    hostile = 'name = "red\\u001b[31m text\\ue0001\\ue001 marks"'
    record.write_text("\n".join(hostile if line.startswith("name = ") else line
                                for line in record.read_text().splitlines()) + "\n")
    shown = run(repo, "--color", "always", "ls")
    assert "\x1b[31m" not in shown  # only our colours are made
    assert "\\x1b[31m" in shown
