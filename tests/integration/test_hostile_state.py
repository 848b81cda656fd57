"""Every command against every broken or hostile state: never a traceback.

Each case builds a real repository and breaks it the way a person, a crash
or an attacker would (special files, folders where files belong, absurd
values, odd repositories). Every command then runs as a real subprocess with
a timeout, so a hang fails the test instead of stalling it. A command may
succeed or refuse, but only with a documented exit code (0-7), one clear
line on stderr, no traceback and no internal error (70); record files that
existed before are unchanged afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from state_format.marker import CURRENT_VERSION
from tests.gitrepo import GIT_ENV, git, make_repo

SYNTHETIC = Path(sys.executable).with_name("synthetic")
CONFIG = """export default {
  defaults: { templateId: "impl" },
  templates: { impl: { label: "Implement" } },
};
"""
RECORD = """id = "rec-aaaaaa"
name = "rec"
description = ""
template_id = "impl"
status = "pending"
created_at = "2025-05-01T09:30:00.000Z"
updated_at = "2025-05-01T09:30:00.000Z"
"""

# The commands a user runs; "{ref}" is the healthy record's id.
COMMANDS: list[list[str]] = [
    ["ls"],
    ["ls", "--json"],
    ["show", "rec-aaaaaa"],
    ["new", "fresh", "--no-worktree"],
    ["new", "fresh-wt"],
    ["edit", "rec-aaaaaa", "--name", "renamed"],
    ["worktree", "add", "rec-aaaaaa"],
    ["rm", "rec-aaaaaa", "--yes"],
    ["doctor"],
    ["doctor", "--fix", "--json"],
    ["import", "."],
    ["config", "check"],
]


def _state(repo: Path) -> Path:
    return repo / ".git" / "synthetic"


def _with_record(repo: Path) -> None:
    (_state(repo) / "constructs").mkdir(parents=True)
    (_state(repo) / "format.toml").write_text(f"version = {CURRENT_VERSION}\n")
    (_state(repo) / "constructs" / "rec-aaaaaa.toml").write_text(RECORD)


def record_is_a_directory(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "constructs" / "dir-bbbbbb.toml").mkdir()


def format_is_a_directory(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "format.toml").unlink()
    (_state(repo) / "format.toml").mkdir()


def lock_is_a_directory(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / ".lock").mkdir()


def constructs_is_a_file(repo: Path) -> None:
    _state(repo).mkdir(parents=True)
    (_state(repo) / "format.toml").write_text(f"version = {CURRENT_VERSION}\n")
    (_state(repo) / "constructs").write_text("not a folder\n")


def huge_spawn_pid(repo: Path) -> None:
    _with_record(repo)
    text = RECORD.replace('"pending"', '"spawning"').replace("rec-aaaaaa", "spw-cccccc")
    text += "spawn_pid = 9223372036854775807\n"
    (_state(repo) / "constructs" / "spw-cccccc.toml").write_text(text)


def record_is_a_fifo(repo: Path) -> None:
    _with_record(repo)
    os.mkfifo(_state(repo) / "constructs" / "fifo-dddddd.toml")


def format_is_a_fifo(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "format.toml").unlink()
    os.mkfifo(_state(repo) / "format.toml")


def cache_is_a_fifo(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "cache").mkdir()
    os.mkfifo(_state(repo) / "cache" / "constructs.json")


def record_is_dev_zero(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "constructs" / "zero-eeeeee.toml").symlink_to("/dev/zero")


def cache_is_dev_zero(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "cache").mkdir()
    (_state(repo) / "cache" / "constructs.json").symlink_to("/dev/zero")


def record_is_a_dangling_symlink(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "constructs" / "gone-ffffff.toml").symlink_to("/nonexistent/x.toml")


def version_is_a_string(repo: Path) -> None:
    _with_record(repo)
    (_state(repo) / "format.toml").write_text('version = "1"\n')


def config_is_a_fifo(repo: Path) -> None:
    _with_record(repo)
    (repo / "synthetic.config.ts").unlink()
    os.mkfifo(repo / "synthetic.config.ts")


def config_links_outside(repo: Path) -> None:
    _with_record(repo)
    secret = repo.parent / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretsecret\n")
    (repo / "synthetic.config.ts").unlink()
    (repo / "synthetic.config.ts").symlink_to(secret)


def config_is_hostile(repo: Path) -> None:
    _with_record(repo)
    lines = ["const a0 = [1, 2];"]
    lines += [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 40)]
    lines.append("export default { templates: { impl: { label: 'x', setup: a39 } } };")
    (repo / "synthetic.config.ts").write_text("\n".join(lines) + "\n")


def config_nests_deeply(repo: Path) -> None:
    _with_record(repo)
    (repo / "synthetic.config.ts").write_text("export default " + "[" * 100_000 + "\n")


BROKEN: dict[str, Callable[[Path], None]] = {
    f.__name__: f
    for f in (
        record_is_a_directory,
        format_is_a_directory,
        lock_is_a_directory,
        constructs_is_a_file,
        huge_spawn_pid,
        record_is_a_fifo,
        format_is_a_fifo,
        cache_is_a_fifo,
        record_is_dev_zero,
        cache_is_dev_zero,
        record_is_a_dangling_symlink,
        version_is_a_string,
        config_is_a_fifo,
        config_links_outside,
        config_is_hostile,
        config_nests_deeply,
    )
}


def _snapshot(repo: Path) -> dict[str, bytes]:
    """Bytes of every regular record file (symlinks and special files skipped)."""
    out: dict[str, bytes] = {}
    folder = _state(repo) / "constructs"
    if folder.is_dir() and not folder.is_symlink():
        for f in folder.iterdir():
            if f.is_file() and not f.is_symlink():
                out[f.name] = f.read_bytes()
    return out


def _run(
    repo: Path, argv: list[str], env: dict[str, str], tmp: Path
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(SYNTHETIC), *argv],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`synthetic {' '.join(argv)}` hung")


def _check(proc: subprocess.CompletedProcess[str], argv: list[str]) -> None:
    what = f"`synthetic {' '.join(argv)}` -> {proc.returncode}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, what
    assert "internal error" not in proc.stderr, what
    assert 0 <= proc.returncode <= 7, what
    assert len(proc.stderr) < 20_000, what  # a message, not a dump
    assert "secretsecret" not in proc.stdout + proc.stderr, what


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_every_command_survives(breakage: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG})
    BROKEN[breakage](repo)
    env = {
        **os.environ,
        **GIT_ENV,
        "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt"),
    }
    before = _snapshot(repo)
    for argv in COMMANDS:
        if argv[0] == "rm":
            continue  # last, below: it is meant to change the healthy record
        _check(_run(repo, argv, env, tmp_path), argv)
        after = _snapshot(repo)
        for name, data in before.items():
            if name != "rec-aaaaaa.toml":  # edit/worktree add may legitimately change it
                assert after.get(name) == data, f"{name} changed by {argv}"
    _check(_run(repo, ["rm", "rec-aaaaaa", "--yes", "--force"], env, tmp_path), ["rm"])


def _odd_repo(kind: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt")}
    if kind == "sha256":
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "--object-format=sha256", "-b", "main")
        (repo / "synthetic.config.ts").write_text(CONFIG)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "init")
        return repo, env
    if kind == "git-dir-outside":
        elsewhere = tmp_path / "plain"
        elsewhere.mkdir()
        env["GIT_DIR"] = str(tmp_path / "nothing-here")
        return elsewhere, env
    if kind == "non-utf8-path":
        repo = make_repo(
            Path(os.fsdecode(bytes(tmp_path) + b"/r\xffpo")), {"synthetic.config.ts": CONFIG}
        )
        return repo, env
    if kind == "dubious-ownership":
        if os.geteuid() != 0:
            pytest.skip("needs root to hand the repository to another user")
        repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG})
        shutil.chown(repo, user="nobody")
        env.pop("GIT_CONFIG_GLOBAL", None)
        env["HOME"] = str(tmp_path)
        return repo, env
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["sha256", "git-dir-outside", "non-utf8-path", "dubious-ownership"]
)
def test_odd_repositories(kind: str, tmp_path: Path) -> None:
    repo, env = _odd_repo(kind, tmp_path)
    for argv in [*COMMANDS, ["init", "--print"]]:
        _check(_run(repo, argv, env, tmp_path), argv)
