"""Landing, committing and discarding, called at the ops level on real repositories.

Each op's typed result is checked with the state it leaves (the record and
its journal, branches, worktrees, the target checkout), and each refusal
with its declared code and nothing changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.ops.commit_work import commit_construct
from synthetic_ls.ops.constructs import CreateOptions, EditOptions, create_construct, edit_construct
from synthetic_ls.ops.discard import discard_construct, discard_preview
from synthetic_ls.ops.landing import LandOptions, check_land, land_construct
from synthetic_ls.ops.listing import list_constructs
from tests.gitrepo import commit_file, git
from tests.integration.ops_helpers import (
    branches,
    make_store,
    new,
    refused,
    snapshot,
    worktrees,
)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return make_store(tmp_path, monkeypatch)


def work(wt: Path) -> list[str]:
    """Two commits in the construct's worktree."""
    return [
        commit_file(wt, "src/util.py", "x = 2\n", "change util"),
        commit_file(wt, "src/new.py", "n = 1\n", "add new"),
    ]


def head(path: Path, rev: str = "HEAD") -> str:
    return git(path, "rev-parse", rev).strip()


def settled(store: Store, cid: str, status: str) -> None:
    """The record has ``status`` and no journal left behind."""
    record = store.get_construct(cid)
    assert record.status.value == status
    assert record.journal is None


# -- land ---------------------------------------------------------------------------


def test_land_merge_makes_a_merge_commit_and_completes(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    tip = work(wt)[-1]
    before = commit_file(repo, "README.md", "moved\n", "main moves")
    result = land_construct(store, LandOptions(ref=cid))
    assert (result.strategy, result.target, result.checkout) == ("merge", "main", str(repo))
    assert result.before == before and result.after == head(repo)
    assert result.fast_forward is False and result.commits == 2 and result.staged == []
    assert result.removed is None and result.removal is None
    assert result.construct.status.value == "completed"
    assert git(repo, "rev-parse", "HEAD^1", "HEAD^2").split() == [before, tip]
    assert git(repo, "log", "-1", "--format=%s").strip().startswith("Merge branch")
    settled(store, cid, "completed")
    # Landing keeps the worktree and branch unless asked to remove them.
    assert worktrees(repo) == [str(wt)] and f"synthetic/{cid}" in branches(repo)
    assert git(repo, "status", "--porcelain") == ""


def test_land_merge_fast_forwards(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    tip = work(wt)[-1]
    result = land_construct(store, LandOptions(ref=cid, strategy="merge"))
    assert result.fast_forward is True and result.after == tip == head(repo)
    settled(store, cid, "completed")


def test_land_squash_with_remove_takes_the_construct_away(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    work(wt)
    before = head(repo)
    result = land_construct(
        store, LandOptions(ref=cid, strategy="squash", message="Squashed\n", remove=True)
    )
    assert result.strategy == "squash" and result.fast_forward is False
    assert head(repo, "HEAD^") == before and result.after == head(repo)
    assert git(repo, "log", "-1", "--format=%s").strip() == "Squashed"
    assert (repo / "src/new.py").read_text() == "n = 1\n"
    assert result.removal == {"removed": True, "kept": [], "error": None}
    assert result.removed and any(n.startswith("removed worktree") for n in result.removed)
    # The squashed branch went with the construct: its work is in the squash commit.
    assert f"synthetic/{cid}" not in branches(repo)
    assert worktrees(repo) == [] and not wt.exists()
    assert list_constructs(store, inspect=False).views == []


def test_land_squash_drafts_the_message(store: Store) -> None:
    cid, wt = new(store, description="Make login work")
    work(wt)
    land_construct(store, LandOptions(ref=cid, strategy="squash"))
    message = git(store.repo.worktree, "log", "-1", "--format=%B")
    assert message.startswith("Fix login\n\nMake login work\n")
    assert "* change util" in message and f"Construct: {cid}" in message


def test_land_rebase_replays_then_fast_forwards(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    old = work(wt)
    moved = commit_file(repo, "README.md", "moved\n", "main moves")
    result = land_construct(store, LandOptions(ref=cid, strategy="rebase"))
    assert result.fast_forward is True and result.commits == 2
    assert head(repo) == head(wt) == result.after
    assert head(repo) not in old and head(repo, "HEAD~2") == moved
    assert git(repo, "log", "-2", "--format=%s").split("\n")[:2] == ["add new", "change util"]
    settled(store, cid, "completed")


def test_land_apply_leaves_the_changes_staged(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    work(wt)
    before = head(repo)
    result = land_construct(store, LandOptions(ref=cid, strategy="apply", remove=True))
    assert result.after == before == head(repo)
    assert sorted(result.staged) == ["src/new.py", "src/util.py"]
    assert sorted(git(repo, "diff", "--cached", "--name-only").split()) == result.staged
    # The branch is kept after --apply: its work is not committed anywhere yet.
    assert result.removal is not None and result.removal["removed"] is True
    assert [k["what"] for k in result.removal["kept"]] == ["branch"]
    assert f"synthetic/{cid}" in branches(repo) and worktrees(repo) == []


def test_check_land_says_what_would_land_and_changes_nothing(store: Store) -> None:
    cid, wt = new(store)
    work(wt)
    before = snapshot(store, wt)
    plan = check_land(store, LandOptions(ref=cid, strategy="squash"))
    data = plan.to_dict()
    assert data["construct"] == cid and data["target"] == "main"
    assert data["branch"] == f"synthetic/{cid}" and data["head"] == head(wt)
    assert sorted(c["subject"] for c in data["commits"]) == ["add new", "change util"]
    assert data["message"] is not None and data["message"].startswith("Fix login")
    assert check_land(store, LandOptions(ref=cid)).message is None
    assert snapshot(store, wt) == before
    settled(store, cid, "ready")


def test_land_refusals_carry_their_codes_and_change_nothing(store: Store) -> None:
    repo = store.repo.worktree
    commit_file(repo, "src/main.py", "print(2)\n", "second")
    cid, wt = new(store)

    def refuses(code: str, **options: object) -> None:
        before = snapshot(store, wt)
        for op in (check_land, land_construct):
            with refused(code):
                op(store, LandOptions(ref=cid, **options))  # type: ignore[arg-type]
            assert snapshot(store, wt) == before, f"{op.__name__} changed something"
        settled(store, cid, store.get_construct(cid).status.value)

    refuses("nothing-to-land")
    refuses("invalid-input", strategy="octopus")
    refuses("target-missing", into="no-such-branch")
    work(wt)
    (wt / "src/util.py").write_text("x = 3\n")
    with refused("construct-dirty") as dirty:
        land_construct(store, LandOptions(ref=cid))
    assert dirty.value.fields["files"] == ["M src/util.py"]
    refuses("construct-dirty")
    git(wt, "checkout", "--", "src/util.py")
    (repo / "src/main.py").write_text("local edit\n")
    refuses("target-dirty")
    git(repo, "checkout", "--", "src/main.py")
    commit_file(repo, "src/util.py", "x = 9\n", "main changes util too")
    with refused("merge-conflict") as conflict:
        land_construct(store, LandOptions(ref=cid))
    assert conflict.value.fields["files"] == ["src/util.py"]
    refuses("merge-conflict")
    git(repo, "reset", "-q", "--hard", "HEAD~2")  # main rewritten: its start is gone
    refuses("base-rewritten")
    git(repo, "branch", "elsewhere", head(wt, "HEAD~2"))
    refuses("target-not-checked-out", into="elsewhere")
    edit_construct(store, EditOptions(ref=cid, status="parked"))
    refuses("conflict", into="elsewhere")


def test_land_without_a_branch_is_refused(store: Store) -> None:
    made = create_construct(store, CreateOptions(name="bare", worktree=False))
    with refused("no-branch"):
        land_construct(store, LandOptions(ref=made.construct.id))
    with refused("record-not-found"):
        land_construct(store, LandOptions(ref="nothing-like-it"))


@pytest.mark.parametrize(("strategy", "hook"), [("merge", "pre-merge-commit"),
                                                ("squash", "pre-commit"),
                                                ("rebase", "pre-rebase")])
def test_a_refusing_hook_rolls_the_landing_back(store: Store, strategy: str, hook: str) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    work(wt)
    commit_file(repo, "README.md", "moved\n", "main moves")  # so that merge makes a commit
    script = repo / ".git" / "hooks" / hook
    script.write_text("#!/bin/sh\necho 'refused by policy' >&2\nexit 1\n")
    script.chmod(0o755)
    before = snapshot(store, wt)
    with refused("hook-failed") as failed:
        land_construct(store, LandOptions(ref=cid, strategy=strategy, message="m"))
    assert failed.value.fields["hooks"] == [hook] and failed.value.fields["rolled_back"] is True
    assert snapshot(store, wt) == before
    settled(store, cid, "ready")


def test_a_refused_fast_forward_undoes_the_rebase(store: Store) -> None:
    """The target refuses to move (a reference-transaction hook): the rebase is undone."""
    repo = store.repo.worktree
    cid, wt = new(store)
    old = work(wt)[-1]
    commit_file(repo, "src/main.py", "print(2)\n", "main moves")
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text(
        '#!/bin/sh\n[ "$1" = prepared ] || exit 0\n'
        'while read -r old new ref; do [ "$ref" = refs/heads/main ] && exit 1; done\nexit 0\n'
    )
    hook.chmod(0o755)
    before = snapshot(store, wt)
    with refused("land-failed") as failed:
        land_construct(store, LandOptions(ref=cid, strategy="rebase"))
    assert failed.value.fields["rolled_back"] is True
    assert failed.value.fields["step"] == "fast-forwarding main"  # the rebase had run
    assert head(wt) == old
    assert snapshot(store, wt) == before
    settled(store, cid, "ready")


@pytest.mark.parametrize(("strategy", "hook"), [("merge", "pre-merge-commit"),
                                                ("squash", "pre-commit")])
def test_a_failed_landing_keeps_the_persons_staged_work(
    store: Store, strategy: str, hook: str
) -> None:
    """The rollback undoes the landing's own traces only, never work staged meanwhile.

    The hook stands for the person: it stages a file of theirs in the target
    checkout while the landing runs, then refuses the commit.
    """
    repo = store.repo.worktree
    cid, wt = new(store)
    work(wt)
    commit_file(repo, "src/main.py", "print(2)\n", "main moves")  # merge makes a commit
    script = repo / ".git" / "hooks" / hook
    script.write_text("#!/bin/sh\necho mine > notes.txt\ngit add notes.txt\nexit 1\n")
    script.chmod(0o755)
    before = head(repo)
    with refused("hook-failed"):
        land_construct(store, LandOptions(ref=cid, strategy=strategy, message="m"))
    assert head(repo) == before
    assert (repo / "notes.txt").read_text() == "mine\n"
    assert git(repo, "status", "--porcelain") == "A  notes.txt\n"
    assert not (repo / "src/new.py").exists()
    assert not any((repo / ".git" / n).exists() for n in ("MERGE_HEAD", "SQUASH_MSG"))
    settled(store, cid, "ready")


# -- commit -------------------------------------------------------------------------


def test_commit_commits_what_diff_shows_and_never_include_files(store: Store) -> None:
    cid, wt = new(store)
    (wt / "src/util.py").write_text("x = 5\n")
    (wt / "src/main.py").unlink()
    (wt / "added.txt").write_text("new\n")
    (wt / ".env").write_text("TOKEN=edited\n")  # an include file: never committed
    before = head(wt)
    result = commit_construct(store, cid, "agent work")
    data = result.to_dict()
    assert data["construct"] == cid and data["commit"] == head(wt) != before
    assert sorted((f["path"], f["status"]) for f in data["files"]) == [
        ("added.txt", "?"), ("src/main.py", "D"), ("src/util.py", "M")]
    assert head(wt, "HEAD^") == before
    assert git(wt, "log", "-1", "--format=%s").strip() == "agent work"
    assert git(wt, "status", "--porcelain") == ""
    assert ".env" not in git(wt, "ls-files")
    settled(store, cid, "ready")


def test_commit_refusals(store: Store) -> None:
    cid, wt = new(store)
    with refused("nothing-to-commit"):
        commit_construct(store, cid, "nothing")
    (wt / "added.txt").write_text("new\n")
    git(wt, "add", "added.txt")
    (wt / "src/util.py").write_text("x = 5\n")
    with refused("invalid-input"):
        commit_construct(store, cid, "  ")
    hooks = Path(git(wt, "rev-parse", "--git-path", "hooks").strip())
    hook = (wt / hooks if not hooks.is_absolute() else hooks) / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'lint failed' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(store, wt)
    with refused("hook-failed") as failed:
        commit_construct(store, cid, "refused")
    assert "lint failed" in failed.value.fields["detail"]
    assert snapshot(store, wt) == before  # the index is as it was: added.txt staged only
    settled(store, cid, "ready")
    bare = create_construct(store, CreateOptions(name="bare", worktree=False)).construct.id
    with refused("no-worktree"):
        commit_construct(store, bare, "m")


# -- discard --------------------------------------------------------------------------


def test_discard_preview_then_discard(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    work(wt)
    (wt / "scratch.txt").write_text("unsaved\n")
    before = snapshot(store, wt)
    preview = discard_preview(store, cid).to_dict()
    assert preview["construct"] == cid and preview["branch"] == f"synthetic/{cid}"
    assert sorted(c["subject"] for c in preview["unmerged"]) == ["add new", "change util"]
    assert [(f["path"], f["status"]) for f in preview["uncommitted"]] == [("scratch.txt", "?")]
    assert {w["kind"] for w in preview["loses"]} >= {"uncommitted"}
    assert snapshot(store, wt) == before  # a preview changes nothing

    result = discard_construct(store, cid).to_dict()
    assert result["removed"] == cid and result["unmerged"] == preview["unmerged"]
    assert any("deleted branch" in n for n in result["notes"])
    assert f"synthetic/{cid}" not in branches(repo)
    assert worktrees(repo) == [] and not wt.exists()
    assert list_constructs(store, inspect=False).views == []
    with refused("record-not-found"):
        discard_preview(store, cid)
    with refused("record-not-found"):
        discard_construct(store, cid)
