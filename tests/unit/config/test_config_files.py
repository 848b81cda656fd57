"""Reading the config file from disk: only regular files, never through a link out of the repo.

A repository a person clones is untrusted input: its synthetic.config.ts may
be a named pipe (reading it would wait forever), a link to a device, or a
link to one of the person's own files (whose text would then be quoted in
diagnostics). Each is refused with one clear diagnostic and never parsed.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from synthetic_ls.config import ConfigResult, check_config_file, load_config

SECRET = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
GOOD = 'export default { templates: { a: { label: "A" } } };\n'


def finishes(call: Callable[[], ConfigResult], seconds: float = 10.0) -> ConfigResult:
    """``call()``'s result, failing the test (instead of hanging it) if it blocks."""
    box: list[ConfigResult] = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"the check did not finish within {seconds} s (blocked on a special file?)"
    return box[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository in a folder of its own, next to files that are not in it."""
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_named_pipe_is_refused_without_blocking(repo: Path) -> None:
    os.mkfifo(repo / "synthetic.config.ts")
    result = finishes(lambda: load_config(repo))
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "named pipe" in result.diagnostics[0].message
    assert result.config is None and result.has_errors


def test_named_pipe_given_by_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pipe.ts"
    os.mkfifo(path)
    result = finishes(lambda: check_config_file(path))
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "named pipe" in result.diagnostics[0].message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_link_to_a_device_is_refused(tmp_path: Path, device: str) -> None:
    # Outside any repository, so the link itself is allowed: the device is not.
    path = tmp_path / "synthetic.config.ts"
    path.symlink_to(device)
    result = finishes(lambda: check_config_file(path))
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "character device" in result.diagnostics[0].message


def test_folder_is_refused(repo: Path) -> None:
    (repo / "synthetic.config.ts").mkdir()
    result = load_config(repo)
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "folder" in result.diagnostics[0].message


def test_link_out_of_the_repository_is_not_read(repo: Path) -> None:
    secret = repo.parent / "id_ed25519"
    secret.write_text(SECRET)
    (repo / "synthetic.config.ts").symlink_to(Path("..") / "id_ed25519")
    result = load_config(repo)
    assert [d.code for d in result.diagnostics] == ["symlink-escapes-repo"]
    message = result.diagnostics[0].message
    assert "outside the repository" in message
    assert "PRIVATE KEY" not in message and "b3Blbn" not in message
    assert result.config is None and result.has_errors


def test_link_out_of_the_repository_by_path_is_not_read(repo: Path) -> None:
    # Named on the command line, but found inside a repository: the same rule.
    (repo.parent / "secret.ts").write_text(SECRET)
    (repo / "sub").mkdir()
    path = repo / "sub" / "synthetic.config.ts"
    path.symlink_to(repo.parent / "secret.ts")
    result = check_config_file(path)
    assert [d.code for d in result.diagnostics] == ["symlink-escapes-repo"]
    assert "PRIVATE KEY" not in result.diagnostics[0].message


def test_linked_folder_out_of_the_repository_is_not_read(repo: Path) -> None:
    outside = repo.parent / "elsewhere"
    outside.mkdir()
    (outside / "synthetic.config.ts").write_text(SECRET)
    (repo / "config").symlink_to(outside, target_is_directory=True)
    result = check_config_file(repo / "config" / "synthetic.config.ts")
    assert [d.code for d in result.diagnostics] == ["symlink-escapes-repo"]


def test_link_to_a_pipe_out_of_the_repository_is_refused_unopened(repo: Path) -> None:
    os.mkfifo(repo.parent / "pipe")
    (repo / "synthetic.config.ts").symlink_to(repo.parent / "pipe")
    result = finishes(lambda: load_config(repo))
    assert [d.code for d in result.diagnostics] == ["symlink-escapes-repo"]


def test_link_inside_the_repository_is_read(repo: Path) -> None:
    (repo / "config").mkdir()
    (repo / "config" / "synthetic.ts").write_text(GOOD)
    (repo / "synthetic.config.ts").symlink_to(Path("config") / "synthetic.ts")
    result = load_config(repo)
    assert result.diagnostics == []
    assert result.config is not None and list(result.config.templates) == ["a"]


def test_repository_reached_through_a_link_is_read(tmp_path: Path, repo: Path) -> None:
    (repo / "synthetic.config.ts").write_text(GOOD)
    alias = tmp_path / "alias"
    alias.symlink_to(repo, target_is_directory=True)
    result = load_config(alias)
    assert result.diagnostics == [] and result.config is not None


def test_dangling_link_is_reported(repo: Path) -> None:
    (repo / "synthetic.config.ts").symlink_to("missing.ts")
    result = load_config(repo)
    assert result.exists
    assert [d.code for d in result.diagnostics] == ["unreadable"]
    assert "missing.ts" in result.diagnostics[0].message


def test_link_loop_is_reported(repo: Path) -> None:
    (repo / "synthetic.config.ts").symlink_to("synthetic.config.ts")
    result = finishes(lambda: load_config(repo))
    assert [d.code for d in result.diagnostics] == ["unreadable"]


def test_outside_any_repository_a_link_may_point_anywhere(tmp_path: Path) -> None:
    # Named by the person on the command line, with no repository around it:
    # the person chose the file.
    (tmp_path / "real.ts").write_text(GOOD)
    path = tmp_path / "link.ts"
    path.symlink_to(tmp_path / "real.ts")
    if any((p / ".git").exists() for p in tmp_path.parents):
        pytest.skip("temporary folder is inside a git repository")
    result = check_config_file(path)
    assert result.diagnostics == [] and result.config is not None


def test_unreadable_file(repo: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files regardless of their mode")
    path = repo / "synthetic.config.ts"
    path.write_text(GOOD)
    path.chmod(0)
    result = load_config(repo)
    assert [d.code for d in result.diagnostics] == ["unreadable"]
