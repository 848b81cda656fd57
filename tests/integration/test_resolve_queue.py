"""Resolve (a branch rebased onto its target, conflicts left to the person here) and the
merge queue (``land A B C``), at the ops level and through the CLI, on real repositories.

The agent's side of resolve, with the real ``opencode serve``, is in
tests/opencode/test_resolve_agent.py; a ``kill -9`` mid-resolve in
tests/integration/test_killed_operations.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.cli.main import run
from synthetic_ls.git.conflicts import rebase_state
from synthetic_ls.ops.land_queue import LandQueueOptions, land_queue
from synthetic_ls.ops.landing import LandOptions, land_construct
from synthetic_ls.ops.resolve import ResolveOptions, resolve_construct
from synthetic_ls.ops.worktree import remove_worktree
from tests.gitrepo import commit_file, git
from tests.integration.ops_helpers import make_store, new, refused, snapshot
from tests.result_schemas import assert_matches


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    s = make_store(tmp_path, monkeypatch)
    monkeypatch.chdir(s.repo.worktree)
    return s


def head(path: Path, rev: str = "HEAD") -> str:
    return git(path, "rev-parse", rev).strip()


def no_journal(store: Store, cid: str) -> None:
    assert store.get_construct(cid).journal is None


# -- the merge queue ---------------------------------------------------------------


def three(store: Store) -> list[tuple[str, Path]]:
    """A and B change the same line (B conflicts once A landed); C adds a file."""
    made = [new(store, name) for name in ("A", "B", "C")]
    commit_file(made[0][1], "src/util.py", "x = 2\n", "A: two")
    commit_file(made[1][1], "src/util.py", "x = 3\n", "B: three")
    commit_file(made[2][1], "src/c.py", "c = 1\n", "C: add c")
    return made


def test_a_queue_stops_at_the_one_that_conflicts_with_those_before_it(store: Store) -> None:
    repo = store.repo.worktree
    (a, _), (b, _), (c, _) = three(store)
    before = head(repo)
    result = land_queue(store, LandQueueOptions(refs=[a, b, c]))
    data = assert_matches("land-queue", result)
    assert [r["construct"]["id"] for r in data["landed"]] == [a]
    assert data["landed"][0]["before"] == before
    assert data["tip"] == head(repo) == data["landed"][0]["after"]
    stopped = data["stopped"]
    assert stopped is not None and stopped["construct"] == b and stopped["ref"] == b
    assert stopped["error"]["code"] == "merge-conflict"
    assert stopped["error"]["files"] == ["src/util.py"]
    assert data["not_tried"] == [c]
    # The target holds A's work, not C's; B and C are as they were.
    assert git(repo, "show", "HEAD:src/util.py") == "x = 2\n"
    assert "src/c.py" not in git(repo, "ls-files")
    assert [store.get_construct(x).status.value for x in (a, b, c)] == \
        ["completed", "ready", "ready"]
    assert git(repo, "status", "--porcelain") == ""


def test_a_queue_that_lands_every_one_checks_each_against_the_ones_before(
    store: Store,
) -> None:
    repo = store.repo.worktree
    (a, _), (_, b_wt), (c, _) = three(store)
    git(b_wt, "reset", "-q", "--hard", "HEAD^")
    commit_file(b_wt, "src/b.py", "b = 1\n", "B: add b")
    result = land_queue(store, LandQueueOptions(refs=[a, "B", c], strategy="squash"))
    data = assert_matches("land-queue", result)
    assert data["stopped"] is None and data["not_tried"] == []
    assert [r["before"] for r in data["landed"][1:]] == [r["after"] for r in data["landed"][:-1]]
    assert data["tip"] == head(repo)
    assert git(repo, "log", "--format=%s", "-3").splitlines()[2].startswith("A")
    for path in ("src/b.py", "src/c.py"):
        assert path in git(repo, "ls-files")


def test_a_queue_is_refused_whole_for_bad_input(store: Store) -> None:
    repo = store.repo.worktree
    (a, _), (b, _), _ = three(store)
    before = snapshot(store, repo)
    with refused("record-not-found"):
        land_queue(store, LandQueueOptions(refs=[a, "nope"]))
    with refused("invalid-input"):
        land_queue(store, LandQueueOptions(refs=[a, b, a]))
    with refused("invalid-input"):
        land_queue(store, LandQueueOptions(refs=[a, b], strategy="apply"))
    assert snapshot(store, repo) == before


def test_the_cli_queue_reports_and_exits_with_the_stopping_errors_status(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    (a, _), (b, _), (c, _) = three(store)
    assert run(["land", a, b, c, "--message", "x"]) == 2
    assert "--message takes one construct" in capsys.readouterr().err
    assert run(["land", a, b, c]) == 5  # merge-conflict is a conflict
    out = capsys.readouterr().out
    assert f"Landed {a} into main" in out
    assert f"Stopped at {b} (merge-conflict)" in out and "src/util.py" in out
    assert f"`synthetic resolve {b}`" in out
    assert f"Not tried: {c}" in out


# -- resolve: clean, up to date, by hand --------------------------------------------


def test_a_clean_rebase_is_done_and_lands(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt = new(store)
    commit_file(wt, "src/new.py", "n = 1\n", "add new")
    before = head(wt)
    tip = commit_file(repo, "README.md", "moved\n", "main moves")
    lines: list[str] = []
    result = resolve_construct(store, ResolveOptions(ref=cid), on_line=lines.append)
    data = assert_matches("resolve-result", result)
    assert (data["state"], data["reason"], data["rounds"]) == ("rebased", None, 0)
    assert data["before"] == before and data["head"] == head(wt) != before
    assert data["onto"] == tip and head(wt, "HEAD^") == tip
    assert data["landing"] == {"lands": True, "commits": 1, "error": None}
    assert rebase_state(wt) is None and git(wt, "status", "--porcelain") == ""
    assert git(wt, "symbolic-ref", "--short", "HEAD").strip() == f"synthetic/{cid}"
    no_journal(store, cid)
    assert any(line.startswith("rebasing") for line in lines)
    # Again: nothing to rebase.
    again = resolve_construct(store, ResolveOptions(ref=cid)).to_dict()
    assert again["state"] == "up-to-date" and again["head"] == data["head"]
    landed = land_construct(store, LandOptions(ref=cid))
    assert landed.fast_forward


def conflicting(store: Store) -> tuple[str, Path, str]:
    """A construct whose commit conflicts with main's newer one; its id, worktree, commit."""
    repo = store.repo.worktree
    cid, wt = new(store)
    mine = commit_file(wt, "src/util.py", "x = 3\n", "construct: three")
    commit_file(repo, "src/util.py", "x = 2\n", "main: two")
    return cid, wt, mine


def test_by_hand_then_continue(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    repo = store.repo.worktree
    cid, wt, mine = conflicting(store)
    assert run(["resolve", cid, "--by-hand"]) == 5
    out = capsys.readouterr().out
    assert "left for you (--by-hand)" in out and "src/util.py (both-modified)" in out
    assert f"`synthetic resolve {cid} --continue`" in out
    state = rebase_state(wt)
    assert state is not None and state.orig_head == mine and state.stopped_at == mine
    assert head(repo, f"synthetic/{cid}") == mine  # the branch moves only at the end
    no_journal(store, cid)  # left for the person: nothing for doctor --fix to undo
    with refused("resolve-in-progress"):
        resolve_construct(store, ResolveOptions(ref=cid))
    # Markers left: refused, still in progress.
    kept = assert_matches(
        "resolve-result", resolve_construct(store, ResolveOptions(ref=cid, action="continue")))
    assert kept["state"] == "stopped" and kept["reason"] == "markers-left"
    assert kept["conflicts"] == [{"path": "src/util.py", "kind": "both-modified",
                                  "markers": True}]
    (wt / "src/util.py").write_text("x = 5\n")
    assert run(["resolve", cid, "--continue", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "rebased" and data["before"] == mine
    assert data["landing"]["lands"] is True
    assert head(wt, "HEAD^") == head(repo) and git(wt, "show", "HEAD:src/util.py") == "x = 5\n"
    assert rebase_state(wt) is None
    no_journal(store, cid)
    assert land_construct(store, LandOptions(ref=cid)).after == head(wt)


def test_by_hand_then_abort(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    cid, wt, mine = conflicting(store)
    resolve_construct(store, ResolveOptions(ref=cid, by_hand=True))
    assert rebase_state(wt) is not None
    assert run(["resolve", cid, "--abort"]) == 0
    assert "Aborted" in capsys.readouterr().out
    assert rebase_state(wt) is None and head(wt) == mine
    assert git(wt, "symbolic-ref", "--short", "HEAD").strip() == f"synthetic/{cid}"
    assert git(wt, "status", "--porcelain") == ""
    no_journal(store, cid)
    with refused("no-resolve-in-progress"):
        resolve_construct(store, ResolveOptions(ref=cid, action="abort"))


def test_without_an_agent_session_the_conflicts_are_left_to_the_person(store: Store) -> None:
    cid, _, _ = conflicting(store)
    data = resolve_construct(store, ResolveOptions(ref=cid)).to_dict()
    assert data["state"] == "stopped" and data["reason"] == "no-session"
    assert [c["path"] for c in data["conflicts"]] == ["src/util.py"]
    resolve_construct(store, ResolveOptions(ref=cid, action="abort"))


def test_refusals_change_nothing(store: Store) -> None:
    repo = store.repo.worktree
    cid, wt, _ = conflicting(store)
    (wt / "src/util.py").write_text("dirty\n")
    before = snapshot(store, repo, wt)
    with refused("construct-dirty"):
        resolve_construct(store, ResolveOptions(ref=cid))
    with refused("no-resolve-in-progress"):
        resolve_construct(store, ResolveOptions(ref=cid, action="continue"))
    with refused("invalid-input"):
        resolve_construct(store, ResolveOptions(ref=cid, timeout=0))
    with refused("invalid-input"):
        resolve_construct(store, ResolveOptions(ref=cid, action="later"))
    git(wt, "checkout", "-q", "--", "src/util.py")
    with refused("target-missing"):
        resolve_construct(store, ResolveOptions(ref=cid, into="no-such-branch"))
    git(wt, "checkout", "-q", "--detach")
    with refused("worktree-off-branch"):
        resolve_construct(store, ResolveOptions(ref=cid))
    git(wt, "checkout", "-q", f"synthetic/{cid}")
    (wt / "src/util.py").write_text("dirty\n")
    assert snapshot(store, repo, wt) == before
    other, _ = new(store, "Other")
    remove_worktree(store, other, force=True)
    with refused("no-worktree"):
        resolve_construct(store, ResolveOptions(ref=other))


def test_handing_conflicts_to_the_agent_needs_consent_to_what_opencode_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for `session send`: the agent's server may start in the worktree, loading its
    plugins; without consent, refused before anything changed; --by-hand needs none."""
    from state_format.records import Construct

    store = make_store(tmp_path, monkeypatch,
                       files={".opencode/plugin/mark.js": "export const Mark = async () => ({})\n"})
    monkeypatch.chdir(store.repo.worktree)
    cid, wt, mine = conflicting(store)
    store.update(Construct, cid, lambda _c: {"opencode_session_id": "ses_resolve_test"})
    before = snapshot(store, store.repo.worktree, wt)
    with refused("consent-required"):
        resolve_construct(store, ResolveOptions(ref=cid))
    assert snapshot(store, store.repo.worktree, wt) == before
    left = resolve_construct(store, ResolveOptions(ref=cid, by_hand=True))
    assert left.state == "stopped" and left.reason == "by-hand" and left.before == mine
