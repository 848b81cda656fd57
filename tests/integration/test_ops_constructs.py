"""Constructs, worktrees and review reads, called at the ops level on real repositories.

Results are checked with the state they leave (records, branches,
worktrees, files); refusals with their declared code and nothing changed;
reads with nothing changed at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.ops.constructs import (
    CreateOptions,
    EditOptions,
    RemoveOptions,
    create_construct,
    edit_construct,
    plan_construct,
    remove_construct,
    show_construct,
)
from synthetic_ls.ops.file_versions import file_version
from synthetic_ls.ops.import_worktree import import_worktree
from synthetic_ls.ops.listing import list_constructs
from synthetic_ls.ops.removal_preview import removal_preview
from synthetic_ls.ops.review import diff_construct, log_construct, review_construct
from synthetic_ls.ops.templates import list_templates
from synthetic_ls.ops.worktree import add_worktree, remove_worktree
from tests.gitrepo import commit_file, git, make_repo
from tests.integration.ops_helpers import (
    branches,
    make_store,
    new,
    record_text,
    refused,
    snapshot,
    worktrees,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return make_store(tmp_path, monkeypatch)


# -- create, show, edit, list, remove -----------------------------------------------


def test_create_makes_record_branch_and_worktree(store: Store) -> None:
    repo = store.repo.worktree
    made = create_construct(store, CreateOptions(name="  Fix login  ", description="d"))
    c = made.construct
    assert (c.name, c.description, c.status.value) == ("Fix login", "d", "ready")
    assert c.branch == f"synthetic/{c.id}" and c.base_ref == "refs/heads/main"
    assert c.base_commit == git(repo, "rev-parse", "HEAD").strip() and c.journal is None
    assert made.to_dict()["copied"] == [".env"]
    assert worktrees(repo) == [c.workspace_path]
    assert (Path(c.workspace_path or "") / ".env").read_text() == "TOKEN=secret\n"
    assert 'name = "Fix login"' in record_text(store, c.id)
    assert "journal" not in record_text(store, c.id)


def test_create_refusals_make_nothing(store: Store) -> None:
    repo = store.repo.worktree
    before = snapshot(store)
    with refused("invalid-input"):
        create_construct(store, CreateOptions(name="   "))
    with refused("unknown-template"):
        create_construct(store, CreateOptions(name="x", template_id="nope"))
    with refused("invalid-input"):
        create_construct(store, CreateOptions(name="x", status="spawning"))
    with refused("not-found"):
        create_construct(store, CreateOptions(name="x", from_ref="no-such-ref"))
    git(repo, "branch", "taken")
    before = snapshot(store)
    with refused("invalid-input"):
        create_construct(store, CreateOptions(name="x", branch="taken"))
    with refused("unknown-template"):
        plan_construct(store, CreateOptions(name="x", template_id="nope"))
    assert snapshot(store) == before
    assert list_constructs(store, inspect=False).views == []


def test_show_and_list_read_only(store: Store) -> None:
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "ahead")
    (wt / "scratch.txt").write_text("s\n")
    before = snapshot(store, wt)
    shown = show_construct(store, cid, with_size=True).to_dict()
    assert shown["worktree"] is not None
    assert (shown["worktree"]["ahead"], shown["worktree"]["behind"]) == (1, 0)
    assert shown["worktree"]["changes"] == ["?? scratch.txt"]
    assert shown["worktree"]["size_bytes"] and shown["worktree"]["size_bytes"] > 0
    listing = list_constructs(store, status="ready").to_dict()
    assert [c["id"] for c in listing["constructs"]] == [cid]
    assert list_constructs(store, status="parked").views == []
    assert snapshot(store, wt) == before
    with refused("record-not-found"):
        show_construct(store, "nothing-like-it")
    with refused("invalid-input"):
        list_constructs(store, status="no-such-status")


def test_worktree_changes_use_gits_status_letters(store: Store) -> None:
    """Staged new and deleted files are ``A`` and ``D``, as ``git status --short`` says."""
    cid, wt = new(store)
    commit_file(wt, "gone.txt", "g\n", "to delete")
    (wt / "gone.txt").unlink()
    (wt / "added.txt").write_text("new\n")
    git(wt, "add", "added.txt")
    git(wt, "rm", "-q", "src/main.py")
    (wt / "src/util.py").write_text("x = 2\n")
    git(wt, "add", "src/util.py")
    (wt / "src/util.py").write_text("x = 3\n")
    (wt / "untracked.txt").write_text("u\n")
    changes = show_construct(store, cid).to_dict()["worktree"]
    assert changes is not None
    expected = git(wt, "status", "--short", "--untracked-files=all").splitlines()
    assert sorted(expected) == [
        " D gone.txt", "?? untracked.txt", "A  added.txt", "D  src/main.py", "MM src/util.py"]
    assert sorted(changes["changes"]) == sorted(expected)


def test_edit_changes_fields_and_refuses_bad_moves(store: Store) -> None:
    cid, _wt = new(store)
    edited = edit_construct(store, EditOptions(ref=cid, description="new", status="parked"))
    assert sorted(edited.changed) == ["description", "status"]
    assert store.get_construct(cid).status.value == "parked"
    before = snapshot(store)
    with refused("invalid-input"):
        edit_construct(store, EditOptions(ref=cid))
    with refused("conflict"):
        edit_construct(store, EditOptions(ref=cid, status="completed"))
    with refused("invalid-input"):
        edit_construct(store, EditOptions(ref=cid, status="deleting"))
    with refused("invalid-input"):
        edit_construct(store, EditOptions(ref=cid, name=""))
    assert snapshot(store) == before
    edit_construct(store, EditOptions(ref=cid, status="ready"))
    reviewed = review_construct(store, cid)
    assert reviewed.changed == ["status"] and reviewed.view.construct.status.value == "reviewing"
    assert store.get_construct(cid).status.value == "reviewing"


def test_removal_preview_then_remove(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\n", "unmerged")
    (wt / "scratch.txt").write_text("s\n")
    before = snapshot(store, wt)
    preview = removal_preview(store, cid).to_dict()
    assert preview["construct"] == cid and preview["worktree"] == str(wt)
    assert preview["force_required"] is True and preview["locked"] is None
    assert [w["kind"] for w in preview["loses"]] == ["uncommitted"]
    assert preview["branch"] is not None
    assert (preview["branch"]["without_force"], preview["branch"]["with_force"]) == (
        "kept", "deleted")
    assert [c["subject"] for c in preview["branch"]["unmerged"]] == ["unmerged"]
    assert (preview["session"], preview["services"], preview["ports"]) == (None, [], [])
    assert snapshot(store, wt) == before
    with refused("unsaved-work") as refusal:
        remove_construct(store, RemoveOptions(ref=cid))
    assert refusal.value.fields["path"] == str(wt)
    assert snapshot(store, wt) == before
    (wt / "scratch.txt").unlink()
    result = remove_construct(store, RemoveOptions(ref=cid))
    kept = [k.to_dict() for k in result.kept]
    assert [(k["what"], k["name"]) for k in kept] == [("branch", f"synthetic/{cid}")]
    assert f"synthetic/{cid}" in branches(repo) and worktrees(repo) == [] and not wt.exists()
    assert list_constructs(store, inspect=False).views == []
    with refused("record-not-found"):
        removal_preview(store, cid)
    with refused("record-not-found"):
        remove_construct(store, RemoveOptions(ref=cid))


# -- worktrees ------------------------------------------------------------------------


def test_worktree_add_and_remove_keep_the_record(store: Store) -> None:
    repo = store.repo.worktree
    cid = create_construct(store, CreateOptions(name="later", worktree=False)).construct.id
    with refused("no-worktree"):
        remove_worktree(store, cid)
    added = add_worktree(store, cid)
    wt = Path(added.construct.workspace_path or "")
    assert worktrees(repo) == [str(wt)] and added.construct.branch in branches(repo)
    assert store.get_construct(cid).journal is None
    before = snapshot(store, wt)
    with refused("conflict"):
        add_worktree(store, cid)
    (wt / "scratch.txt").write_text("s\n")
    before = snapshot(store, wt)
    with refused("unsaved-work"):
        remove_worktree(store, cid)
    assert snapshot(store, wt) == before
    result = remove_worktree(store, cid, force=True)
    assert result.construct.workspace_path is None and not wt.exists()
    assert worktrees(repo) == [] and store.get_construct(cid).workspace_path is None
    assert f"synthetic/{cid}" not in branches(repo)  # nothing on it: deleted


def test_import_registers_a_hand_made_worktree(store: Store, tmp_path: Path) -> None:
    repo = store.repo.worktree
    git(repo, "worktree", "add", "-q", "-b", "by-hand", str(tmp_path / "by-hand"))
    commit_file(tmp_path / "by-hand", "src/util.py", "x = 2\n", "by hand")
    made = import_worktree(store, tmp_path / "by-hand", name="Imported")
    c = made.construct
    assert (c.name, c.branch, c.status.value) == ("Imported", "by-hand", "ready")
    assert c.base_ref == "refs/heads/main" and c.workspace_path == str(tmp_path / "by-hand")
    assert c.base_commit == git(repo, "rev-parse", "main").strip()
    assert [v.construct.id for v in list_constructs(store, inspect=False).views] == [c.id]
    before = snapshot(store)
    with refused("conflict"):
        import_worktree(store, tmp_path / "by-hand")
    with refused("not-found"):
        import_worktree(store, tmp_path / "nowhere")
    with refused("invalid-input"):
        import_worktree(store, repo)
    assert snapshot(store) == before


# -- review reads ----------------------------------------------------------------------


def test_diff_log_and_file_versions_read_only(store: Store) -> None:
    cid, wt = new(store)
    commit_file(wt, "src/util.py", "x = 2\ny = 3\n", "change util")
    (wt / "scratch.txt").write_text("s\n")
    (wt / ".env").write_text("TOKEN=edited\n")  # an include file: never shown
    before = snapshot(store, wt)
    diff = diff_construct(store, cid, patch=True).to_dict()
    assert diff["construct"] == cid and diff["target"] == "main"
    assert [(f["path"], f["status"], f["additions"], f["deletions"]) for f in diff["files"]] == [
        ("src/util.py", "M", 2, 1)]
    assert [f["path"] for f in diff["uncommitted"]] == ["scratch.txt"]
    assert diff["stat"] == {"files": 1, "additions": 2, "deletions": 1}
    assert "+y = 3" in diff.get("patch", "")
    log = log_construct(store, cid).to_dict()
    assert log["session_id"] is None and log["session_note"] == "no agent session"
    assert [(e["kind"], e["subject"]) for e in log["entries"]] == [("commit", "change util")]
    base = file_version(store, cid, "src/util.py", at="base").to_dict()
    tip = file_version(store, cid, "src/util.py", at="head").to_dict()
    assert (base["text"], tip["text"]) == ("x = 1\n", "x = 2\ny = 3\n")
    assert snapshot(store, wt) == before
    bare = create_construct(store, CreateOptions(name="bare", worktree=False)).construct.id
    for op in (diff_construct, log_construct):
        with refused("no-branch"):
            op(store, bare)
    assert file_version(store, cid, "no/such.py", at="head").exists is False
    with refused("invalid-input"):
        file_version(store, cid, "../outside.py", at="head")
    git(store.repo.worktree, "worktree", "remove", "--force", str(wt))
    git(store.repo.worktree, "branch", "-D", f"synthetic/{cid}")
    with refused("branch-gone"):
        diff_construct(store, cid)


def test_list_templates_reads_the_config(store: Store, tmp_path: Path) -> None:
    repo = store.repo.worktree
    listed = list_templates(repo).to_dict()
    assert [t["id"] for t in listed["templates"]] == ["dev"]
    assert listed["templates"][0]["label"] == "Dev" and listed["default"] == "dev"
    with refused("no-config"):
        list_templates(make_repo(tmp_path / "plain"))
    (repo / "synthetic.config.ts").write_text("export default { templates: 3 };\n")
    with refused("config-has-errors"):
        list_templates(repo)
