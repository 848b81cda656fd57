"""Constructs on another machine: ``new --host``, ``ls``, ``show``, ``rm``, ``doctor --fix``.

Against the real sshd of tests/remote/sshd_server.py: the "remote" is a
second clone of the test repository in another folder, with this checkout's
Synthetic on the sessions' PATH. Templates have no agent (no OpenCode) and a
real process service. Every wait polls with a deadline; nothing asserts a
wall-clock bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from state_format.journal import Journal
from state_format.records import RemoteConstruct, Service, utc_now
from state_format.store import Store
from synthetic_ls.consent.gate import TRUST
from synthetic_ls.ops.remote_constructs import (
    RemoteCreateOptions,
    create_remote_construct,
    remove_remote_construct,
    review_remote,
    show_remote,
)
from tests.gitrepo import GIT_ENV, commit_file, git, make_repo
from tests.remote.sshd_server import ALIAS, DOWN, SshServer
from tests.result_schemas import assert_matches

SYNTHETIC = [sys.executable, "-m", "synthetic_ls"]

CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      services: { web: { run: "echo ready; exec sleep 3000", readyPattern: "ready" } },
    },
    slow: {
      setup: ["echo $$ > %(m)s/setup-pid; touch %(m)s/setup-began; exec sleep 3000"],
      services: { web: { run: "echo ready; exec sleep 3000", readyPattern: "ready" } },
    },
  },
};
"""


def wait_for(check: Callable[[], bool], within: float = 60.0) -> None:
    """Poll ``check`` until it holds; fail the test at the deadline."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def synthetic(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the ``synthetic`` command as the person would."""
    return subprocess.run([*SYNTHETIC, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def ok_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a successful ``--json`` command printed."""
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Machines:
    """The local repository, the host's clone, and the environment reaching the host."""

    def __init__(self, local: Path, clone: Path, markers: Path, env: dict[str, str]) -> None:
        self.local, self.clone, self.markers, self.env = local, clone, markers, env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``synthetic ARGS`` in the local repository."""
        return synthetic(*args, cwd=self.local, env=self.env)

    def on_host(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``synthetic ARGS`` in the host's clone, over ssh (as the person would type it)."""
        line = " ".join(["synthetic", "-C", str(self.clone), *args])
        return subprocess.run(["ssh", ALIAS, line], env=self.env, capture_output=True,
                              text=True, timeout=300)

    def host_constructs(self) -> list[dict[str, Any]]:
        """The host's constructs, as its own ``ls --json`` says."""
        listed: list[dict[str, Any]] = ok_json(self.on_host("ls", "--json"))["constructs"]
        return listed

    def incoming_refs(self) -> list[str]:
        """The incoming refs left in the host's clone."""
        return git(self.clone, "for-each-ref", "--format=%(refname)",
                   "refs/synthetic/").split()

    def host_services(self) -> list[Service]:
        """The service records of the host's clone."""
        return list(Store.open(self.clone).list(Service).records)

    def local_remotes(self) -> list[RemoteConstruct]:
        """The records of remote constructs in the local repository."""
        return list(Store.open(self.local).list(RemoteConstruct).records)


@pytest.fixture
def machines(sshd: SshServer, hosts_home: Path, tmp_path: Path) -> Iterator[Machines]:
    """A local repository and its clone on the host, host ``test`` added; on teardown every
    construct left on the host is removed and its service processes ended."""
    markers = tmp_path / "markers"
    markers.mkdir()
    local = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG % {"m": markers},
                                         "README.md": "hello\n"})
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(local), str(clone))
    env = sshd.env(**GIT_ENV, SYNTHETIC_WORKTREES_DIR=str(tmp_path / "local-wt"))
    m = Machines(local, clone, markers, env)
    assert m.run("host", "add", "test", f"ssh://{ALIAS}{clone}").returncode == 0
    try:
        yield m
    finally:
        for c in json.loads(m.on_host("ls", "--json").stdout or '{"constructs": []}')[
                "constructs"]:
            m.on_host("rm", c["id"], "--yes", "--force", "--trust")
        for record in m.host_services():
            if record.pid and alive(record.pid):
                os.killpg(record.pid, signal.SIGKILL)


def test_new_on_a_host_lists_shows_and_removes_on_both_sides(machines: Machines) -> None:
    m = machines
    local_one = ok_json(m.run("new", "here", "--no-worktree", "--json"))
    made = ok_json(m.run("new", "Fix the flaky test", "--host", "test", "--trust", "--json"))
    assert made["host"] == "test" and made["name"] == "Fix the flaky test"
    remote_id = made["remote_id"]
    assert made["construct"]["id"] == remote_id

    # On the host: the construct, its worktree on its own branch, its service running.
    [there] = m.host_constructs()
    assert there["id"] == remote_id and there["status"] == "ready"
    assert Path(there["workspace_path"]).is_dir()
    assert not Path(there["workspace_path"]).is_relative_to(m.local.parent / "local-wt")
    assert git(m.clone, "rev-parse", "--verify", f"refs/heads/{there['branch']}").strip() == \
        git(m.local, "rev-parse", "HEAD").strip()
    [service] = m.host_services()
    assert service.status == "ready" and service.pid is not None and alive(service.pid)
    [record] = m.local_remotes()
    assert record.remote_id == remote_id and record.journal is None

    # `ls` lists both, with the host; the table has a HOST column.
    listed = assert_matches("construct-list", ok_json(m.run("ls", "--json")))
    by_id = {c["id"]: c for c in listed["constructs"]}
    assert by_id[local_one["id"]]["host"] is None
    assert by_id[made["id"]]["host"] == "test"
    assert by_id[made["id"]]["remote_id"] == remote_id
    assert by_id[made["id"]]["status"] == "ready"
    assert listed["hosts"] == [{"host": "test", "state": "ok", "error": None, "code": None}]
    table = m.run("ls").stdout
    assert "HOST" in table.splitlines()[0] and "test" in table

    # `show` of the remote one is the host's.
    shown = ok_json(m.run("show", made["id"], "--json"))
    assert shown["host"] == "test" and shown["remote_id"] == remote_id
    assert [s["name"] for s in shown["services"]] == ["web"]
    text = m.run("show", made["id"]).stdout
    assert f"remote_id:           {remote_id}" in text and "host:                test" in text
    assert "service:             web ready" in text
    proc = m.run("rm", made["id"])  # no terminal, no --yes: refused, nothing touched
    assert proc.returncode != 0 and "pass --yes" in proc.stderr

    # `diff` and `log` are the host's, of its worktree (a commit and an uncommitted change).
    tree = Path(there["workspace_path"])
    commit_file(tree, "fix.txt", "fixed\n", "Fix the flake")
    (tree / "README.md").write_text("hello again\n")
    diff = ok_json(m.run("diff", made["id"], "--json"))
    assert [c["subject"] for c in diff["commits"]] == ["Fix the flake"]
    assert [f["path"] for f in diff["uncommitted"]] == ["README.md"]
    text = m.run("diff", made["id"]).stdout
    assert "+fixed" in text and "hello again" in text
    assert "Fix the flake" in m.run("log", made["id"]).stdout
    assert m.run("diff", made["id"], "--stat").returncode == 0

    # `rm` removes it on the host (--force: it holds work), and the record here.
    proc = m.run("rm", made["id"], "--yes", "--trust", "--json")
    assert proc.returncode != 0 and m.local_remotes() != []  # it would lose work: refused
    assert json.loads(proc.stderr)["error"]["code"] == "remote-failed"
    assert m.local_remotes()[0].journal is None
    ok_json(m.run("rm", made["id"], "--yes", "--force", "--trust", "--json"))
    assert m.host_constructs() == []
    assert m.local_remotes() == []
    assert m.incoming_refs() == []
    assert not Path(there["workspace_path"]).exists()
    wait_for(lambda: not alive(service.pid or 0))
    assert [c["id"] for c in ok_json(m.run("ls", "--json"))["constructs"]] == [local_one["id"]]


def test_the_remote_operations_called_directly(machines: Machines, sshd: SshServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    m = machines
    monkeypatch.setenv("PATH", m.env["PATH"])
    store = Store.open(m.local)
    # A name the host's argument parser could take for an option, and shell syntax.
    name = "--help; touch $HOME/pwned `id`"
    made = create_remote_construct(store, RemoteCreateOptions(name=name, host="test"),
                                   consent=TRUST)
    assert m.host_constructs()[0]["name"] == name
    data = assert_matches("remote-created", made)
    assert data["remote_id"] == m.host_constructs()[0]["id"]
    shown = show_remote(store, made.record).to_dict()
    assert shown["id"] == made.record.id and shown["host"] == "test"
    diff = review_remote(store, made.record.id, "diff")
    assert isinstance(diff, dict) and diff["commits"] == []
    log = review_remote(store, made.record.id, "log")
    assert isinstance(log, dict) and log["entries"] == []
    removed = assert_matches("remote-removed", remove_remote_construct(store, made.record.id,
                                                                       trust=True))
    assert removed["removed"] == made.record.id
    assert m.host_constructs() == [] and m.local_remotes() == [] and m.incoming_refs() == []


def test_consent_is_asked_here_before_anything_reaches_the_host(machines: Machines) -> None:
    m = machines
    proc = m.run("new", "x", "--host", "test", "--json")
    assert proc.returncode == 8, proc.stderr
    assert json.loads(proc.stderr)["error"]["code"] == "consent-required"
    assert m.local_remotes() == [] and m.incoming_refs() == [] and m.host_constructs() == []


def test_a_failure_on_the_host_leaves_nothing_on_either_side(machines: Machines,
                                                              tmp_path: Path) -> None:
    m = machines
    # A clone path with nothing there: the push fails.
    assert m.run("host", "add", "empty", f"ssh://{ALIAS}{tmp_path}/nowhere").returncode == 0
    proc = m.run("new", "x", "--host", "empty", "--trust", "--json")
    assert proc.returncode != 0
    assert json.loads(proc.stderr)["error"]["code"] == "remote-push-failed"
    assert m.local_remotes() == []
    assert m.incoming_refs() == []
    # The host's own `new` refuses (its config has no such template): the pushed ref is
    # deleted again, and the record here.
    (m.clone / "synthetic.config.ts").write_text("export default { templates: { z: {} } };\n")
    proc = m.run("new", "z", "--host", "test", "--template", "t", "--trust", "--json")
    error = json.loads(proc.stderr)["error"]
    assert error["code"] == "remote-failed" and error["host"] == "test", error
    assert m.local_remotes() == [] and m.incoming_refs() == [] and m.host_constructs() == []


def test_ctrl_c_mid_creation_undoes_both_sides_at_once(machines: Machines) -> None:
    m = machines
    proc = subprocess.Popen([*SYNTHETIC, "new", "stopped one", "--host", "test", "--template",
                             "slow", "--trust", "--json"], cwd=m.local, env=m.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (m.markers / "setup-began").exists())
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode != 0
    assert m.local_remotes() == []  # no doctor needed
    assert m.host_constructs() == [] and m.incoming_refs() == [] and m.host_services() == []
    setup = int((m.markers / "setup-pid").read_text())
    wait_for(lambda: not alive(setup))


def test_an_interrupted_removal_is_finished_by_doctor(machines: Machines) -> None:
    m = machines
    made = ok_json(m.run("new", "to go", "--host", "test", "--trust", "--json"))
    # As a removal leaves it when it stops after the host's `rm` began.
    store = Store.open(m.local)
    store.update(RemoteConstruct, made["id"], lambda _r: {
        "journal": Journal.begin("remove").step("remote-rm").stop()})
    listed = ok_json(m.run("ls", "--json"))
    [row] = [c for c in listed["constructs"] if c["id"] == made["id"]]
    assert row["status"] == "deleting" and row["operation"]["state"] == "interrupted"
    fixed = ok_json(m.run("doctor", "--fix", "--json"))
    [finding] = [f for f in fixed["findings"] if f["kind"] == "interrupted-operation"]
    assert finding["fixed"], finding
    assert m.local_remotes() == [] and m.host_constructs() == [] and m.incoming_refs() == []


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


def test_a_connection_cut_mid_creation_is_undone_on_both_sides(machines: Machines,
                                                              sshd: SshServer) -> None:
    m = machines
    proc = subprocess.Popen([*SYNTHETIC, "new", "cut one", "--host", "test", "--template",
                             "slow", "--trust", "--json"], cwd=m.local, env=m.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (m.markers / "setup-began").exists())
        # sshd's children are the connections' processes: killing them cuts every
        # connection of this (per-worker) server, as a network failure would.
        for pid in children(sshd.process.pid):
            os.kill(pid, signal.SIGKILL)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode != 0
    assert json.loads(err)["error"]["code"] == "host-unreachable", err
    assert m.local_remotes() == []
    assert m.host_constructs() == []
    assert m.incoming_refs() == []
    assert git(m.clone, "branch", "--format=%(refname:short)").split() == ["main"]
    assert m.host_services() == []
    setup = int((m.markers / "setup-pid").read_text())
    wait_for(lambda: not alive(setup))  # the host's setup step did not outlive it


def test_a_host_that_does_not_answer_is_marked_and_local_constructs_still_list(
        machines: Machines, sshd: SshServer) -> None:
    m = machines
    local_one = ok_json(m.run("new", "here", "--no-worktree", "--json"))
    assert m.run("host", "add", "down", f"ssh://{DOWN}{m.clone}").returncode == 0
    now = utc_now()
    Store.open(m.local).create(RemoteConstruct(
        id="far-away-abc123", name="far away", host="down", url=f"ssh://{DOWN}{m.clone}",
        remote_id="far-away-xyz789", created_at=now, updated_at=now))
    listed = assert_matches("construct-list", ok_json(m.run("ls", "--json")))
    by_id = {c["id"]: c for c in listed["constructs"]}
    assert by_id[local_one["id"]]["status"] == "pending"
    assert by_id["far-away-abc123"]["status"] == "unreachable"
    assert by_id["far-away-abc123"]["host"] == "down"
    [down] = listed["hosts"]
    assert down["host"] == "down" and down["state"] == "unreachable"
    assert down["code"] == "host-unreachable"
    proc = m.run("ls")
    assert proc.returncode == 0 and "unreachable" in proc.stdout
    assert "host down did not answer" in proc.stderr


def test_kill_9_mid_creation_is_rolled_back_on_both_sides_by_doctor(machines: Machines) -> None:
    m = machines
    proc = subprocess.Popen([*SYNTHETIC, "new", "slow one", "--host", "test", "--template",
                             "slow", "--trust", "--json"], cwd=m.local, env=m.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(lambda: (m.markers / "setup-began").exists())
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    reported = m.run("doctor", "--json")
    assert reported.returncode == 1, reported.stderr  # something needs attention
    report = json.loads(reported.stdout)
    [finding] = [f for f in report["findings"] if f["kind"] == "interrupted-operation"]
    assert finding["subject"]["ref"] == m.local_remotes()[0].id
    assert "on host test" in finding["message"]

    fixed = ok_json(m.run("doctor", "--fix", "--json"))
    assert not [f for f in fixed["findings"] if f["kind"] == "interrupted-operation"
                and not f["fixed"]], fixed
    assert m.local_remotes() == []
    assert m.host_constructs() == []
    assert m.incoming_refs() == []
    assert git(m.clone, "branch", "--format=%(refname:short)").split() == ["main"]
    assert git(m.clone, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert m.host_services() == []
    setup = int((m.markers / "setup-pid").read_text())
    wait_for(lambda: not alive(setup))  # the host's setup step did not outlive it


def test_the_host_runs_only_what_was_allowed_here(machines: Machines) -> None:
    m = machines
    # The host's clone says something else than this checkout: its service runs another
    # command. Consent given here does not cover it, so the host refuses and runs nothing.
    changed = f"touch {m.markers}/ran; echo ready; exec sleep 3000"
    (m.clone / "synthetic.config.ts").write_text(
        (CONFIG % {"m": m.markers}).replace("echo ready; exec sleep 3000", changed, 1))
    proc = m.run("new", "x", "--host", "test", "--trust", "--json")
    error = json.loads(proc.stderr)["error"]
    assert error["code"] == "remote-failed" and error["remote_code"] == "consent-required", error
    assert not (m.markers / "ran").exists()
    assert m.local_remotes() == [] and m.incoming_refs() == [] and m.host_constructs() == []
    assert m.host_services() == []
