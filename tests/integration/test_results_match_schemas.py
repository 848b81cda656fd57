"""Real results of the operations match their committed JSON Schemas.

One repository, every operation a face reads (construct list, show, create,
edit, removal preview, remove, diff, file, commit, land plan, land, discard
preview, discard, templates, config init, doctor, services, ports, prompt
bundles), each result checked against ``synthetic_ls/schemas/results``: the
schemas the editors' types are generated from describe what the server
sends, not what someone thought it sends. The agent session's results are
checked against a real OpenCode in tests/opencode/test_session_result_schemas.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.ops.commit_work import commit_construct
from synthetic_ls.ops.config import write_starter
from synthetic_ls.ops.constructs import (
    CreateOptions,
    EditOptions,
    RemoveOptions,
    create_construct,
    edit_construct,
    remove_construct,
    show_construct,
)
from synthetic_ls.ops.discard import discard_construct, discard_preview
from synthetic_ls.ops.doctor import apply_fix, run_doctor
from synthetic_ls.ops.file_versions import file_version
from synthetic_ls.ops.landing import LandOptions, check_land, land_construct
from synthetic_ls.ops.listing import list_constructs
from synthetic_ls.ops.ports import list_ports
from synthetic_ls.ops.prompts import build_prompts, preview_prompts
from synthetic_ls.ops.removal_preview import removal_preview
from synthetic_ls.ops.review import diff_construct, review_construct
from synthetic_ls.ops.services import service_logs_tail, services_status
from synthetic_ls.ops.templates import list_templates
from tests.gitrepo import GIT_ENV, commit_file, git, make_repo
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    recorded_groups,
    svc,
)
from tests.result_schemas import assert_matches

API = svc("ready", ports='[{ name: "http" }]', readyPattern='"listening on \\\\d+"',
          readyTimeoutMs="30000")


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))


def test_every_result_a_face_reads_matches_its_schema(
    tmp_path: Path, groups: list[int]
) -> None:
    repo = make_service_repo(
        tmp_path, config(f"api: {API}", 'prompts: ["docs/*.md"],'),
        {"docs/guide.md": "Be brief.\n"},
    )
    store = Store.open(repo)
    assert_matches("templates", list_templates(repo))
    assert_matches("prompt-preview", preview_prompts(store, "t"))

    # A construct with a running service, a commit and uncommitted work.
    made = assert_matches("construct-create", create_construct(store, CreateOptions(name="Web")))
    groups.extend(recorded_groups(repo))
    cid, worktree = made["id"], Path(made["workspace_path"])
    assert made["services"] and made["ports"]
    assert_matches("construct-list", list_constructs(store))
    shown = assert_matches("construct-show", show_construct(store, cid))
    assert shown["services"][0]["ports"][0]["url"].startswith("http://127.0.0.1:")
    assert_matches("construct-edit", edit_construct(store, EditOptions(ref=cid, name="Web 1")))
    assert_matches("services-status", services_status(store, cid))
    assert_matches("services-status", services_status(store))
    assert_matches("service-logs", service_logs_tail(store, cid, "api"))
    assert_matches("ports", list_ports(store))
    assert_matches("prompt-build", build_prompts(store, cid))

    commit_file(worktree, "src/app.py", "print('hi')\n", "add the app")
    (worktree / "notes.txt").write_text("work in progress\n")
    assert_matches("diff", diff_construct(store, cid))
    patched = assert_matches("diff", diff_construct(store, cid, patch=True))
    assert "src/app.py" in patched["patch"]
    assert_matches("file-version", file_version(store, cid, "src/app.py", at="head"))
    assert_matches("file-version", file_version(store, cid, "src/app.py", at="base"))
    preview = assert_matches("removal-preview", removal_preview(store, cid))
    assert preview["force_required"] is True
    assert any("?? notes.txt" in w["items"] for w in preview["loses"])
    assert preview["branch"]["unmerged"] and preview["services"] == ["api"]
    assert_matches("discard-preview", discard_preview(store, cid))
    assert_matches("commit-result", commit_construct(store, cid, "notes"))
    assert_matches("construct-edit", review_construct(store, cid))
    assert_matches("land-plan", check_land(store, LandOptions(ref=cid, strategy="squash")))
    landed = assert_matches(
        "land-result", land_construct(store, LandOptions(ref=cid, strategy="merge", remove=True))
    )
    assert landed["removed"] is not None

    # Removal keeps a branch with unmerged commits, and says so in `kept`.
    kept = create_construct(store, CreateOptions(name="Idea", template_id="bare")).to_dict()
    commit_file(Path(kept["workspace_path"]), "idea.md", "idea\n", "an idea")
    clean = assert_matches("removal-preview", removal_preview(store, kept["id"]))
    assert clean["force_required"] is False and clean["branch"]["without_force"] == "kept"
    removed = assert_matches(
        "remove-result", remove_construct(store, RemoveOptions(ref=kept["id"]))
    )
    assert [(k["what"], k["name"]) for k in removed["kept"]] == [("branch", kept["branch"])]

    dropped = create_construct(store, CreateOptions(name="Drop", template_id="bare")).to_dict()
    commit_file(Path(dropped["workspace_path"]), "drop.md", "drop\n", "to drop")
    assert_matches("discard-result", discard_construct(store, dropped["id"]))

    # The kept branch holds work (advice only); a left-over one has a safe fix.
    git(repo, "branch", "synthetic/left-over-x7k2p9")
    report = assert_matches("doctor-report", run_doctor(store))
    assert {f["subject"]["ref"] for f in report["findings"]} >= {kept["branch"]}
    (finding,) = [f for f in report["findings"] if f["fixable"]]
    assert_matches("doctor-finding", apply_fix(store, finding["id"]))

    bare = make_repo(tmp_path / "fresh")
    assert_matches("config-init", write_starter(cwd=bare))
