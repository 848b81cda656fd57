"""docker and compose services against a real Docker engine.

The engine is the one ``docker version`` reaches (scripts/engine.sh starts
one in CI, with no bridge: containers use the host's network). The image is
``synthetic-test/busybox:1``, built locally from Debian's static busybox
(tests/integration/docker_engine.py). Without an engine these tests skip,
or fail under ``SYNTHETIC_E2E_REQUIRED=1`` (scripts/test.sh).

Every wait polls with a deadline; the ``engine`` fixture removes whatever a
test left on the engine (by the labels Synthetic puts on it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.docker_engine import (
    IMAGE,
    Cleanup,
    docker,
    engine,
    labelled,
    running,
    state_dir,
    wait_until,
)
from tests.integration.services_helpers import PY, env, make_service_repo, synthetic

__all__ = ["engine"]  # the fixture, used by name

WEB = json.dumps('echo "web ready on $PORT ($GREETING)"; '
                 "exec httpd -f -vv -p 127.0.0.1:$PORT -h /data")
#: A docker service: busybox httpd on the allocated port, serving its volume;
#: the ready line comes first, then each request is logged (-vv).
DOCKER_CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      env: { GREETING: "hello" },
      services: {
        web: {
          type: "docker",
          image: "%(image)s",
          command: ["sh", "-c", %(web)s],
          ports: [{ name: "http" }],
          volumes: ["data:/data"],
          readyPattern: "web ready on [0-9]+",
          readyTimeoutMs: 60000,
        },
      },
    },
    hang: {
      services: {
        web: {
          type: "docker",
          image: "%(image)s",
          command: ["sh", "-c", "echo waiting; exec sleep 600"],
          readyPattern: "never printed",
          readyTimeoutMs: 600000,
        },
      },
    },
  },
};
"""

COMPOSE_CONFIG = """export default {
  defaults: { templateId: "t" },
  templates: {
    t: {
      ports: [{ name: "web" }],
      services: { stack: { type: "compose", file: "compose.yml" } },
    },
  },
};
"""

#: No network_mode here: Synthetic's override gives every service host networking.
COMPOSE_FILE = """services:
  web:
    image: %(image)s
    command:
      - "sh"
      - "-c"
      - "echo compose web on $$WEB_PORT; exec httpd -f -v -p 127.0.0.1:$$WEB_PORT -h /srv"
    environment:
      WEB_PORT: "${WEB_PORT}"
    volumes:
      - "srv:/srv"
volumes:
  srv: {}
"""


def _repo(tmp_path: Path, cleanup: Cleanup, config: str = DOCKER_CONFIG,
          files: dict[str, str] | None = None) -> Path:
    return cleanup.repo(make_service_repo(tmp_path, config % {"image": IMAGE, "web": WEB},
                                          files))


def _new(repo: Path, tmp_path: Path, name: str, *more: str, **extra: str) -> dict:
    made = synthetic(repo, tmp_path, "new", name, "--json", *more, extra_env=extra)
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


def _get(port: int, path: str = "/") -> tuple[int, str] | None:
    """``(status, body)`` of GET http://127.0.0.1:PORT/PATH; None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return None


def _port(made: dict, service: str) -> int:
    return next(p["port"] for p in made["ports"] if p["service"] == service)


def test_docker_service_runs_on_its_host_port_and_stops(tmp_path: Path, engine: Cleanup) -> None:
    repo = _repo(tmp_path, engine)
    made = _new(repo, tmp_path, "Web work")
    cid, port = made["id"], _port(made, "web")
    name = f"synthetic-{cid}-web"
    [service] = made["services"]
    assert (service["state"], service["container"]) == ("ready", name)
    options = service["command"].split(IMAGE)[0]  # docker's own options, not the command's
    assert "--network host" in options and " -p " not in options
    assert running(name) is True
    # Host networking: the container listens on the allocated port itself, on 127.0.0.1.
    docker("exec", name, "sh", "-c", "echo from-the-volume > /data/hello.txt")
    wait_until(lambda: _get(port, "/hello.txt") == (200, "from-the-volume\n"),
               what=f"the container answering on 127.0.0.1:{port}")
    labels = json.loads(docker("inspect", "-f", "{{json .Config.Labels}}", name).stdout)
    assert labels["synthetic.construct"] == cid
    assert labels["synthetic.state"] == str(state_dir(repo))

    # `services logs` shows what the container printed: the ready line with its
    # variables, and (httpd -vv) the request made after it was ready.
    def logged() -> list[str]:
        shown = synthetic(repo, tmp_path, "services", "logs", cid, "web", "--json")
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)["lines"]

    assert f"web ready on {port} (hello)" in logged()
    wait_until(lambda: any("hello.txt" in line for line in logged()),
               what="the request in the container's log")
    # -f follows the container's output: a request made now shows up.
    followed = tmp_path / "followed.txt"
    with followed.open("w") as out:
        follower = subprocess.Popen(
            [PY, "-m", "synthetic_ls", "services", "logs", "-f", "-n", "1", cid, "web"],
            cwd=repo, env=env(tmp_path), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        def requested_later() -> bool:
            _get(port, "/later.txt")
            return "/later.txt" in followed.read_text()

        wait_until(requested_later, what="the followed log showing a new request")
    finally:
        os.killpg(follower.pid, signal.SIGKILL)
        follower.wait(timeout=60)

    stopped = synthetic(repo, tmp_path, "services", "stop", cid, "web", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert running(name) is False  # stopped, kept until the construct goes
    assert json.loads(stopped.stdout)["services"][0]["state"] == "stopped"
    assert _get(port) is None
    assert name in labelled("ps", f"synthetic.construct={cid}")

    # Started again: the same container name, the same port, the volume's file still there.
    again = synthetic(repo, tmp_path, "services", "start", cid, "--json")
    assert again.returncode == 0, again.stderr
    wait_until(lambda: _get(port, "/hello.txt") == (200, "from-the-volume\n"),
               what="the restarted container")

    gone = synthetic(repo, tmp_path, "rm", cid, "--yes")
    assert gone.returncode == 0, gone.stderr
    assert labelled("ps", f"synthetic.construct={cid}") == []
    assert labelled("volume", f"synthetic.construct={cid}") == []
    assert _get(port) is None


def test_named_volumes_are_per_construct(tmp_path: Path, engine: Cleanup) -> None:
    repo = _repo(tmp_path, engine)
    first, second = _new(repo, tmp_path, "First"), _new(repo, tmp_path, "Second")
    a, b = first["id"], second["id"]
    assert labelled("volume", f"synthetic.construct={a}") == [f"synthetic-{a}-data"]
    assert labelled("volume", f"synthetic.construct={b}") == [f"synthetic-{b}-data"]
    docker("exec", f"synthetic-{a}-web", "sh", "-c", "echo only-a > /data/a.txt")
    wait_until(lambda: _get(_port(first, "web"), "/a.txt") == (200, "only-a\n"),
               what="the first construct's file")
    listed = docker("exec", f"synthetic-{b}-web", "ls", "/data")
    assert listed.returncode == 0 and "a.txt" not in listed.stdout
    assert _get(_port(second, "web"), "/a.txt") == (404, "")

    assert synthetic(repo, tmp_path, "rm", a, "--yes").returncode == 0
    volumes = docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"synthetic-{a}-data" not in volumes and f"synthetic-{b}-data" in volumes
    assert running(f"synthetic-{b}-web") is True
    assert synthetic(repo, tmp_path, "rm", b, "--yes").returncode == 0
    assert f"synthetic-{b}-data" not in docker("volume", "ls", "--format",
                                               "{{.Name}}").stdout.split()


def test_container_of_a_killed_creation_is_removed_by_doctor(
    tmp_path: Path, engine: Cleanup
) -> None:
    repo = _repo(tmp_path, engine)
    state = f"synthetic.state={state_dir(repo)}"
    creating = subprocess.Popen(
        [PY, "-m", "synthetic_ls", "new", "Killed", "--template", "hang", "--json"],
        cwd=repo, env=env(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        # The container runs and `new` waits for its ready line: kill it there.
        wait_until(lambda: any(running(n) for n in labelled("ps", state)),
                   what="the creation's container")
        [name] = labelled("ps", state)
        wait_until(lambda: "waiting" in docker("logs", name).stdout, what="the container's output")
    finally:
        os.killpg(creating.pid, signal.SIGKILL)
        creating.wait(timeout=60)
    assert running(name) is True  # left behind

    cid = name.removeprefix("synthetic-").removesuffix("-web")
    found = json.loads(synthetic(repo, tmp_path, "doctor", "--json").stdout)["findings"]
    [interrupted] = [f for f in found if f["kind"] == "interrupted-operation"]
    assert interrupted["subject"]["ref"] == cid and "services" in interrupted["message"]
    fixed = synthetic(repo, tmp_path, "doctor", "--fix", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    [notes] = [f["fix_notes"] for f in json.loads(fixed.stdout)["findings"]]
    assert f"removed container(s) of {name}" in " ".join(notes)
    assert labelled("ps", state) == []
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []


def test_container_left_by_an_unreachable_engine_is_found_by_doctor(
    tmp_path: Path, engine: Cleanup
) -> None:
    repo = _repo(tmp_path, engine)
    made = _new(repo, tmp_path, "Left")
    cid = made["id"]
    # Removed while the engine cannot be reached: the record goes, the container stays.
    nowhere = tmp_path / "no-engine"
    nowhere.mkdir()
    gone = synthetic(repo, tmp_path, "rm", cid, "--yes", "--json",
                     extra_env={"DOCKER_HOST": f"unix://{nowhere}/docker.sock"})
    assert gone.returncode == 0, gone.stderr
    assert "was left" in gone.stdout
    assert labelled("ps", f"synthetic.construct={cid}") == [f"synthetic-{cid}-web"]

    report = json.loads(synthetic(repo, tmp_path, "doctor", "--json").stdout)
    [finding] = [f for f in report["findings"] if f["kind"] == "orphan-container"]
    assert f"synthetic-{cid}-web" in finding["message"]
    assert f"synthetic-{cid}-data" in finding["message"]
    fixed = synthetic(repo, tmp_path, "doctor", "--fix", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert labelled("ps", f"synthetic.construct={cid}") == []
    assert labelled("volume", f"synthetic.construct={cid}") == []
    again = json.loads(synthetic(repo, tmp_path, "doctor", "--json").stdout)
    assert not [f for f in again["findings"] if f["kind"] == "orphan-container"]


def test_compose_project_per_construct(tmp_path: Path, engine: Cleanup) -> None:
    repo = _repo(tmp_path, engine, COMPOSE_CONFIG,
                 {"compose.yml": COMPOSE_FILE % {"image": IMAGE}})
    networks = sorted(docker("network", "ls", "-q").stdout.split())
    first, second = _new(repo, tmp_path, "First"), _new(repo, tmp_path, "Second")
    for made in (first, second):
        engine.project(made["id"])
        [service] = made["services"]
        assert (service["state"], service["container"]) == ("ready", f"synthetic-{made['id']}")
    projects = {m["id"]: labelled("ps", f"com.docker.compose.project=synthetic-{m['id']}")
                for m in (first, second)}
    assert all(len(names) == 1 for names in projects.values()), projects
    assert not set(projects[first["id"]]) & set(projects[second["id"]])
    # No network was made: the project's services use the host's.
    assert sorted(docker("network", "ls", "-q").stdout.split()) == networks
    for made in (first, second):
        [name] = projects[made["id"]]
        assert docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", name).stdout.strip() \
            == "host"
        port = _port(made, "web")
        wait_until(lambda port=port: _get(port) is not None,  # type: ignore[misc]
                   what=f"compose web on {port}")
        logs = synthetic(repo, tmp_path, "services", "logs", made["id"], "--json")
        assert any(f"compose web on {port}" in line
                   for line in json.loads(logs.stdout)["lines"]), logs.stdout

    a = first["id"]
    stopped = synthetic(repo, tmp_path, "services", "stop", a, "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert [running(n) for n in projects[a]] == [False]
    assert running(projects[second["id"]][0]) is True
    status = json.loads(synthetic(repo, tmp_path, "services", "status", a, "--json").stdout)
    assert status["services"][0]["state"] == "stopped"

    assert synthetic(repo, tmp_path, "rm", a, "--yes").returncode == 0  # down: all of it goes
    assert labelled("ps", f"com.docker.compose.project=synthetic-{a}") == []
    assert labelled("volume", f"com.docker.compose.project=synthetic-{a}") == []
    assert running(projects[second["id"]][0]) is True
    assert synthetic(repo, tmp_path, "rm", second["id"], "--yes").returncode == 0
    assert labelled("ps", f"com.docker.compose.project=synthetic-{second['id']}") == []


def test_no_engine_fails_early_and_leaves_nothing(tmp_path: Path, engine: Cleanup) -> None:
    repo = _repo(tmp_path, engine)
    nowhere = tmp_path / "no-engine"
    nowhere.mkdir()
    done = synthetic(repo, tmp_path, "new", "No engine", "--json",
                     extra_env={"DOCKER_HOST": f"unix://{nowhere}/docker.sock"})
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stderr)["error"]
    assert error["code"] == "docker-unavailable"
    assert "no Docker engine is reachable" in error["message"]
    assert str(nowhere) in error["message"]  # docker's own words: where it looked
    assert json.loads(synthetic(repo, tmp_path, "ls", "--json").stdout)["constructs"] == []
    worktrees = tmp_path / "wt"
    assert not worktrees.exists() or not any(worktrees.iterdir())
    branches = subprocess.run(["git", "branch", "--list", "synthetic/*"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout
    assert branches == ""
    assert labelled("ps", f"synthetic.state={state_dir(repo)}") == []
    assert not list((state_dir(repo) / "services").glob("*.toml"))
    # Without any docker on PATH at all, the message says so.
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


def test_compose_command_is_the_plugin_or_docker_compose() -> None:
    from synthetic_ls.runtime.docker import compose_command

    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True,
                            timeout=30).returncode == 0 if shutil.which("docker") else False
    if plugin:
        assert compose_command() == ["docker", "compose"]
    elif shutil.which("docker-compose"):
        assert compose_command() == ["docker-compose"]
    else:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
