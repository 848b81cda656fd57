"""The git layer on real repositories: branches, worktrees, include copies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from state_format.errors import NotARepositoryError
from synthetic_ls.errors import InvalidInputError, NotFoundError
from synthetic_ls.git import branches, include_copy, worktree_admin, worktree_status
from synthetic_ls.git.command import GitError
from synthetic_ls.git.repo import GitRepo
from tests.gitrepo import commit_file, git, make_repo


@pytest.fixture()
def repo(tmp_path: Path) -> GitRepo:
    root = make_repo(
        tmp_path / "repo", {"README.md": "x\n", ".gitignore": "*.local\n.env*\nbuild/\n"}
    )
    return GitRepo.discover(root)


def test_discover_from_subfolder_and_linked_worktree(repo: GitRepo, tmp_path: Path) -> None:
    sub = repo.main_root / "a" / "b"
    sub.mkdir(parents=True)
    assert GitRepo.discover(sub).main_root == repo.main_root
    wt = tmp_path / "wt"
    git(repo.main_root, "worktree", "add", "-q", "-b", "side", str(wt))
    found = GitRepo.discover(wt)
    assert found.main_root == repo.main_root
    assert found.common_dir == repo.common_dir
    assert found.head()[1] == "refs/heads/side"


def test_discover_outside_and_bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotARepositoryError, match="not a git repository"):
        GitRepo.discover(tmp_path / "plain")
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(NotARepositoryError, match="bare repository"):
        GitRepo.discover(tmp_path / "bare.git")


def test_resolve_branch_tag_commit(repo: GitRepo) -> None:
    first = git(repo.main_root, "rev-parse", "HEAD").strip()
    git(repo.main_root, "tag", "v1")
    second = commit_file(repo.main_root, "f.txt", "1")
    assert repo.resolve("main") == (second, "refs/heads/main")
    assert repo.resolve("v1") == (first, "refs/tags/v1")
    assert repo.resolve(first[:10]) == (first, "")
    assert repo.resolve("HEAD~1")[0] == first
    with pytest.raises(NotFoundError):
        repo.resolve("nope")
    with pytest.raises(NotFoundError):
        repo.resolve("--output=/tmp/x")
    with pytest.raises(NotFoundError):
        repo.resolve("")


def test_branch_name_never_collides(repo: GitRepo) -> None:
    git(repo.main_root, "branch", "synthetic/abc")
    git(repo.main_root, "branch", "synthetic/abc-2")
    assert branches.branch_for_construct(repo, "abc", "synthetic/", None) == "synthetic/abc-3"
    # A branch named like the prefix folder blocks every name below it.
    git(repo.main_root, "branch", "p")
    with pytest.raises(InvalidInputError, match="a branch named 'p' exists"):
        branches.branch_for_construct(repo, "x", "p/", None)
    with pytest.raises(InvalidInputError, match="already exists"):
        branches.branch_for_construct(repo, "abc", "synthetic/", "synthetic/abc")
    with pytest.raises(InvalidInputError, match="not a valid"):
        branches.branch_for_construct(repo, "abc", "synthetic/", "bad..name")
    with pytest.raises(InvalidInputError, match="branchPrefix"):
        branches.branch_for_construct(repo, "abc", "bad prefix/", None)


def test_git_status_lines_match_libgit2s(repo: GitRepo) -> None:
    """Removal's check (git status) and show (pygit2) list the same changes the same way."""
    root = repo.main_root
    for rel in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "sub/f.txt"):
        commit_file(root, rel, "one\n")
    (root / "a.txt").write_text("edited\n")  # modified, not staged
    (root / "b.txt").write_text("staged\n")
    git(root, "add", "b.txt")  # staged
    (root / "c.txt").write_text("staged\n")
    git(root, "add", "c.txt")
    (root / "c.txt").write_text("and edited again\n")  # staged and modified
    (root / "d.txt").unlink()  # deleted, not staged
    git(root, "rm", "-q", "e.txt")  # deletion staged
    git(root, "mv", "sub/f.txt", "sub/g.txt")  # a rename, staged
    (root / "new").mkdir()
    (root / "new" / "h.txt").write_text("untracked\n")
    (root / "added.txt").write_text("new\n")
    git(root, "add", "added.txt")  # a new file, staged
    (root / "x.local").write_text("ignored\n")
    expected = worktree_status.dirty_files(root)
    assert len(expected) == 9
    assert worktree_status.git_dirty_files(root) == expected


def test_ref_file_folder_clash_is_avoided(repo: GitRepo) -> None:
    git(repo.main_root, "branch", "p")
    # refs/heads/p exists as a file, so p/x cannot be created: the chooser must notice.
    assert branches._blocked_by_existing(repo, "p/x")


def test_add_list_dirty_remove(repo: GitRepo, tmp_path: Path) -> None:
    head = repo.head()[0]
    path = tmp_path / "wts" / "c1"
    worktree_admin.add_worktree(repo, path, "synthetic/c1", head)
    entries = worktree_admin.list_worktrees(repo)
    assert entries[0].is_main and entries[0].path == repo.main_root
    assert [(e.path, e.branch) for e in entries[1:]] == [(path, "synthetic/c1")]
    assert worktree_status.dirty_files(path) == []
    (path / "new.txt").write_text("n")
    (path / "README.md").write_text("changed")
    assert worktree_status.dirty_files(path) == [" M README.md", "?? new.txt"]
    with pytest.raises(GitError, match="git worktree remove failed"):
        worktree_admin.remove_worktree(repo, path, force=False)
    worktree_admin.remove_worktree(repo, path, force=True)
    assert not path.exists()
    assert len(worktree_admin.list_worktrees(repo)) == 1


def test_state_ahead_behind(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.head()[0]
    path = tmp_path / "w"
    worktree_admin.add_worktree(repo, path, "synthetic/w", base)
    commit_file(path, "a.txt", "a")
    commit_file(path, "b.txt", "b")
    commit_file(repo.main_root, "c.txt", "c")
    main_tip = repo.resolve("main")[0]
    state = worktree_status.worktree_state(repo, path, main_tip, with_size=True)
    assert (state.exists, state.branch, state.ahead, state.behind) == (True, "synthetic/w", 2, 1)
    assert state.size_bytes is not None and state.size_bytes > 0
    assert branches.unmerged_count(repo, "synthetic/w", "refs/heads/main", base) == 2
    git(repo.main_root, "merge", "-q", "--no-edit", "synthetic/w")
    assert branches.unmerged_count(repo, "synthetic/w", "refs/heads/main", base) == 0
    assert worktree_status.worktree_state(repo, tmp_path / "gone", None).exists is False


def test_include_copy(repo: GitRepo, tmp_path: Path) -> None:
    root = repo.main_root
    (root / ".env").write_text("SECRET=1\n")
    (root / "svc" / "deep").mkdir(parents=True)
    (root / "svc" / "deep" / ".env.test").write_text("T=1\n")
    (root / "svc" / "run.local").write_text("#!/bin/sh\n")
    os.chmod(root / "svc" / "run.local", 0o750)
    outside = tmp_path / "outside.txt"
    outside.write_text("do not copy")
    os.symlink(outside, root / ".env.outside")
    os.symlink(".env", root / ".env.inside")
    (root / "notmatched.txt").write_text("n")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / ".env.test").write_text("existing")  # unrelated: different folder
    report = include_copy.copy_included(repo, dest, [".env*", "*.local"])
    assert sorted(report.copied) == [".env", ".env.inside", "svc/deep/.env.test", "svc/run.local"]
    assert report.skipped == [
        (".env.outside", f"symlink points outside the repository ({outside})")
    ]
    assert (dest / ".env").read_text() == "SECRET=1\n"
    assert os.readlink(dest / ".env.inside") == ".env"
    assert (dest / "svc" / "run.local").stat().st_mode & 0o777 == 0o750
    assert not (dest / ".env.outside").exists()
    assert not (dest / "notmatched.txt").exists()


def test_include_copy_anchored_no_match_and_existing(repo: GitRepo, tmp_path: Path) -> None:
    root = repo.main_root
    (root / "config").mkdir()
    (root / "config" / "a.local").write_text("a")
    (root / "other").mkdir()
    (root / "other" / "b.local").write_text("b")
    dest = tmp_path / "d"
    (dest / "config").mkdir(parents=True)
    report = include_copy.copy_included(repo, dest, ["config/*.local"])
    assert report.copied == ["config/a.local"]
    assert include_copy.copy_included(repo, dest, ["*.nomatch"]).copied == []
    again = include_copy.copy_included(repo, dest, ["config/*.local"])
    assert again.copied == [] and again.skipped == [
        ("config/a.local", "already exists in the worktree")
    ]
    assert include_copy.copy_included(repo, dest, []).copied == []


def test_include_copy_skips_symlinked_folder_out_of_repo(repo: GitRepo, tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / ".env").write_text("outside")
    os.symlink(ext, repo.main_root / "linked")
    dest = tmp_path / "d2"
    dest.mkdir()
    report = include_copy.copy_included(repo, dest, [".env*", "linked/**"])
    assert not (dest / "linked" / ".env").exists()
    assert all(not rel.startswith("linked/") for rel in report.copied)


def test_include_copy_of_a_file_name_that_is_not_utf8(repo: GitRepo, tmp_path: Path) -> None:
    name = os.fsdecode(b"odd-\xff.local")  # a name git lists as raw bytes
    (repo.main_root / name).write_text("x")
    dest = tmp_path / "d3"
    dest.mkdir()
    report = include_copy.copy_included(repo, dest, ["*.local"])
    assert report.copied == [name]
    assert os.listdir(os.fsencode(dest)) == [b"odd-\xff.local"]
