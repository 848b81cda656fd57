"""Hostile branches and work that removal must not lose, on real repositories (issue 7).

Each test drives the real CLI in-process against real git repositories in
``tmp_path``; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.main import run
from synthetic_ls.git import include_copy
from synthetic_ls.git.repo import GitRepo
from tests.gitrepo import commit_file, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  worktrees: { branchPrefix: "agent/" },
  templates: {
    dev: { label: "Dev", includePatterns: [".env*", "config/**"] },
  },
};
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(
        tmp_path / "app",
        {
            "synthetic.config.ts": CONFIG,
            ".gitignore": ".env*\n*.o\n",
            "src/main.py": "print('hi')\n",
        },
    )
    (path / ".env").write_text("TOKEN=secret\n")
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def new_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code, out, err = cli(capsys, "new", *argv, "--json")
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def records(repo: Path) -> list[str]:
    folder = repo / ".git" / "synthetic" / "constructs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def tree_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- item 1: the include copy never writes through a symlink in the worktree --


def test_hostile_branch_symlinked_folder_gets_no_include_files(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A branch under review commits `config` as a symlink that, seen from a
    # worktree in <tmp>/app.worktrees/<id>/, points at <tmp>/somewhere.
    somewhere = tmp_path / "somewhere"
    somewhere.mkdir()
    git(repo, "checkout", "-q", "-b", "pr")
    os.symlink("../../somewhere", repo / "config")
    git(repo, "add", "config")
    git(repo, "commit", "-q", "-m", "hostile")
    git(repo, "checkout", "-q", "main")
    # The main checkout has an untracked config/.env the pattern config/** selects.
    (repo / "config").mkdir()
    (repo / "config" / ".env").write_text("PRIVATE=1\n")
    made = new_json(capsys, "review", "--from", "pr")
    path = Path(str(made["workspace_path"]))
    assert tree_files(somewhere) == []  # nothing written outside the worktree
    assert (path / "config").is_symlink()
    skipped = {s["path"]: s["reason"] for s in made["skipped"]}  # type: ignore[attr-defined]
    assert "config/.env" in skipped and "symlink" in skipped["config/.env"]
    assert "config/.env" not in made["copied"]  # type: ignore[operator]
    assert (path / ".env").read_text() == "TOKEN=secret\n"  # the rest is still copied


def test_copy_refuses_every_symlink_on_the_destination_path(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path / "r", {".gitignore": "*.local\n"})
    git_repo = GitRepo.discover(root)
    for rel in ("a/b/c.local", "d/e.local", "f.local", "g/h.local"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    (dest / "a").mkdir(parents=True)
    os.symlink(outside, dest / "a" / "b")  # a deeper folder is a symlink
    os.symlink(tmp_path / "nowhere", dest / "d")  # a dangling symlink folder
    os.symlink(outside / "f.local", dest / "f.local")  # the file itself, dangling
    (dest / "g").mkdir()
    report = include_copy.copy_included(git_repo, dest, ["*.local"])
    assert report.copied == ["g/h.local"]
    reasons = dict(report.skipped)
    assert set(reasons) == {"a/b/c.local", "d/e.local", "f.local"}
    assert "symlink" in reasons["a/b/c.local"] and "a/b" in reasons["a/b/c.local"]
    assert "symlink" in reasons["d/e.local"]
    assert reasons["f.local"] == "already exists in the worktree"
    assert tree_files(outside) == [] and not (tmp_path / "nowhere").exists()


# -- item 5: committed work that only the worktree's HEAD reaches --


def _assert_blocked(
    capsys: pytest.CaptureFixture[str], cid: str, path: Path, *expected: str
) -> None:
    for argv in (("rm", cid, "--yes"), ("worktree", "rm", cid)):
        code, _, err = cli(capsys, *argv)
        assert code == ExitCode.CONFLICT, err
        for text in expected:
            assert text in err, err
        assert path.exists()


def test_rm_refuses_to_lose_commits_on_a_detached_head(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    git(path, "checkout", "-q", "--detach")
    lost = commit_file(path, "work.txt", "work", message="precious detached work")
    _assert_blocked(capsys, cid, path, lost[:12], "precious detached work", "--force")
    assert records(repo) == [f"{cid}.toml"]
    code, out, _ = cli(capsys, "show", cid, "--json")
    assert json.loads(out)["status"] == "ready"  # nothing changed
    code, _, err = cli(capsys, "rm", cid, "--yes", "--force")
    assert code == 0, err
    assert not path.exists()


def test_detached_head_without_new_commits_does_not_block(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    git(Path(str(made["workspace_path"])), "checkout", "-q", "--detach")
    code, _, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0, err


def test_rm_refuses_mid_rebase(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    commit_file(path, "a.txt", "a", message="first")
    commit_file(path, "b.txt", "b", message="second")
    # `rebase -i` stopped by `edit` on the first commit, which is then amended:
    # the amended commit is reachable from the detached HEAD only.
    monkeypatch.setenv("GIT_SEQUENCE_EDITOR", "sed -i -e 1s/^pick/edit/")
    git(path, "rebase", "-q", "-i", "HEAD~2")
    (path / "a.txt").write_text("amended")
    git(path, "commit", "-q", "-a", "--amend", "-m", "first, amended")
    amended = git(path, "rev-parse", "HEAD").strip()
    _assert_blocked(capsys, cid, path, "rebase", "in progress", amended[:12], "first, amended")


@pytest.mark.parametrize("operation", ["bisect", "cherry-pick"])
def test_rm_refuses_with_an_operation_in_progress(
    repo: Path, capsys: pytest.CaptureFixture[str], operation: str
) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    if operation == "bisect":
        git(path, "bisect", "start")
        expected = "bisect"
    else:
        git(repo, "checkout", "-q", "-b", "other")
        pick = commit_file(repo, "src/main.py", "theirs\n", message="theirs")
        git(repo, "checkout", "-q", "main")
        commit_file(path, "src/main.py", "ours\n", message="ours")
        proc_ok = True
        try:
            git(path, "cherry-pick", pick)
        except AssertionError:
            proc_ok = False
        assert not proc_ok  # stopped on a conflict
        git(path, "checkout", "-q", "--ours", "--", "src/main.py")
        git(path, "add", "src/main.py")  # resolved, but the pick is not concluded
        expected = "cherry-pick"
    _assert_blocked(capsys, cid, path, expected, "in progress")


def test_rm_refuses_an_imported_detached_worktree_with_commits(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hand = tmp_path / "hand"
    git(repo, "worktree", "add", "-q", "--detach", str(hand))
    code, out, err = cli(capsys, "import", str(hand), "--json")
    assert code == 0, err
    cid = json.loads(out)["id"]
    lost = commit_file(hand, "w.txt", "w", message="imported work")
    _assert_blocked(capsys, cid, hand, lost[:12], "imported work")


def test_rm_of_a_worktree_git_no_longer_knows(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    (path / "notes.txt").write_text("work")
    shutil.rmtree(repo / ".git" / "worktrees")  # its entry in the git dir, gone
    _assert_blocked(capsys, cid, path, "git worktree repair", "nothing was removed")
    assert (path / "notes.txt").read_text() == "work"


# -- item 6: ignored and hidden changes --


def test_rm_refuses_an_edited_ignored_copy_and_new_include_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    assert ".env" in made["copied"]  # type: ignore[operator]
    (path / "build.o").write_text("generated")  # ignored, not an include file: disposable
    (path / ".env").write_text("TOKEN=agent-edited\n")
    (path / ".env.local").write_text("NEW=1\n")  # new file of the kind the template carries
    _assert_blocked(capsys, cid, path, ".env", ".env.local", "ignored")
    code, _, err = cli(capsys, "rm", cid, "--yes")
    assert "build.o" not in err
    # Unchanged copies and other ignored files do not block.
    (path / ".env").write_text("TOKEN=secret\n")
    (path / ".env.local").unlink()
    code, _, err = cli(capsys, "rm", cid, "--yes")
    assert code == 0, err


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_rm_refuses_hidden_edits(repo: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    made = new_json(capsys, "x")
    cid, path = str(made["id"]), Path(str(made["workspace_path"]))
    git(path, "update-index", flag, "src/main.py")
    (path / "src" / "main.py").write_text("hidden edit\n")
    assert git(path, "status", "--porcelain") == ""  # git status hides it
    _assert_blocked(capsys, cid, path, "src/main.py", flag.removeprefix("--"))
    code, _, err = cli(capsys, "rm", cid, "--yes", "--force")
    assert code == 0, err


def test_sparse_skip_worktree_file_that_is_absent_does_not_block(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    path = Path(str(made["workspace_path"]))
    git(path, "update-index", "--skip-worktree", "src/main.py")
    (path / "src" / "main.py").unlink()  # what a sparse checkout looks like
    code, _, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0, err


# -- item 19: submodules --


def test_worktrees_of_a_submodule_land_outside_the_superproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    make_repo(tmp_path / "lib-src", {"synthetic.config.ts": CONFIG, "lib.py": "x = 1\n"})
    outer = make_repo(tmp_path / "code" / "outer")
    git(
        outer,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(tmp_path / "lib-src"),
        "mid",
    )
    git(outer, "commit", "-q", "-m", "add mid")
    # A submodule inside a submodule: the worktrees must leave both.
    mid = outer / "mid"
    git(
        mid,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        str(tmp_path / "lib-src"),
        "inner",
    )
    git(mid, "commit", "-q", "-m", "add inner")
    git(outer, "commit", "-q", "-am", "bump mid")
    for checkout in (mid, mid / "inner"):
        monkeypatch.chdir(checkout)
        made = new_json(capsys, "x")
        path = Path(str(made["workspace_path"]))
        assert path.parent == tmp_path / "code" / f"{checkout.name}.worktrees"
        assert not path.is_relative_to(outer)
    assert git(outer, "status", "--porcelain", "--ignore-submodules=none") == ""


# -- item 8 rows: sha256 repositories and GIT_DIR outside a repository --


def test_sha256_repository_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sha"
    path.mkdir()
    git(path, "init", "-q", "-b", "main", "--object-format=sha256")
    (path / "synthetic.config.ts").write_text(CONFIG)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(path)
    for argv in (("new", "x"), ("import", str(path))):
        code, _, err = cli(capsys, *argv)
        assert code == ExitCode.INVALID, err
        assert "SHA-256" in err and "--no-worktree" in err
    assert records(path) == []
    # Records without a worktree still work there, through their whole life
    # (issue 20, item 9: rm marked one deleting, then everything exited 7).
    code, _, err = cli(capsys, "new", "plain", "--no-worktree")
    assert code == 0, err
    for argv in (("edit", "plain", "--name", "plainer"), ("doctor",), ("doctor", "--fix"),
                 ("rm", "plainer", "--yes")):
        code, out, err = cli(capsys, *argv)
        assert code == 0, (argv, out, err)
    assert records(path) == []


def test_git_dir_set_outside_any_checkout(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    for argv in (("doctor",), ("new", "x")):
        code, _, err = cli(capsys, *argv)
        assert code == ExitCode.NOT_A_REPO, err
        assert "GIT_DIR" in err
    assert records(repo) == []


# -- item 10: worktree add refuses a config it cannot use --


@pytest.mark.parametrize("problem", ["config-errors", "template-gone", "config-missing"])
def test_worktree_add_refuses_without_a_usable_template(
    repo: Path, capsys: pytest.CaptureFixture[str], problem: str
) -> None:
    made = new_json(capsys, "x", "--no-worktree")
    config = repo / "synthetic.config.ts"
    if problem == "config-errors":
        config.write_text(CONFIG.replace('label: "Dev"', "label: 42"))
        expected = "has errors"
    elif problem == "template-gone":
        config.write_text(CONFIG.replace("dev:", "renamed:").replace('"dev"', '"renamed"'))
        expected = "'dev'"
    else:
        config.unlink()
        expected = "synthetic init"
    code, _, err = cli(capsys, "worktree", "add", str(made["id"]))
    assert code == ExitCode.INVALID, err
    assert expected in err
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    assert json.loads(out)["workspace_path"] is None
    assert not (repo.parent / "app.worktrees").exists()


# -- item 11: doctor reports a broken config --


@pytest.mark.parametrize("text", ["export default {", "export default { templates: 5 };"])
def test_doctor_reports_config_errors(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (repo / "synthetic.config.ts").write_text(text)
    code, out, _ = cli(capsys, "doctor")
    assert code == 1 and "agree" not in out and "[config-error]" in out
    assert "synthetic.config.ts" in out
    code, out, _ = cli(capsys, "doctor", "--json", "--fix")
    findings = json.loads(out)["findings"]
    assert code == 1 and findings[0]["kind"] == "config-error" and not findings[0]["fixed"]
    assert findings[0]["subject"] == {"type": "config", "ref": str(repo / "synthetic.config.ts")}
    assert ":1:" in findings[0]["message"]  # the first error, with its place


# -- item 12: advice once the construct is gone --


def test_rm_advises_git_branch_d_for_a_kept_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    commit_file(Path(str(made["workspace_path"])), "w.txt", "w")
    code, out, _ = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0
    assert f"git branch -D {made['branch']}" in out and "--force" not in out
    made = new_json(capsys, "y")
    commit_file(Path(str(made["workspace_path"])), "w.txt", "w")
    code, out, _ = cli(capsys, "worktree", "rm", str(made["id"]))
    assert code == 0
    assert f"synthetic worktree add {made['id']}" in out
    assert f"git branch -D {made['branch']}" in out


# -- item 13: an existing branch is invalid input --


def test_new_with_an_existing_branch_is_invalid_input(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "new", "x", "--branch", "main")
    assert code == ExitCode.INVALID
    assert "recording" not in err and "branch 'main' already exists" in err
    assert records(repo) == []
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_repository_at_a_non_utf8_path_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20, item 16: not an internal error (70) in the prompt bundle, but a clear
    refusal that names the folder, and nothing written."""
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "synthetic.config.ts").write_text(CONFIG)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(path)
    for argv in (("new", "x"), ("new", "y", "--no-worktree")):
        code, _, err = cli(capsys, *argv)
        assert code == ExitCode.INVALID, err
        assert "caf\\xe9 is not UTF-8 text" in err
    assert records(path) == []
