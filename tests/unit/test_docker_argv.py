"""The command lines and the compose override of docker services (no engine needed).

tests/integration/test_docker_services.py runs them on a real engine.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from synthetic_ls.config.schema import DockerService
from synthetic_ls.runtime.docker import compose_override, docker_argv


def test_a_container_uses_the_host_network_and_gets_its_port_in_its_environment() -> None:
    service = DockerService.model_validate({
        "id": "db", "type": "docker", "image": "postgres:16",
        "ports": [{"name": "pg", "preferred": 15432, "container": 5432}],
        "volumes": ["pgdata:/var/lib/postgresql/data", "./init:/init", "/abs:/abs", "/anon"],
        "command": ["postgres -p 1234"],  # the string form, as the config reader gives it
    })
    argv = docker_argv("c1", service, {"PORT": "20001", "DB_PORT": "20001"}, Path("/wt"),
                       Path("/repo/.git/synthetic"))
    assert argv[:7] == ["run", "-d", "--name", "synthetic-c1-db", "--network", "host", "--init"]
    options = argv[:argv.index("postgres:16")]
    assert "-p" not in options and "--publish" not in options  # no mapping: host networking
    pairs = list(itertools.pairwise(options))
    assert ("--label", "synthetic.construct=c1") in pairs
    assert ("--label", "synthetic.state=/repo/.git/synthetic") in pairs
    assert ("--label", "synthetic.service=db") in pairs
    assert ("-e", "PORT=20001") in pairs and ("-e", "DB_PORT=20001") in pairs
    assert ("-v", "synthetic-c1-pgdata:/var/lib/postgresql/data") in pairs
    assert ("-v", "/wt/init:/init") in pairs
    assert ("-v", "/abs:/abs") in pairs and ("-v", "/anon") in pairs
    assert argv[len(options):] == ["postgres:16", "postgres", "-p", "1234"]


def test_the_compose_override_gives_every_service_host_networking_and_labels() -> None:
    override = json.loads(compose_override("c1", ["web", "db"], Path("/s"), "stack"))
    labels = {"synthetic.construct": "c1", "synthetic.state": "/s", "synthetic.service": "stack"}
    assert override == {"services": {
        name: {"network_mode": "host", "init": True, "labels": labels} for name in ("web", "db")
    }}
