"""Isolated constructs in containers: the real Docker engine, the real OpenCode, the offline model.

A template with ``isolation: { runtime: "container", image: ... }`` runs the
construct's setup, its service and its agent's OpenCode server in containers
of the test image (busybox, glibc and git: :func:`ensure_agent_image`). The agent
runs an attack script (approved as a person would) that tries to reach what
is not its own: the main checkout, another construct's worktree, the
person's SSH key, the repository's and its own server's passwords (in files,
its environment, its server's ``/proc/<pid>/environ``), its server's API,
the ``main`` branch, the Docker engine's socket and another construct's
process. Every attempt fails; its own work is committed on
its branch, with git in the container. Removal leaves no
container.

Without an engine these tests skip, or fail under ``SYNTHETIC_E2E_REQUIRED=1``.
Every wait polls with a deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthetic_ls.opencode.offline_model import OfflineModelServer, isolated_env
from synthetic_ls.opencode.server import PASSWORD_ENV, URL_ENV
from tests.gitrepo import GIT_ENV, make_repo
from tests.integration.docker_engine import (
    AGENT_IMAGE,
    Cleanup,
    docker,
    ensure_agent_image,
    labelled,
    require_engine,
)
from tests.opencode.test_sessions import wait_for

CONFIG = """export default {
  defaults: { templateId: "boxed" },
  templates: {
    boxed: {
      isolation: { runtime: "container", image: "%(image)s" },
      agent: { providerId: "offline", modelId: "echo" },
      setup: "echo setup ran as $(id -u) > setup.txt",
      services: {
        web: { run: "echo web ready; exec sleep 1000", readyPattern: "web ready" },
      },
    },
    // An image no engine has, from a registry that refuses at once.
    missing: {
      isolation: { runtime: "container", image: "127.0.0.1:9/synthetic-test/missing:1" },
      setup: "touch setup.txt",
    },
  },
};
"""

SSH_KEY = "SSH-KEY-NOT-FOR-THE-AGENT"

#: Each attempt writes `NAME: ok` or `NAME: failed` (and what it read) into results.txt.
ATTACK = """#!/bin/sh
out=results.txt
: > "$out"
try() {{ name=$1; shift; if "$@" >> "$out.tmp" 2>&1; then r=ok; else r=failed; fi
  echo "$name: $r" >> "$out"; cat "$out.tmp" >> "$out" 2>/dev/null; rm -f "$out.tmp"; }}
# A write reaches a checkout only where its README is (a container's own files are not it).
try main-checkout sh -c 'grep -q hi {repo}/README.md && echo pwned >> {repo}/README.md'
try other-worktree sh -c 'grep -q hi {other}/README.md && echo pwned >> {other}/README.md'
try ssh-key cat {home}/.ssh/id_ed25519
try repo-password cat {state}/opencode/password
try own-password cat {state}/sandboxes/{cid}/opencode/password
try env-password sh -c 'env | grep OPENCODE_SERVER_PASSWORD'
try proc-environ sh -c 'cat /proc/*/environ | tr "\\\\0" "\\\\n" | grep OPENCODE_SERVER_PASSWORD'
try server-api wget -q -O - {url}/session
try permission-reply wget -q -O - --post-data '{{"response":"always"}}' \
  {url}/session/x/permissions/y
try docker-socket sh -c 'test -S /var/run/docker.sock || test -S /run/docker.sock'
try signal-other kill -0 {other_pid}
try move-main sh -c 'git update-ref refs/heads/main $(git commit-tree HEAD^{{tree}} -p HEAD -m x)'
echo "own work" > mine.txt
try own-commit sh -c 'git add mine.txt && git -c user.name=agent -c user.email=a@example.com \
  commit -qm "the agent'"'"'s own work"'
echo done >> "$out"
"""


@pytest.fixture
def lab(tmp_path: Path, offline_model: OfflineModelServer, opencode_bin: str,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """A repository with the container template, a person's home with an SSH key."""
    require_engine()
    ensure_agent_image()
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG % {"image": AGENT_IMAGE},
                                        "README.md": "hi\n"})
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY + "\n")
    env = {**os.environ, **GIT_ENV, **isolated_env(home, offline_model.url),
           "SYNTHETIC_OPENCODE_BIN": opencode_bin,
           "SYNTHETIC_WORKTREES_DIR": str(tmp_path / "trees")}
    env.pop(URL_ENV, None)
    env.pop(PASSWORD_ENV, None)
    cleanup = Cleanup()
    cleanup.repo(repo)
    yield {"repo": repo, "env": env, "home": home}
    subprocess.run([sys.executable, "-m", "synthetic_ls", "opencode", "stop"], cwd=repo,
                   env=env, capture_output=True, timeout=60)
    left = cleanup.run()
    assert not left, f"containers left after the test: {left}"


def run(lab: dict[str, object], *argv: str, timeout: float = 300
        ) -> subprocess.CompletedProcess[str]:
    """``synthetic ARGV`` in the lab's repository and environment."""
    return subprocess.run(
        [sys.executable, "-m", "synthetic_ls", *argv], cwd=lab["repo"],  # type: ignore[arg-type]
        env=lab["env"], capture_output=True, text=True, stdin=subprocess.DEVNULL,  # type: ignore[arg-type]
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``result``, asserted successful (its output in the failure message)."""
    assert result.returncode == 0, f"{result.args}: {result.stdout}\n{result.stderr}"
    return result


def approve_all(lab: dict[str, object], cid: str, until: Path, within: float = 120.0) -> None:
    """Approve every permission the agent asks for until ``until`` exists (with a deadline)."""
    deadline = time.monotonic() + within
    while not (until.exists() and "done" in until.read_text()):
        assert time.monotonic() < deadline, "the agent's script did not finish in time"
        asked = ok(run(lab, "session", "permissions", cid, "--json"))
        for item in json.loads(asked.stdout)["pending"]:
            run(lab, "session", "approve", cid, item["id"])
        time.sleep(0.3)


def test_a_container_construct_keeps_its_agent_to_its_worktree(lab: dict[str, object]) -> None:
    repo: Path = lab["repo"]  # type: ignore[assignment]
    home: Path = lab["home"]  # type: ignore[assignment]
    state = repo / ".git" / "synthetic"
    # The repository's own server runs too: its password is a file the agent must not read.
    ok(run(lab, "opencode", "start"))
    other = json.loads(ok(run(lab, "new", "Other", "--trust", "--json")).stdout)
    made = json.loads(ok(run(lab, "new", "Boxed", "--trust", "--json")).stdout)
    cid, worktree = made["id"], Path(made["workspace_path"])

    # Its agent's server, its service and nothing else of it run, in containers.
    running = docker("ps", "--filter", f"label=synthetic.construct={cid}",
                     "--format", "{{.Names}} {{.Label \"synthetic.sandbox\"}}").stdout
    assert f"synthetic-{cid}-agent agent" in running, running
    assert " command" in running, running
    # Setup ran in a container, as the person's user id, in the worktree.
    assert (worktree / "setup.txt").read_text().strip() == f"setup ran as {os.getuid()}"

    record = (state / "sandboxes" / cid / "opencode" / "server.toml").read_text()
    url = next(line.split('"')[1] for line in record.splitlines() if line.startswith("url"))
    own_password = (state / "sandboxes" / cid / "opencode" / "password").read_text().strip()
    repo_password = (state / "opencode" / "password").read_text().strip()
    (worktree / "attack.sh").write_text(ATTACK.format(
        repo=repo, other=other["workspace_path"], home=home, state=state.resolve(), cid=cid,
        url=url, other_pid=_docker_clients(other["id"])[0]))

    ok(run(lab, "session", "send", cid, "[tool:bash sh attack.sh]", "--trust"))
    results = worktree / "results.txt"
    approve_all(lab, cid, results)
    ok(run(lab, "session", "watch", cid, "--timeout", "60"))

    text = results.read_text()
    # Every attempt failed, and nothing secret came out.
    for name in ("main-checkout", "other-worktree", "ssh-key", "repo-password", "own-password",
                 "env-password", "proc-environ", "server-api", "permission-reply", "move-main",
                 "docker-socket", "signal-other"):
        assert f"{name}: failed" in text, text
    # Its own work lands: committed on its branch, with git in the container.
    assert "own-commit: ok" in text, text
    log = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%s", made["branch"]],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert log == "the agent's own work"
    main_tip = subprocess.run(["git", "-C", str(repo), "log", "-1", "--format=%s", "main"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert main_tip == "initial"
    for secret in (SSH_KEY, own_password, repo_password):
        assert secret not in text, text
    # And on the machine, nothing outside its worktree changed.
    assert (repo / "README.md").read_text() == "hi\n"
    assert (Path(other["workspace_path"]) / "README.md").read_text() == "hi\n"

    # Its server's client killed outright leaves the container: the next send replaces it.
    agent = f"synthetic-{cid}-agent"
    client = next(pid for pid in _docker_clients(cid) if f"--name\0{agent}".encode()
                  in Path(f"/proc/{pid}/cmdline").read_bytes())
    os.kill(client, 9)
    wait_for(lambda: client not in _docker_clients(cid), within=10)
    assert agent in labelled("ps", f"synthetic.construct={cid}")
    ok(run(lab, "session", "send", cid, "hello again", "--wait", "--timeout", "120"))
    assert len([p for p in _docker_clients(cid) if f"--name\0{agent}".encode()
                in Path(f"/proc/{p}/cmdline").read_bytes()]) == 1

    ok(run(lab, "rm", cid, "--yes", "--force", "--trust"))
    wait_for(lambda: labelled("ps", f"synthetic.construct={cid}") == [], within=30)
    ok(run(lab, "rm", other["id"], "--yes", "--force", "--trust"))


def _docker_clients(cid: str) -> list[int]:
    """The pids of the ``docker run`` clients of the construct's containers (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"docker", b"run"] and f"synthetic.construct={cid}".encode() in argv:
            found.append(int(entry.name))
    return found


def test_a_service_container_goes_when_the_service_stops_even_with_its_client_killed(
    lab: dict[str, object],
) -> None:
    made = json.loads(ok(run(lab, "new", "Svc", "--no-agent", "--trust", "--json")).stdout)
    cid = made["id"]
    mine = f"synthetic.construct={cid}"
    assert len(labelled("ps", mine)) == 1  # its service; no agent asked for, no agent container
    # Stopping ends the client, which ends its container (the signal is passed on).
    ok(run(lab, "services", "stop", cid))
    wait_for(lambda: labelled("ps", mine) == [], within=30)

    ok(run(lab, "services", "start", cid, "--trust"))
    wait_for(lambda: len(labelled("ps", mine)) == 1 and len(_docker_clients(cid)) == 1,
             within=30)
    # A client killed outright passes nothing on: its container stays...
    os.kill(_docker_clients(cid)[0], 9)
    wait_for(lambda: _docker_clients(cid) == [], within=10)
    assert len(labelled("ps", mine)) == 1
    # ...until the service is stopped: it is removed by its label.
    ok(run(lab, "services", "stop", cid))
    assert labelled("ps", mine) == []
    ok(run(lab, "rm", cid, "--yes", "--force", "--trust"))
    assert labelled("ps", mine) == []


def test_a_container_construct_whose_image_cannot_be_had_is_refused_before_anything_is_made(
    lab: dict[str, object],
) -> None:
    repo: Path = lab["repo"]  # type: ignore[assignment]
    refused = run(lab, "new", "Nope", "--template", "missing", "--trust", "--json")
    assert refused.returncode != 0
    error = json.loads(refused.stderr)["error"]
    assert error["code"] == "container-image", error
    assert "127.0.0.1:9/synthetic-test/missing:1" in error["message"]
    assert "could not be pulled" in error["message"]
    assert not list((repo / ".git" / "synthetic").glob("constructs/*.toml"))
    assert git_branches(repo) == ["main"]


def git_branches(repo: Path) -> list[str]:
    """The repository's branches."""
    out = subprocess.run(["git", "-C", str(repo), "branch", "--format=%(refname:short)"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()
