"""Finding ``<git common dir>/synthetic`` from every place a person may stand."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from state_format.errors import BareRepositoryError, NotARepositoryError, UnsafeRepositoryError
from state_format.paths import find_repo
from state_format.records import Construct, utc_now
from state_format.store import Store
from synthetic_ls.cli.exit_codes import exit_code


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@e.com", *args],
        cwd=cwd, check=True, capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "main repo"  # a space, on purpose
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "sub" / "deeper").mkdir(parents=True)
    (path / "sub" / "deeper" / "f.txt").write_text("x")
    _git(path, "add", ".")
    _git(path, "commit", "-q", "-m", "init")
    return path


def _add(store: Store, name: str) -> Construct:
    now = utc_now()
    with store.lock():
        return store.create(
            Construct(id=store.new_id(Construct, name), name=name, template_id="t",
                      status="pending", created_at=now, updated_at=now)  # type: ignore[arg-type]
        )


def test_main_checkout_and_subfolder(repo: Path) -> None:
    top = find_repo(repo)
    assert top.common_dir == (repo / ".git").resolve()
    assert top.state_dir == (repo / ".git" / "synthetic").resolve()
    assert top.worktree == repo.resolve()
    sub = find_repo(repo / "sub" / "deeper")
    assert sub == top


def test_linked_worktree_shares_the_state(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    _git(repo, "worktree", "add", "-q", "-b", "feature", str(linked))
    info = find_repo(linked / "sub")
    assert info.common_dir == (repo / ".git").resolve()
    assert info.worktree == linked.resolve()
    made_in_linked = _add(Store.open(linked), "from the linked worktree")
    seen_from_main = Store.open(repo).list_constructs().records
    assert [c.id for c in seen_from_main] == [made_in_linked.id]
    assert not (linked / ".git").is_dir()  # .git is a file there; nothing written beside it


def test_git_dir_and_common_dir_environment(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    assert find_repo(elsewhere).common_dir == (repo / ".git").resolve()
    # A per-worktree git dir with GIT_COMMON_DIR pointing at the shared one.
    linked = tmp_path / "linked"
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    _git(repo, "worktree", "add", "-q", "-b", "f2", str(linked))
    wt_git_dir = Path((linked / ".git").read_text().split(":", 1)[1].strip())
    monkeypatch.setenv("GIT_DIR", str(wt_git_dir))
    monkeypatch.setenv("GIT_COMMON_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(linked))
    assert find_repo(elsewhere).common_dir == (repo / ".git").resolve()


def test_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lone = tmp_path / "not-a-repo"
    lone.mkdir()
    # Stop discovery at tmp_path even if the temp folder is inside a repository.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(NotARepositoryError) as info:
        find_repo(lone)
    assert exit_code(info.value) == 6 and "not a git repository" in str(info.value)


def test_bare_repository(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    _git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(BareRepositoryError, match="bare repository"):
        find_repo(bare)
    with pytest.raises(BareRepositoryError):
        Store.open(bare)


def test_inside_the_git_dir(repo: Path) -> None:
    with pytest.raises(NotARepositoryError, match="work tree"):
        find_repo(repo / ".git")


def test_relative_git_dir_env_is_resolved(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GIT_DIR", ".git")
    info = find_repo()
    assert info.common_dir.is_absolute() and info.common_dir == (repo / ".git").resolve()
    assert os.path.isabs(info.worktree)


@pytest.mark.parametrize(
    "name",
    [b"caf\xe9 repo", b"a\rb", b"a\x0bb\x1cc"],  # Latin-1 "café" (not UTF-8); line breaks
)
def test_odd_bytes_in_the_repository_path(tmp_path: Path, name: bytes) -> None:
    raw = os.fsencode(tmp_path) + b"/" + name
    os.mkdir(raw)
    path = Path(os.fsdecode(raw))
    _git(path, "init", "-q", "-b", "main")
    _git(path, "commit", "-q", "--allow-empty", "-m", "init")
    info = find_repo(path)
    assert os.fsencode(info.worktree) == os.fsencode(path.resolve())
    assert os.fsencode(info.common_dir) == os.fsencode(path.resolve()) + b"/.git"
    made = _add(Store.open(path), "in a Latin-1 folder")
    assert [c.id for c in Store.open(path).list_constructs().records] == [made.id]
    assert os.path.isfile(os.fsencode(info.state_dir) + f"/constructs/{made.id}.toml".encode())


def test_git_dir_pointing_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lone = tmp_path / "not-a-repo"
    lone.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "missing.git"))
    with pytest.raises(NotARepositoryError) as info:
        find_repo(lone)
    message = str(info.value)
    assert exit_code(info.value) == 6
    assert "GIT_DIR" in message and str(tmp_path / "missing.git") in message
    assert "unset GIT_DIR" in message


def test_git_dir_set_outside_any_repository(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git's rule: GIT_DIR without GIT_WORK_TREE makes the current folder the
    # work tree. The state is that repository's, found and listed normally.
    made = _add(Store.open(repo), "x")
    lone = tmp_path / "not-a-repo"
    lone.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.chdir(lone)
    info = find_repo()
    assert info.common_dir == (repo / ".git").resolve() and info.worktree == lone.resolve()
    assert [c.id for c in Store.open().list_constructs().records] == [made.id]


def test_a_repository_git_refuses_for_dubious_ownership(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pwd

    if os.geteuid() != 0:
        pytest.skip("giving the repository to another user needs root")
    # No global safe.directory exception may hide the refusal.
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    os.chown(repo, pwd.getpwnam("nobody").pw_uid, -1)  # git checks the top folder's owner
    with pytest.raises(UnsafeRepositoryError) as info:
        find_repo(repo / "sub")
    message = str(info.value)
    assert exit_code(info.value) == 6 and isinstance(info.value, NotARepositoryError)
    assert "dubious ownership" in message and "not a git repository" not in message
    assert "git config --global --add safe.directory" in message and str(repo) in message
    assert "\n" not in message and "\t" not in message
