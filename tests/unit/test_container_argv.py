"""The container runtime's command lines and image choice (no engine needed).

tests/opencode/test_isolation_container.py runs them on a real engine.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from state_format.records import Construct
from synthetic_ls.sandbox.container import (
    ContainerImage,
    ContainerImageError,
    ContainerRunner,
    container_argv,
    image_of,
    passed_names,
    server_argv,
)
from synthetic_ls.sandbox.plan import Layer, SandboxPlan

STATE = Path("/repo/.git/synthetic")
HOME = STATE / "sandboxes" / "c1" / "home"
PLAN = SandboxPlan("c1", Path("/trees/c1"), HOME, (
    Layer("hide", Path("/root")),
    Layer("hide", Path("/repo")),
    Layer("bind", Path("/repo/.git"), Path("/repo/.git")),
    Layer("hide", STATE),
    Layer("hide", Path("/repo/.git/worktrees")),
    Layer("scratch", Path("/repo/.git/scratch")),  # none there today: a writable empty one
    Layer("scratch", Path("/tmp")),
    Layer("bind", Path("/repo/.git/objects"), Path("/repo/.git/objects"), writable=True),
    Layer("bind", Path("/trees/c1"), Path("/trees/c1"), writable=True),
    Layer("bind", HOME, HOME, writable=True),
))


def _construct(**fields: object) -> Construct:
    return Construct.model_validate({
        "id": "c1", "name": "C1", "template_id": "t", "status": "ready",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "isolation": "container", **fields})


def test_a_container_sees_the_plans_binds_at_the_same_path_and_nothing_hidden_in_them() -> None:
    argv = container_argv(PLAN, "img:1", ["sh", "-c", "true"], name="n", env_names=["PORT"],
                          detach=False)
    assert argv[:3] == ["docker", "run", "--rm"] and "--init" not in argv
    pairs = list(itertools.pairwise(argv[:argv.index("img:1")]))
    for flag in (("--network", "host"), ("--cap-drop", "ALL"), ("--name", "n"),
                 ("--security-opt", "no-new-privileges"),
                 ("--user", f"{os.getuid()}:{os.getgid()}"),
                 ("--label", "synthetic.construct=c1"), ("--label", f"synthetic.state={STATE}"),
                 ("--label", "synthetic.sandbox=command"),
                 ("-v", "/repo/.git:/repo/.git:ro"),
                 ("-v", "/repo/.git/objects:/repo/.git/objects"),
                 ("-v", "/trees/c1:/trees/c1"), ("-v", f"{HOME}:{HOME}"),
                 # The state folder and the other worktrees' git folders are in a bind: covered.
                 ("--tmpfs", f"{STATE}:ro"), ("--tmpfs", "/repo/.git/worktrees:ro"),
                 ("--tmpfs", "/repo/.git/scratch"),
                 ("-w", "/trees/c1"), ("-e", f"HOME={HOME}"), ("-e", "PORT")):
        assert flag in pairs, flag
    # What is hidden outside every bind is not in the image at all: nothing to cover.
    assert not {("--tmpfs", "/root:ro"), ("--tmpfs", "/repo:ro"), ("--tmpfs", "/tmp")} & set(pairs)
    assert "-p" not in argv and "--privileged" not in argv
    assert argv[argv.index("img:1"):] == ["img:1", "sh", "-c", "true"]


def test_values_never_reach_the_command_line_and_the_persons_own_variables_stay_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "secret-token")
    env = {**os.environ, "PORT": "20001", "SYNTHETIC_CONSTRUCT_ID": "c1"}
    assert sorted(passed_names(env)) == ["PORT", "SYNTHETIC_CONSTRUCT_ID"]
    runner = ContainerRunner(PLAN, ContainerImage("img:1", {"FROM_DEVCONTAINER": "1"}))
    line = runner.wrap("echo hi", Path("/trees/c1"), env, Path("/logs/web.log"))
    assert "20001" not in line and "secret-token" not in line
    assert "-e PORT" in line and "-e FROM_DEVCONTAINER" in line and "GITHUB_TOKEN" not in line
    assert " --init " in line and "--label synthetic.log=/logs/web.log" in line
    assert line.endswith("img:1 sh -c 'cd /trees/c1 && echo hi'")


def test_the_agent_server_is_the_containers_first_process_with_its_password_by_name() -> None:
    shown = [(Path("/opt/opencode"), Path("/opt/opencode"))]
    argv = server_argv(PLAN, ContainerImage("img:1"), "/opt/opencode", 4096, shown,
                       ["OPENCODE_SERVER_PASSWORD", "PATH"])
    assert "--init" not in argv and "-d" not in argv
    pairs = list(itertools.pairwise(argv))
    assert ("--name", "synthetic-c1-agent") in pairs
    assert ("--label", "synthetic.sandbox=agent") in pairs
    assert ("-v", "/opt/opencode:/opt/opencode:ro") in pairs
    assert ("-e", "OPENCODE_SERVER_PASSWORD") in pairs and ("-e", "PATH") not in pairs
    assert argv[-6:] == ["/opt/opencode", "serve", "--hostname", "127.0.0.1", "--port", "4096"]


def test_a_path_with_a_colon_is_refused_rather_than_mounted_wrong() -> None:
    plan = SandboxPlan("c1", Path("/t:x"), HOME, (Layer("bind", Path("/t:x"), Path("/t:x")),))
    with pytest.raises(Exception, match="':'"):
        container_argv(plan, "img", ["true"], name="n", env_names=[], detach=True)


def test_the_image_is_the_records_or_its_devcontainers(tmp_path: Path) -> None:
    assert image_of(_construct(isolation_image="node:22"), tmp_path).image == "node:22"
    folder = tmp_path / ".devcontainer"
    folder.mkdir()
    (folder / "devcontainer.json").write_text("""{
      // JSON with comments, and trailing commas
      "name": "dev",
      "image": "mcr.microsoft.com/devcontainers/base:debian",
      "containerEnv": { "EDITOR": "vi", },
    }""")
    found = image_of(_construct(isolation_devcontainer=".devcontainer/devcontainer.json"),
                     tmp_path)
    assert found == ContainerImage("mcr.microsoft.com/devcontainers/base:debian",
                                   {"EDITOR": "vi"})


def test_a_devcontainer_that_only_builds_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "devcontainer.json").write_text('{ "build": { "dockerfile": "Dockerfile" } }')
    with pytest.raises(ContainerImageError, match="only a devcontainer with an `image`"):
        image_of(_construct(isolation_devcontainer="devcontainer.json"), tmp_path)
    with pytest.raises(ContainerImageError, match="cannot read"):
        image_of(_construct(isolation_devcontainer="missing.json"), tmp_path)
    with pytest.raises(ContainerImageError, match="names no image"):
        image_of(_construct(), tmp_path)
