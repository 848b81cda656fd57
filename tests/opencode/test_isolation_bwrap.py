"""An isolated construct (bubblewrap), proved by attack (issue 23, items 2 and 3).

Against the real ``bwrap``, the real ``opencode serve`` (in the sandbox) and
the offline model: the agent's approved ``[tool:bash sh attack.sh]`` tries
to write into the main checkout and another construct's worktree, read the
person's SSH key and the OpenCode passwords (the repository's server's and
its own), answer its own server's API with any password it can find, move
another branch, kill another construct's service and leave a daemon behind.
Every attempt fails; its own work in its worktree commits (by the agent,
with git, on its branch) and lands as usual; nothing of it outlives its
removal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synthetic_ls.opencode.offline_model import OfflineModelServer, isolated_env
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, git, make_repo
from tests.opencode.test_sessions import wait_for

CONFIG = """export default {
  defaults: { templateId: "iso" },
  templates: {
    iso: {
      isolation: { runtime: "bubblewrap" },
      agent: { providerId: "offline", modelId: "echo" },
      services: { web: { run: "echo ready; exec sleep 3000", readyPattern: "ready" } },
    },
    open: {
      services: { db: { run: "echo ready; exec sleep 3000", readyPattern: "ready" } },
    },
    slow: {
      isolation: { runtime: "bubblewrap" },
      agent: { providerId: "offline", modelId: "echo" },
      // Its setup says it started, then waits to be killed (with the creation).
      services: { s: { run: "sleep 3005", setup: ["touch started.marker; sleep 3004"] } },
    },
  },
};
"""

#: What the agent runs: each attempt goes to results.txt, in its worktree (its own work).
ATTACK = (Path(__file__).parent / "isolation_attack.sh").read_text()


def _need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("SYNTHETIC_E2E_REQUIRED"):
            pytest.fail("bwrap is not installed (scripts/setup.sh installs bubblewrap)")
        pytest.skip("bwrap is not installed")


@pytest.fixture
def lab(tmp_path: Path, offline_model: OfflineModelServer, opencode_bin: str,
        monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    _need_bwrap()
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    env = {**os.environ, **GIT_ENV, **isolated_env(home, offline_model.url),
           "SYNTHETIC_OPENCODE_BIN": opencode_bin,
           "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    env.pop(URL_ENV, None)
    env.pop(PASSWORD_ENV, None)
    lab: dict[str, object] = {"repo": repo, "env": env, "home": home}
    yield lab
    for cid in lab.get("made", []):  # type: ignore[attr-defined]
        run(lab, "rm", cid, "--yes", "--force", "--trust")
    run(lab, "doctor", "--fix")  # what a test that failed half-way left
    run(lab, "opencode", "stop")


def run(lab: dict[str, object], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "synthetic_ls", *argv], cwd=lab["repo"],  # type: ignore[arg-type]
        env=lab["env"], capture_output=True, text=True, stdin=subprocess.DEVNULL,  # type: ignore[arg-type]
        timeout=300,
    )


def ok_json(lab: dict[str, object], *argv: str) -> dict[str, object]:
    done = run(lab, *argv, "--json")
    assert done.returncode == 0, (argv, done.stdout, done.stderr)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def new(lab: dict[str, object], name: str, *extra: str) -> dict[str, object]:
    made = ok_json(lab, "new", name, "--trust", *extra)
    lab.setdefault("made", []).append(made["id"])  # type: ignore[attr-defined]
    return made


def processes_with(text: str) -> list[int]:
    """Pids of this machine whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def approve_until_idle(lab: dict[str, object], cid: str) -> None:
    """Approve every request of the turn (the bash command, and reaching outside the
    worktree) until the agent is idle again."""
    def settled() -> bool:
        pending = ok_json(lab, "session", "permissions", cid)["pending"]
        if pending:
            ok_json(lab, "session", "approve", cid)
            return False
        return ok_json(lab, "show", cid)["agent"]["state"] == "idle"  # type: ignore[index]

    wait_for(settled, within=120)


def test_an_isolated_agent_reaches_nothing_but_its_worktree(lab: dict[str, object]) -> None:
    repo: Path = lab["repo"]  # type: ignore[assignment]
    home: Path = lab["home"]  # type: ignore[assignment]
    other = new(lab, "other", "--template", "open")
    [db] = ok_json(lab, "services", "status", str(other["id"]))["services"]  # type: ignore[misc]
    main_before = git(repo, "rev-parse", "main")
    made = new(lab, "isolated")
    cid = str(made["id"])
    assert made["isolation"] == "bubblewrap"
    worktree = Path(str(made["workspace_path"]))
    state = repo / ".git" / "synthetic"
    server = (state / "sandboxes" / cid / "opencode" / "server.toml").read_text()
    url = next(line.split('"')[1] for line in server.splitlines() if line.startswith("url"))
    token = os.urandom(4).hex()
    # Its service runs in the sandbox too (bwrap is its supervisor's child).
    [web] = ok_json(lab, "services", "status", cid)["services"]  # type: ignore[misc]
    assert web["state"] == "ready"
    script = ATTACK
    for key, value in {"MAIN": repo, "OTHER": other["workspace_path"], "HOME": home,
                       "STATE": state, "ID": cid, "PID": db["pid"], "URL": url,
                       "TOKEN": int(token, 16)}.items():
        script = script.replace(f"@{key}@", str(value))
    (worktree / "attack.sh").write_text(script)

    sent = ok_json(lab, "session", "send", cid, "[tool:bash sh attack.sh]", "--wait", "--trust")
    assert sent["state"] == "awaiting_input"
    approve_until_idle(lab, cid)

    results = (worktree / "results.txt").read_text().splitlines()
    assert results == [
        f"{what} failed" for what in (
            "write-main", "write-other", "read-ssh", "read-repo-password", "read-own-password",
            "env-password", "proc-password", "move-main", "kill-service", "add-plugin",
            "approve-own")
    ], results
    assert not (repo / "evil.txt").exists()
    assert not (Path(str(other["workspace_path"])) / "evil.txt").exists()
    assert git(repo, "rev-parse", "main") == main_before
    still = ok_json(lab, "services", "status", str(other["id"]))["services"]
    assert still[0]["state"] == "ready"  # type: ignore[index]
    # Its own work: committed by the agent on its branch, in its worktree.
    assert (worktree / "done.txt").read_text() == "own-commit ok\n"
    assert git(worktree, "log", "-1", "--format=%s").strip() == "the agent's own work"
    daemon = f"3001.{int(token, 16)}"
    assert processes_with(daemon), "the daemon runs while its sandbox does"

    ok_json(lab, "commit", cid, "--message", "the rest of the agent's files")
    ok_json(lab, "land", cid, "--trust")
    assert git(repo, "show", "main:mine.txt").strip() == "own work"
    # Stopping the servers ends its sandbox, and whatever its agent left running there.
    assert ok_json(lab, "opencode", "stop")["sandboxes"] == [cid]
    wait_for(lambda: not processes_with(daemon), within=30)
    assert not processes_with(f"--port\0{url.rsplit(':', 1)[1]}\0"), "its server ended"
    ok_json(lab, "rm", cid, "--yes", "--trust")
    lab["made"].remove(cid)  # type: ignore[attr-defined]
    assert not (state / "sandboxes" / cid).exists()


def test_a_creation_killed_in_its_sandbox_leaves_nothing_after_doctor_fix(
    lab: dict[str, object], tmp_path: Path
) -> None:
    """``kill -9`` of ``new`` while its service's setup runs in the sandbox (its agent's
    server already started there): ``doctor --fix`` undoes it all."""
    repo: Path = lab["repo"]  # type: ignore[assignment]
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_ls", "new", "killed", "--template", "slow",
         "--trust"], cwd=repo, env=lab["env"], stdin=subprocess.DEVNULL,  # type: ignore[arg-type]
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    trees = tmp_path / "trees"
    try:
        wait_for(lambda: any(trees.glob("*/started.marker")), within=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    [marker] = trees.glob("*/started.marker")
    cid = marker.parent.name
    assert processes_with(f"sandboxes/{cid}/"), "its agent's server runs in its sandbox"
    found = json.loads(run(lab, "doctor", "--json").stdout)
    assert [f["kind"] for f in found["findings"]] == ["interrupted-operation"], found
    fixed = run(lab, "doctor", "--fix", "--json")
    assert fixed.returncode in (0, 1), fixed.stderr
    wait_for(lambda: not processes_with(f"sandboxes/{cid}/"), within=30)
    assert not processes_with("sleep 3004"), "its setup ended"
    state = repo / ".git" / "synthetic"
    assert not (state / "sandboxes" / cid).exists()
    assert not (state / "constructs" / f"{cid}.toml").exists()
    assert not marker.parent.exists()
