"""Services: real processes in real worktrees, started by ``new``, stopped by ``rm``.

Ready detection, a timeout, an early exit, a child that ignores SIGTERM, a
reused pid, resume after the process is gone, teardown, env resolution, logs
capped in size, and ``--dry-run`` running nothing. Every test checks that no
process of a service group survives it (the ``groups`` fixture).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from state_format.owner import Owner, start_time
from state_format.records import Construct, PortAllocation, Service
from state_format.store import Store
from synthetic_ls.errors import SyntheticError
from synthetic_ls.ops.constructs import (
    CreateOptions,
    RemoveOptions,
    create_construct,
    remove_construct,
    show_construct,
)
from synthetic_ls.ops.services import (
    restart_services,
    resume_services,
    service_logs_tail,
    services_status,
    start_services,
    stop_services,
)
from synthetic_ls.runtime import service_logs, service_process
from synthetic_ls.runtime.groups import end_group, group_alive
from tests.gitrepo import GIT_ENV
from tests.integration.services_helpers import (
    PY,
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    recorded_groups,
    svc,
    synthetic,
    wait_until,
)
from tests.integration.services_helpers import env as helper_env


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    monkeypatch.setenv("MARKER_DIR", str(tmp_path / "markers"))
    (tmp_path / "markers").mkdir()


def _get(port: int) -> dict[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        data: dict[str, str] = json.loads(answer.read())
        return data


READY = svc("ready", ports='[{ name: "http" }]', readyPattern='"listening on \\\\d+"',
            readyTimeoutMs="30000", setup='["echo service-setup >> $MARKER_DIR/order"]',
            env='{ DATABASE_URL: "postgres://127.0.0.1:${env.API_PORT}/db", '
                'TOKEN: process.env.SVC_TEST_TOKEN ?? "fallback", HERE: "${constructDir}" }')

TEMPLATE_EXTRA = (
    'env: { GREETING: "hello" },\n'
    '      setup: ["echo template-setup >> $MARKER_DIR/order"],\n'
    '      teardown: ["echo teardown $SYNTHETIC_CONSTRUCT_ID >> $MARKER_DIR/order"],'
)


def test_new_starts_the_service_and_rm_stops_it(tmp_path: Path, groups: list[int]) -> None:
    repo = make_service_repo(tmp_path, config(f"api: {READY}", TEMPLATE_EXTRA))
    store = Store.open(repo)
    result = create_construct(store, CreateOptions(name="Web one"))
    cid = result.construct.id
    groups.extend(recorded_groups(repo))
    out = result.to_dict()
    assert [s["state"] for s in out["services"]] == ["ready"]
    port = out["ports"][0]["port"]
    assert out["ports"][0]["env"] == "API_PORT"

    seen = _get(port)  # the real server answers on the allocated port
    assert seen["PORT"] == seen["API_PORT"] == str(port)
    assert seen["GREETING"] == "hello"
    assert seen["TOKEN"] == "fallback"
    assert seen["DATABASE_URL"] == f"postgres://127.0.0.1:{port}/db"
    assert seen["HERE"] == result.construct.workspace_path
    assert seen["SYNTHETIC_CONSTRUCT_ID"] == cid
    order = (tmp_path / "markers" / "order").read_text().split()
    assert order == ["template-setup", "service-setup"]

    record = store.list(Service).records[0]
    assert record.pid is not None and record.start == start_time(record.pid)
    assert record.status == "ready"
    status = services_status(store, cid).to_dict()["services"][0]
    assert status["state"] == "ready"
    assert status["ports"][0]["url"] == f"http://127.0.0.1:{port}"
    assert "listening on" in "\n".join(service_logs_tail(store, cid).lines)
    shown = show_construct(store, cid).to_dict()
    assert [(s["name"], s["state"]) for s in shown["services"]] == [("api", "ready")]
    assert [p["port"] for p in shown["ports"]] == [port]

    removed = remove_construct(store, RemoveOptions(ref=cid, force=True))
    assert "stopped service api" in removed.notes
    assert not group_alive(record.pid)
    assert (tmp_path / "markers" / "order").read_text().split()[-2:] == ["teardown", cid]
    assert store.list(Service).records == []
    assert store.list(PortAllocation).records == []
    assert not service_logs.log_path(store.root, record.id).exists()


def test_ready_timeout_rolls_back_and_quotes_the_log(tmp_path: Path, groups: list[int]) -> None:
    silent = svc("silent", readyPattern='"never printed"', readyTimeoutMs="1500",
                 setup='["echo preparing the silent one"]')
    repo = make_service_repo(tmp_path, config(f"quiet: {silent}"))
    store = Store.open(repo)
    with pytest.raises(SyntheticError) as caught:
        create_construct(store, CreateOptions(name="Quiet"))
    err = caught.value
    assert err.code == "service-timeout"
    assert "within 1.5 s" in str(err) and "preparing the silent one" in str(err)
    # The wait was for a service that had started (the log quotes its launch),
    # and that the rollback then stopped: it timed out, it did not fail to start.
    assert "svc.py silent" in str(err) and "stopped service quiet" in str(err)
    assert err.fields["step"] == "starting services"
    # Nothing is left: no record, no service, no port, no process.
    assert store.list(Construct).records == []
    assert store.list(Service).records == []
    for pgid in _pythons_running(str(tmp_path)):
        groups.append(pgid)


def _pythons_running(needle: str) -> list[int]:
    """Process groups of running processes whose command line holds ``needle``.

    Tests pass their own tmp_path (the worktree's svc.py is under it), so a
    parallel test's services are never taken for this one's.
    """
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if needle in cmdline and start_time(int(entry.name)) is not None:
                out.append(os.getpgid(int(entry.name)))
        except (OSError, ProcessLookupError):
            continue
    return out


def test_early_exit_fails_with_the_last_lines(tmp_path: Path, groups: list[int]) -> None:
    crashy = svc("exit", readyPattern='"listening"')
    repo = make_service_repo(tmp_path, config(f"api: {crashy}"))
    store = Store.open(repo)
    with pytest.raises(SyntheticError) as caught:
        create_construct(store, CreateOptions(name="Crashy"))
    assert caught.value.code == "service-exited"
    assert "exited with status 3" in str(caught.value)
    assert "boom: missing DATABASE_URL" in str(caught.value)
    assert store.list(Construct).records == []


def test_stop_ends_a_child_that_ignores_sigterm(
    tmp_path: Path, groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_process, "STOP_GRACE", 1.0)
    stubborn = svc(
        "stubborn", readyPattern='"stubborn ready"', stop='"echo stop-ran >> $MARKER_DIR/stop"'
    )
    repo = make_service_repo(tmp_path, config(f"mule: {stubborn}"))
    store = Store.open(repo)
    cid = create_construct(store, CreateOptions(name="Mule")).construct.id
    record = store.list(Service).records[0]
    assert record.pid is not None
    groups.append(record.pid)
    log = "\n".join(service_logs_tail(store, cid).lines)
    child = int(log.split("child=")[1].split()[0])
    assert os.getpgid(child) == record.pid  # the child is in the service's group
    result = stop_services(store, cid)
    assert not group_alive(record.pid)
    assert start_time(child) is None
    # Both got SIGTERM and went on (their handler noted it): SIGKILL ended them.
    noted = (tmp_path / "markers" / "sigterm").read_text().split()
    assert str(child) in noted and len(noted) == 2
    assert (tmp_path / "markers" / "stop").read_text().strip() == "stop-ran"
    assert result.to_dict()["services"][0]["state"] == "stopped"
    # Starting again works and gives the same port-less service a new process.
    again = start_services(store, cid).to_dict()["services"][0]
    assert again["state"] == "ready" and again["pid"] != record.pid
    groups.append(again["pid"])
    restart = restart_services(store, cid).to_dict()["services"][0]
    groups.append(restart["pid"])
    assert restart["state"] == "ready" and restart["pid"] != again["pid"]
    assert not group_alive(again["pid"])
    remove_construct(store, RemoveOptions(ref=cid, force=True))


def test_a_reused_pid_is_never_taken_for_the_service(tmp_path: Path, groups: list[int]) -> None:
    repo = make_service_repo(tmp_path, config(f"api: {READY}"))
    store = Store.open(repo)
    cid = create_construct(store, CreateOptions(name="Reuse")).construct.id
    record = store.list(Service).records[0]
    assert record.pid is not None
    groups.append(record.pid)
    stop_services(store, cid)
    # An unrelated process, leader of its own group, now "holds" the recorded pid:
    # the record is pointed at it, with the old start time (as after a pid reuse).
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        owner = Owner.of(stranger.pid)
        assert owner.start is not None
        store.update(Service, record.id, lambda _r: {
            "pid": stranger.pid, "start": owner.start - 1, "status": "ready",
        })
        state = services_status(store, cid).to_dict()["services"][0]["state"]
        assert state == "needs_resume"
        stop_services(store, cid)  # must not signal the stranger
        resumed = resume_services(store).to_dict()
        assert resumed["notes"] == [] or all("resumed" not in n for n in resumed["notes"])
        store.update(Service, record.id, lambda _r: {"status": "ready"})
        resumed = resume_services(store)
        assert "resumed service api" in resumed.notes
        new = resumed.to_dict()["services"][0]
        groups.append(new["pid"])
        assert new["state"] == "ready" and new["pid"] != stranger.pid
        assert stranger.poll() is None, "the unrelated process was signalled"
        remove_construct(store, RemoveOptions(ref=cid, force=True))
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_resume_after_the_process_is_gone(tmp_path: Path, groups: list[int]) -> None:
    repo = make_service_repo(tmp_path, config(f"api: {READY}"))
    made = synthetic(repo, tmp_path, "new", "Crash me", "--json")
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    port = json.loads(made.stdout)["ports"][0]["port"]
    pid = json.loads(made.stdout)["services"][0]["pid"]
    groups.append(pid)
    # The service outlived the command that started it.
    assert group_alive(pid) and _get(port)["PORT"] == str(port)
    os.killpg(pid, signal.SIGKILL)  # a crash (or a reboot)
    wait_until(lambda: not group_alive(pid), what="the killed group to go")
    status = synthetic(repo, tmp_path, "services", "status", "--json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["services"][0]["state"] == "needs_resume"
    human = synthetic(repo, tmp_path, "services", "status")
    assert "needs_resume" in human.stdout
    # A table with headers (issue 22, item 4); plain when piped.
    assert human.stdout.split()[:5] == ["CONSTRUCT", "SERVICE", "STATE", "PROCESS", "URL"]
    assert "\x1b" not in human.stdout
    resumed = synthetic(repo, tmp_path, "services", "resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    service = json.loads(resumed.stdout)["services"][0]
    groups.append(service["pid"])
    assert service["state"] == "ready" and service["ports"][0]["port"] == port
    assert _get(port)["PORT"] == str(port)  # the same port again
    ports = json.loads(synthetic(repo, tmp_path, "ports", "--json").stdout)["ports"]
    assert [(p["construct_id"], p["port"], p["in_use"]) for p in ports] == [(cid, port, True)]
    logs = synthetic(repo, tmp_path, "services", "logs", cid, "api")
    assert logs.returncode == 0 and logs.stdout.count("listening on") == 2
    # `logs -f` prints what is there, then what the service writes next.
    followed = tmp_path / "followed.txt"
    with followed.open("w") as out:
        follow = subprocess.Popen(
            [PY, "-m", "synthetic_ls", "services", "logs", "-f", cid], cwd=repo,
            env=helper_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: followed.read_text().count("listening on") == 2, 30, "the tail")
        again = synthetic(repo, tmp_path, "services", "restart", cid, "--json")
        service = json.loads(again.stdout)["services"][0]
        groups.append(service["pid"])
        wait_until(lambda: followed.read_text().count("listening on") == 3, 30, "new output")
    finally:
        follow.send_signal(signal.SIGINT)
        assert follow.wait(timeout=30) == 130
    gone = synthetic(repo, tmp_path, "rm", cid, "--yes", "--force")
    assert gone.returncode == 0, gone.stderr
    assert not group_alive(service["pid"])
    ports = json.loads(synthetic(repo, tmp_path, "ports", "--json").stdout)["ports"]
    assert ports == []


def test_unset_env_without_default_is_a_clear_error(tmp_path: Path, groups: list[int]) -> None:
    needy = svc("ready", env="{ TOKEN: process.env.SVC_TEST_SURELY_UNSET }")
    repo = make_service_repo(tmp_path, config(f"api: {needy}"))
    done = synthetic(repo, tmp_path, "new", "Needy", "--json")
    assert done.returncode == 7, done.stderr
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "env-unset" and error["variable"] == "SVC_TEST_SURELY_UNSET"
    assert "Traceback" not in done.stderr
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
    assert not (tmp_path / "wt").exists()  # refused before anything was made
    # A dry run shows the problem instead of failing.
    planned = synthetic(repo, tmp_path, "new", "Planned", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "problem: service api's env TOKEN is process.env.SVC_TEST_SURELY_UNSET" in planned.stdout
    ok = synthetic(repo, tmp_path, "new", "Needy", "--json",
                   extra_env={"SVC_TEST_SURELY_UNSET": "given"})
    assert ok.returncode == 0, ok.stderr
    groups.extend(recorded_groups(repo))
    assert synthetic(repo, tmp_path, "rm", "Needy", "--yes").returncode == 0


def test_a_cwd_that_leads_outside_the_worktree_is_refused(
    tmp_path: Path, groups: list[int]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sneaky = svc("ready", cwd='"out/.."')
    repo = make_service_repo(tmp_path, config(f"api: {sneaky}"))
    (repo / "out").symlink_to(outside)
    from tests.gitrepo import git, trust

    git(repo, "add", "out")
    git(repo, "commit", "-q", "-m", "link")
    store = Store.open(repo)
    # out/.. is the worktree itself: allowed. "out" itself leads outside.
    cid = create_construct(store, CreateOptions(name="Fine")).construct.id
    groups.extend(recorded_groups(repo))
    remove_construct(store, RemoveOptions(ref=cid, force=True))
    cfg = repo / "synthetic.config.ts"
    cfg.write_text(cfg.read_text().replace('cwd: "out/.."', 'cwd: "out"'))
    git(repo, "commit", "-q", "-am", "cwd out")
    trust(repo)  # the changed service is asked about anew
    with pytest.raises(SyntheticError) as caught:
        create_construct(store, CreateOptions(name="Escape"))
    assert caught.value.code == "cwd-escapes"
    assert store.list(Construct).records == []


def test_dry_run_prints_what_would_run_and_runs_nothing(tmp_path: Path) -> None:
    secret = svc("ready", ports='[{ name: "http", preferred: 3999, env: "WEB_PORT" }]',
                 env='{ API_KEY: "s3cr3t-value" }', cwd='"."')
    repo = make_service_repo(
        tmp_path, config(f"web: {secret}", 'setup: ["touch $MARKER_DIR/setup-ran"],')
    )
    done = synthetic(repo, tmp_path, "new", "Dry", "--dry-run")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "setup: touch $MARKER_DIR/setup-ran" in text
    assert "svc.py ready" in text and "(in .)" in text
    assert "API_KEY" in text and "WEB_PORT" in text and "preferred 3999" in text
    assert "s3cr3t-value" not in text
    plan = json.loads(synthetic(repo, tmp_path, "new", "Dry", "--dry-run", "--json").stdout)
    services = next(p for p in plan["plan"] if p["resource"] == "services")
    assert "s3cr3t-value" not in json.dumps(plan)
    assert services["details"]["services"][0]["env"] == sorted(
        ["API_KEY", "WEB_PORT", "SYNTHETIC_CONSTRUCT_DIR", "SYNTHETIC_CONSTRUCT_ID"]
    )
    assert not (tmp_path / "markers" / "setup-ran").exists()
    assert not (repo / ".git" / "synthetic" / "services").exists()
    assert _pythons_running(str(tmp_path)) == []


def test_the_log_is_capped(
    tmp_path: Path, groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(service_logs.CAP_ENV, "65536")
    chatty = svc("chatty", readyPattern='"chatty ready"')
    repo = make_service_repo(tmp_path, config(f"talk: {chatty}"))
    store = Store.open(repo)
    cid = create_construct(store, CreateOptions(name="Talk")).construct.id
    record = store.list(Service).records[0]
    assert record.pid is not None
    groups.append(record.pid)
    log = service_logs.log_path(store.root, record.id)
    older = service_logs.rotated_path(store.root, record.id)
    assert log.stat().st_size <= 65536 and older.stat().st_size <= 65536
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert service_logs_tail(store, cid, lines=1).lines == ["chatty ready"]
    remove_construct(store, RemoveOptions(ref=cid, force=True))
    assert not older.exists()


def test_template_setup_failure_stops_creation(tmp_path: Path, groups: list[int]) -> None:
    repo = make_service_repo(
        tmp_path, config(f"api: {READY}", 'setup: ["echo cannot install; exit 4"],')
    )
    done = synthetic(repo, tmp_path, "new", "Broken setup", "--json")
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "service-failed"
    assert "exited with status 4" in error["message"] and "cannot install" in error["message"]
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
    assert _pythons_running(str(tmp_path)) == []


def test_a_killed_setup_command_is_said_to_be_killed(tmp_path: Path, groups: list[int]) -> None:
    """Not "exited with status -9": a status it never had."""
    repo = make_service_repo(tmp_path, config(f"api: {READY}", 'setup: ["kill -9 $$"],'))
    done = synthetic(repo, tmp_path, "new", "Killed setup", "--json")
    message = json.loads(done.stderr)["error"]["message"]
    assert "was killed by signal 9 (SIGKILL)" in message and "status -9" not in message


def test_a_creation_killed_while_a_service_starts_is_rolled_back(
    tmp_path: Path, groups: list[int]
) -> None:
    """``kill -9`` of ``synthetic new`` while it waits for a service: recovery ends the
    service's group (journalled before the wait) and undoes the creation."""
    slow = svc("silent", readyPattern='"never"', readyTimeoutMs="120000",
               setup='["touch $MARKER_DIR/setup-done"]')
    repo = make_service_repo(tmp_path, config(f"api: {slow}"))
    proc = subprocess.Popen(
        [PY, "-m", "synthetic_ls", "new", "Killed"], cwd=repo, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=helper_env(tmp_path),
    )
    store = Store.open(repo)
    try:
        wait_until(lambda: any(s.pid for s in store.list(Service).records), 60, "the service")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    pid = store.list(Service).records[0].pid
    assert pid is not None
    groups.append(pid)
    assert group_alive(pid)  # the service outlived its creator
    journal = store.list(Construct).records[0].journal
    assert journal is not None and pid in journal.groups
    fixed = synthetic(repo, tmp_path, "doctor", "--fix", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert not group_alive(pid)
    assert store.list(Construct).records == []
    assert store.list(Service).records == [] and store.list(PortAllocation).records == []


def test_doctor_stops_a_service_whose_construct_is_gone(tmp_path: Path, groups: list[int]) -> None:
    repo = make_service_repo(tmp_path, config(f"api: {READY}"))
    store = Store.open(repo)
    cid = create_construct(store, CreateOptions(name="Orphaned")).construct.id
    record = store.list(Service).records[0]
    assert record.pid is not None
    groups.append(record.pid)
    # A person deletes the construct's record by hand; its service still runs.
    store.path_of(Construct, cid).unlink()
    report = json.loads(synthetic(repo, tmp_path, "doctor", "--json").stdout)
    kinds = sorted(f["kind"] for f in report["findings"])
    assert "orphan-service" in kinds and "orphan-port" in kinds
    assert group_alive(record.pid)  # reading changed nothing
    fixed = synthetic(repo, tmp_path, "doctor", "--fix", "--json")
    assert not group_alive(record.pid)
    assert store.list(Service).records == [] and store.list(PortAllocation).records == []
    assert "stopped service api" in fixed.stdout


def test_after_a_reboot_a_recorded_pid_is_never_signalled(tmp_path: Path) -> None:
    """A record from another boot: its pid now names an unrelated process (here one
    with the very start time recorded), which must be left alone."""
    from synthetic_ls.provision.services import service_state, stop_record

    repo = make_service_repo(tmp_path, config(f"api: {READY}"))
    store = Store.open(repo)
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        now = Owner.of(stranger.pid)
        record = store.create(Service(
            id="c-1-api", construct_id="c-1", name="api", type="process", status="ready",
            pid=stranger.pid, start=now.start, host=now.host, boot="0-another-boot",
            pidns=now.pidns,
        ))
        assert service_state(record) == "needs_resume"
        assert stop_record(store, record, None) == ["stopped service api"]
        assert stranger.poll() is None, "a process of this boot was signalled"
        assert store.get(Service, "c-1-api").status == "stopped"
    finally:
        stranger.kill()
        stranger.wait()


def test_a_cancelled_setup_command_stops_at_once_and_leaves_no_process(tmp_path: Path) -> None:
    """An editor's Cancel during a long setup (npm install ...) does not wait for it."""
    from synthetic_ls.errors import OperationCancelledError

    groups: list[int] = []
    outcome: list[BaseException] = []

    def setup() -> None:
        try:
            service_process.run_commands(
                # Cannot end by itself within the test: only the cancel ends it.
                [f"sleep 600; touch '{tmp_path / 'finished'}'"],
                cwd=tmp_path, env=dict(os.environ), log=tmp_path / "setup.log",
                what="setup", on_start=groups.append,
                cancelled=lambda: bool(groups),  # Cancel, once the command runs
            )
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=setup, daemon=True)
    worker.start()
    try:
        worker.join(60)  # a deadline for the condition "it returned", not a measure
        assert not worker.is_alive(), "run_commands waited for the command instead"
        assert [type(exc) for exc in outcome] == [OperationCancelledError]
        assert len(groups) == 1
        wait_until(lambda: not group_alive(groups[0]), what="the setup command's group to end")
        assert not (tmp_path / "finished").exists()
    finally:
        for group in groups:
            end_group(group, grace=0.2)


def test_worktree_add_says_which_services_it_started(
    tmp_path: Path, groups: list[int]
) -> None:
    """Issue 20, item 25: `worktree add` starts the template's services again and says
    so, as `new` does (it used to say only where the worktree went)."""
    repo = make_service_repo(tmp_path, config(f"api: {READY}", TEMPLATE_EXTRA))
    made = synthetic(repo, tmp_path, "new", "Again", "--json")
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    assert synthetic(repo, tmp_path, "worktree", "rm", cid).returncode == 0
    added = synthetic(repo, tmp_path, "worktree", "add", cid)
    assert added.returncode == 0, added.stderr
    groups.extend(recorded_groups(repo))
    assert "  service:  api ready" in added.stdout, added.stdout
    as_json = json.loads(synthetic(repo, tmp_path, "services", "status", cid, "--json").stdout)
    assert [s["state"] for s in as_json["services"]] == ["ready"]
    assert synthetic(repo, tmp_path, "rm", cid, "--yes", "--force").returncode == 0


def test_a_stop_that_cannot_be_recorded_says_the_service_was_stopped(
    tmp_path: Path, groups: list[int]
) -> None:
    """Issue 20, item 26: with the services folder unwritable, `services stop` stopped
    the service but said "(nothing was changed)". (The immutable flag binds root too.)"""
    repo = make_service_repo(tmp_path, config(f"api: {READY}", TEMPLATE_EXTRA))
    made = synthetic(repo, tmp_path, "new", "Frozen", "--json")
    assert made.returncode == 0, made.stderr
    cid = json.loads(made.stdout)["id"]
    groups.extend(recorded_groups(repo))
    [pid] = recorded_groups(repo)
    folder = repo / ".git" / "synthetic" / "services"
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag (chattr +i)")
    try:
        stopped = synthetic(repo, tmp_path, "services", "stop", cid)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert stopped.returncode == 4, stopped.stderr
    assert "stopped service api, but could not record that" in stopped.stderr
    assert "nothing was changed" not in stopped.stderr
    wait_until(lambda: not group_alive(pid), what="the service to be gone")
    assert synthetic(repo, tmp_path, "rm", cid, "--yes", "--force").returncode == 0
