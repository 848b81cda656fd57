"""Review and land on real repositories: diff, log, each strategy, conflicts, hooks, errors."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from synthetic_ls.cli.main import run
from tests.gitrepo import GIT_ENV, commit_file, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  worktrees: { branchPrefix: "agent/" },
  templates: {
    dev: { label: "Dev", includePatterns: [".env*", "local.cfg"] },
  },
};
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    path = make_repo(
        tmp_path / "app",
        {
            "synthetic.config.ts": CONFIG,
            ".gitignore": ".env*\n",
            "src/main.py": "print('hi')\n",
            "src/util.py": "x = 1\n",
        },
    )
    (path / ".env").write_text("TOKEN=secret\n")
    # An include file git does not ignore: copied too, and never shown as a change.
    (path / "local.cfg").write_text("debug = true\n")
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(capsys, *argv, "--json")
    assert code != 0 and out == "", out
    return code, json.loads(err)["error"]


def new(capsys: pytest.CaptureFixture[str], name: str = "Fix login") -> dict[str, Any]:
    data: dict[str, Any] = cli_json(capsys, "new", name, "--description", "Make login work")
    return data


def status_of(capsys: pytest.CaptureFixture[str], cid: str) -> str:
    return str(cli_json(capsys, "show", cid)["status"])


def snapshot(repo: Path, wt: Path) -> dict[str, str]:
    """Everything landing must leave alone when it refuses: HEADs, indexes, files."""
    out: dict[str, str] = {}
    for where, path in (("main", repo), ("wt", wt)):
        out[f"{where}-head"] = git(path, "rev-parse", "HEAD")
        out[f"{where}-status"] = git(path, "status", "--porcelain", "--untracked-files=all")
        out[f"{where}-index"] = git(path, "ls-files", "-s")
        out[f"{where}-files"] = "\n".join(
            f"{p.relative_to(path)}:{p.read_bytes()!r}"
            for p in sorted(path.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(path).parts
        )
    out["branches"] = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    git_dir = repo / ".git"
    out["merge-state"] = " ".join(
        n for n in ("MERGE_HEAD", "SQUASH_MSG", "MERGE_MSG") if (git_dir / n).exists()
    )
    return out


def work(wt: Path, n: int = 2) -> list[str]:
    """Commit ``n`` changes in the construct's worktree."""
    ids = [commit_file(wt, "src/util.py", "x = 2\n", "change util")]
    for i in range(1, n):
        ids.append(commit_file(wt, f"src/new{i}.py", f"n = {i}\n", f"add new{i}"))
    return ids


# -- diff and log ------------------------------------------------------------------


def test_diff_shows_commits_and_uncommitted_apart_and_never_include_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    assert (wt / ".env").exists() and (wt / "local.cfg").exists()  # copied in
    work(wt)
    # A main branch that moved on: its commit is not the construct's change.
    commit_file(repo, "README.md", "moved\n", "main moves")
    (wt / "src" / "main.py").write_text("print('bye')\n")
    (wt / "scratch.txt").write_text("notes\n")
    (wt / "local.cfg").write_text("debug = false\n")  # an edited include file: still hidden
    data = cli_json(capsys, "diff", c["id"])
    assert [f["path"] for f in data["files"]] == ["src/new1.py", "src/util.py"]
    assert data["files"][1] == {
        "path": "src/util.py", "status": "M", "additions": 1, "deletions": 1
    }
    assert [x["subject"] for x in data["commits"]] == ["change util", "add new1"]
    assert data["target"] == "main" and data["branch"] == c["branch"]
    assert {(f["path"], f["status"]) for f in data["uncommitted"]} == {
        ("src/main.py", "M"), ("scratch.txt", "?")
    }
    assert data["stat"] == {"files": 2, "additions": 2, "deletions": 1}
    # Human forms: the patch, then the uncommitted part apart.
    code, out, _ = cli(capsys, "diff", c["id"])
    assert code == 0
    assert "+x = 2" in out and "README" not in out and ".env" not in out
    assert out.index("Uncommitted") < out.index("+print('bye')")
    assert "untracked: scratch.txt" in out and "local.cfg" not in out
    code, out, _ = cli(capsys, "diff", c["id"], "--stat")
    assert code == 0 and "2 file(s), +2 -1" in out and "M src/util.py  +1 -1" in out
    # A one-line untracked text file is counted as git counts a new file, not "binary".
    assert "? scratch.txt  +1 -0" in out
    scratch = next(f for f in data["uncommitted"] if f["path"] == "scratch.txt")
    assert (scratch["additions"], scratch["deletions"]) == (1, 0)
    (wt / "blob.bin").write_bytes(b"\x00\x01")
    code, out, _ = cli(capsys, "diff", c["id"], "--stat")
    assert "? blob.bin  not counted" in out


def test_log_without_session_shows_commits(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    data = cli_json(capsys, "log", c["id"])
    assert [e["kind"] for e in data["entries"]] == ["commit", "commit"]
    assert data["entries"][0]["files"] == ["src/util.py"]
    assert data["session_note"] == "no agent session"
    code, out, _ = cli(capsys, "log", c["id"])
    assert code == 0 and "commit" in out and "add new1" in out


# -- each strategy -------------------------------------------------------------------


def test_land_merge_fast_forwards_and_completes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    ids = work(Path(c["workspace_path"]))
    data = cli_json(capsys, "land", c["id"])
    assert data["fast_forward"] is True and data["after"] == ids[-1]
    assert git(repo, "rev-parse", "HEAD").strip() == ids[-1]
    assert data["construct"]["status"] == "completed"
    assert status_of(capsys, c["id"]) == "completed"


def test_land_merge_makes_a_merge_commit_when_main_moved(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    ids = work(Path(c["workspace_path"]))
    moved = commit_file(repo, "README.md", "moved\n", "main moves")
    data = cli_json(capsys, "land", c["id"], "--merge", "--remove")
    head = git(repo, "rev-parse", "HEAD").strip()
    assert data["fast_forward"] is False and data["after"] == head
    assert git(repo, "rev-parse", "HEAD^1", "HEAD^2").split() == [moved, ids[-1]]
    assert "Merge branch 'agent/" in git(repo, "log", "-1", "--format=%s")
    # --remove: the merged branch and the worktree go, by the usual rules.
    assert not Path(c["workspace_path"]).exists()
    assert c["branch"] not in git(repo, "branch")
    assert any("deleted branch" in n for n in data["removed"])
    _code, err = cli_error(capsys, "show", c["id"])
    assert err["code"] == "record-not-found"


def test_land_squash_drafts_the_message(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    before = git(repo, "rev-parse", "HEAD").strip()
    data = cli_json(capsys, "land", c["id"], "--squash", "--remove")
    assert git(repo, "rev-parse", "HEAD^").strip() == before  # one commit, one parent
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("Fix login\n\nMake login work\n")
    assert "* change util" in message and f"Construct: {c['id']}" in message
    assert (repo / "src" / "new1.py").read_text() == "n = 1\n"
    # The squashed branch goes with --remove: its work is in the squash commit.
    assert c["branch"] not in git(repo, "branch")
    assert any("landed as" in n for n in data["removed"])


def test_land_squash_with_message(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    cli_json(capsys, "land", c["id"], "--squash", "-m", "Login fixed")
    assert git(repo, "log", "-1", "--format=%B").strip() == "Login fixed"
    # A later rm knows the work landed (issue 20, item 23): the branch goes, and the
    # doctor finds no orphan branch.
    from state_format.store import Store
    from synthetic_ls.ops.removal_preview import removal_preview

    fate = removal_preview(Store.open(repo), c["id"]).to_dict()["branch"]
    assert fate is not None and fate["without_force"] == "deleted", fate
    removed = cli_json(capsys, "rm", c["id"], "--yes")
    assert removed["kept"] == [], removed
    assert c["branch"] not in git(repo, "branch")
    code, out, _ = cli(capsys, "doctor")
    assert code == 0, out


def test_land_rebase_replays_onto_moved_main(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    moved = commit_file(repo, "README.md", "moved\n", "main moves")
    data = cli_json(capsys, "land", c["id"], "--rebase")
    assert data["fast_forward"] is True
    log = git(repo, "log", "--format=%s", "-4").splitlines()
    assert log == ["add new1", "change util", "main moves", "initial"]
    assert git(repo, "rev-parse", "HEAD~2").strip() == moved
    assert git(wt, "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_land_apply_leaves_changes_staged(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    before = git(repo, "rev-parse", "HEAD").strip()
    data = cli_json(capsys, "land", c["id"], "--apply")
    assert git(repo, "rev-parse", "HEAD").strip() == before == data["after"]
    assert sorted(data["staged"]) == ["src/new1.py", "src/util.py"]
    assert git(repo, "diff", "--cached", "--name-only").split() == ["src/new1.py", "src/util.py"]
    assert data["construct"]["status"] == "completed"


# -- nothing landed ----------------------------------------------------------------------


def test_conflict_is_detected_with_nothing_touched(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    commit_file(repo, "src/util.py", "x = 3\n", "main changes util too")
    before = snapshot(repo, wt)
    for strategy in ("--merge", "--squash", "--rebase", "--apply"):
        code, err = cli_error(capsys, "land", c["id"], strategy)
        assert code == 5 and err["code"] == "merge-conflict"
        assert err["files"] == ["src/util.py"]
        # The advice is one that works: --apply refuses a conflict too (issue 20, item 24).
        assert "hint" in err and "--apply" not in err["hint"]
        assert snapshot(repo, wt) == before
    assert status_of(capsys, c["id"]) == "ready"


def test_target_with_local_changes_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    (repo / "src" / "main.py").write_text("edited\n")
    before = snapshot(repo, wt)
    code, err = cli_error(capsys, "land", c["id"])
    assert code == 5 and err["code"] == "target-dirty"
    assert err["files"] == [" M src/main.py"] and err["path"] == str(repo)
    assert snapshot(repo, wt) == before


def test_construct_with_uncommitted_changes_is_refused_with_the_list(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    (wt / "src" / "main.py").write_text("half done\n")
    before = snapshot(repo, wt)
    code, err = cli_error(capsys, "land", c["id"])
    assert code == 5 and err["code"] == "construct-dirty"
    assert err["files"] == ["M src/main.py"]
    assert snapshot(repo, wt) == before


def _hook(repo: Path, name: str, body: str) -> None:
    path = repo / ".git" / "hooks" / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("strategy", "hook", "moved"),
    [
        ("--merge", "pre-merge-commit", True),
        ("--merge", "commit-msg", True),
        ("--squash", "pre-commit", False),
        ("--squash", "commit-msg", False),
    ],
)
def test_failing_hook_rolls_back(
    repo: Path, capsys: pytest.CaptureFixture[str], strategy: str, hook: str, moved: bool
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    if moved:  # a merge commit is needed for these hooks to run at all
        commit_file(repo, "README.md", "moved\n", "main moves")
    _hook(repo, hook, "echo 'refused by policy' >&2; exit 1")
    before = snapshot(repo, wt)
    code, err = cli_error(capsys, "land", c["id"], strategy)
    assert err["code"] == "hook-failed" and code == 1
    assert hook in err["hooks"] and err["rolled_back"] is True
    assert "refused by policy" in err["message"]
    assert snapshot(repo, wt) == before
    assert status_of(capsys, c["id"]) == "ready"
    # With the hook gone, the same landing goes through.
    (repo / ".git" / "hooks" / hook).unlink()
    assert cli_json(capsys, "land", c["id"], strategy)["construct"]["status"] == "completed"


def test_branch_deleted_by_hand(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    git(wt, "switch", "-q", "--detach")
    git(repo, "branch", "-D", c["branch"])
    for command in ("diff", "land", "log"):
        code, err = cli_error(capsys, command, c["id"])
        assert code == 3 and err["code"] == "branch-gone" and err["branch"] == c["branch"]


def test_base_force_pushed_is_refused_but_moved_ahead_is_fine(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit_file(repo, "README.md", "second\n", "second")
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    # Rewrite main: its tip (the construct's base) replaced by another commit.
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    commit_file(repo, "README.md", "rewritten\n", "rewritten")
    before = snapshot(repo, wt)
    code, err = cli_error(capsys, "land", c["id"])
    assert code == 5 and err["code"] == "base-rewritten"
    assert err["base_commit"] == c["base_commit"]
    assert "rewritten" in err["message"]
    assert snapshot(repo, wt) == before


def test_nothing_to_land_and_bad_status(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    code, err = cli_error(capsys, "land", c["id"])
    assert err["code"] == "nothing-to-land"
    work(Path(c["workspace_path"]))
    cli_json(capsys, "edit", c["id"], "--status", "parked")
    code, err = cli_error(capsys, "land", c["id"])
    assert code == 5 and "cannot go from 'parked'" in err["message"]


def test_target_not_checked_out(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    git(repo, "switch", "-q", "-c", "other")
    _code, err = cli_error(capsys, "land", c["id"])
    assert err["code"] == "target-not-checked-out" and err["target"] == "main"
    # --into lands into the branch that is checked out.
    data = cli_json(capsys, "land", c["id"], "--into", "other")
    assert data["target"] == "other"


# -- discard and status ---------------------------------------------------------------


def test_discard_lists_unmerged_commits_and_deletes_the_branch(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    ids = work(wt)
    (wt / "scratch.txt").write_text("x\n")
    code, _out, err = cli(capsys, "discard", c["id"])  # not a terminal, no --yes
    assert code == 2 and "--yes" in err
    assert wt.exists()
    data = cli_json(capsys, "discard", c["id"], "--yes")
    assert [x["id"] for x in data["unmerged"]] == ids
    assert [f["path"] for f in data["uncommitted"]] == ["scratch.txt"]
    assert not wt.exists() and c["branch"] not in git(repo, "branch")
    assert any("2 unmerged commit(s)" in n for n in data["notes"])


def test_review_status_moves(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = new(capsys)
    assert cli_json(capsys, "review", c["id"])["status"] == "reviewing"
    assert status_of(capsys, c["id"]) == "reviewing"
    work(Path(c["workspace_path"]))
    assert cli_json(capsys, "land", c["id"])["construct"]["status"] == "completed"
    # Back to reviewing after landing (the table allows it), but not from parked.
    assert cli_json(capsys, "review", c["id"])["status"] == "reviewing"
    cli_json(capsys, "edit", c["id"], "--status", "parked")
    code, err = cli_error(capsys, "review", c["id"])
    assert code == 5 and "cannot go from 'parked' to 'reviewing'" in err["message"]


def test_squash_on_a_terminal_opens_the_editor_after_the_checks(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    c = new(capsys)
    work(Path(c["workspace_path"]))
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\ncp "$1" {seen}\nsed -i "1s/.*/Edited title/" "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    code, _out, err = cli(capsys, "land", c["id"], "--squash")
    assert code == 0, err
    assert seen.read_text().startswith("Fix login\n\nMake login work\n")
    assert "# Edit the commit message" in seen.read_text()
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("Edited title\n\nMake login work\n") and "#" not in message


def test_a_refused_removal_after_landing_is_a_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    ids = work(Path(c["workspace_path"]))
    git(repo, "worktree", "lock", c["workspace_path"])
    data = cli_json(capsys, "land", c["id"], "--remove")
    assert git(repo, "rev-parse", "HEAD").strip() == ids[-1]
    assert data["construct"]["status"] == "completed"
    assert len(data["removed"]) == 1 and data["removed"][0].startswith("not removed: ")
    assert "locked" in data["removed"][0]
    assert status_of(capsys, c["id"]) == "completed"


# -- one file at the base or the tip (an editor's diff view) ----------------------------


def test_file_version_reads_git_objects_only(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from state_format.store import Store
    from synthetic_ls.errors import InvalidInputError
    from synthetic_ls.ops.file_versions import TEXT_MAX, file_version

    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    (wt / "src" / "util.py").write_text("x = 'uncommitted'\n")  # not in any commit
    (wt / "big.txt").write_bytes(b"a" * (TEXT_MAX + 1))
    (wt / "blob.bin").write_bytes(b"\x00\x01\x02")
    (wt / "leak").symlink_to("/etc/passwd")  # a branch's link: its target's name, not its content
    git(wt, "add", "big.txt", "blob.bin", "leak")
    git(wt, "commit", "-q", "-m", "big and binary")
    store = Store.open(repo)
    base = file_version(store, c["id"], "src/util.py")
    assert (base.text, base.exists, base.at) == ("x = 1\n", True, "base")
    assert base.commit == git(repo, "rev-parse", "main").strip()
    head = file_version(store, c["id"], "src/util.py", at="head")
    assert head.text == "x = 2\n" and head.commit == git(wt, "rev-parse", "HEAD").strip()
    added = file_version(store, c["id"], "src/new1.py")  # added on the branch: no base
    assert added.to_dict()["exists"] is False and added.text is None
    big = file_version(store, c["id"], "big.txt", at="head")
    assert big.too_large and big.text is None and big.size == TEXT_MAX + 1
    assert file_version(store, c["id"], "leak", at="head").text == "/etc/passwd"
    binary = file_version(store, c["id"], "blob.bin", at="head")
    assert binary.binary and binary.text is None and binary.size == 3
    # Ignored include files exist on disk but never in git: nothing to read.
    assert file_version(store, c["id"], ".env", at="head").exists is False
    for hostile in ("../../etc/passwd", "/etc/passwd", "src/../.env", "./src/util.py", "",
                    "src//util.py", "a\nb", "src\\util.py"):
        with pytest.raises(InvalidInputError):
            file_version(store, c["id"], hostile)
    with pytest.raises(InvalidInputError):
        file_version(store, c["id"], "src/util.py", at="worktree")


def test_land_check_says_what_would_land_and_lands_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    work(wt)
    before = snapshot(repo, wt)
    plan = cli_json(capsys, "land", c["id"], "--squash", "--check")
    assert plan["target"] == "main" and plan["strategy"] == "squash"
    assert [x["subject"] for x in plan["commits"]] == ["change util", "add new1"]
    assert plan["message"].startswith("Fix login\n\nMake login work\n")
    code, out, _ = cli(capsys, "land", c["id"], "--check")
    assert code == 0 and "can land into main (merge)" in out and "2 commit(s)" in out
    assert snapshot(repo, wt) == before and status_of(capsys, c["id"]) == "ready"
    commit_file(repo, "src/util.py", "x = 3\n", "main changes util too")
    code, err = cli_error(capsys, "land", c["id"], "--check")
    assert code == 5 and err["code"] == "merge-conflict"


# -- committing an agent's uncommitted work ------------------------------------------------


def test_uncommitted_work_is_committed_without_include_files_then_lands(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    # An agent that edits and never commits: landing says so (not "nothing to land").
    (wt / "src" / "main.py").write_text("print('bye')\n")
    (wt / "src" / "util.py").unlink()
    (wt / "*").write_text("a file named like a pattern\n")
    (wt / "local.cfg").write_text("debug = false\n")  # an include file: never committed
    (wt / ".env").write_text("TOKEN=changed\n")
    code, err = cli_error(capsys, "land", c["id"])
    assert code == 5 and err["code"] == "construct-dirty", err
    assert f"synthetic commit {c['id']}" in err["message"]
    done = cli_json(capsys, "commit", c["id"], "-m", "Agent's work")
    assert sorted((f["path"], f["status"]) for f in done["files"]) == [
        ("*", "?"), ("src/main.py", "M"), ("src/util.py", "D")
    ]
    assert git(wt, "log", "-1", "--format=%s").strip() == "Agent's work"
    assert done["commit"] == git(wt, "rev-parse", "HEAD").strip()
    assert git(wt, "status", "--porcelain").split() == ["??", "local.cfg"]
    code, err = cli_error(capsys, "commit", c["id"], "-m", "again")
    assert err["code"] == "nothing-to-commit"
    cli_json(capsys, "land", c["id"])
    assert (repo / "src" / "main.py").read_text() == "print('bye')\n"
    assert not (repo / "src" / "util.py").exists() and (repo / "*").exists()
    assert "local.cfg" not in git(repo, "ls-files")
    code, out, _ = cli(capsys, "commit", c["id"], "-m", " ")
    assert code != 0 and out == ""


def test_a_refused_commit_commits_nothing_and_keeps_the_index(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = new(capsys)
    wt = Path(c["workspace_path"])
    (wt / "src" / "main.py").write_text("print('staged')\n")
    git(wt, "add", "src/main.py")
    (wt / "src" / "main.py").write_text("print('staged, then edited')\n")
    (wt / "notes.txt").write_text("unstaged\n")
    _hook(repo, "pre-commit", "echo 'lint failed' >&2; exit 1")
    head, index = git(wt, "rev-parse", "HEAD"), git(wt, "ls-files", "-s")
    code, err = cli_error(capsys, "commit", c["id"], "-m", "work")
    assert code == 1 and err["code"] == "hook-failed" and "pre-commit" in err["hooks"], err
    assert "lint failed" in err["message"] and err["rolled_back"] is True
    assert git(wt, "rev-parse", "HEAD") == head and git(wt, "ls-files", "-s") == index
    assert (wt / "src" / "main.py").read_text() == "print('staged, then edited')\n"


@pytest.mark.parametrize("strategy", ["merge", "squash", "rebase", "apply", "check"])
def test_landing_never_overwrites_an_ignored_file_of_the_checkout(
    repo: Path, capsys: pytest.CaptureFixture[str], strategy: str
) -> None:
    """An agent force-adds the ignored .env and commits it: landing refuses, as git does
    for an untracked file, and the person's .env stays theirs."""
    c = new(capsys)
    wt = Path(c["workspace_path"])
    (wt / ".env").write_text("TOKEN=agent-wrote-this\n")
    git(wt, "add", "-f", ".env")
    git(wt, "commit", "-q", "-m", "add env")
    before = snapshot(repo, wt)
    argv = ["land", c["id"], "--check"] if strategy == "check" else [
        "land", c["id"], f"--{strategy}"]
    code, err = cli_error(capsys, *argv)
    assert code == 5  # a conflict
    assert err["code"] == "target-files-in-the-way" and err["files"] == [".env"], err
    assert (repo / ".env").read_text() == "TOKEN=secret\n"
    assert snapshot(repo, wt) == before
