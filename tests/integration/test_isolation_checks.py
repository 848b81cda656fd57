"""An isolated construct's preconditions and plan, without an agent (issue 23).

No ``bwrap`` on PATH: creation fails at once with ``sandbox-unavailable`` and
makes nothing. The sandbox's view (``synthetic_ls.sandbox.plan``) hides the
person's home, the checkout, the other worktrees and the state folder, and
leaves writable only what git needs for the construct's branch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from state_format.store import Store
from synthetic_ls.sandbox.agent_server import plan_of
from tests.gitrepo import GIT_ENV, make_repo, trust

CONFIG = """export default {
  defaults: { templateId: "iso" },
  templates: {
    iso: { isolation: { runtime: "bubblewrap" }, setup: ["touch made-by-setup"] },
    open: {},
    bad: { isolation: { runtime: "bubblewrap" }, setup: ["echo boom; exit 3"] },
    svc: {
      isolation: { runtime: "bubblewrap" },
      services: { s: {
        run: "sh serve.sh",
        readyPattern: "^ready$",
      } },
    },
  },
};
"""


@pytest.fixture
def token() -> str:
    return str(int.from_bytes(os.urandom(3), "big"))


@pytest.fixture
def repo(tmp_path: Path, token: str) -> Path:
    config = CONFIG.replace("@", token)
    serve = ("trap 'echo graceful > term.txt; exit 0' TERM\n(setsid sleep 3008.@ &)\n"
             "echo ready\nwhile :; do sleep 0.1; done\n").replace("@", token)
    made = make_repo(tmp_path / "app", {"synthetic.config.ts": config, "README.md": "hi\n",
                                        "serve.sh": serve})
    trust(made)
    return made


def synthetic(repo: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synthetic_ls", *argv, "--json"], cwd=repo,
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_without_bwrap_an_isolated_construct_is_refused_and_nothing_is_made(
    repo: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    env = {**os.environ, **GIT_ENV, "PATH": str(bin_dir),
           "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    done = synthetic(repo, env, "new", "boxed")
    assert done.returncode == 1
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "sandbox-unavailable" and "bubblewrap" in error["message"]
    assert not (tmp_path / "trees").exists() or not any((tmp_path / "trees").iterdir())
    assert Store.open(repo).list_constructs().records == []


def test_the_sandbox_hides_all_but_the_worktree_and_its_branch(
    repo: Path, tmp_path: Path
) -> None:
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    other = json.loads(synthetic(repo, env, "new", "other", "--template", "open").stdout)
    made = synthetic(repo, env, "new", "boxed")
    assert made.returncode == 0, made.stdout + made.stderr
    boxed = json.loads(made.stdout)
    worktree = Path(boxed["workspace_path"])
    assert (worktree / "made-by-setup").exists(), "its setup ran, in its worktree"
    store = Store.open(repo)
    plan = plan_of(store, repo, store.get_construct(boxed["id"]))
    hidden = {layer.target for layer in plan.layers if layer.kind == "hide"}
    writable = {layer.target for layer in plan.layers if layer.kind == "bind" and layer.writable}
    common = (repo / ".git").resolve()
    assert {repo.resolve(), Path(other["workspace_path"]).resolve(),
            common / "synthetic", common / "worktrees"} <= hidden
    assert writable == {
        worktree.resolve(), plan.home, common / "objects",
        common / "refs" / "heads" / "synthetic", common / "logs" / "refs" / "heads" / "synthetic",
        common / "worktrees" / worktree.name,
    }


def test_a_sandbox_left_by_a_record_removed_by_hand_is_found_and_removed(
    repo: Path, tmp_path: Path
) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    boxed = json.loads(synthetic(repo, env, "new", "boxed").stdout)
    sandbox = repo / ".git" / "synthetic" / "sandboxes" / boxed["id"]
    assert sandbox.is_dir()
    (repo / ".git" / "synthetic" / "constructs" / f"{boxed['id']}.toml").unlink()
    found = json.loads(synthetic(repo, env, "doctor").stdout)["findings"]
    [orphan] = [f for f in found if f["kind"] == "orphan-sandbox"]
    assert orphan["subject"] == {"type": "construct", "ref": boxed["id"]}
    fixed = synthetic(repo, env, "doctor", "--fix")
    assert not sandbox.exists(), fixed.stdout


def test_a_failed_command_in_the_sandbox_is_told_as_written(repo: Path, tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    done = synthetic(repo, env, "new", "bad", "--template", "bad")
    error = json.loads(done.stderr)["error"]
    # The command as written; the log's tail quoted after it shows the sandbox's line.
    assert 'command "echo boom; exit 3" failed: it exited with status 3' in error["message"]
    assert "boom" in error["message"]
    assert Store.open(repo).list_constructs().records == []


def test_a_sandboxed_service_is_stopped_gracefully_and_takes_its_daemons(
    repo: Path, tmp_path: Path, token: str
) -> None:
    """``services stop``: SIGTERM reaches the service in its sandbox (its trap runs), and
    what it left running outside its group ends with its PID namespace."""
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    env = {**os.environ, **GIT_ENV, "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    made = synthetic(repo, env, "new", "svc", "--template", "svc")
    assert made.returncode == 0, made.stderr
    boxed = json.loads(made.stdout)
    daemon = f"sleep 3008.{token}".encode()

    def daemons() -> list[str]:
        return [p.name for p in Path("/proc").iterdir() if p.name.isdigit()
                and _cmdline(p) == daemon.replace(b" ", b"\0") + b"\0"]

    assert daemons(), "the service's daemon runs"
    stopped = synthetic(repo, env, "services", "stop", boxed["id"])
    assert stopped.returncode == 0, stopped.stderr
    assert (Path(boxed["workspace_path"]) / "term.txt").read_text() == "graceful\n"
    assert not daemons()
    synthetic(repo, env, "rm", boxed["id"], "--yes", "--force")


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
