"""Review and land over stdio: diff, log, review, land (conflict, then merge), discard."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.gitrepo import commit_file, git
from tests.lsp.test_lsp_commands import run


def _identity(repo: Path) -> None:
    # The server runs git with the environment it was started with: give the
    # repository its own identity so commits work whatever the machine has.
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.invalid")


async def test_review_flow(client: LanguageClient, repo: Path) -> None:
    _identity(repo)
    made = await run(client, "synthetic.construct.create", {"name": "Fix", "template_id": "docs"})
    ident, wt = made["id"], Path(made["workspace_path"])
    commit_file(wt, "src/a.py", "a = 1\n", "add a")
    commit_file(wt, "README.md", "agent\n", "agent readme")
    (wt / "notes.txt").write_text("wip\n")

    diff = await run(client, "synthetic.construct.diff", {"ref": ident})
    assert [f["path"] for f in diff["files"]] == ["README.md", "src/a.py"]
    assert [f["path"] for f in diff["uncommitted"]] == ["notes.txt"]
    assert "patch" not in diff
    with_patch = await run(client, "synthetic.construct.diff", {"ref": ident, "patch": True})
    assert "+a = 1" in with_patch["patch"]

    # The left side of an editor's diff view: the merge base's file, from git.
    base = await run(client, "synthetic.construct.file", {"ref": ident, "path": "README.md"})
    assert base["exists"] and base["text"] == (repo / "README.md").read_text()
    tip = await run(
        client, "synthetic.construct.file", {"ref": ident, "path": "README.md", "at": "head"}
    )
    assert tip["text"] == "agent\n" and tip["commit"] == diff["head"]
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.file", {"ref": ident, "path": "../outside"})
    assert info.value.data["code"] == "invalid-input"  # type: ignore[attr-defined]

    log = await run(client, "synthetic.construct.log", {"ref": ident})
    assert [e["subject"] for e in log["entries"]] == ["add a", "agent readme"]

    reviewed = await run(client, "synthetic.construct.review", {"ref": ident})
    assert reviewed["status"] == "reviewing"

    # Uncommitted work in the construct: refused, with the list.
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.land", {"ref": ident})
    data = info.value.data  # type: ignore[attr-defined]
    assert data["code"] == "construct-dirty" and data["files"] == ["? notes.txt"]
    (wt / "notes.txt").unlink()

    # A conflicting main: nothing landed, the files listed.
    commit_file(repo, "README.md", "main\n", "main readme")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.land", {"ref": ident, "strategy": "squash"})
    data = info.value.data  # type: ignore[attr-defined]
    assert data["code"] == "merge-conflict" and data["files"] == ["README.md"]
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""

    git(repo, "revert", "--no-edit", "HEAD")
    plan = await run(client, "synthetic.construct.landPlan", {"ref": ident, "strategy": "squash"})
    assert plan["target"] == "main" and plan["message"].startswith("Fix")
    assert git(repo, "rev-parse", "HEAD") != head  # the revert, and nothing landed by the plan
    assert git(repo, "log", "-1", "--format=%s").startswith("Revert")
    landed = await run(
        client, "synthetic.construct.land", {"ref": ident, "strategy": "squash", "message": "Fix"}
    )
    assert landed["construct"]["status"] == "completed" and landed["strategy"] == "squash"
    assert git(repo, "log", "-1", "--format=%s").strip() == "Fix"
    assert (repo / "src" / "a.py").read_text() == "a = 1\n"

    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.land", {"ref": ident, "strategy": "fold"})
    assert info.value.data["code"] == "invalid-input"  # type: ignore[attr-defined]

    preview = await run(client, "synthetic.construct.discardPreview", {"ref": ident})
    assert preview["construct"] == ident and preview["uncommitted"] == []
    assert wt.exists()
    gone = await run(client, "synthetic.construct.discard", {"ref": ident})
    assert gone["removed"] == ident and [c["subject"] for c in gone["unmerged"]] == [
        "add a", "agent readme"
    ]
    assert not wt.exists()
    assert made["branch"] not in git(repo, "branch")


async def test_an_agents_uncommitted_work_is_committed_then_landed(
    client: LanguageClient, repo: Path
) -> None:
    _identity(repo)
    made = await run(client, "synthetic.construct.create", {"name": "Edit", "template_id": "docs"})
    ident, wt = made["id"], Path(made["workspace_path"])
    (wt / "notes.md").write_text("written by the agent\n")
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.landPlan", {"ref": ident})
    assert info.value.data["code"] == "construct-dirty"  # type: ignore[attr-defined]
    done = await run(client, "synthetic.construct.commit", {"ref": ident, "message": "Notes"})
    assert [f["path"] for f in done["files"]] == ["notes.md"]
    plan = await run(client, "synthetic.construct.landPlan", {"ref": ident})
    assert [c["subject"] for c in plan["commits"]] == ["Notes"]
    landed = await run(client, "synthetic.construct.land", {"ref": ident})
    assert landed["construct"]["status"] == "completed"
    assert (repo / "notes.md").read_text() == "written by the agent\n"


async def test_a_queue_stops_at_a_conflict_and_resolve_by_hand_lets_it_land(
    client: LanguageClient, repo: Path
) -> None:
    _identity(repo)
    made = [await run(client, "synthetic.construct.create", {"name": n, "template_id": "docs"})
            for n in ("A", "B", "C")]
    (a, a_wt), (b, b_wt), (c, c_wt) = [(m["id"], Path(m["workspace_path"])) for m in made]
    commit_file(a_wt, "README.md", "from A\n", "A")
    commit_file(b_wt, "README.md", "from B\n", "B")
    commit_file(c_wt, "c.txt", "c\n", "C")
    queue = await run(client, "synthetic.construct.landQueue", {"refs": [a, b, c]})
    assert [x["construct"]["id"] for x in queue["landed"]] == [a]
    assert queue["stopped"]["construct"] == b
    assert queue["stopped"]["error"]["code"] == "merge-conflict"
    assert queue["stopped"]["error"]["files"] == ["README.md"]
    assert queue["not_tried"] == [c] and queue["tip"] == git(repo, "rev-parse", "HEAD").strip()

    stopped = await run(client, "synthetic.construct.resolve", {"ref": b, "by_hand": True})
    assert stopped["state"] == "stopped" and stopped["reason"] == "by-hand"
    assert stopped["conflicts"] == [{"path": "README.md", "kind": "both-modified",
                                     "markers": True}]
    (b_wt / "README.md").write_text("from A and B\n")
    done = await run(client, "synthetic.construct.resolve", {"ref": b, "action": "continue"})
    assert done["state"] == "rebased" and done["landing"]["lands"] is True
    rest = await run(client, "synthetic.construct.landQueue", {"refs": [b, c]})
    assert rest["stopped"] is None and len(rest["landed"]) == 2
    assert (repo / "README.md").read_text() == "from A and B\n"
    with pytest.raises(JsonRpcException) as info:
        await run(client, "synthetic.construct.resolve", {"ref": b, "action": "abort"})
    assert info.value.data["code"] == "no-resolve-in-progress"  # type: ignore[attr-defined]
