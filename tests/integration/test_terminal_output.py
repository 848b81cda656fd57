"""Text from a branch under review reaches the terminal shown, never obeyed (issue 20, item 4).

A file name and a commit subject on an agent's branch carry an escape sequence
(clear the screen, set the clipboard through OSC 52), a bidirectional override
and a newline that would fake a line of our own output. Every human form of
``diff``, ``log``, ``ls``, ``land --check`` and ``discard`` prints them escaped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from synthetic_ls.cli.terminal import defused, shown
from tests.gitrepo import GIT_ENV, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: { dev: { label: "Dev" } },
};
"""
EVIL_NAME = "notes\x1b[2J\nFAKE: all clear\u202e.txt"
EVIL_SUBJECT = "tidy\x1b]52;c;aGFja2Vk\x07 \x9b31m up"
#: What a terminal would obey: ESC, BEL, the C1 CSI, the bidi override.
OBEYED = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    path = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def human(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    got = run(list(argv))
    out = capsys.readouterr()
    assert got == code, (out.out, out.err)
    return out.out + out.err


def test_branch_text_is_escaped_in_every_human_form(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    human(capsys, "new", "evil")
    [worktree] = [p for p in (repo.parent / "app.worktrees").iterdir()]
    (worktree / EVIL_NAME).write_text("x\n")
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", EVIL_SUBJECT)
    (worktree / ("draft\x1b[31m.txt")).write_text("y\n")  # uncommitted too

    outputs = {
        "diff --stat": human(capsys, "diff", "evil", "--stat"),
        "diff": human(capsys, "diff", "evil"),
        "log": human(capsys, "log", "evil"),
        "ls": human(capsys, "ls"),
        # Refused (the worktree holds uncommitted work), quoting what it found.
        "land --check": human(capsys, "land", "evil", "--check", code=refusal(capsys)),
        # Lists the commits and files it deletes, then deletes them.
        "discard": human(capsys, "discard", "evil", "--yes"),
    }
    for form, text in outputs.items():
        for char in OBEYED:
            assert char not in text, (form, text)
        assert not any(line.startswith("FAKE: all clear") for line in text.splitlines()), (
            form, text)
    stat = outputs["diff --stat"]
    assert shown(EVIL_NAME) in stat and shown(EVIL_SUBJECT) in stat
    assert "\\x1b[2J\\nFAKE: all clear\\u202e.txt" in stat
    assert "draft\\x1b[31m.txt" in stat


def refusal(capsys: pytest.CaptureFixture[str]) -> int:
    """The exit code ``land --check`` gives this construct (asked in JSON first)."""
    got = run(["land", "evil", "--check", "--json"])
    capsys.readouterr()
    assert got != 0
    return got


def test_the_guard_keeps_lines_and_escapes_controls() -> None:
    assert defused("a\tb\nc") == "a\tb\nc"
    assert defused("x\x1b[2Jy\rz\x9b") == "x\\x1b[2Jy\\rz\\x9b"
    assert defused("ok \u202egnp.exe") == "ok \\u202egnp.exe"
    assert shown("line\nnext\x1b") == "line\\nnext\\x1b"
