"""docker and compose services: the command lines Synthetic gives the docker CLI.

No Docker engine runs on the test machines, so ``docker`` here is a
**stand-in**: a small script put first on PATH that appends each argv it
receives to a file and answers like the real client would for the few
commands used (``version``, ``run``, ``logs``, ``inspect``, ``rm``,
``volume ls``, ``compose``). The tests check the command lines, and that a
missing engine fails early with a clear message.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.integration.services_helpers import make_service_repo, synthetic

STAND_IN = r"""#!/bin/sh
# Stand-in for the docker CLI (tests only): log argv, answer like docker would.
printf '%s\n' "$*" >> "$DOCKER_LOG"
case "$1" in
  version) if [ -n "$DOCKER_DOWN" ]; then
             echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." \
                  "Is the docker daemon running?" >&2
             exit 1
           fi
           echo "27.0.1" ;;
  run) echo "0123456789abcdef" ;;
  logs) echo "database system is ready to accept connections" ;;
  inspect) echo "true" ;;
  volume) [ "$2" = ls ] && echo "synthetic-${DOCKER_CID}-pgdata" ;;
  compose) for a in "$@"; do [ "$a" = ps ] && echo "abc123"; done ;;
esac
exit 0
"""

CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      env: { LOG_LEVEL: "debug" },
      services: {
        db: {
          type: "docker",
          image: "postgres:16",
          ports: ["5432"],
          env: { POSTGRES_PASSWORD: "dev" },
          volumes: ["pgdata:/var/lib/postgresql/data", "./initdb:/docker-entrypoint-initdb.d"],
          readyPattern: "ready to accept connections",
          readyTimeoutMs: 20000,
        },
        stack: { type: "compose", file: "compose.yml", services: ["redis"] },
      },
    },
  },
};
"""


@pytest.fixture
def docker(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The stand-in ``docker`` on PATH, and the environment that selects it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    log = tmp_path / "docker.log"
    return log, {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DOCKER_LOG": str(log)}


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_docker_and_compose_command_lines(
    tmp_path: Path, docker: tuple[Path, dict[str, str]]
) -> None:
    log, env = docker
    repo = make_service_repo(tmp_path, CONFIG, {"compose.yml": "services: {}\n",
                                                "initdb/init.sql": "select 1;\n"})
    made = synthetic(repo, tmp_path, "new", "Db work", "--json", extra_env=env)
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    cid = out["id"]
    port = next(p["port"] for p in out["ports"] if p["service"] == "db")
    wt = out["workspace_path"]
    calls = _calls(log)
    run = next(c for c in calls if c.startswith("run "))
    assert run.startswith(f"run -d --name synthetic-{cid}-db --label synthetic.construct={cid}")
    assert f"-p 127.0.0.1:{port}:5432" in run
    assert "-e POSTGRES_PASSWORD=dev" in run and "-e LOG_LEVEL=debug" in run
    assert f"-e DB_PORT={port}" in run and f"-e PORT={port}" in run
    assert f"-v synthetic-{cid}-pgdata:/var/lib/postgresql/data" in run
    assert f"-v {wt}/initdb:/docker-entrypoint-initdb.d" in run
    assert run.endswith(" postgres:16")
    assert calls.index(f"rm -f synthetic-{cid}-db") < calls.index(run)  # a leftover goes first
    assert f"logs synthetic-{cid}-db" in calls
    assert f"compose -p synthetic-{cid} -f {wt}/compose.yml up -d redis" in calls
    states = {s["name"]: (s["state"], s["container"]) for s in out["services"]}
    assert states == {
        "db": ("ready", f"synthetic-{cid}-db"),
        "stack": ("ready", f"synthetic-{cid}"),
    }

    status = synthetic(repo, tmp_path, "services", "status", cid, "--json", extra_env=env)
    assert [s["state"] for s in json.loads(status.stdout)["services"]] == ["ready", "ready"]
    stopped = synthetic(repo, tmp_path, "services", "stop", cid, "db", extra_env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stop synthetic-{cid}-db" in _calls(log)

    gone = synthetic(repo, tmp_path, "rm", cid, "--yes", extra_env={**env, "DOCKER_CID": cid})
    assert gone.returncode == 0, gone.stderr
    calls = _calls(log)
    assert f"rm -f -v synthetic-{cid}-db" in calls
    assert f"volume rm synthetic-{cid}-pgdata" in calls
    assert f"compose -p synthetic-{cid} down --volumes --remove-orphans" in calls


def test_no_engine_fails_early_and_leaves_nothing(
    tmp_path: Path, docker: tuple[Path, dict[str, str]]
) -> None:
    log, env = docker
    repo = make_service_repo(tmp_path, CONFIG, {"compose.yml": "services: {}\n",
                                                "initdb/init.sql": "select 1;\n"})
    done = synthetic(repo, tmp_path, "new", "No engine", "--json",
                     extra_env={**env, "DOCKER_DOWN": "1"})
    assert done.returncode == 1
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "docker-unavailable"
    assert "no Docker engine is reachable" in error["message"]
    assert "Is the docker daemon running?" in error["message"]
    assert not any(c.startswith("run ") for c in _calls(log))
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
    # Without any docker on PATH at all, the message says so. The PATH holds
    # only the programs creation needs, so that a machine with a real docker
    # in /usr/bin (issue 20, item 27) runs no container here either.
    bare = synthetic(repo, tmp_path, "new", "No docker", "--json",
                     extra_env={"PATH": str(_path_without_docker(tmp_path))})
    assert "docker is not installed" in json.loads(bare.stderr)["error"]["message"]
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []


def _path_without_docker(tmp_path: Path) -> Path:
    """A folder of links to git and the shell: a PATH on which no docker can be found."""
    folder = tmp_path / "no-docker-bin"
    folder.mkdir()
    for name in ("git", "sh", "bash", "env"):
        found = shutil.which(name)
        assert found is not None, name
        (folder / name).symlink_to(found)
    return folder
