"""How the CLI reports failures: JSON errors under --json, exit codes for
usage errors, Ctrl-C and internal errors, and table alignment with wide text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from tests.gitrepo import GIT_ENV, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "impl" },
  templates: { impl: { label: "Implement", includePatterns: [".env"] } },
};
"""
SYNTHETIC = Path(sys.executable).with_name("synthetic")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG})
    monkeypatch.chdir(path)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_error_is_an_object_on_stderr(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "show", "nope", "--json")
    assert code == 3
    assert out == ""
    error = json.loads(err)["error"]
    assert error["code"] == "record-not-found"
    assert error["exit_code"] == 3
    assert "nope" in error["message"]


def test_json_usage_error_is_json_too(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "ls", "--json", "--bogus")
    assert code == 2
    error = json.loads(err)["error"]
    assert error["code"] == "usage"
    assert "--bogus" in error["message"]


def test_text_usage_error_prints_usage(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "ls", "--bogus")
    assert code == 2
    assert err.startswith("usage: synthetic")
    assert "synthetic: unrecognized arguments: --bogus" in err


def test_step_failure_carries_its_step_in_json(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "new", "x", "--from", "no-such-ref", "--json")
    assert code == 3
    error = json.loads(err)["error"]
    assert error["code"] == "not-found"


def test_internal_error_is_code_70_without_traceback(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real bug stand-in: a record whose bytes make the listing code fail in
    # a way no user error covers is hard to build on purpose, so break a
    # function the command really calls.
    from synthetic_ls.ops import listing

    def broken(*_a: object, **_k: object) -> object:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(listing, "list_constructs", broken)
    code, _, err = cli(capsys, "ls")
    assert code == 70
    assert "internal error (ZeroDivisionError: boom)" in err
    assert "Traceback" not in err
    code, _, err = cli(capsys, "ls", "--json")
    assert json.loads(err)["error"]["code"] == "internal"


def test_ctrl_c_exits_130_and_leaves_nothing(repo: Path, tmp_path: Path) -> None:
    """SIGINT while git runs a slow post-checkout hook: exit 130, all rolled back."""
    hook = repo / ".git" / "hooks" / "post-checkout"
    marker = tmp_path / "hook-started"
    hook.write_text(f"#!/bin/sh\ntouch '{marker}'\nsleep 30\n")
    hook.chmod(0o755)
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt")}
    proc = subprocess.Popen(
        [str(SYNTHETIC), "new", "slow"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "the hook never ran"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert list((repo / ".git" / "synthetic" / "constructs").glob("*.toml")) == []
    assert "synthetic/" not in git(repo, "branch", "--list")


def test_worktree_add_json_lists_skipped(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "new", "rec", "--no-worktree", "--json")
    assert code == 0, err
    cid = json.loads(out)["id"]
    code, out, err = cli(capsys, "worktree", "add", cid, "--json")
    assert code == 0, err
    added = json.loads(out)
    assert added["copied"] == [] and added["skipped"] == []


def test_ls_columns_line_up_with_wide_text(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, branch in (("修正", "修正/ブランチ"), ("plain", "plain-branch")):
        code, _, err = cli(capsys, "new", name, "--branch", branch)
        assert code == 0, err
    code, out, _ = cli(capsys, "ls")
    lines = out.splitlines()
    header = lines[0]
    col = header.index("WORKTREE")
    import unicodedata

    def display_col(line: str, text: str) -> int:
        prefix = line[: line.index(text)]
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in prefix)

    for line in lines[1:]:
        assert display_col(line, "clean") == col, out
