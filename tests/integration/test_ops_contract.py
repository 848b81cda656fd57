"""The ops layer as a language server would use it: plain calls, result objects, JSON.

Every operation is called directly (no CLI), on a real repository, and its
``to_dict()`` is checked; the CLI's ``--json`` must print exactly that.
Nothing here imports ``synthetic_ls.cli``; a separate check proves the ops
modules do not either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.errors import InvalidInputError, NotFoundError
from synthetic_ls.ops import config as config_ops
from synthetic_ls.ops import constructs as ops
from synthetic_ls.ops.doctor import apply_fix, run_doctor
from synthetic_ls.ops.import_worktree import import_worktree
from synthetic_ls.ops.listing import list_constructs
from synthetic_ls.ops.worktree import add_worktree, remove_worktree
from tests.gitrepo import git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: { dev: { label: "Dev", includePatterns: [".env"] } },
};
"""
CONSTRUCT_KEYS = [
    "id",
    "name",
    "description",
    "template_id",
    "status",
    "workspace_path",
    "opencode_session_id",
    "branch",
    "base_ref",
    "base_commit",
    "isolation",
    "error",
    "created_at",
    "updated_at",
    "extra",
    "file",
    "operation",
    "host",
    "remote_id",
    "group_id",
    "model",
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG, ".gitignore": ".env\n"})
    (repo / ".env").write_text("A=1\n")
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    return Store.open(repo)


def test_create_show_edit_list_remove(store: Store) -> None:
    made = ops.create_construct(store, ops.CreateOptions(name="Fix it"))
    data = made.to_dict()
    assert list(data)[: len(CONSTRUCT_KEYS)] == CONSTRUCT_KEYS
    assert data["status"] == "ready" and data["copied"] == [".env"] and data["skipped"] == []
    assert data["operation"] is None
    cid = data["id"]

    shown = ops.show_construct(store, cid).to_dict()
    assert shown["worktree"]["exists"] is True and shown["worktree"]["dirty"] is False

    edited = ops.edit_construct(store, ops.EditOptions(ref=cid, name="Fixed")).to_dict()
    assert edited["name"] == "Fixed" and edited["changed"] == ["name"]

    listing = list_constructs(store).to_dict()
    assert listing["version"] == 1 and [c["id"] for c in listing["constructs"]] == [cid]

    removed = ops.remove_construct(store, ops.RemoveOptions(ref=cid)).to_dict()
    assert removed["removed"] == cid
    assert any(note.startswith("removed worktree") for note in removed["notes"])
    assert list_constructs(store).to_dict()["constructs"] == []


def test_plan_makes_nothing(store: Store) -> None:
    plan = ops.plan_construct(store, ops.CreateOptions(name="Dry")).to_dict()
    assert [item["resource"] for item in plan["plan"]] == ["worktree", "include-files"]
    assert plan["plan"][0]["details"]["branch"].startswith("synthetic/dry-")
    assert list_constructs(store).views == []
    assert "synthetic/" not in git(store.repo.worktree, "branch")


def test_worktree_add_and_remove(store: Store) -> None:
    cid = ops.create_construct(store, ops.CreateOptions(name="Later", worktree=False)).construct.id
    added = add_worktree(store, cid).to_dict()
    assert added["workspace_path"] and added["copied"] == [".env"]
    assert added["reused_branch"] is False
    removed = remove_worktree(store, cid).to_dict()
    assert removed["id"] == cid and removed["notes"]
    assert ops.show_construct(store, cid).to_dict()["workspace_path"] is None


def test_doctor_findings_and_one_fix(store: Store) -> None:
    repo = store.repo.worktree
    git(repo, "branch", "synthetic/left-over-x7k2p9")
    report = run_doctor(store).to_dict()
    (finding,) = report["findings"]
    assert finding["kind"] == "orphan-branch" and finding["fixable"] is True
    assert finding["subject"] == {"type": "branch", "ref": "synthetic/left-over-x7k2p9"}
    fixed = apply_fix(store, finding["id"])
    assert fixed.fixed and fixed.fix_notes == ["deleted branch synthetic/left-over-x7k2p9"]
    assert run_doctor(store).to_dict() == {"findings": [], "unresolved": 0}
    with pytest.raises(NotFoundError):
        apply_fix(store, finding["id"])


def test_import(store: Store, tmp_path: Path) -> None:
    repo = store.repo.worktree
    git(repo, "worktree", "add", "-q", "-b", "by-hand", str(tmp_path / "by-hand"))
    data = import_worktree(store, tmp_path / "by-hand").to_dict()
    assert data["branch"] == "by-hand" and data["status"] == "ready"


def test_config_check_and_starter(store: Store, tmp_path: Path) -> None:
    checked = config_ops.check_config(cwd=store.repo.worktree).to_dict()
    assert checked["errors"] == 0 and checked["diagnostics"] == []
    with pytest.raises(Exception, match="already exists"):
        config_ops.write_starter(store.repo.worktree)
    fresh = make_repo(tmp_path / "fresh")
    written = config_ops.write_starter(fresh).to_dict()
    assert Path(written["file"]).read_text().startswith("//")


def test_errors_carry_codes_and_fields(store: Store) -> None:
    with pytest.raises(InvalidInputError) as bad:
        ops.create_construct(store, ops.CreateOptions(name="x", template_id="nope"))
    assert bad.value.code == "unknown-template" and "--" not in str(bad.value)
    assert bad.value.fields["template_id"] == "nope"
    ops.create_construct(store, ops.CreateOptions(name="dirty"))
    path = Path(ops.show_construct(store, "dirty").construct.workspace_path or "")
    (path / "work.txt").write_text("unsaved\n")
    from synthetic_ls.errors import ConflictError

    with pytest.raises(ConflictError) as refused:
        ops.remove_construct(store, ops.RemoveOptions(ref="dirty"))
    assert refused.value.code == "unsaved-work"
    assert refused.value.fields["path"] == str(path)
    assert "--force" not in str(refused.value)  # the core names no CLI flag


def test_cli_json_is_the_ops_dict(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from synthetic_ls.cli.main import run

    cid = ops.create_construct(store, ops.CreateOptions(name="same")).construct.id
    os.chdir(store.repo.worktree)
    assert run(["show", cid, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ops.show_construct(store, cid).to_dict()
    assert run(["ls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == list_constructs(store).to_dict()
    assert run(["doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == run_doctor(store).to_dict()


def test_ops_import_nothing_from_the_cli() -> None:
    code = (
        "import sys, pkgutil, importlib, synthetic_ls.ops as o\n"
        "for m in pkgutil.iter_modules(o.__path__):\n"
        "    importlib.import_module('synthetic_ls.ops.' + m.name)\n"
        "import synthetic_ls.provision.resources\n"
        "print(sorted(m for m in sys.modules if m.startswith('synthetic_ls.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_cancelled_creation_leaves_nothing(store: Store) -> None:
    from synthetic_ls.provision.step_error import StepFailedError

    asked: list[int] = []

    def cancel_after_the_worktree() -> bool:
        asked.append(1)
        return len(asked) > 1  # asked before each step: stop before the second

    with pytest.raises(StepFailedError) as stopped:
        ops.create_construct(
            store, ops.CreateOptions(name="stop"), cancelled=cancel_after_the_worktree
        )
    assert stopped.value.code == "cancelled"
    assert any("removed worktree" in note for note in stopped.value.undone)
    assert list_constructs(store).views == []
    assert "synthetic/" not in git(store.repo.worktree, "branch")
