"""The template's checks: ``run_checks`` and ``synthetic check``, with real git and processes.

A passing, a failing and a hanging check run in a real worktree; each
result is checked with what it leaves (the record's ``checks``, the log, no
journal, no process left). Consent refused runs nothing; an isolated
construct's checks run in its sandbox; a run killed with ``kill -9`` is
settled by ``doctor --fix``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.consent.gate import TRUST
from synthetic_ls.ops.checks import run_checks
from synthetic_ls.ops.doctor import run_doctor
from tests.gitrepo import GIT_ENV, trust
from tests.integration.ops_helpers import make_store, new, refused, snapshot

CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: {
    dev: {
      env: { GREETING: "hello" },
      checks: {
        test: "test -f src/main.py && echo \\"$GREETING from $(basename $PWD)\\" && echo all good",
        lint: { run: "echo first; echo 'src/util.py:1: bad style'; exit 3", env: { X: "1" } },
        slow: { run: "echo started; sleep 3000.@; echo never", timeoutMs: 700 },
        here: { run: "pwd", cwd: "src" },
        long: { run: "sleep 3001.@", timeoutMs: 600000 },
        gone: { run: "echo never", cwd: "not-there" },
        unset: { run: "echo never", env: { X: process.env.SYNTHETIC_TEST_UNSET_@ } },
      },
    },
    none: {},
    boxed: {
      isolation: { runtime: "bubblewrap" },
      checks: { hidden: "test ! -e @MAIN@/synthetic.config.ts && echo sandboxed" },
    },
  },
};
"""


@pytest.fixture
def token() -> str:
    return str(int.from_bytes(os.urandom(3), "big"))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str) -> Store:
    main = tmp_path / "repo"
    return make_store(tmp_path, monkeypatch,
                      CONFIG.replace("@MAIN@", str(main)).replace("@", token))


def sleepers(token: str, seconds: str = "3000") -> list[int]:
    """Processes still running a check's ``sleep 3000.<token>`` (or ``seconds``)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"{seconds}.{token}".encode() in cmdline and b"sleep" in cmdline:
            found.append(int(pid))
    return found


def test_checks_pass_fail_and_time_out_and_are_recorded(store: Store, token: str) -> None:
    cid, worktree = new(store)
    told: list[str] = []
    result = run_checks(store, cid, ["test", "lint", "slow", "here"], consent=TRUST,
                        on_start=told.append)
    assert told == ["test", "lint", "slow", "here"]
    runs = result.runs
    assert not result.passed
    test, lint, slow, here = (runs[n] for n in ("test", "lint", "slow", "here"))
    # Passing: in the worktree, with the template's env.
    assert (test.passed, test.exit_code, test.timed_out) == (True, 0, False)
    assert test.output == [f"hello from {worktree.name}", "all good"]
    # Failing: its exit status and its last lines.
    assert (lint.passed, lint.exit_code, lint.timed_out) == (False, 3, False)
    assert lint.output == ["first", "src/util.py:1: bad style"]
    # Hanging: stopped at its limit, and nothing of it is left running.
    assert (slow.passed, slow.exit_code, slow.timed_out) == (False, None, True)
    assert slow.output[0] == "started" and "never" not in slow.output
    assert sleepers(token) == []
    assert here.passed and here.output == [str(worktree / "src")]
    head = store.repo.worktree  # the worktree starts at main's HEAD
    assert {r.head for r in runs.values()} == {
        subprocess.run(["git", "rev-parse", "HEAD"], cwd=head, capture_output=True,
                       text=True, check=True).stdout.strip()}
    # Recorded with the construct, the journal gone; each log holds the whole output.
    record = store.get_construct(cid)
    assert record.journal is None
    assert record.checks == runs
    assert Path(lint.log or "").read_text().endswith("first\nsrc/util.py:1: bad style\n")
    shown = result.to_dict()
    assert [c["name"] for c in shown["checks"]] == ["test", "lint", "slow", "here"]
    assert shown["passed"] is False and shown["checks"][1]["exit_code"] == 3

    # One check again: only its result changes; the others' stay as recorded.
    again = run_checks(store, cid, ["test"], consent=TRUST)
    assert list(again.runs) == ["test"] and again.passed
    record = store.get_construct(cid)
    assert record.checks is not None and list(record.checks) == ["test", "lint", "slow", "here"]
    assert record.checks["lint"] == lint and record.checks["test"] == again.runs["test"]


def test_a_check_that_cannot_run_fails_saying_why(store: Store) -> None:
    cid, _ = new(store)
    result = run_checks(store, cid, ["gone", "unset"], consent=TRUST)
    gone, unset = result.runs["gone"], result.runs["unset"]
    assert (gone.passed, gone.exit_code, unset.passed, unset.exit_code) == (
        False, None, False, None)
    assert "did not run" in gone.output[-1] and "not-there" in gone.output[-1]
    assert "did not run" in unset.output[-1] and "SYNTHETIC_TEST_UNSET_" in unset.output[-1]
    assert "never" not in gone.output + unset.output
    assert store.get_construct(cid).journal is None


def test_unknown_checks_and_a_template_without_checks_are_refused(store: Store) -> None:
    cid, _ = new(store)
    with refused("unknown-check") as info:
        run_checks(store, cid, ["tset"], consent=TRUST)
    assert "did you mean 'test'?" in str(info.value)
    bare, _ = new(store, "Bare", template_id="none")
    with refused("unknown-check") as info:
        run_checks(store, bare, consent=TRUST)
    assert "has no checks" in str(info.value)
    assert store.get_construct(cid).checks is None


def test_refused_consent_runs_nothing(store: Store, tmp_path: Path) -> None:
    cid, worktree = new(store)
    before = snapshot(store, worktree)
    logs = store.local_dir / "service_logs"
    logged = sorted(logs.iterdir()) if logs.exists() else []
    with refused("consent-required") as info:
        run_checks(store, cid)
    items = info.value.fields["items"]
    assert [i["kind"] for i in items] == ["check"] * 7
    assert items[0]["where"] == "check test of template dev"
    assert snapshot(store, worktree) == before
    assert (sorted(logs.iterdir()) if logs.exists() else []) == logged
    assert store.get_construct(cid).checks is None and store.get_construct(cid).journal is None


def cli(repo: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run([sys.executable, "-m", "synthetic_ls", *argv], cwd=repo, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)


def test_the_cli_prints_each_result_and_exits_1_on_a_failure(store: Store) -> None:
    repo = store.repo.worktree
    cid, _ = new(store)
    refused_run = cli(repo, "check", cid, "test")
    assert refused_run.returncode == 8, refused_run.stderr
    assert "check (check test of template dev)" in refused_run.stderr
    assert store.get_construct(cid).checks is None
    trust(repo)
    passed = cli(repo, "check", cid, "test")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("PASS test (") and passed.stdout.endswith(
        "1 of 1 checks passed\n")
    failed = cli(repo, "check", cid, "test", "lint", "--json")
    assert failed.returncode == 1, failed.stderr
    shown = json.loads(failed.stdout)
    assert shown["passed"] is False
    assert [(c["name"], c["passed"], c["exit_code"]) for c in shown["checks"]] == [
        ("test", True, 0), ("lint", False, 3)]
    text = cli(repo, "check", cid, "lint")
    assert text.returncode == 1
    assert text.stdout.splitlines()[:3] == [
        text.stdout.splitlines()[0], "  first", "  src/util.py:1: bad style"]
    assert text.stdout.startswith("FAIL lint (") and ", exit 3)" in text.stdout
    # `show` tells the recorded results; it runs nothing.
    shown = json.loads(cli(repo, "show", cid, "--json").stdout)
    assert [(c["name"], c["passed"]) for c in shown["checks"]] == [
        ("test", True), ("lint", False)]
    text = cli(repo, "show", cid).stdout
    assert any(line.startswith("check:    lint failed (") for line in text.splitlines())
    unknown = cli(repo, "check", cid, "nope", "--json")
    assert unknown.returncode == 3
    assert json.loads(unknown.stderr)["error"]["code"] == "unknown-check"


def test_an_isolated_constructs_checks_run_in_its_sandbox(store: Store) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    trust(store.repo.worktree)
    cid, _ = new(store, "Boxed", template_id="boxed")
    result = run_checks(store, cid, consent=TRUST)
    # The main checkout is hidden in the sandbox: outside it, this check fails.
    assert result.passed, result.runs["hidden"].output
    assert result.runs["hidden"].output[-1] == "sandboxed"


def test_a_check_run_killed_mid_way_is_settled_by_doctor_fix(store: Store, token: str) -> None:
    repo = store.repo.worktree
    cid, _ = new(store)
    trust(repo)
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.Popen([sys.executable, "-m", "synthetic_ls", "check", cid, "long"],
                            cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60

    def recorded() -> bool:
        # The check runs, and its process group is in the journal (written just after
        # the process starts): the state a kill -9 is meant to find.
        journal = store.get_construct(cid).journal
        return bool(sleepers(token, "3001") and journal is not None and journal.groups)

    while not recorded():
        assert time.monotonic() < deadline, "the check never started"
        time.sleep(0.05)
    journal = store.get_construct(cid).journal
    assert journal is not None and journal.op == "check" and journal.groups
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sleepers(token, "3001"), "kill -9 of the CLI leaves its check running"
    findings = run_doctor(store).to_dict()
    assert any(f["subject"].get("ref") == cid for f in findings["findings"])
    fixed = cli(repo, "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert sleepers(token, "3001") == []
    record = store.get(Construct, cid)
    assert record.journal is None and record.checks is None
