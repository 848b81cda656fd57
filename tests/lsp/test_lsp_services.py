"""The services and ports commands over stdio: the server starts real services and stops them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from synthetic_ls.runtime.groups import group_alive
from tests.integration.services_helpers import (
    config,
    groups_fixture,  # noqa: F401  (the `groups` fixture)
    make_service_repo,
    svc,
    wait_until,
)
from tests.lsp.test_lsp_commands import run

READY = svc("ready", ports='[{ name: "http", env: "WEB_PORT" }]', env='{ PORT: "${env.WEB_PORT}" }',
            readyPattern='"listening on"', readyTimeoutMs="30000")


@pytest.fixture
def services_repo(tmp_path: Path) -> Path:
    """A repository whose default template runs a small HTTP service."""
    return make_service_repo(tmp_path, config(f"web: {READY}"))


@pytest.mark.workspace("services_repo")
async def test_services_from_the_editor(
    client: LanguageClient, services_repo: Path, groups: list[int]
) -> None:
    created = await run(client, "synthetic.construct.create", {"name": "Editor web"})
    cid = created["id"]
    service = created["services"][0]
    groups.append(service["pid"])
    assert service["state"] == "ready" and service["name"] == "web"
    port = created["ports"][0]["port"]
    assert created["ports"][0]["env"] == "WEB_PORT"

    status = await run(client, "synthetic.services.status", {"ref": cid})
    row = status["services"][0]
    assert row["state"] == "ready" and row["ports"][0]["url"] == f"http://127.0.0.1:{port}"
    ports = await run(client, "synthetic.ports.list")
    assert [(p["construct_id"], p["port"], p["in_use"]) for p in ports["ports"]] == [
        (cid, port, True)
    ]
    logs = await run(client, "synthetic.services.logs", {"ref": cid, "lines": 5})
    assert logs["service"] == "web" and any("listening on" in line for line in logs["lines"])
    assert Path(logs["path"]).is_file()

    stopped = await run(client, "synthetic.services.stop", {"ref": cid, "service": "web"})
    assert stopped["services"][0]["state"] == "stopped"
    assert not group_alive(service["pid"])
    started = await run(client, "synthetic.services.start", {"ref": cid})
    groups.append(started["services"][0]["pid"])
    assert started["services"][0]["state"] == "ready"
    restarted = await run(client, "synthetic.services.restart", {"ref": cid})
    pid = restarted["services"][0]["pid"]
    groups.append(pid)
    assert restarted["services"][0]["state"] == "ready"

    os.killpg(pid, signal.SIGKILL)  # a crash
    wait_until(lambda: not group_alive(pid), what="the group to go")
    status = await run(client, "synthetic.services.status")
    assert status["services"][0]["state"] == "needs_resume"
    resumed = await run(client, "synthetic.services.resume")
    groups.append(resumed["services"][0]["pid"])
    assert resumed["services"][0]["state"] == "ready"
    assert resumed["services"][0]["ports"][0]["port"] == port

    with pytest.raises(JsonRpcException) as caught:
        await run(client, "synthetic.services.start", {"ref": cid, "service": "wbe"})
    assert caught.value.data["code"] == "unknown-service"
    assert "did you mean 'web'" in caught.value.data["message"]

    removed = await run(client, "synthetic.construct.delete", {"ref": cid, "force": True})
    assert "stopped service web" in removed["notes"]
    assert (await run(client, "synthetic.ports.list"))["ports"] == []
