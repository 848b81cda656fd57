"""Groups of attempts (``new --attempts/--model``), against real git, the real ``opencode
serve`` and the offline model: created whole, undone whole, recovered after ``kill -9``,
and picked with ``land --discard-others``."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from synthetic_ls.opencode.offline_model import OfflineModelServer
from tests.gitrepo import git, make_repo, trust
from tests.integration.services_helpers import PY, env, synthetic, wait_until
from tests.opencode.conftest import OpenCodeServer
from tests.opencode.fault_proxy import Rule, fault_proxy
from tests.result_schemas import assert_matches

TASK = "Write the changelog"


def config(marks: Path) -> str:
    """Template ``t``: an agent; ``flaky``: its setup fails in the second attempt only (the
    first one leaves a mark); ``slow``: the second attempt's setup says so, then sleeps;
    ``hangs``: the first teardown says so, then sleeps."""
    once = f"test -e {marks}/first && exit 7; touch {marks}/first"
    slow = f"test -e {marks}/first && (touch {marks}/slow; sleep 60); touch {marks}/first"
    # The first teardown (a discard's) says so and hangs; any later one returns at once.
    hang = f"test -e {marks}/teardown && exit 0; touch {marks}/teardown; sleep 60"
    return f"""export default {{
  defaults: {{ templateId: "t" }},
  templates: {{
    t: {{ label: "Agent", agent: {{ providerId: "offline", modelId: "echo" }} }},
    flaky: {{ label: "Flaky", agent: {{ providerId: "offline", modelId: "echo" }},
             setup: ["{once}"] }},
    slow: {{ label: "Slow", agent: {{ providerId: "offline", modelId: "echo" }},
            setup: ["{slow}"] }},
    hangs: {{ label: "Hangs", agent: {{ providerId: "offline", modelId: "echo" }},
             teardown: ["{hang}"] }},
  }},
}};
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = make_repo(tmp_path / "app", {"synthetic.config.ts": config(marks),
                                         "README.md": "hi\n"})
    trust(path)
    return path


@pytest.fixture
def served(
    opencode_server: OpenCodeServer, opencode_bin: str, monkeypatch: pytest.MonkeyPatch
) -> OpenCodeServer:
    monkeypatch.setenv("SYNTHETIC_OPENCODE_BIN", opencode_bin)
    return opencode_server


def run(repo: Path, tmp_path: Path, served: OpenCodeServer, *argv: str,
        code: int | None = 0) -> subprocess.CompletedProcess[str]:
    proc = synthetic(repo, tmp_path, *argv, extra_env=_server_env(served))
    if code is not None:
        assert proc.returncode == code, (proc.stdout, proc.stderr)
    return proc


def _server_env(served: OpenCodeServer) -> dict[str, str]:
    return {"SYNTHETIC_OPENCODE_URL": served.url,
            "SYNTHETIC_OPENCODE_PASSWORD": served.password,
            "SYNTHETIC_OPENCODE_BIN": os.environ.get("SYNTHETIC_OPENCODE_BIN", "")}


def as_json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def user_texts(served: OpenCodeServer, sid: str, directory: str) -> list[str]:
    with served.client() as client:
        return [m.text for m in client.messages(sid, directory=directory) if m.role == "user"]


def sessions_in(served: OpenCodeServer, directory: str) -> list[str]:
    with served.client() as client:
        return [s.id for s in client.list_sessions(directory=directory)
                if s.directory == directory]


def nothing_left(repo: Path, tmp_path: Path, served: OpenCodeServer,
                 folders: list[str]) -> None:
    """No record of any kind, no worktree, no branch but main, no session in ``folders``."""
    state = repo / ".git" / "synthetic"
    for kind in ("constructs", "groups", "port_allocations", "services", "prompt_bundles"):
        folder = state / kind
        assert not folder.is_dir() or list(folder.iterdir()) == [], kind
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    trees = tmp_path / "wt"
    assert not trees.exists() or list(trees.iterdir()) == []
    for folder in folders:
        assert sessions_in(served, folder) == [], folder


def test_a_group_of_three_each_with_its_own_worktree_and_session_got_the_prompt(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    group = as_json(run(repo, tmp_path, served, "new", TASK, "--attempts", "3", "--json"))
    members = group["members"]
    assert len(members) == 3 and group["operation"] is None and group["prompt"] == TASK
    assert len({m["workspace_path"] for m in members}) == 3
    assert len({m["branch"] for m in members}) == 3
    assert len({m["opencode_session_id"] for m in members}) == 3
    for m in members:
        assert m["status"] in ("active", "ready") and Path(m["workspace_path"]).is_dir()
        # Each agent was sent the task: its first user message, as OpenCode stored it.
        wait_until(lambda m=m: TASK in user_texts(served, m["opencode_session_id"],
                                                  m["workspace_path"]),
                   what="the prompt in the session")
    listed = as_json(run(repo, tmp_path, served, "ls", "--json"))
    groups = {c["id"]: c.get("group_id") for c in listed["constructs"]}
    assert groups == {m["id"]: group["id"] for m in members}
    shown = as_json(run(repo, tmp_path, served, "group", "show", group["id"], "--json"))
    assert [m["id"] for m in shown["members"]] == [m["id"] for m in members]
    text = run(repo, tmp_path, served, "group", "ls").stdout
    assert group["id"] in text and TASK in text
    table = run(repo, tmp_path, served, "ls").stdout
    assert "GROUP" in table.splitlines()[0] and table.count(group["id"]) == 3
    # Without a terminal, removal wants --yes and changes nothing.
    refused = run(repo, tmp_path, served, "group", "rm", group["id"], code=None)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert len(as_json(run(repo, tmp_path, served, "ls", "--json"))["constructs"]) == 3
    run(repo, tmp_path, served, "group", "rm", group["id"], "--yes")
    nothing_left(repo, tmp_path, served, [m["workspace_path"] for m in members])


def test_one_attempt_per_model_and_the_model_receives_each(
    repo: Path, tmp_path: Path, served: OpenCodeServer, offline_model: OfflineModelServer,
) -> None:
    group = as_json(run(repo, tmp_path, served, "new", "Tell the models apart", "--model",
                        "offline/echo", "--model", "offline/echo-b", "--json"))
    assert group["models"] == ["offline/echo", "offline/echo-b"]
    members = group["members"]
    assert [m["model"] for m in members] == ["offline/echo", "offline/echo-b"]
    with served.client() as client:
        for m, model in zip(members, ("echo", "echo-b"), strict=True):
            session = client.get_session(m["opencode_session_id"])
            assert (session.provider_id, session.model_id) == ("offline", model)

    def answered_by(model: str) -> bool:
        return any(r.get("model") == model and "Tell the models apart" in json.dumps(r)
                   for r in offline_model.requests)

    wait_until(lambda: answered_by("echo") and answered_by("echo-b"), what="both models")
    run(repo, tmp_path, served, "group", "rm", group["id"], "--yes", "--force")


def test_bad_model_or_counts_are_refused_with_nothing_written(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    bad = run(repo, tmp_path, served, "new", TASK, "--model", "offline/gpt-9", "--json",
              code=None)
    assert json.loads(bad.stderr.splitlines()[-1])["error"]["code"] == "model-not-found"
    few = run(repo, tmp_path, served, "new", TASK, "--attempts", "1", "--model", "offline/echo",
              "--model", "offline/echo-b", code=None)
    assert few.returncode != 0 and "at least 2" in few.stderr
    form = run(repo, tmp_path, served, "new", TASK, "--model", "echo", code=None)
    assert form.returncode != 0 and "PROVIDER/MODEL" in form.stderr
    nothing_left(repo, tmp_path, served, [])


def test_the_second_attempt_failing_undoes_the_first_and_the_group(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    proc = run(repo, tmp_path, served, "new", TASK, "--attempts", "3", "-t", "flaky",
               "--json", code=None)
    assert proc.returncode != 0
    err = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert err["attempt"] == 2 and "attempt 2 of 3 failed" in err["message"]
    assert any("removed" in note for note in err["group_rolled_back"])
    first = tmp_path / "wt"
    nothing_left(repo, tmp_path, served, [str(p) for p in first.glob("*")])


def test_a_prompt_that_cannot_be_sent_undoes_every_attempt(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    with fault_proxy(served.url) as proxy:
        # The second prompt fails; every attempt was made by then.
        proxy.rules.append(Rule(r"^POST /session/ses_\w+/prompt_async", times=1))
        proxy.rules.append(Rule(r"^POST /session/ses_\w+/prompt_async", status=500,
                                body=b'{"name":"UnknownError","data":{"message":"no room"}}'))
        proc = synthetic(repo, tmp_path, "new", TASK, "--attempts", "3", "--json",
                         extra_env={**_server_env(served), "SYNTHETIC_OPENCODE_URL": proxy.url})
    assert proc.returncode != 0
    err = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert err["message"].startswith("sending the prompt failed") and "no room" in (
        err["message"])
    assert err["attempt"] is None and len(err["group_rolled_back"]) == 3
    nothing_left(repo, tmp_path, served, [str(p) for p in (tmp_path / "wt").glob("*")])


def test_kill_9_mid_group_then_doctor_fix_leaves_nothing(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    marks = tmp_path / "marks"
    proc = subprocess.Popen(
        [PY, "-m", "synthetic_ls", "new", TASK, "--attempts", "3", "-t", "slow"],
        cwd=repo, env=env(tmp_path, **_server_env(served)), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # The first attempt is made (worktree, session); the second is in its setup.
        wait_until(lambda: (marks / "slow").exists(), timeout=90, what="the second setup")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    made = [str(p) for p in (tmp_path / "wt").glob("*")]
    assert len(made) == 2
    doctor = run(repo, tmp_path, served, "doctor", "--json", code=None)
    kinds = {(f["kind"], f["subject"]["type"]) for f in as_json(doctor)["findings"]}
    assert ("interrupted-operation", "group") in kinds
    listed = as_json(run(repo, tmp_path, served, "group", "ls", "--json"))
    assert listed["groups"][0]["operation"] == "create (interrupted)"
    run(repo, tmp_path, served, "doctor", "--fix", code=None)
    nothing_left(repo, tmp_path, served, made)
    assert as_json(run(repo, tmp_path, served, "doctor", "--json", code=None))["findings"] == []


def test_land_discard_others_keeps_the_chosen_attempt_and_discards_the_rest(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    group = as_json(run(repo, tmp_path, served, "new", TASK, "--attempts", "3", "--json"))
    members = group["members"]
    for number, m in enumerate(members, start=1):
        Path(m["workspace_path"], f"attempt{number}.txt").write_text(f"{number}\n")
        run(repo, tmp_path, served, "commit", m["id"], "-m", f"attempt {number}")
    chosen, others = members[1], [members[0], members[2]]
    # Without a terminal it says what would be lost and wants --yes; nothing changes.
    refused = run(repo, tmp_path, served, "land", chosen["id"], "--discard-others", code=None)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert all(o["id"] in refused.stderr for o in others)
    assert "attempt 1" in refused.stderr and "attempt 3" in refused.stderr
    assert git(repo, "log", "--format=%s", "-1") != "attempt 2"
    landed = as_json(run(repo, tmp_path, served, "land", chosen["id"], "--discard-others",
                         "--yes", "--json"))
    assert landed["landed"]["construct"]["id"] == chosen["id"]
    assert sorted(d["removed"] for d in landed["discarded"]) == sorted(o["id"] for o in others)
    assert (repo / "attempt2.txt").read_text() == "2\n"
    assert not (repo / "attempt1.txt").exists() and not (repo / "attempt3.txt").exists()
    ids = [c["id"] for c in as_json(run(repo, tmp_path, served, "ls", "--json"))["constructs"]]
    assert ids == [chosen["id"]]
    for o in others:
        assert not Path(o["workspace_path"]).exists()
        assert sessions_in(served, o["workspace_path"]) == []
    assert as_json(run(repo, tmp_path, served, "group", "ls", "--json"))["groups"] == []


def test_kill_9_between_the_landing_and_the_discards_then_doctor_fix_finishes_the_pick(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    marks = tmp_path / "marks"
    group = as_json(run(repo, tmp_path, served, "new", TASK, "--attempts", "3", "-t", "hangs",
                        "--json"))
    members = group["members"]
    kept = members[0]
    Path(kept["workspace_path"], "kept.txt").write_text("kept\n")
    run(repo, tmp_path, served, "commit", kept["id"], "-m", "the kept attempt")
    proc = subprocess.Popen(
        [PY, "-m", "synthetic_ls", "land", kept["id"], "--discard-others", "--yes"],
        cwd=repo, env=env(tmp_path, **_server_env(served)), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        # Landed; the first discard is in its teardown.
        wait_until(lambda: (marks / "teardown").exists(), timeout=90, what="the teardown")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (repo / "kept.txt").read_text() == "kept\n"
    shown = as_json(run(repo, tmp_path, served, "group", "show", group["id"], "--json"))
    assert shown["operation"] == "pick (interrupted)"
    run(repo, tmp_path, served, "doctor", "--fix", code=None)
    ids = [c["id"] for c in as_json(run(repo, tmp_path, served, "ls", "--json"))["constructs"]]
    assert ids == [kept["id"]]
    assert as_json(run(repo, tmp_path, served, "group", "ls", "--json"))["groups"] == []
    for other in members[1:]:
        assert not Path(other["workspace_path"]).exists()
        assert sessions_in(served, other["workspace_path"]) == []
    assert Path(kept["workspace_path"]).is_dir()


def _on_a_terminal(repo: Path, tmp_path: Path, served: OpenCodeServer, answer: bytes,
                   *argv: str) -> tuple[int, str]:
    """Run the CLI with a terminal for stdin and stderr; answer its question."""
    main, child = pty.openpty()
    proc = subprocess.Popen([PY, "-m", "synthetic_ls", *argv], cwd=repo,
                            env=env(tmp_path, **_server_env(served)), stdin=child,
                            stdout=subprocess.PIPE, stderr=child)
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen:
        assert time.monotonic() < deadline, seen
        if select.select([main], [], [], 1.0)[0]:
            seen += os.read(main, 4096)
    os.write(main, answer)
    out, _ = proc.communicate(timeout=120)
    try:
        while select.select([main], [], [], 0.2)[0]:
            seen += os.read(main, 4096)
    except OSError:
        pass
    os.close(main)
    return proc.returncode, seen.decode(errors="replace") + out.decode()


def test_on_a_terminal_land_discard_others_lists_the_losses_and_asks(
    repo: Path, tmp_path: Path, served: OpenCodeServer,
) -> None:
    group = as_json(run(repo, tmp_path, served, "new", TASK, "--attempts", "2", "--json"))
    first, second = group["members"]
    Path(first["workspace_path"], "one.txt").write_text("1\n")
    run(repo, tmp_path, served, "commit", first["id"], "-m", "the first")
    Path(second["workspace_path"], "two.txt").write_text("2\n")  # left uncommitted
    code, shown = _on_a_terminal(repo, tmp_path, served, b"n\n",
                                 "land", first["id"], "--discard-others")
    assert code != 0 and "Nothing landed or discarded" in shown
    assert second["id"] in shown and "uncommitted" in shown and "two.txt" in shown
    assert not (repo / "one.txt").exists() and Path(second["workspace_path"]).is_dir()
    code, shown = _on_a_terminal(repo, tmp_path, served, b"y\n",
                                 "land", first["id"], "--discard-others")
    assert code == 0 and f"Discarded {second['id']}" in shown, shown
    assert (repo / "one.txt").read_text() == "1\n"
    assert not Path(second["workspace_path"]).exists()


def test_the_group_operations_called_directly(
    repo: Path, tmp_path: Path, served: OpenCodeServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from state_format.store import Store
    from synthetic_ls.errors import SyntheticError
    from synthetic_ls.ops.commit_work import commit_construct
    from synthetic_ls.ops.groups import (
        GroupOptions,
        create_group,
        list_groups,
        remove_group,
        show_group,
    )
    from synthetic_ls.ops.landing import LandOptions
    from synthetic_ls.ops.pick import pick_attempt, pick_preview

    for key, value in {**_server_env(served), "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "wt")
                       }.items():
        monkeypatch.setenv(key, value)
    store = Store.open(repo)
    steps: list[str] = []
    made = create_group(store, GroupOptions(task=TASK, attempts=2),
                        progress=lambda _n, _t, title: steps.append(title))
    assert_matches("group", made)
    assert any(s.startswith("attempt 2/2: ") for s in steps)
    assert [g.group.id for g in list_groups(store).views] == [made.group.id]
    assert_matches("group-list", list_groups(store))
    ids = [cid for cid, _c in show_group(store, made.group.id).members]
    preview = pick_preview(store, ids[0])
    assert [o.construct.id for o in preview.others] == [ids[1]]
    # A landing that fails discards nothing.
    with pytest.raises(SyntheticError) as nothing:
        pick_attempt(store, LandOptions(ref=ids[0]))
    assert nothing.value.code == "nothing-to-land"
    assert [cid for cid, c in show_group(store, made.group.id).members if c] == ids
    Path(tmp_path / "wt").joinpath(ids[0], "work.txt").write_text("kept\n")
    commit_construct(store, ids[0], message="the kept attempt")
    assert_matches("pick-preview", pick_preview(store, ids[0]))
    picked = pick_attempt(store, LandOptions(ref=ids[0]))
    assert_matches("pick-result", picked)
    assert [d.preview.construct.id for d in picked.discarded] == [ids[1]]
    assert list_groups(store).views == []
    other = create_group(store, GroupOptions(task="Another", attempts=1))
    member = other.members[0][0]
    Path(tmp_path / "wt").joinpath(member, "work.txt").write_text("unsaved\n")
    with pytest.raises(SyntheticError) as refused:
        remove_group(store, other.group.id)
    assert refused.value.code == "conflict" and member in str(refused.value)
    removed = remove_group(store, other.group.id, force=True)
    assert_matches("group-removed", removed)
    assert removed.members == [member] and list_groups(store).views == []
