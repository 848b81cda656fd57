"""Constructs on other machines in a real VS Code (code-server in Chromium).

A construct made with ``synthetic new --host`` against the real sshd of
tests/remote/sshd_server.py (the "remote" a second clone on this machine),
a local one, and a record of a construct on a host that does not answer: the
Constructs tree groups them under "This machine", the host ``test`` and the
host ``down`` (marked unreachable, its construct too); the remote
construct's Remove action, confirmed in the dialog that names its host,
removes it on the host and here, and the tree drops it. And a remote agent (the host's
real OpenCode with the offline model) asking to run a command: its notification names
the host, Approve runs it there; Open Service shows the forwarded URL, which answers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from state_format.records import RemoteConstruct, utc_now
from state_format.store import Store
from tests.gitrepo import GIT_ENV, git, make_repo, trust
from tests.opencode.conftest import offline_model, opencode_bin  # noqa: F401 (fixtures)
from tests.remote.conftest import hosts_home  # noqa: F401 (a fixture)
from tests.remote.sshd_server import ALIAS, DOWN, SSHD, SshServer, start_sshd
from tests.remote.test_remote_reach import Reach, reach  # noqa: F401 (a fixture)
from tests.vscode.test_vscode import (
    MISSING,
    PROJECT,
    TREE_ROWS,
    artefacts_folder,
    code_server,
    palette,
    quick_input,
    wait_for,
    workbench,
)

pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs " + "; ".join(MISSING))

CONFIG = 'export default { defaults: { templateId: "t" }, templates: { t: {} } };\n'


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    """A running sshd reaching this machine (as tests/remote/conftest.py's)."""
    if not os.path.exists(SSHD) or os.geteuid() != 0:
        if os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1":
            pytest.fail("needs sshd, run as root")
        pytest.skip("needs sshd, run as root")
    server = start_sshd(tmp_path / "sshd")
    try:
        yield server
    finally:
        server.stop()


def synthetic(cwd: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    """``synthetic ARGS --json`` as the person runs it; its JSON."""
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls", *args, "--json"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_the_tree_groups_by_host_and_removes_a_remote_construct(
        tmp_path: Path, sshd: SshServer) -> None:
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    # The person's hosts file: the same for the CLI here and the editor's server.
    config_home = tmp_path / "config-home"
    ssh_env = {"PATH": f"{sshd.bin}{os.pathsep}{os.environ['PATH']}",
             "XDG_CONFIG_HOME": str(config_home), **GIT_ENV}
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **ssh_env}
    synthetic(repo, env, "host", "add", "test", f"ssh://{ALIAS}{clone}")
    local = synthetic(repo, env, "new", "Local one", "--no-worktree")
    far = synthetic(repo, env, "new", "Remote fix", "--host", "test", "--trust")
    # A construct on a host that does not answer (nothing listens at its port).
    synthetic(repo, env, "host", "add", "down", f"ssh://{DOWN}{clone}")
    now = utc_now()
    Store.open(repo).create(RemoteConstruct(
        id="far-away-abc123", name="Far away", host="down", url=f"ssh://{DOWN}{clone}",
        remote_id="far-away-xyz789", created_at=now, updated_at=now))

    def host_constructs() -> list[Any]:
        proc = subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} ls --json"], env=env,
                              capture_output=True, text=True, timeout=120)
        listed: list[Any] = json.loads(proc.stdout)["constructs"]
        return listed

    [there] = host_constructs()
    assert there["id"] == far["remote_id"]
    # The agent's work on the host: a commit in the construct's worktree there.
    tree = Path(there["workspace_path"])
    (tree / "fix.txt").write_text("fixed\n")
    git(tree, "add", "fix.txt")
    git(tree, "-c", "user.name=Host", "-c", "user.email=host@example.com", "commit", "-q",
        "-m", "Fix the flake")
    try:
        with (
            # The language server's environment (the workbench gives its extensions the
            # login shell's PATH, so the setting the person would use carries it).
            code_server(tmp_path / "cs", repo, env_extra=ssh_env,
                        synthetic_serverEnv=ssh_env) as url,
            workbench(url, repo, artefacts / "failure-remote.png") as page,
        ):
            page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()

            def rows() -> list[str]:
                # In the tree's order (the DOM keeps rows out of order): each row's label.
                found = page.locator(TREE_ROWS).evaluate_all(
                    "rows => rows.map(r => [Number(r.dataset.index), "
                    "(r.querySelector('.label-name') || r).innerText])")
                return [text for _i, text in sorted(found)]

            here = page.locator(TREE_ROWS, has_text="This machine")
            here.wait_for()
            test_group = page.locator(TREE_ROWS).filter(has_text="test").filter(
                has_not_text="Remote fix").first
            test_group.wait_for()
            down_group = page.locator(TREE_ROWS, has_text="down")
            wait_for("the unreachable host's group", lambda: "unreachable" in
                     down_group.first.inner_text(), timeout=120)
            row = page.locator(TREE_ROWS, has_text="Remote fix")
            row.wait_for()
            page.locator(TREE_ROWS, has_text="Local one").wait_for()
            far_away = page.locator(TREE_ROWS, has_text="Far away")
            far_away.wait_for()
            # The rows in the tree's order: each construct right under its machine's group.
            order = [r.strip() for r in rows()]
            names = ("This machine", "Local one", "test", "Remote fix", "down", "Far away")
            assert set(names) <= set(order), order
            at = {name: order.index(name) for name in names}
            assert at["This machine"] == 0 and at["Local one"] == 1, order
            assert at["Remote fix"] == at["test"] + 1 and at["Far away"] == at["down"] + 1, order
            # The construct of the host that does not answer is marked by the server.
            assert "unreachable" in (far_away.get_attribute("aria-label") or ""), \
                far_away.get_attribute("aria-label")
            # The remote row's tooltip (its hover) says the host and the id there.
            row.hover()
            hover = page.locator(".monaco-hover", has_text="host: test")
            hover.wait_for()
            assert f"remote id: {far['remote_id']}" in hover.inner_text(), hover.inner_text()
            page.screenshot(path=str(artefacts / "vscode-remote-tree.png"))

            # Its Changes: the host's changed files (the server asks the host's diff).
            row.click()  # expand
            changes = page.locator(TREE_ROWS, has_text="Changes").first
            changes.click()
            fix = page.locator(TREE_ROWS, has_text="fix.txt")
            fix.wait_for()
            assert "added" in fix.inner_text(), fix.inner_text()

            # Remove from its row: the dialog names the host; the host's construct goes.
            row.hover()
            row.locator(".action-label[aria-label^='Remove Construct']").click()
            dialog = page.locator(".monaco-dialog-box")
            dialog.wait_for()
            text = dialog.inner_text()
            assert f'Remove construct "Remote fix" ({far["id"]}) on host test?' in text, text
            dialog.get_by_role("button", name="Remove", exact=True).click()
            # Its branch holds a commit not landed: the host keeps the branch, nothing lost.
            wait_for("the host's construct to go", lambda: host_constructs() == [],
                     timeout=120)
            wait_for("the record here to go", lambda: [
                r.id for r in Store.open(repo).list(RemoteConstruct).records] ==
                ["far-away-abc123"])
            wait_for("the tree to drop it", lambda: page.locator(
                TREE_ROWS, has_text="Remote fix").count() == 0)
            page.locator(".notification-toast", has_text="removed Remote fix on host test"
                         ).wait_for()
            assert local["id"]  # the local construct stays listed
            page.locator(TREE_ROWS, has_text="Local one").wait_for()
    finally:
        for c in host_constructs():
            subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} rm --yes --force --trust "
                            f"-- {c['id']}"], env=env, capture_output=True, timeout=120)


def test_new_construct_asks_where_and_makes_it_on_the_host(
        tmp_path: Path, sshd: SshServer) -> None:
    """With a host added, New Construct asks where first; the host chosen, the construct is
    made there (the host lists it) and the tree shows it under the host's group."""
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG, "README.md": "hi\n"})
    trust(repo)  # consent is the subject of the language server's test, not this one
    clone = tmp_path / "remote-clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    ssh_env = {"PATH": f"{sshd.bin}{os.pathsep}{os.environ['PATH']}",
               "XDG_CONFIG_HOME": str(tmp_path / "config-home"), **GIT_ENV}
    env = {**os.environ, "PYTHONPATH": str(PROJECT), **ssh_env}
    synthetic(repo, env, "host", "add", "test", f"ssh://{ALIAS}{clone}")

    def host_constructs() -> list[Any]:
        proc = subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} ls --json"], env=env,
                              capture_output=True, text=True, timeout=120)
        listed: list[Any] = json.loads(proc.stdout)["constructs"]
        return listed

    try:
        with (
            code_server(tmp_path / "cs", repo, env_extra=ssh_env,
                        synthetic_serverEnv=ssh_env) as url,
            workbench(url, repo, artefacts / "failure-remote-new.png") as page,
        ):
            page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
            palette(page, "Synthetic: New Construct...")
            box = quick_input(page, "where")
            wait_for("the host among the choices", lambda: page.locator(
                ".quick-input-list .monaco-list-row", has_text="test").count() > 0)
            rows = page.locator(".quick-input-list .monaco-list-row").all_inner_texts()
            assert rows[0].startswith("This machine"), rows
            box.fill("test")
            page.keyboard.press("Enter")
            box = quick_input(page, "name")  # one template: not asked
            box.fill("Made in VS Code")
            page.keyboard.press("Enter")
            quick_input(page, "base ref")
            page.keyboard.press("Enter")
            toast = page.locator(".notification-toast", has_text="on host test")
            toast.wait_for(timeout=120_000)
            assert 'created "Made in VS Code"' in toast.inner_text(), toast.inner_text()
            [there] = host_constructs()
            assert there["name"] == "Made in VS Code"
            [record] = Store.open(repo).list(RemoteConstruct).records
            assert record.host == "test" and record.remote_id == there["id"]

            def rows_in_order() -> list[str]:
                found = page.locator(TREE_ROWS).evaluate_all(
                    "rows => rows.map(r => [Number(r.dataset.index), "
                    "(r.querySelector('.label-name') || r).innerText])")
                return [text.strip() for _i, text in sorted(found)]

            page.locator(TREE_ROWS, has_text="Made in VS Code").wait_for()
            order = rows_in_order()
            assert "test" in order and order.index("Made in VS Code") == \
                order.index("test") + 1, order
            page.screenshot(path=str(artefacts / "vscode-remote-new.png"))
    finally:
        for c in host_constructs():
            subprocess.run(["ssh", ALIAS, f"synthetic -C {clone} rm --yes --force --trust "
                            f"-- {c['id']}"], env=env, capture_output=True, timeout=120)


# -- a remote agent's permission, and a remote service, from the editor ------------------



def test_a_remote_agents_permission_is_approved_from_its_notification(
        reach: Reach, tmp_path: Path) -> None:  # noqa: F811
    """The host's agent asks to run a command: the notification names the construct and
    its host, Approve runs it there; Open Service shows the forwarded URL, which answers."""
    artefacts = artefacts_folder()
    r = reach
    made = json.loads(r.run("new", "Remote task", "--host", "test", "--trust", "--json").stdout)
    rid = made["id"]
    tree = Path(json.loads(r.run("show", rid, "--json").stdout)["workspace_path"])
    server_env = {"PATH": r.env["PATH"], "XDG_CONFIG_HOME": r.env["XDG_CONFIG_HOME"],
                  **GIT_ENV}
    with (
        code_server(tmp_path / "cs", r.local, env_extra=server_env,
                    synthetic_serverEnv=server_env) as url,
        workbench(url, r.local, artefacts / "failure-remote-agent.png") as page,
    ):
        page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
        page.locator(TREE_ROWS, has_text="Remote task").wait_for()
        # A prompt sent from a terminal (it returns at once): the agent on the host asks.
        command = "echo from-afar > proof.txt"
        sent = r.run("session", "send", rid, f"[tool:bash {command}]", "--json")
        assert sent.returncode == 0, sent.stderr
        toast = page.locator(".notification-toast", has_text=command)
        toast.wait_for(timeout=120_000)
        assert "Remote task's agent (on host test) asks for permission" in toast.inner_text()
        page.screenshot(path=str(artefacts / "vscode-remote-permission.png"))
        toast.get_by_role("button", name="Approve").click()
        quick_input(page, f"Approve bash: {command}")
        page.keyboard.type("Once")
        page.keyboard.press("Enter")
        # Run on the host, in the construct's worktree there (a folder of this machine).
        wait_for("the approved command's file", lambda: (tree / "proof.txt").exists(),
                 timeout=120)
        assert (tree / "proof.txt").read_text() == "from-afar\n"

        # Open Service: the server forwards the service's port; its local URL is shown.
        palette(page, "Synthetic: Open Service")
        quick_input(page, "Open a service of")
        page.keyboard.press("Enter")
        shown = page.locator(".notification-toast", has_text="of Remote task (port")
        shown.wait_for(timeout=120_000)
        found = re.search(r"is at (http://127\.0\.0\.1:\d+)", shown.inner_text())
        assert found, shown.inner_text()
        with urllib.request.urlopen(found.group(1) + "/README.md", timeout=20) as answer:
            assert answer.read() == b"hi\n"
