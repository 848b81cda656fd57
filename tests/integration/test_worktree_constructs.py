"""Constructs with worktrees on real repositories: create, fail, crash, remove, doctor, import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synthetic_ls.cli.main import run
from tests.gitrepo import commit_file, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  worktrees: { branchPrefix: "agent/" },
  templates: {
    dev: { label: "Dev", includePatterns: [".env*", "config/*.local"] },
    bare: { label: "No includes" },
  },
};
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(
        tmp_path / "app",
        {
            "synthetic.config.ts": CONFIG,
            ".gitignore": ".env*\n*.local\n",
            "src/main.py": "print('hi')\n",
        },
    )
    (path / ".env").write_text("TOKEN=secret\n")
    (path / "config").mkdir()
    (path / "config" / "db.local").write_text("db\n")
    monkeypatch.chdir(path)
    monkeypatch.delenv("SYNTHETIC_WORKTREES_DIR", raising=False)
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def new_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code, out, err = cli(capsys, "new", *argv, "--json")
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def branches(repo: Path) -> list[str]:
    return sorted(git(repo, "branch", "--format=%(refname:short)").split())


def worktree_paths(repo: Path) -> list[str]:
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    return [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")][1:]


def records(repo: Path) -> list[str]:
    folder = repo / ".git" / "synthetic" / "constructs"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def nothing_left(repo: Path, before_branches: list[str]) -> None:
    assert records(repo) == []
    assert worktree_paths(repo) == []
    assert branches(repo) == before_branches
    managed = repo.parent / "app.worktrees"
    assert not managed.exists() or list(managed.iterdir()) == []


# -- creation ---------------------------------------------------------------------


def test_create_from_head_copies_includes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    made = new_json(capsys, "Add login")
    cid = str(made["id"])
    path = Path(str(made["workspace_path"]))
    assert path == repo.parent / "app.worktrees" / cid
    assert made["branch"] == f"agent/{cid}"
    assert made["base_ref"] == "refs/heads/main" and made["base_commit"] == head
    assert made["status"] == "ready"
    assert sorted(made["copied"]) == [".env", "config/db.local"]  # type: ignore[arg-type]
    assert (path / ".env").read_text() == "TOKEN=secret\n"
    assert (path / "src" / "main.py").exists()
    assert git(path, "rev-parse", "--abbrev-ref", "HEAD").strip() == f"agent/{cid}"
    text = (repo / ".git" / "synthetic" / "constructs" / f"{cid}.toml").read_text()
    assert "spawn_pid" not in text and f'branch = "agent/{cid}"' in text


@pytest.mark.parametrize("kind", ["branch", "tag", "commit"])
def test_create_from_ref(repo: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "branch", "release")
    git(repo, "tag", "v1")
    commit_file(repo, "later.txt", "later")
    ref = {"branch": "release", "tag": "v1", "commit": first[:9]}[kind]
    made = new_json(capsys, "from ref", "--from", ref)
    assert made["base_commit"] == first
    assert (
        made["base_ref"]
        == {"branch": "refs/heads/release", "tag": "refs/tags/v1", "commit": None}[kind]
    )
    assert not (Path(str(made["workspace_path"])) / "later.txt").exists()


def test_create_with_explicit_branch_and_env_location(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "elsewhere"))
    made = new_json(capsys, "x", "--branch", "feature/login", "--template", "bare")
    assert made["branch"] == "feature/login"
    assert Path(str(made["workspace_path"])).parent == tmp_path / "elsewhere"
    assert made["copied"] == []


def test_config_root_relative_to_repo(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "synthetic.config.ts").write_text(
        CONFIG.replace('branchPrefix: "agent/"', 'branchPrefix: "agent/", root: "../trees"')
    )
    made = new_json(capsys, "x")
    assert Path(str(made["workspace_path"])).parent == repo.parent / "trees"


def test_create_from_linked_worktree_uses_its_head(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    side_tip = commit_file(linked, "side.txt", "s")
    monkeypatch.chdir(linked)
    made = new_json(capsys, "from linked")
    assert made["base_commit"] == side_tip and made["base_ref"] == "refs/heads/side"
    # Include files come from the main checkout, and the worktree is beside it.
    assert (Path(str(made["workspace_path"])) / ".env").exists()
    assert Path(str(made["workspace_path"])).parent == repo.parent / "app.worktrees"


def test_bad_start_point_and_branch_change_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = branches(repo)
    code, _, err = cli(capsys, "new", "x", "--from", "no-such-ref")
    assert code == 3 and "no such branch, tag or commit: 'no-such-ref'" in err
    code, _, err = cli(capsys, "new", "x", "--branch", "main")
    assert code == 7 and "already exists" in err
    code, _, err = cli(capsys, "new", "x", "--branch", "bad..name")
    assert code == 7 and "not a valid git branch name" in err
    code, _, err = cli(capsys, "new", "x", "--no-worktree", "--from", "main")
    assert code == 7 and "needs a worktree" in err
    nothing_left(repo, before)


def _fail(monkeypatch: pytest.MonkeyPatch, target: str, message: str) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(target, boom)


@pytest.mark.parametrize(
    ("target", "step"),
    [
        ("state_format.store.Store.create", "recording the construct"),
        ("synthetic_ls.git.worktree_admin.add_worktree", "creating the worktree"),
        ("synthetic_ls.git.include_copy.copy_included", "copying include files"),
        ("synthetic_ls.provision.flow.finish", "marking the construct ready"),
    ],
)
def test_failure_at_each_step_leaves_nothing(
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    step: str,
) -> None:
    before = branches(repo)
    _fail(monkeypatch, target, "injected failure")
    code, out, err = cli(capsys, "new", "doomed")
    assert code != 0 and out == ""
    assert f"synthetic: {step} failed: injected failure" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    monkeypatch.chdir(repo)
    nothing_left(repo, before)


def test_git_itself_failing_leaves_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A real git failure: a post-checkout hook that exits 1 makes
    # `git worktree add` fail after it has created the folder and the branch.
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\necho hook says no >&2\nexit 1\n")
    hook.chmod(0o755)
    before = branches(repo)
    code, _, err = cli(capsys, "new", "doomed")
    assert code != 0
    assert "creating the worktree failed" in err and "hook says no" in err
    assert "rolled back" in err
    nothing_left(repo, before)


def test_crash_mid_creation_is_rolled_back(repo: Path) -> None:
    # A real process killed with SIGKILL while copying include files: the
    # record stays 'spawning' with its journal. `ls` only reads: it shows the
    # interruption; `doctor --fix` rolls it back.
    script = textwrap.dedent(
        """
        import os, signal, sys
        from synthetic_ls.git import include_copy
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        include_copy.copy_included = die
        from synthetic_ls.cli.main import run
        sys.exit(run(["new", "crashy"]))
        """
    )
    before = branches(repo)
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    assert len(records(repo)) == 1 and len(worktree_paths(repo)) == 1
    assert len(branches(repo)) == len(before) + 1
    listing = subprocess.run(
        [sys.executable, "-m", "synthetic_ls", "ls", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    (shown,) = json.loads(listing.stdout)["constructs"]
    assert shown["status"] == "spawning"
    assert shown["operation"]["state"] == "interrupted"
    assert shown["operation"]["steps_begun"] == ["worktree", "include-files"]
    assert len(records(repo)) == 1  # reading changed nothing
    fixed = subprocess.run(
        [sys.executable, "-m", "synthetic_ls", "doctor", "--fix"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "fixed: [interrupted-operation]" in fixed.stdout, fixed.stdout + fixed.stderr
    assert "rolled back the interrupted creation" in fixed.stdout
    nothing_left(repo, before)


# -- removal ----------------------------------------------------------------------


def test_rm_clean_merged_deletes_branch(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = branches(repo)
    made = new_json(capsys, "x")
    code, out, _ = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0 and f"removed worktree {made['workspace_path']}" in out
    assert f"deleted branch {made['branch']}" in out
    nothing_left(repo, before)


def test_rm_dirty_is_blocked_then_forced(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = new_json(capsys, "x")
    path = Path(str(made["workspace_path"]))
    (path / "src" / "main.py").write_text("changed\n")
    (path / "notes.txt").write_text("new\n")
    code, out, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 5 and "uncommitted changes" in err
    assert " M src/main.py" in err and "?? notes.txt" in err
    assert path.exists() and len(records(repo)) == 1  # nothing changed
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    shown = json.loads(out)
    assert shown["status"] == "ready" and shown["worktree"]["dirty"] is True
    code, out, _ = cli(capsys, "rm", str(made["id"]), "--yes", "--force")
    assert code == 0 and not path.exists() and records(repo) == []


def test_rm_keeps_unmerged_branch_unless_forced(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    path = Path(str(made["workspace_path"]))
    commit_file(path, "work.txt", "work")
    code, out, _ = cli(capsys, "show", str(made["id"]))
    assert "clean +1 -0" in out
    code, out, _ = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0 and f"kept branch {made['branch']}: 1 commit(s) not merged into main" in out
    assert str(made["branch"]) in branches(repo)
    # doctor now reports the branch as left behind, and does not delete it.
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert code == 1 and "[orphan-branch]" in out and str(made["branch"]) in branches(repo)

    made2 = new_json(capsys, "y")
    commit_file(Path(str(made2["workspace_path"])), "w2.txt", "w")
    code, out, _ = cli(capsys, "rm", str(made2["id"]), "--yes", "--force")
    assert code == 0 and f"deleted branch {made2['branch']} with 1 unmerged commit(s)" in out
    assert str(made2["branch"]) not in branches(repo)


def test_merged_work_lets_branch_go(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = new_json(capsys, "x")
    commit_file(Path(str(made["workspace_path"])), "work.txt", "work")
    git(repo, "merge", "-q", "--no-edit", str(made["branch"]))
    code, out, _ = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0 and f"deleted branch {made['branch']}" in out


def test_worktree_rm_then_add_reuses_kept_branch(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    cid = str(made["id"])
    path = Path(str(made["workspace_path"]))
    tip = commit_file(path, "work.txt", "work")
    code, out, _ = cli(capsys, "worktree", "rm", cid)
    assert code == 0 and "kept branch" in out and not path.exists()
    code, out, _ = cli(capsys, "show", cid, "--json")
    shown = json.loads(out)
    assert shown["workspace_path"] is None and shown["branch"] == made["branch"]
    code, out, err = cli(capsys, "worktree", "add", cid, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["reused_branch"] is True and again["workspace_path"] == str(path)
    assert git(path, "rev-parse", "HEAD").strip() == tip
    assert (path / ".env").exists()
    code, _, err = cli(capsys, "worktree", "add", cid)
    assert code == 5 and "already has a worktree" in err  # README: 5, a conflict


def test_worktree_add_for_record_only_construct(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x", "--no-worktree")
    assert made["workspace_path"] is None and made["status"] == "pending"
    code, out, err = cli(capsys, "worktree", "add", str(made["id"]), "--from", "main")
    assert code == 0, err
    assert "created branch agent/" in out
    code, _, err = cli(capsys, "worktree", "rm", str(made["id"]))
    assert code == 0
    code, _, err = cli(capsys, "worktree", "rm", str(made["id"]))
    assert code == 3 and "has no worktree" in err  # README: 3, does not exist


# -- doctor and import --------------------------------------------------------------


def test_doctor_clean(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new_json(capsys, "x")
    code, out, _ = cli(capsys, "doctor")
    assert code == 0 and "agree" in out


def test_doctor_missing_worktree_and_prunable_entry(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    made = new_json(capsys, "x")
    shutil.rmtree(str(made["workspace_path"]))
    code, out, _ = cli(capsys, "doctor", "--json")
    (finding,) = json.loads(out)["findings"]
    assert code == 1 and finding["kind"] == "missing-worktree"
    # It may have been moved out of sight: no automatic fix, and git's entry
    # stays, so that `git worktree repair NEWPATH` could still reattach it.
    assert finding["fixable"] is False and "git worktree repair" in finding["advice"]
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert code == 1 and "found: [missing-worktree]" in out
    assert len(worktree_paths(repo)) == 1
    # Forgetting it is the person's explicit choice.
    code, out, err = cli(capsys, "worktree", "rm", str(made["id"]))
    assert code == 0, err
    assert worktree_paths(repo) == []
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    assert json.loads(out)["workspace_path"] is None
    code, out, _ = cli(capsys, "worktree", "add", str(made["id"]))
    assert code == 0


def test_doctor_moved_worktree(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = new_json(capsys, "x")
    old = Path(str(made["workspace_path"]))
    new = old.parent / "renamed"
    os.rename(old, new)  # a plain mv, behind git's back
    code, out, _ = cli(capsys, "doctor", "--json")
    findings = json.loads(out)["findings"]
    assert code == 1 and [f["kind"] for f in findings] == ["moved-worktree"]
    assert str(new) in findings[0]["message"]
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert "fixed: [moved-worktree]" in out
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    assert code == 0 and json.loads(out)["workspace_path"] == str(new)
    assert worktree_paths(repo) == [str(new)]
    code, out, _ = cli(capsys, "doctor")
    assert code == 0, out


def test_doctor_git_worktree_move(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = new_json(capsys, "x")
    new = repo.parent / "moved-by-git"
    git(repo, "worktree", "move", str(made["workspace_path"]), str(new))
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert "fixed: [moved-worktree]" in out
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    assert code == 0 and json.loads(out)["workspace_path"] == str(new)


def test_doctor_unregistered_and_orphan_branch_and_import(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    managed = repo.parent / "app.worktrees"
    git(repo, "worktree", "add", "-q", "-b", "agent/handmade", str(managed / "handmade"))
    # Named as Synthetic names a construct's branch, merged (same commit as main): deleted.
    git(repo, "branch", "agent/leftover-x7k2p9")
    # A person's branches that only share the prefix: none of the doctor's business.
    git(repo, "branch", "agent/1.0")
    git(repo, "branch", "agent/wip")
    code, out, _ = cli(capsys, "doctor", "--json")
    findings = {f["kind"]: f for f in json.loads(out)["findings"]}
    assert set(findings) == {"unregistered-worktree", "orphan-branch"}
    assert "synthetic import" in findings["unregistered-worktree"]["advice"]
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert "fixed: [orphan-branch]" in out and "found: [unregistered-worktree]" in out
    assert "agent/leftover-x7k2p9" not in branches(repo)
    assert {"agent/1.0", "agent/wip"} <= set(branches(repo))
    assert (managed / "handmade").exists()  # never removed by --fix

    code, out, err = cli(capsys, "import", str(managed / "handmade"), "--json")
    assert code == 0, err
    imported = json.loads(out)
    assert imported["name"] == "handmade" and imported["branch"] == "agent/handmade"
    assert imported["status"] == "ready" and imported["template_id"] == "dev"
    assert imported["base_ref"] == "refs/heads/main"
    code, _, err = cli(capsys, "import", str(managed / "handmade"))
    assert code == 5 and "already construct" in err
    code, _, err = cli(capsys, "import", str(repo))
    assert code == 7 and "main checkout" in err
    code, _, err = cli(capsys, "import", str(repo.parent))
    assert code == 3 and "not a worktree of this repository" in err
    code, out, _ = cli(capsys, "doctor")
    assert code == 0, out
    # Removing the imported construct, even forced, never deletes the person's branch.
    code, out, err = cli(capsys, "rm", imported["id"], "--force", "--yes", "--json")
    assert code == 0, err
    kept = json.loads(out)["kept"]
    assert kept == [{"what": "branch", "name": "agent/handmade",
                     "reason": "Synthetic did not create it"}]
    assert "agent/handmade" in branches(repo)
    assert not (managed / "handmade").exists()


def test_doctor_rolls_back_interrupted_creation(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    path = repo / ".git" / "synthetic" / "constructs" / f"{made['id']}.toml"
    # What a crash leaves: status spawning, pid of a process that no longer exists.
    finished = subprocess.Popen(["true"])
    finished.wait()
    text = path.read_text().replace(
        'status = "ready"', f'status = "spawning"\nspawn_pid = {finished.pid}'
    )
    path.write_text(text)
    # (a record written by an older Synthetic: spawn_pid, no journal, state format 1)
    (repo / ".git" / "synthetic" / "format.toml").write_text("version = 1\n")
    code, out, _ = cli(capsys, "doctor")
    assert code == 1 and "[interrupted-operation]" in out
    code, out, _ = cli(capsys, "doctor", "--fix")
    assert "fixed: [interrupted-operation]" in out
    assert records(repo) == [] and worktree_paths(repo) == []


def test_rm_refuses_a_construct_still_being_created(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    path = repo / ".git" / "synthetic" / "constructs" / f"{made['id']}.toml"
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        text = path.read_text().replace(
            'status = "ready"', f'status = "spawning"\nspawn_pid = {alive.pid}'
        )
        path.write_text(text)
        (repo / ".git" / "synthetic" / "format.toml").write_text("version = 1\n")
        code, _, err = cli(capsys, "rm", str(made["id"]), "--yes")
        assert code == 5 and f"being worked on by process {alive.pid}" in err
        code, out, _ = cli(capsys, "ls", "--json")
        assert [c["status"] for c in json.loads(out)["constructs"]] == ["spawning"]
    finally:
        alive.kill()
        alive.wait()
    code, out, err = cli(capsys, "ls", "--json")  # the creator is gone: shown, not touched
    (shown,) = json.loads(out)["constructs"]
    assert shown["operation"]["state"] == "interrupted" and len(records(repo)) == 1
    code, out, err = cli(capsys, "rm", str(made["id"]), "--yes")  # the next change recovers
    assert code == 0 and "rolled back the interrupted creation" in out, err
    assert records(repo) == [] and worktree_paths(repo) == []


def test_copied_include_files_do_not_block_removal(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `.env` is copied but this repository does not ignore it: git calls it
    # untracked, yet it is a copy of the main checkout's file, not work to lose.
    (repo / ".gitignore").write_text("")
    git(repo, "commit", "-q", "-am", "stop ignoring")
    made = new_json(capsys, "x")
    path = Path(str(made["workspace_path"]))
    assert (path / ".env").exists()
    code, _, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0, err
    assert not path.exists()
    # An edited copy is work: it blocks removal.
    made = new_json(capsys, "y")
    path = Path(str(made["workspace_path"]))
    (path / ".env").write_text("TOKEN=changed\n")
    code, _, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 5 and "?? .env" in err


def test_concurrent_creations_all_complete(repo: Path) -> None:
    # Four real processes create constructs with worktrees at the same time.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "synthetic_ls", "new", f"parallel {i}", "--json"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    made = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        made.append(json.loads(out))
    assert len({m["id"] for m in made}) == 4
    assert sorted(worktree_paths(repo)) == sorted(str(m["workspace_path"]) for m in made)
    assert all(str(m["branch"]) in branches(repo) for m in made)
    doctor = subprocess.run(
        [sys.executable, "-m", "synthetic_ls", "doctor"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert doctor.returncode == 0, doctor.stdout


def test_doctor_reports_a_broken_record_and_leaves_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = new_json(capsys, "x")
    path = repo / ".git" / "synthetic" / "constructs" / f"{made['id']}.toml"
    path.write_text(path.read_text() + "\nbroken = [\n")
    text = path.read_text()
    code, out, _ = cli(capsys, "doctor", "--fix", "--json")
    findings = json.loads(out)["findings"]
    assert code == 1 and findings[0]["kind"] == "broken-record"
    assert findings[0]["subject"] == {"type": "file", "ref": str(path)}
    assert not findings[0]["fixed"] and not findings[0]["fixable"]
    assert path.read_text() == text  # never rewritten
    assert Path(str(made["workspace_path"])).exists()  # its worktree is not touched


def test_ls_with_worktrees_stays_light(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Listing (with worktree state) needs pygit2 and the one construct model,
    # but not the config reader (tree-sitter), which costs a noticeable part
    # of a second at start-up.
    new_json(capsys, "x")
    # Warm the parse cache (a file changed in the last 2 s is not cached yet).
    warm = (
        "import state_format.listing as l; l.RACY_NS = 0; "
        "from synthetic_ls.cli.main import run; run(['ls'])"
    )
    subprocess.run([sys.executable, "-c", warm], cwd=repo, capture_output=True, check=True)
    script = (
        "import sys; from synthetic_ls.cli.main import run; code = run(['ls']); "
        "print(code, sorted(m for m in ('tree_sitter',) "
        "if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, check=True
    )
    assert "clean" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "0 []"


def test_worktree_add_failure_restores_the_record(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = new_json(capsys, "x", "--no-worktree")
    before = branches(repo)
    _fail(monkeypatch, "synthetic_ls.git.include_copy.copy_included", "disk full")
    code, _, err = cli(capsys, "worktree", "add", str(made["id"]))
    assert code == 1 and "copying include files failed: disk full" in err
    assert "restored record" in err
    monkeypatch.undo()
    monkeypatch.chdir(repo)
    code, out, _ = cli(capsys, "show", str(made["id"]), "--json")
    shown = json.loads(out)
    assert shown["workspace_path"] is None and shown["branch"] is None
    assert worktree_paths(repo) == [] and branches(repo) == before


def test_rm_when_the_worktree_was_deleted_by_hand(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    before = branches(repo)
    made = new_json(capsys, "x")
    shutil.rmtree(str(made["workspace_path"]))
    code, out, err = cli(capsys, "rm", str(made["id"]), "--yes")
    assert code == 0, err
    assert "was already gone" in out and f"deleted branch {made['branch']}" in out
    nothing_left(repo, before)
