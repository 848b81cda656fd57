"""Consent before a repository's code runs (issue 20, item 6).

A cloned repository's template commands run only once the person allowed
them: the first time, `new` (and every command that would run them) lists
them and asks on a terminal, refuses without one (exit 8, nothing run, nothing
made), and `--trust` or `synthetic trust` allows them ahead. The answer is kept
outside the repository, keyed by content: a changed command is asked about
again, an unchanged one never. Reads never need consent.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.consent import trust_store
from synthetic_ls.consent.gate import TRUST
from synthetic_ls.ops.constructs import CreateOptions, create_construct
from synthetic_ls.ops.trust import allow_trust, revoke_trust, trust_preview
from tests.gitrepo import git, make_repo
from tests.integration.services_helpers import PY, env, synthetic

CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      setup: ["touch %(m)s/setup-ran"],
      services: { web: { run: "touch %(m)s/service-ran; echo up; sleep 600", readyPattern: "up",
                         stop: "touch %(m)s/stop-ran" } },
      teardown: ["touch %(m)s/teardown-ran"],
    },
  },
};
"""


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


@pytest.fixture
def repo(tmp_path: Path, markers: Path) -> Path:
    return make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG % {"m": markers},
                                        "README.md": "hi\n"})


def ran(markers: Path) -> list[str]:
    return sorted(p.name for p in markers.iterdir())


def error_of(proc: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(proc.stderr)["error"]  # type: ignore[no-any-return]


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


def test_new_lists_what_it_would_run_and_runs_nothing_without_consent(
    repo: Path, tmp_path: Path, markers: Path
) -> None:
    made = synthetic(repo, tmp_path, "new", "First", "--json")
    assert made.returncode == 8, made.stderr
    error = error_of(made)
    assert error["code"] == "consent-required"
    kinds = {(i["kind"], i["where"]) for i in error["items"]}
    assert kinds == {("setup", "template t"), ("service", "service web of template t"),
                     ("teardown", "template t")}
    assert any("setup-ran" in i["text"] for i in error["items"])
    # Nothing ran, nothing was made.
    assert ran(markers) == []
    assert not (tmp_path / "wt").exists()
    assert branches(repo) == ["main"]
    assert not (repo / ".git" / "synthetic" / "constructs").exists() or not any(
        (repo / ".git" / "synthetic" / "constructs").iterdir())
    # A person reads the list too.
    plain = synthetic(repo, tmp_path, "new", "First")
    assert plain.returncode == 8
    assert "setup command (template t): touch" in plain.stderr
    assert "--trust" in plain.stderr


def test_trust_runs_and_is_remembered_until_the_content_changes(
    repo: Path, tmp_path: Path, markers: Path
) -> None:
    first = synthetic(repo, tmp_path, "new", "A", "--trust", "--json")
    assert first.returncode == 0, first.stderr
    assert ran(markers) == ["service-ran", "setup-ran"]
    # Remembered: the same commands run without asking.
    second = synthetic(repo, tmp_path, "new", "B", "--json")
    assert second.returncode == 0, second.stderr
    # One command changes: only it is asked about.
    cfg = repo / "synthetic.config.ts"
    cfg.write_text(cfg.read_text().replace("setup-ran", "setup-ran-2"))
    git(repo, "commit", "-qam", "other setup")
    third = synthetic(repo, tmp_path, "new", "C", "--json")
    assert third.returncode == 8
    assert [(i["kind"], "setup-ran-2" in i["text"]) for i in error_of(third)["items"]] == [
        ("setup", True)]
    assert "setup-ran-2" not in ran(markers)
    listed = synthetic(repo, tmp_path, "trust", "--list", "--json")
    assert listed.returncode == 8
    waiting = [i for i in json.loads(listed.stdout)["items"] if not i["allowed"]]
    assert [i["kind"] for i in waiting] == ["setup"]
    assert synthetic(repo, tmp_path, "trust", "--yes").returncode == 0
    fourth = synthetic(repo, tmp_path, "new", "C", "--json")
    assert fourth.returncode == 0, fourth.stderr
    assert "setup-ran-2" in ran(markers)
    for ref in ("A", "B", "C"):
        assert synthetic(repo, tmp_path, "rm", ref, "--yes", "--force").returncode == 0


def _ask_on_a_terminal(repo: Path, tmp_path: Path, answer: bytes) -> tuple[int, str]:
    """Run `new` with a terminal for stdin and stderr; answer its question."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [PY, "-m", "synthetic_ls", "new", "Asked", "--no-progress"], cwd=repo,
        env=env(tmp_path), stdin=child, stdout=subprocess.PIPE, stderr=child,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen:
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([main], [], [], 1.0)
        if ready:
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


def test_a_terminal_is_asked_and_no_means_nothing_runs(
    repo: Path, tmp_path: Path, markers: Path
) -> None:
    code, shown = _ask_on_a_terminal(repo, tmp_path, b"n\n")
    assert code == 8, shown
    assert "This repository asks to run code you have not allowed yet" in shown
    assert "touch" in shown and "setup-ran" in shown
    assert ran(markers) == []
    code, shown = _ask_on_a_terminal(repo, tmp_path, b"y\n")
    assert code == 0, shown
    assert ran(markers) == ["service-ran", "setup-ran"]
    assert synthetic(repo, tmp_path, "rm", "Asked", "--yes", "--force").returncode == 0


def test_the_answer_is_kept_outside_the_repository_and_per_checkout(
    repo: Path, tmp_path: Path
) -> None:
    assert synthetic(repo, tmp_path, "trust", "--yes").returncode == 0
    kept = trust_store.trust_file(repo)
    assert kept.is_file() and repo not in kept.parents
    assert Path(os.environ["XDG_DATA_HOME"]) in kept.parents
    assert str(repo.resolve()) in kept.read_text()
    # A clone elsewhere is another checkout: asked again.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    again = synthetic(clone, tmp_path, "new", "X", "--json")
    assert again.returncode == 8
    # Forgetting: everything is asked again.
    assert synthetic(repo, tmp_path, "trust", "--revoke").returncode == 0
    assert synthetic(repo, tmp_path, "new", "Y", "--json").returncode == 8


def test_a_changed_teardown_or_service_is_asked_about_before_it_runs(
    repo: Path, tmp_path: Path, markers: Path
) -> None:
    made = synthetic(repo, tmp_path, "new", "Keep", "--trust", "--json")
    assert made.returncode == 0, made.stderr
    cfg = repo / "synthetic.config.ts"
    cfg.write_text(cfg.read_text().replace("teardown-ran", "teardown-changed")
                   .replace("stop-ran", "stop-changed"))
    git(repo, "commit", "-qam", "new teardown")
    refused = synthetic(repo, tmp_path, "rm", "Keep", "--yes", "--force", "--json")
    assert refused.returncode == 8, refused.stderr
    assert {i["kind"] for i in error_of(refused)["items"]} == {"teardown", "service"}
    # Nothing was removed and nothing ran.
    assert synthetic(repo, tmp_path, "show", "Keep").returncode == 0
    assert not {"teardown-changed", "stop-changed"} & set(ran(markers))
    stopped = synthetic(repo, tmp_path, "services", "stop", "Keep", "--json")
    assert stopped.returncode == 8
    removed = synthetic(repo, tmp_path, "rm", "Keep", "--yes", "--force", "--trust")
    assert removed.returncode == 0, removed.stderr
    assert {"teardown-changed", "stop-changed"} <= set(ran(markers))


def test_reads_need_no_consent_and_the_dry_run_says_what_is_not_allowed(
    repo: Path, tmp_path: Path, markers: Path
) -> None:
    for argv in (["ls"], ["config", "check"], ["services", "status"], ["trust", "--list"]):
        proc = synthetic(repo, tmp_path, *argv)
        assert proc.returncode in (0, 8), (argv, proc.stderr)  # trust --list: 8, not allowed
        assert "consent-required" not in proc.stderr
    plan = synthetic(repo, tmp_path, "new", "Planned", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    runs = json.loads(plan.stdout)["runs"]
    assert {(r["kind"], r["allowed"]) for r in runs} == {
        ("setup", False), ("service", False), ("teardown", False)}
    assert ran(markers) == []


def test_trust_operations_preview_allow_and_revoke(repo: Path, markers: Path) -> None:
    """At the ops level: what the editors call (synthetic.trust.*)."""
    store = Store.open(repo)
    before = trust_preview(store)
    assert [ok for _, ok in before.items] == [False, False, False]
    one = [before.items[0][0]]
    after = allow_trust(store, one)
    assert after.changed == 1 and [ok for _, ok in after.items] == [True, False, False]
    assert allow_trust(store).changed == 2
    assert revoke_trust(store).changed == 3
    assert not any(ok for _, ok in trust_preview(store).items)
    # The ops API asks nobody by default; TRUST is the --trust flag.
    with pytest.raises(Exception) as refused:
        create_construct(store, CreateOptions(name="Ops"))
    assert getattr(refused.value, "code", None) == "consent-required"
    assert ran(markers) == []
    made = create_construct(store, CreateOptions(name="Ops"), consent=TRUST)
    assert made.construct.workspace_path
    from synthetic_ls.ops.constructs import RemoveOptions, remove_construct

    remove_construct(store, RemoveOptions(ref=made.construct.id, force=True))
    assert "teardown-ran" in ran(markers)
