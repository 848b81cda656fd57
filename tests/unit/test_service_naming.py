"""Pure rules of services and ports: variable names, substitution, env references, cwd."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_ls.config.schema import EnvRef, PortRequest, ProcessService, Template, TemplatePort
from synthetic_ls.errors import InvalidInputError
from synthetic_ls.provision.ports import env_name, port_requests
from synthetic_ls.runtime.service_process import inside, resolve_config_env, substitute


def test_port_variable_names() -> None:
    template = Template(
        id="t",
        services=[
            ProcessService(id="web", run="x", ports=[PortRequest(name="http")]),
            ProcessService(id="api-v2", run="x", ports=[
                PortRequest(name="http", preferred=3000),
                PortRequest(name="debug", env="API_DEBUG"),
            ]),
        ],
        ports=[TemplatePort(name="metrics", port=9100), TemplatePort(name="grpc", service="web")],
    )
    got = [(s.service, s.name, s.preferred, s.variable) for s in port_requests(template)]
    assert got == [
        ("web", None, None, "WEB_PORT"),
        ("api-v2", "http", 3000, "API_V2_HTTP_PORT"),
        ("api-v2", "debug", None, "API_DEBUG"),
        ("metrics", None, 9100, "METRICS_PORT"),
        ("web", "grpc", None, "WEB_GRPC_PORT"),
    ]
    assert env_name("db", None, "PGPORT") == "PGPORT"


def test_substitution() -> None:
    env = {"API_PORT": "4100"}
    text = "http://localhost:${env.API_PORT}/x in ${constructDir} keeps ${HOME} and $PATH"
    assert substitute(text, env, "/wt/c", "run") == (
        "http://localhost:4100/x in /wt/c keeps ${HOME} and $PATH"
    )
    with pytest.raises(InvalidInputError) as caught:
        substitute("${env.NOPE}", env, "/wt", "service web's run")
    assert caught.value.code == "env-unset" and "service web's run" in str(caught.value)


def test_env_references_resolve_now_and_unset_ones_are_errors() -> None:
    values = {"A": "plain", "B": EnvRef(name="X_SET"), "C": EnvRef(name="X_UNSET", default="d")}
    assert resolve_config_env(values, {"X_SET": "v"}, "web") == {"A": "plain", "B": "v", "C": "d"}
    with pytest.raises(InvalidInputError) as caught:
        resolve_config_env({"T": EnvRef(name="X_UNSET")}, {}, "service web's")
    assert caught.value.fields["variable"] == "X_UNSET"
    assert "X_UNSET" in str(caught.value) and "??" in str(caught.value)


def test_cwd_must_stay_inside_the_worktree(tmp_path: Path) -> None:
    root = tmp_path / "wt"
    (root / "api").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path)
    assert inside(root, "api", "web") == root / "api"
    assert inside(root, "api/..", "web") == root
    assert inside(root, None, "web") == root
    for bad in ("..", "../x", "/etc", "link", "api/../../x"):
        with pytest.raises(InvalidInputError):
            inside(root, bad, "web")
