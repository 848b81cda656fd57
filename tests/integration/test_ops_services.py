"""Services, ports and prompt bundles, called at the ops level.

A real process service (``svc.py ready``: an HTTP server on its allocated
port) in a real worktree; each op's result is checked with the records it
leaves (service records, pids, journals cleared), the processes (their
groups alive or gone) and, for a refusal, its code with nothing changed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from state_format.records import Construct, PromptBundle, Service
from state_format.store import Store
from state_format.timefmt import utc_now
from synthetic_ls.ops.constructs import (
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
)
from synthetic_ls.ops.doctor import run_doctor
from synthetic_ls.ops.ports import list_ports
from synthetic_ls.ops.prompts import build_prompts, preview_prompts
from synthetic_ls.ops.recovery import recover
from synthetic_ls.ops.services import (
    restart_services,
    resume_services,
    service_logs_tail,
    services_status,
    start_services,
    stop_services,
)
from synthetic_ls.provision.context import Context
from synthetic_ls.runtime.groups import group_alive
from tests.integration.ops_helpers import leave_journal, refused, snapshot
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the fixture)
    make_service_repo,
    svc,
    wait_until,
)

READY = svc("ready", ports='[{ name: "http" }]', readyPattern='"listening on \\\\d+"',
            readyTimeoutMs="30000")
PROMPTS = 'prompts: ["docs/brief.md"],'


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    repo = make_service_repo(
        tmp_path, config(f"api: {READY}", PROMPTS),
        {"docs/brief.md": "Work on ${constructName} at ${services.api.url}.\n"},
    )
    return Store.open(repo)


def pid_of(store: Store, cid: str) -> int:
    (record,) = [s for s in store.list(Service).records if s.construct_id == cid]
    assert record.pid is not None
    return record.pid


def state(store: Store, cid: str) -> list[tuple[str, str]]:
    return [(s["name"], s["state"]) for s in services_status(store, cid).to_dict()["services"]]


def no_journal(store: Store, cid: str) -> None:
    assert store.get_construct(cid).journal is None


def test_stop_start_restart_status_ports_and_logs(store: Store, groups: list[int]) -> None:
    made = create_construct(store, CreateOptions(name="Web"))
    cid = made.construct.id
    first = pid_of(store, cid)
    groups.append(first)
    assert state(store, cid) == [("api", "ready")]
    (port,) = [p["port"] for p in made.to_dict()["ports"]]
    listed = list_ports(store, cid).to_dict()["ports"]
    assert [(p["construct_id"], p["construct_name"], p["port"], p["in_use"]) for p in listed] == [
        (cid, "Web", port, True)]
    assert list_ports(store).to_dict()["ports"] == listed
    assert any("listening on" in line for line in service_logs_tail(store, cid).lines)

    stopped = stop_services(store, cid)
    assert [v.record.name for v in stopped.services] == ["api"]
    assert state(store, cid) == [("api", "stopped")] and not group_alive(first)
    assert list_ports(store, cid).to_dict()["ports"][0]["in_use"] is False
    no_journal(store, cid)

    started = start_services(store, cid).to_dict()
    second = pid_of(store, cid)
    groups.append(second)
    assert started["services"][0]["state"] == "ready" and second != first
    assert started["services"][0]["ports"][0]["port"] == port  # the allocation stays
    assert "started service api" in started["notes"]
    again = start_services(store, cid, "api").to_dict()
    assert again["notes"] == ["service api is already running"] and pid_of(store, cid) == second

    restarted = restart_services(store, cid, "api").to_dict()
    third = pid_of(store, cid)
    groups.append(third)
    assert restarted["services"][0]["state"] == "ready" and third != second
    assert not group_alive(second) and group_alive(third)
    no_journal(store, cid)

    before = snapshot(store)
    for op in (start_services, stop_services, restart_services):
        with refused("unknown-service"):
            op(store, cid, "nope")
    assert snapshot(store) == before and group_alive(third)
    with refused("record-not-found"):
        services_status(store, "nothing-like-it")

    remove_construct(store, RemoveOptions(ref=cid, force=True))
    assert not group_alive(third)
    assert store.list(Service).records == [] and list_ports(store).to_dict()["ports"] == []


def test_resume_restarts_what_died_on_the_same_port(store: Store, groups: list[int]) -> None:
    made = create_construct(store, CreateOptions(name="Web"))
    cid = made.construct.id
    first = pid_of(store, cid)
    groups.append(first)
    port = made.to_dict()["ports"][0]["port"]
    os.killpg(first, signal.SIGKILL)  # a crash, or a reboot
    wait_until(lambda: not group_alive(first), what="the killed group to go")
    assert state(store, cid) == [("api", "needs_resume")]
    resumed = resume_services(store).to_dict()
    second = pid_of(store, cid)
    groups.append(second)
    assert resumed["services"][0]["state"] == "ready" and second != first
    assert resumed["services"][0]["ports"][0]["port"] == port
    no_journal(store, cid)
    assert resume_services(store, cid).to_dict()["services"][0]["pid"] == second  # nothing to do
    remove_construct(store, RemoveOptions(ref=cid, force=True))


def test_services_need_a_worktree(store: Store) -> None:
    cid = create_construct(store, CreateOptions(name="bare", worktree=False)).construct.id
    before = snapshot(store)
    for op in (start_services, restart_services, stop_services):
        with refused("no-worktree"):
            op(store, cid)
    with refused("no-worktree"):
        build_prompts(store, cid)
    assert snapshot(store) == before


def test_prompts_build_replaces_the_bundle_and_preview_writes_nothing(
    store: Store, groups: list[int]
) -> None:
    repo = store.repo.worktree
    preview = preview_prompts(store).to_dict()
    assert preview["template_id"] == "t"
    assert "<url of api>." in preview["content"] and "Work on " in preview["content"]
    assert store.list(PromptBundle).records == []
    with refused("unknown-template"):
        preview_prompts(store, "nope")

    made = create_construct(store, CreateOptions(name="Web"))
    cid = made.construct.id
    groups.append(pid_of(store, cid))
    (old,) = store.list(PromptBundle).records
    port = made.to_dict()["ports"][0]["port"]
    (repo / "docs/brief.md").write_text("Now: ${constructName} on ${services.api.port}.\n")
    built = build_prompts(store, cid)
    data = built.to_dict()
    assert data["construct"] == cid and data["delivered"] is False
    assert f"Now: Web on {port}." in data["content"]
    (record,) = store.list(PromptBundle).records  # replaced, not added
    assert record.id == data["bundle_id"] != old.id and record.content == data["content"]
    no_journal(store, cid)

    (repo / "docs/brief.md").write_text("Unknown ${nope.at.all}\n")
    before = snapshot(store)
    with refused("prompt-error") as error:
        build_prompts(store, cid)
    assert error.value.fields["file"].endswith("docs/brief.md")
    assert snapshot(store) == before
    assert [b.id for b in store.list(PromptBundle).records] == [record.id]
    assert store.get_construct(cid).status.value == "ready"
    remove_construct(store, RemoveOptions(ref=cid, force=True))
    assert store.list(PromptBundle).records == []
    assert store.list(Construct).records == []


def test_interrupted_services_changes_and_prompt_rebuilds_are_settled(
    store: Store, groups: list[int]
) -> None:
    """A journal left by a killed services change or rebuild: recovery settles it."""
    made = create_construct(store, CreateOptions(name="Web"))
    cid = made.construct.id
    first = pid_of(store, cid)
    groups.append(first)
    # A start that had launched api when its process died: undone (never finished).
    leave_journal(store, cid, "services-start", ["ports", "service:api"], services="api")
    recovery = recover(Context(store), store.get_construct(cid))
    assert recovery is not None and recovery.op == "services-start"
    assert not group_alive(first) and state(store, cid) == [("api", "stopped")]
    no_journal(store, cid)
    # The next change of the construct settles a journal before it runs.
    start_services(store, cid)
    second = pid_of(store, cid)
    groups.append(second)
    leave_journal(store, cid, "services-stop", [], services="api")
    stopped = stop_services(store, cid)  # settles the stop, then stops (nothing left)
    assert not group_alive(second) and [v.state for v in stopped.services] == ["stopped"]
    no_journal(store, cid)

    # A rebuild killed between writing the new bundle and deleting the old one.
    (old,) = store.list(PromptBundle).records
    newer = store.create(old.model_copy(
        update={"id": store.new_id(PromptBundle, cid), "created_at": utc_now()}))
    leave_journal(store, cid, "prompts-build", ["bundle"])
    report = run_doctor(store, fix=True).to_dict()
    assert [(f["kind"], f["fixed"]) for f in report["findings"]] == [
        ("interrupted-operation", True)]
    assert [b.id for b in store.list(PromptBundle).records] == [newer.id]
    no_journal(store, cid)
    remove_construct(store, RemoveOptions(ref=cid, force=True))
