"""The VS Code extension (vscode-extension/) in a real VS Code: code-server in Chromium.

The built ``.vsix`` is installed into a code-server 4.100 (VS Code 1.100)
with ``code-server --install-extension``; a temporary git repository is
opened in headless Chromium, driven by Playwright through the workbench's
roles and aria labels; the extension starts the real server
(``synthetic.interpreter`` is this interpreter). One scenario, step by step,
with a screenshot after each (``SYNTHETIC_VSCODE_ARTIFACTS``, default a
temporary folder; the README's two figures are copied from there):

1. diagnostics of a config with mistakes reach the Problems panel, and VS
   Code's TypeScript server, given the extension's declarations, reports the
   mistakes in its own words but nothing about ``defineSyntheticConfig``;
2. "Synthetic: New Construct..." from the command palette (template pick,
   name, base ref) writes the TOML record and the worktree;
3. the construct shows in the Constructs tree view, with its template's
   service running at its URL, and its Remove action (with a confirmation
   listing the uncommitted work) removes the record, the worktree, the
   branch and stops the service.

A live agent (the real ``opencode serve`` on the offline model): a prompt
sent from the palette makes the agent ask permission for a shell command;
the command's text (not the request's id) shows in the tree's row and its
tooltip, in a notification with Approve and Deny, and in the Approve picker;
approved from its row, the command runs in the construct's worktree.

A review scenario: a construct's "Changes" node lists its
files and one opens in the diff editor (merge base ↔ worktree); "Land..."
from the row asks for the strategy, offers to commit what the agent left
uncommitted, and confirms with the drafted squash message; "Discard" from
the palette lists the commits it would lose; "Remove" of a clean construct
whose branch has unmerged commits offers plain "Remove", and then says the
branch was kept.

Every wait polls with a deadline. scripts/test.sh sets SYNTHETIC_E2E_REQUIRED=1:
there a missing code-server, .vsix, Chromium or Playwright fails the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import make_repo, trust

PROJECT = Path(__file__).resolve().parents[2]
CODE_SERVER = Path(
    os.environ.get("SYNTHETIC_CODE_SERVER")
    or PROJECT / ".tools/code-server/node_modules/.bin/code-server"
)
VSIX = Path(os.environ.get("SYNTHETIC_VSIX", PROJECT / "vscode-extension/synthetic.vsix"))
CHROMIUM = os.environ.get("SYNTHETIC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DOCS = PROJECT / "docs"

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - reported below
    sync_playwright = None  # type: ignore[assignment]

MISSING = [
    what
    for what, ok in (
        (f"code-server at {CODE_SERVER} (bash scripts/setup.sh)", CODE_SERVER.exists()),
        (f"the extension at {VSIX} (bash scripts/setup.sh builds it)", VSIX.exists()),
        (f"chromium at {CHROMIUM} (apt-get install chromium)", Path(CHROMIUM).exists()),
        ("playwright (pip install -r requirements-ci.txt)", sync_playwright is not None),
    )
    if not ok
]
REQUIRED = os.environ.get("SYNTHETIC_E2E_REQUIRED") == "1"
if REQUIRED and MISSING:
    raise RuntimeError("tests/vscode needs: " + "; ".join(MISSING))
pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs " + "; ".join(MISSING))

BAD_CONFIG = """\
import { defineSyntheticConfig } from "@synthetic/config";

export default defineSyntheticConfig({
  defaults: { templateId: "web-api" },
  worktrees: { root: "../worktrees" },
  templates: {
    "web-api": {
      label: "Web API",
      type: "implementaton",
      summary: "Backend work",
      services: {
        api: {
          type: "process",
          run: "python3 -I -u -m http.server $PORT --bind 127.0.0.1",
          readyPattern: "Serving HTTP",
          ports: [{ name: "http", preferred: 18765 }],
        },
      },
    },
    docs: { label: "Docs", type: "planning", colour: "red" },
  },
});
"""
GOOD_CONFIG = BAD_CONFIG.replace('"implementaton"', '"implementation"').replace(
    ', colour: "red"', ""
)

DEADLINE = 90.0
#: The rows of the Constructs view (and any tree).
TREE_ROWS = ".monaco-list-row[role=treeitem]"


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = DEADLINE, every: float = 0.2
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = check()
        except Exception as exc:  # the page is still changing under us
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Shots:
    """Numbered screenshots of each step into the artefacts folder."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@contextlib.contextmanager
def code_server(
    tmp: Path, repo: Path, *, env_extra: dict[str, str] | None = None, trust: bool = False,
    fresh: bool = False, **overrides: Any,
) -> Iterator[str]:
    """A code-server with the extension installed, serving ``repo``; yields its URL.

    ``overrides`` are user settings (``synthetic_interpreter`` for
    ``synthetic.interpreter``); ``env_extra`` goes to its environment (and
    so to the language server the extension starts). With ``trust``, VS
    Code's workspace trust is on (the folder then opens asking, untrusted).
    """
    home, data, extensions = tmp / "home", tmp / "user-data", tmp / "extensions"
    for d in (home, data / "User", extensions):
        d.mkdir(parents=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        # XDG_DATA_HOME stays the test's own (tests/conftest.py): the server keeps
        # there what the person allowed a repository to run, as the test does.
        "XDG_CACHE_HOME": str(home / ".cache"),
        # The server the extension starts imports this checkout.
        "PYTHONPATH": os.pathsep.join(
            [str(PROJECT), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
        **(env_extra or {}),
    }
    dirs = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    subprocess.run(
        [str(CODE_SERVER), "--install-extension", str(VSIX), *dirs],
        env=env, check=True, capture_output=True, timeout=120,
    )
    installed = [p.name for p in extensions.iterdir()]
    assert any(n.startswith("synthetic.synthetic-") for n in installed), installed
    settings = {
        "synthetic.interpreter": [sys.executable],
        "synthetic.logLevel": "INFO",
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "security.workspace.trust.enabled": trust,
        "git.enabled": False,
        "extensions.ignoreRecommendations": True,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
    }
    settings.update({k.replace("_", ".", 1): v for k, v in overrides.items()})
    if fresh:  # a person's first start: no Synthetic setting at all
        settings = {k: v for k, v in settings.items() if not k.startswith("synthetic.")}
    (data / "User" / "settings.json").write_text(json.dumps(settings))
    port = free_port()
    log = (tmp / "code-server.log").open("w")
    proc = subprocess.Popen(
        [
            str(CODE_SERVER), "--auth", "none", "--bind-addr", f"127.0.0.1:{port}",
            "--disable-telemetry", "--disable-update-check",
            *([] if trust else ["--disable-workspace-trust"]),
            "--disable-getting-started-override", *dirs, str(repo),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, (tmp / "code-server.log").read_text()
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
            return bool(r.status == 200)

    try:
        wait_for("code-server to answer", healthy, timeout=60)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


def artefacts_folder() -> Path:
    """Where screenshots go: ``SYNTHETIC_VSCODE_ARTIFACTS``, else a new temporary folder."""
    return Path(
        os.environ.get("SYNTHETIC_VSCODE_ARTIFACTS") or tempfile.mkdtemp(prefix="vscode-shots-")
    )


@contextlib.contextmanager
def workbench(url: str, repo: Path, failure: Path) -> Iterator[Page]:
    """Headless Chromium on code-server's workbench for ``repo``, loaded; yields the page.

    When the body fails, the page's screenshot goes to ``failure``.
    """
    assert sync_playwright is not None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.set_default_timeout(DEADLINE * 1000)
            page.goto(f"{url}/?folder={repo}")
            page.locator(".monaco-workbench").wait_for()
            try:
                yield page
            except BaseException:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(failure))
                raise
        finally:
            browser.close()


def problems(page: Page) -> list[str]:
    """The rows of the Problems panel (expanded), as their aria labels.

    Read in one go in the page: rows come and go while the panel updates, and
    a locator per row would wait for one that has just gone.
    """
    rows = page.locator(".markers-panel .monaco-list-row")
    return list(rows.evaluate_all("rows => rows.map(r => r.getAttribute('aria-label') || '')"))


def texts(page: Page, selector: str, has_text: str) -> list[str]:
    """The inner text of every element matching ``selector`` that contains ``has_text``, now."""
    found = page.locator(selector, has_text=has_text)
    return list(found.evaluate_all("els => els.map(e => e.innerText)"))


def port_open(url: str) -> bool:
    """Does something accept connections at ``url``'s host and port?"""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, int(port))) == 0


def widen_sidebar(page: Page, by: int) -> None:
    """Drag the sash between the side bar and the editor ``by`` pixels right."""
    box = page.locator(".part.sidebar").bounding_box()
    if box is None:
        return
    x, y = box["x"] + box["width"] - 1, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + by, y, steps=5)
    page.mouse.up()


def palette(page: Page, command: str) -> None:
    """Run ``command`` from the command palette (F1)."""
    page.keyboard.press("F1")
    box = page.locator(".quick-input-widget input")
    box.wait_for(state="visible")
    box.fill(f">{command}")
    wait_for(f"{command!r} in the palette", lambda: page.locator(
        ".quick-input-list .monaco-list-row", has_text=command).count() > 0)
    page.keyboard.press("Enter")


def quick_input(page: Page, title: str) -> Any:
    """The visible quick input once its title says ``title``."""
    widget = page.locator(".quick-input-widget")
    wait_for(f"the quick input {title!r}", lambda: widget.is_visible() and any(
        title in t for t in texts(page, ".quick-input-widget .quick-input-title", "")))
    return widget.locator("input")


def shadowing_modules(marker: Path) -> dict[str, str]:
    """Top-level files named like standard modules the server imports; each, if it
    ever ran, would write ``marker``: the extension starts Python in the workspace.
    (The configs' own service runs ``python3 -I`` so that it does not import them
    either: that one is the repository's code, run by a construct's consent.)"""
    return {f"{name}.py": f"open({str(marker)!r}, 'a').write({name!r})\n"
            for name in ("argparse", "json", "logging")}


def test_extension_in_code_server(tmp_path: Path) -> None:
    artefacts = artefacts_folder()
    ran = tmp_path / "ran"
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": BAD_CONFIG,
                                        **shadowing_modules(ran)})
    state = repo / ".git" / "synthetic" / "constructs"
    with (
        code_server(tmp_path / "cs", repo) as url,
        workbench(url, repo, artefacts / "failure.png") as page,
    ):
        shot = Shots(page, artefacts)
        # The extension activates (workspaceContains:synthetic.config.ts)
        # and its status bar item appears once the server listed the constructs.
        page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 0']").wait_for()
        shot("workbench")

        # 1. Diagnostics: open the config, show the Problems panel.
        page.keyboard.press("Control+P")
        quick_open = page.locator(".quick-input-widget input")
        quick_open.wait_for(state="visible")
        quick_open.fill("synthetic.config.ts")
        wait_for("the config in quick open", lambda: page.locator(
            ".quick-input-list .monaco-list-row", has_text="synthetic.config.ts").count() > 0)
        page.keyboard.press("Enter")
        page.locator(".tabs-container .tab", has_text="synthetic.config.ts").wait_for()
        page.keyboard.press("Control+Shift+M")
        page.locator(".markers-panel").wait_for()

        seen: list[list[str]] = [[]]

        def ours_and_typescripts() -> list[str] | None:
            rows = seen[0] = problems(page)
            synthetic = [r for r in rows if "synthetic" in r.lower() and "implementaton" in r]
            unknown = [r for r in rows if "colour" in r and "synthetic" in r.lower()]
            # TypeScript's own report of the same mistake: it read our declarations.
            ts = [r for r in rows if "implementaton" in r and "assignable" in r]
            return rows if synthetic and unknown and ts else None

        try:
            rows = wait_for("synthetic-ls's and TypeScript's diagnostics", ours_and_typescripts)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the Problems panel showed {seen[0]}") from None
        nonsense = [r for r in rows if "defineSyntheticConfig" in r or "@synthetic/config" in r
                    or "Cannot find module" in r or "Cannot find name 'process'" in r]
        assert not nonsense, nonsense
        figure = shot("diagnostics")
        shutil.copy(figure, artefacts / "vscode-diagnostics.png")

        # Start-up as a person meets it: window reload -> synthetic-ls's first
        # diagnostics in Problems (the editor and the panel come back open).
        # Reported, not asserted: the machine's load decides it (issue 21's target: 2 s).
        palette(page, "Developer: Reload Window")
        reloaded = time.monotonic()
        page.wait_for_load_state("domcontentloaded")
        page.locator(".monaco-workbench").wait_for()
        page.locator(".markers-panel").wait_for()

        def ours() -> list[str]:  # TypeScript's rows end "generated by ts"
            return [r for r in problems(page) if r.endswith("generated by synthetic")]

        wait_for("synthetic-ls's diagnostics after the reload", ours, every=0.05)
        startup = time.monotonic() - reloaded
        (artefacts / "startup.txt").write_text(
            f"VS Code window reload -> first synthetic-ls diagnostics: {startup:.2f} s\n")
        print(f"\nVS Code window reload -> first synthetic-ls diagnostics: {startup:.2f} s")
        shot("diagnostics-after-reload")

        # New Construct while the config has errors: nothing is asked (no template,
        # name or base); a notification says so and offers the problems.
        def panel_hidden() -> bool:
            if page.locator(".markers-panel").is_visible():
                page.keyboard.press("Control+Shift+M")  # focuses, then hides, the panel
                return False
            return True

        wait_for("the Problems panel to hide", panel_hidden, every=1.0)
        # From a template's code lens (which names the template), then the palette.
        page.locator(".codelens-decoration a", has_text="New construct").first.click()
        toast = page.locator(".notification-toast", has_text="has errors; fix them to create")
        toast.wait_for()
        assert not page.locator(".quick-input-widget").is_visible()
        shot("new-construct-lens-with-config-errors")
        toast.locator(".codicon-notifications-clear").click()
        toast.wait_for(state="hidden")
        palette(page, "Synthetic: New Construct...")
        toast.wait_for()
        assert not page.locator(".quick-input-widget").is_visible()
        shot("new-construct-with-config-errors")
        toast.get_by_role("button", name="Show Problems").click()
        page.locator(".markers-panel").wait_for()
        wait_for("the config's problems, shown", ours)
        shot("new-construct-show-problems")

        # Fix the config on disk: the editor reloads it, the errors go.
        (repo / "synthetic.config.ts").write_text(GOOD_CONFIG)
        wait_for("the errors to clear", lambda: not any(
            "implementaton" in r or "colour" in r for r in problems(page)))
        page.keyboard.press("Control+Shift+M")  # hide the panel again

        # 2. New construct from the palette: template, name, base ref.
        palette(page, "Synthetic: New Construct...")
        box = quick_input(page, "template")
        wait_for("the templates", lambda: page.locator(
            ".quick-input-list .monaco-list-row", has_text="Web API").count() > 0)
        box.fill("Web API")
        shot("new-construct-template")
        page.keyboard.press("Enter")
        box = quick_input(page, "name")
        box.fill("Fix login")
        shot("new-construct-name")
        page.keyboard.press("Enter")
        quick_input(page, "base ref")
        page.keyboard.press("Enter")

        # The repository's service would run: VS Code asks first, listing it, and
        # nothing of the construct exists until the person allows it.
        dialog = page.locator(".monaco-dialog-box", has_text="asks to run code you have not")
        dialog.wait_for()
        assert "Service (service api of template web-api): python3 -I -u -m http.server" \
            in dialog.inner_text(), dialog.inner_text()
        assert not state.exists() or not list(state.glob("*.toml"))
        shot("consent")
        dialog.get_by_role("button", name="Allow and Run").click()

        def made() -> dict[str, Any] | None:
            # The record is written first (spawning), then the worktree step adds
            # its path: wait for both (records are replaced atomically).
            files = list(state.glob("*.toml")) if state.exists() else []
            assert len(files) <= 1, files
            found = tomllib.loads(files[0].read_text()) if files else {}
            return found if found.get("workspace_path") else None

        data = wait_for("the construct's record with its worktree", made)
        assert data["name"] == "Fix login"
        assert data["template_id"] == "web-api"
        worktree = Path(data["workspace_path"])
        wait_for("the worktree's files", lambda: (worktree / ".git").exists()
                 and (worktree / "synthetic.config.ts").exists())

        # 3. The tree view shows it (live, from synthetic/constructsChanged).
        page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
        widen_sidebar(page, 260)  # room for the rows' descriptions in the figure
        row = page.locator(TREE_ROWS, has_text="Fix login")
        row.wait_for()
        counts = "div.statusbar-item[aria-label^='Synthetic constructs: 1, ready: 1']"
        page.locator(counts).wait_for()
        assert data["branch"] in (row.inner_text() or ""), row.inner_text()
        row.click()  # expand: branch, worktree, agent, services
        page.locator(TREE_ROWS, has_text="in step with base").wait_for()
        # The template's service runs, with its port's URL.
        rows = wait_for("the service row", lambda: [
            t for t in texts(page, TREE_ROWS, "api")
            if "ready http://127.0.0.1:" in t
        ])
        service_url = re.search(r"http://127\.0\.0\.1:\d+", rows[0])
        assert service_url is not None
        with urllib.request.urlopen(service_url.group(0), timeout=10) as answer:
            assert answer.status == 200
        palette(page, "Notifications: Clear All Notifications")
        # Run Doctor's button in the view's title bar: a checklist (its findings), not a heart.
        doctor = page.locator(".pane-header .action-label[aria-label^='Run Doctor']")
        assert "codicon-checklist" in (doctor.get_attribute("class") or "")
        row.hover()
        figure = shot("tree-view")
        shutil.copy(figure, artefacts / "vscode-tree.png")

        # ... and its Remove action removes it, after a confirmation that lists
        # what the server's removal preview says it would lose, and asks to lose it.
        (worktree / "notes.txt").write_text("work in progress\n")
        row.locator(".action-label[aria-label^='Remove Construct']").click()
        dialog = page.locator(".monaco-dialog-box")
        dialog.wait_for()
        text = dialog.inner_text()
        assert "Fix login" in text, text
        assert "Lost:" in text and "uncommitted changes" in text and "?? notes.txt" in text, text
        assert "the services api (stopped)" in text, text
        shot("remove-confirmation")
        dialog.get_by_role("button", name="Remove and Lose Work").click()
        wait_for("the record to go", lambda: not list(state.glob("*.toml")))
        wait_for("the worktree to go", lambda: not worktree.exists())
        wait_for("the service to stop", lambda: not port_open(service_url.group(0)))
        branches = subprocess.run(
            ["git", "branch", "--list", data["branch"]], cwd=repo,
            capture_output=True, text=True, check=True,
        ).stdout
        assert branches.strip() == "", branches
        wait_for("the tree to empty", lambda: page.locator(
            TREE_ROWS, has_text="Fix login").count() == 0)
        shot("removed")
    assert not ran.exists(), ran.read_text()  # the workspace's argparse.py never ran
    # The "Synthetic" output channel as the person reads it, in both windows (before
    # and after the reload): no warning about cancels of requests already answered.
    channels = list((tmp_path / "cs" / "user-data" / "logs").glob(
        "*/exthost*/synthetic.synthetic/Synthetic.log"))
    assert len(channels) >= 2, channels
    for channel in channels:
        text = channel.read_text()
        assert "synthetic-ls 0.1" in text, text  # the server's version, from serverInfo
        assert "Cancel notification for unknown message id" not in text, text
    if os.environ.get("SYNTHETIC_VSCODE_UPDATE_DOCS") == "1":
        for name in ("vscode-diagnostics.png", "vscode-tree.png"):
            shutil.copy(artefacts / name, DOCS / name)


def test_a_python_without_the_server_is_told_what_to_run(tmp_path: Path) -> None:
    """``synthetic.interpreter`` names a Python without synthetic_ls: the error says what
    to run; changing the setting restarts the server."""
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    # An isolated Python (-I: no PYTHONPATH, no user site): synthetic_ls is not importable.
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    python.chmod(0o755)
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": GOOD_CONFIG})
    artefacts = artefacts_folder()
    with code_server(tmp_path / "cs", repo, synthetic_interpreter=[str(python)]) as url, \
            workbench(url, repo, artefacts / "failure-no-server.png") as page:
        toast = page.locator(".notification-toast", has_text="is not installed for")
        toast.wait_for()
        text = toast.inner_text()
        assert str(python) in text and f"{python} -m pip install -e" in text, text
        assert toast.get_by_role("button", name="Open Settings").count() == 1
        page.screenshot(path=str(artefacts / "no-server.png"))
        # The status bar says the server is down and opens the log.
        page.locator("div.statusbar-item", has_text="Synthetic").wait_for()
        # Pointing the setting at a Python that has it (here in the
        # workspace's settings) restarts the server.
        (repo / ".vscode").mkdir()
        (repo / ".vscode" / "settings.json").write_text(
            json.dumps({"synthetic.interpreter": [sys.executable]})
        )
        page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 0']").wait_for()


def construct_via_cli(
    repo: Path, name: str, template: str = "docs", env: dict[str, str] | None = None
) -> dict[str, Any]:
    """A construct (by default of the ``docs`` template: no services), made by the real CLI."""
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "synthetic_ls.cli", "new", name, "--template", template,
         "--json"],
        cwd=repo, capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **(env or {})},
    )
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def git_out(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(cwd: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (cwd / name).parent.mkdir(parents=True, exist_ok=True)
        (cwd / name).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=cwd, check=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=cwd, check=True)


def test_review_land_and_discard_in_code_server(tmp_path: Path) -> None:
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {
        "synthetic.config.ts": GOOD_CONFIG, "README.md": "hello\n", "src/util.py": "x = 1\n",
    })
    # code-server moves HOME aside: the repository carries the identity squash commits need.
    git_out(repo, "config", "user.name", "Reviewer")
    git_out(repo, "config", "user.email", "reviewer@example.invalid")
    state = repo / ".git" / "synthetic" / "constructs"
    landing = construct_via_cli(repo, "Fix readme")
    dropped = construct_via_cli(repo, "Try idea")
    kept = construct_via_cli(repo, "Keep idea")
    commit(Path(landing["workspace_path"]),
           {"README.md": "hello\nfrom the agent\n", "src/new.py": "n = 1\n"}, "agent: readme")
    commit(Path(dropped["workspace_path"]), {"docs/b.md": "b\n"}, "add b")
    commit(Path(kept["workspace_path"]), {"docs/c.md": "c\n"}, "add c")
    main_before = git_out(repo, "rev-parse", "HEAD")
    with (
        # Side by side even beside a wide tree (VS Code turns narrow diffs inline).
        code_server(
            tmp_path / "cs", repo, diffEditor_useInlineViewWhenSpaceIsLimited=False
        ) as url,
        workbench(url, repo, artefacts / "failure-review.png") as page,
    ):
        shot = Shots(page, artefacts / "review")
        page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 3']").wait_for()
        page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
        widen_sidebar(page, 140)
        row = page.locator(TREE_ROWS, has_text="Fix readme")
        row.click()  # expand

        # 1. Changes: the branch's files against the merge base; one opens in a diff.
        changes = page.locator(TREE_ROWS, has_text="Changes").first
        changes.click()
        readme = page.locator(TREE_ROWS, has_text="README.md")
        readme.wait_for()
        page.locator(TREE_ROWS, has_text="new.py").wait_for()
        assert "modified · +1 −0" in readme.inner_text(), readme.inner_text()
        readme.click()
        tab = page.locator(".tabs-container .tab", has_text="README.md (main @")
        tab.wait_for()
        diff = page.locator(".monaco-diff-editor")
        diff.wait_for()

        def sides() -> tuple[str, str] | None:
            # The two editors' lines (Monaco renders spaces as no-break spaces).
            found = diff.locator(".view-lines").evaluate_all(
                "els => els.map(e => e.innerText.replace(/\\u00a0/g, ' '))")
            if len(found) != 2:
                return None
            left, right = found
            return (left, right) if "hello" in left and "from the agent" in right else None

        left, _right = wait_for("both sides of the diff", sides)
        assert "from the agent" not in left, left
        assert "↔ worktree" in tab.inner_text(), tab.inner_text()
        figure = shot("changes-diff")
        shutil.copy(figure, artefacts / "vscode-review.png")

        # 2. Land... from the row: strategy; the agent left a file uncommitted,
        # which is offered for a commit first; then a confirmation with the draft.
        (Path(landing["workspace_path"]) / "docs").mkdir()
        (Path(landing["workspace_path"]) / "docs" / "notes.md").write_text("notes\n")
        row.hover()
        row.locator(".action-label[aria-label^='Land Construct']").click()
        box = quick_input(page, "Land Fix readme: how?")
        box.fill("Squash")
        wait_for("the squash strategy", lambda: page.locator(
            ".quick-input-list .monaco-list-row", has_text="Squash").count() > 0)
        shot("land-strategy")
        page.keyboard.press("Enter")
        dialog = page.locator(".monaco-dialog-box")
        dialog.wait_for()
        text = dialog.inner_text()
        assert "Fix readme has 1 uncommitted change(s)" in text, text
        assert "? docs/notes.md" in text, text
        shot("commit-offer")
        dialog.get_by_role("button", name="Commit and Continue…").click()
        quick_input(page, "Commit Fix readme's uncommitted work")
        page.keyboard.press("Enter")  # the suggested message
        wait_for("the land confirmation", lambda: "Land Fix readme into main" in
                 page.locator(".monaco-dialog-box").inner_text())
        text = dialog.inner_text()
        assert "Land Fix readme into main (squash, 2 commits)?" in text, text
        assert "agent: readme" in text and "Commit message:" in text, text
        shot("land-confirmation")
        # The drafted message's first line is editable; the confirmation comes back.
        dialog.get_by_role("button", name="Edit Message…").click()
        box = quick_input(page, "Squash commit: first line")
        box.fill("Readme: greet from the agent")
        page.keyboard.press("Enter")
        dialog = page.locator(".monaco-dialog-box")
        wait_for("the confirmation with the new subject",
                 lambda: "Readme: greet from the agent" in dialog.inner_text())
        dialog.get_by_role("button", name="Land", exact=True).click()
        wait_for("the squash commit on main", lambda: git_out(
            repo, "log", "-1", "--format=%s") == "Readme: greet from the agent")
        body = git_out(repo, "log", "-1", "--format=%b")
        assert "* agent: readme" in body and f"Construct: {landing['id']}" in body, body
        assert "* Fix readme: the agent's uncommitted work" in body, body
        assert (repo / "docs" / "notes.md").read_text() == "notes\n"
        assert git_out(repo, "rev-parse", "HEAD~1") == main_before
        assert (repo / "src" / "new.py").read_text() == "n = 1\n"
        record = state / f"{landing['id']}.toml"
        wait_for("the construct to be completed", lambda: tomllib.loads(
            record.read_text())["status"] == "completed")
        page.locator(".notification-toast", has_text="landed Fix readme into main").wait_for()
        # The commit's progress ends with it: nothing says "Committing" any more (its
        # end may reach the window just after the landing's notification).
        wait_for("the Committing progress to end",
                 lambda: not texts(page, ".notification-toast", "Committing"))

        # 3. Discard from the palette: the commits it would lose, confirmed; then
        # nothing of it stays open (its diff tab), and a notification says it went.
        dropped_row = page.locator(TREE_ROWS, has_text="Try idea")

        def its_changes() -> Any:
            # The "Changes" row right below "Try idea" (rows are in the DOM out of order).
            at = int(dropped_row.get_attribute("data-index") or -1)
            rows = page.locator(TREE_ROWS, has_text="Changes")
            found = [(int(rows.nth(i).get_attribute("data-index") or -1), rows.nth(i))
                     for i in range(rows.count())]
            below = sorted((i, r) for i, r in found if i > at)
            return below[0][1] if below else None

        def opened() -> Any:
            # Expand "Try idea" (again, if the reload after the landing folded it).
            if dropped_row.get_attribute("aria-expanded") != "true":
                dropped_row.locator(".monaco-tl-twistie").click()
                return None
            return its_changes()

        wait_for("Try idea's Changes row", opened, every=1.0)
        b_md = page.locator(TREE_ROWS, has_text="b.md")

        def expanded() -> bool:
            # The tree reloads on the land's record changes, which may fold the row again.
            if b_md.count():
                return True
            changes_row = its_changes()
            if changes_row is not None and changes_row.get_attribute("aria-expanded") != "true":
                changes_row.locator(".monaco-tl-twistie").click()
            return False

        wait_for("Try idea's changed files", expanded, every=1.0)
        b_md.click()
        dropped_tab = page.locator(".tabs-container .tab", has_text="b.md")
        dropped_tab.wait_for()
        shot("discard-diff-open")
        palette(page, "Synthetic: Discard Construct...")
        box = quick_input(page, "Discard which construct?")
        box.fill("Try idea")
        page.keyboard.press("Enter")
        dialog = page.locator(".monaco-dialog-box")
        dialog.wait_for()
        text = dialog.inner_text()
        assert f"delete its branch {dropped['branch']}" in text, text
        assert "1 commit(s) never landed are lost" in text and "add b" in text, text
        shot("discard-confirmation")
        dialog.get_by_role("button", name="Discard").click()
        wait_for("the record to go", lambda: not (state / f"{dropped['id']}.toml").exists())
        assert not Path(dropped["workspace_path"]).exists()
        assert git_out(repo, "branch", "--list", dropped["branch"]) == ""
        wait_for("the tree to drop it", lambda: page.locator(
            TREE_ROWS, has_text="Try idea").count() == 0)
        page.locator(".notification-toast", has_text="discarded Try idea").wait_for()
        dropped_tab.wait_for(state="detached")  # its diff tab is closed
        shot("discarded")

        # 4. Remove a clean construct whose branch has a commit not on main:
        # nothing is lost, so plain "Remove"; the branch stays, and is said to.
        palette(page, "Synthetic: Remove Construct...")
        box = quick_input(page, "Remove construct")
        box.fill("Keep idea")
        page.keyboard.press("Enter")
        dialog = page.locator(".monaco-dialog-box")
        dialog.wait_for()
        text = dialog.inner_text()
        branch = re.escape(kept["branch"])
        assert re.search(rf"Kept:\s+• the branch {branch} \(1 commit", text), text
        assert "Lost:" not in text, text
        assert dialog.get_by_role("button", name="Remove and Lose Work").count() == 0
        shot("remove-keeps-branch")
        dialog.get_by_role("button", name="Remove", exact=True).click()
        page.locator(".notification-toast", has_text=f"kept the branch {kept['branch']}").wait_for()
        assert not (state / f"{kept['id']}.toml").exists()
        assert git_out(repo, "branch", "--list", kept["branch"]) != ""
    if os.environ.get("SYNTHETIC_VSCODE_UPDATE_DOCS") == "1":
        shutil.copy(artefacts / "vscode-review.png", DOCS / "vscode-review.png")


AGENT_CONFIG = """\
export default {
  defaults: { templateId: "agent" },
  templates: {
    agent: { label: "Agent", agent: { providerId: "offline", modelId: "echo" } },
  },
};
"""


def test_a_live_agent_asks_and_is_approved_from_the_tree(tmp_path: Path) -> None:
    """The session actions against a real agent: send a prompt, approve its permission."""
    from synthetic_ls.opencode.offline_model import start_server_in_thread
    from tests.opencode.conftest import find_opencode, running_opencode

    binary = find_opencode()
    if binary is None:
        if REQUIRED:
            raise RuntimeError("tests/vscode needs opencode (bash scripts/setup.sh)")
        pytest.skip("opencode is not installed")
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": AGENT_CONFIG})
    home = tmp_path / "opencode-home"
    home.mkdir()
    model, stop_model = start_server_in_thread()
    try:
        with running_opencode(binary, home, model.url) as served, \
                code_server(tmp_path / "cs", repo, env_extra=(reach := {
                    "SYNTHETIC_OPENCODE_URL": served.url,
                    "SYNTHETIC_OPENCODE_PASSWORD": served.password,
                })) as url:
            made = construct_via_cli(repo, "Agent task", "agent", reach)
            worktree = Path(made["workspace_path"])
            assert made["opencode_session_id"]
            with workbench(url, repo, artefacts / "failure-agent.png") as page:
                shot = Shots(page, artefacts / "agent")
                page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 1']").wait_for()
                page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
                page.locator(TREE_ROWS, has_text="Agent task").click()  # expand
                agent_row = page.locator(
                    f"{TREE_ROWS}[aria-level='2']", has_text=re.compile(r"^agent "))
                agent_row.filter(has_text="agent idle").wait_for()

                # Send Prompt opens an editor: the prompt is a paragraph, not one line.
                palette(page, "Synthetic: Send Prompt to Agent...")
                box = quick_input(page, "Send a prompt to the agent")
                box.fill("Agent task")
                page.keyboard.press("Enter")
                page.locator(".tabs-container .tab", has_text="Untitled").wait_for()
                page.locator(".monaco-editor .view-lines").first.click()
                page.keyboard.type("Leave proof.")
                page.keyboard.press("Enter")
                page.keyboard.press("Enter")
                page.keyboard.type("[tool:bash echo from-vscode > proof.txt]")
                wait_for("two paragraphs in the draft", lambda: len([
                    line for line in texts(page, ".monaco-editor .view-line", "")
                    if line.strip()]) >= 2)
                shot("prompt-draft")
                page.locator(
                    ".editor-actions .action-label[aria-label^='Send Prompt Draft']").click()
                page.locator(".tabs-container .tab", has_text="Untitled").wait_for(state="detached")

                # OpenCode asks before the shell command; every face shows what it asks,
                # live: the row, a notification with Approve and Deny, the tooltip, the picker.
                command = "echo from-vscode > proof.txt"
                permission = page.locator(TREE_ROWS, has_text=command)
                permission.wait_for()
                row = permission.inner_text()
                assert f"bash: {command}" in row and "per_" not in row, row
                toast = page.locator(".notification-toast", has_text=command)
                toast.wait_for()
                assert "Agent task's agent asks for permission" in toast.inner_text()
                for action in ("Approve", "Deny"):
                    toast.get_by_role("button", name=action).wait_for()
                waiting = agent_row.filter(has_text="agent waits for 1 permission")
                assert "ses_" not in waiting.inner_text()  # the session id is the tooltip's
                shot("permission-requested")
                assert not (worktree / "proof.txt").exists()
                # Away from the construct row first: its tooltip would cover the rows below.
                page.mouse.move(900, 700)
                page.locator(".context-view .hover-contents").wait_for(state="hidden")
                tooltip = page.locator(".monaco-hover", has_text="request per_")

                def hovered() -> bool:
                    # A tree reload (the agent's events) under a still mouse drops the
                    # hover: move away and back until it shows.
                    if tooltip.is_visible():
                        return True
                    page.mouse.move(900, 700)
                    permission.hover()
                    return False

                wait_for("the permission row's tooltip", hovered, every=1.5)
                assert f"asks for permission: bash: {command}" in tooltip.inner_text()
                shot("permission-tooltip")
                permission.locator(".action-label[aria-label^='Approve Agent Permission']").click()
                quick_input(page, f"Approve bash: {command}")
                shot("approve-picker")
                page.keyboard.type("Once")
                page.keyboard.press("Enter")
                wait_for("the approved command's file", lambda: (
                    worktree / "proof.txt").exists())
                assert (worktree / "proof.txt").read_text() == "from-vscode\n"
                wait_for("the permission row to go", lambda: page.locator(
                    TREE_ROWS, has_text=command).count() == 0)
                idle = agent_row.filter(has_text="agent idle")
                idle.wait_for()
                assert "ses_" not in idle.inner_text()
                # What the agent cost, beside its state and on the construct's row
                # (the offline model has a price).
                spent = re.compile(r"\d+(\.\d)?k?/\d+ tokens \$0\.\d{4}")
                agent_row.filter(has_text=spent).wait_for()
                page.locator(f"{TREE_ROWS}[aria-level='1']", has_text=spent).filter(
                    has_text="Agent task").wait_for()
                shot("approved")
                with served.client() as client:
                    texts_ = [m.text for m in client.messages(made["opencode_session_id"])]
                assert any("Tool bash returned" in t for t in texts_), texts_
                # The whole draft was sent, its paragraphs kept.
                prompt = "Leave proof.\n\n[tool:bash echo from-vscode > proof.txt]"
                assert any(prompt in t for t in texts_), texts_

                # The agent's terminal, from the construct's row; then Remove: the
                # terminal (attached to a session that is gone) closes, and a
                # notification says the construct was removed.
                construct_row = page.locator(f"{TREE_ROWS}[aria-level='1']", has_text="Agent task")
                construct_row.hover()
                construct_row.locator(
                    ".action-label[aria-label^='Open Agent Session in Terminal']").click()
                terminal_tab = page.locator(".part.panel", has_text="Agent: Agent task")
                terminal_tab.wait_for()
                shot("agent-terminal")
                palette(page, "Synthetic: Remove Construct...")
                box = quick_input(page, "Remove construct")
                box.fill("Agent task")
                page.keyboard.press("Enter")
                dialog = page.locator(".monaco-dialog-box")
                dialog.wait_for()
                dialog.get_by_role("button", name=re.compile(r"^Remove")).first.click()
                page.locator(".notification-toast", has_text="removed Agent task").wait_for()
                wait_for("the agent's terminal to close", lambda: page.get_by_text(
                    "Agent: Agent task").count() == 0)
                shot("removed")
    finally:
        stop_model()


def test_an_untrusted_workspace_shows_constructs_but_offers_nothing_that_runs(
    tmp_path: Path,
) -> None:
    """Restricted mode: the view and the diagnostics work; no create, start or land."""
    artefacts = artefacts_folder()
    ran = tmp_path / "ran"
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": GOOD_CONFIG,
                                        **shadowing_modules(ran)})
    made = construct_via_cli(repo, "Cloned work")
    commit(Path(made["workspace_path"]), {"notes.md": "n\n"}, "add notes")
    with (
        code_server(tmp_path / "cs", repo, trust=True) as url,
        workbench(url, repo, artefacts / "failure-untrusted.png") as page,
    ):
        # VS Code asks whether to trust the folder: no.
        dialog = page.locator(".monaco-dialog-box")
        dialog.wait_for()
        dialog.get_by_role("button", name=re.compile("^No, I don.t trust")).click()
        page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 1']").wait_for()
        page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
        row = page.locator(TREE_ROWS, has_text="Cloned work")
        row.hover()
        actions = row.locator(".action-label").evaluate_all(
            "els => els.map(e => e.getAttribute('aria-label') || '')")
        assert any(a.startswith("Remove Construct") for a in actions), actions
        assert not any(a.startswith(("Land Construct", "Open Agent Session"))
                       for a in actions), actions
        # The palette has our commands, but none that creates, starts or lands.
        page.keyboard.press("F1")
        box = page.locator(".quick-input-widget input")
        box.wait_for(state="visible")
        box.fill(">Synthetic:")
        listed = ".quick-input-list .monaco-list-row"
        wait_for("Synthetic's commands in the palette", lambda: page.locator(
            listed, has_text="Refresh Constructs").count() > 0)
        for absent in ("New Construct", "Land Construct", "Start Services",
                       "Create synthetic.config.ts", "Send Prompt"):
            box.fill(f">Synthetic: {absent}")
            wait_for(f"the palette filtered to {absent!r}", lambda: page.locator(
                listed, has_text="Refresh Constructs").count() == 0)
            assert page.locator(listed, has_text=absent).count() == 0, absent
        page.keyboard.press("Escape")
        page.screenshot(path=str(artefacts / "untrusted.png"))
    assert not ran.exists(), ran.read_text()  # restricted or not, no repository code ran


SLOW_CONFIG = """\
export default {
  templates: {
    slow: {
      label: "Slow",
      services: {
        web: { type: "process", run: "python3 -u ${constructDir}/slow.py", readyPattern: "ready",
               readyTimeoutMs: 900000 },
      },
    },
  },
};
"""
# Never ready, and waited for up to 15 minutes: only the Cancel can end the wait
# within the page's deadline (DEADLINE).
SLOW_SERVICE = "import time\nprint('warming up', flush=True)\ntime.sleep(1800)\n"


def processes_running(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if marker in cmd:
                    found.append(f"{entry.name}: {cmd}")
    return found


def test_cancelling_a_creation_from_its_notification_leaves_nothing(tmp_path: Path) -> None:
    """Cancel while a service is still starting: the wait stops at once and all is undone."""
    artefacts = artefacts_folder()
    repo = make_repo(
        tmp_path / "app", {"synthetic.config.ts": SLOW_CONFIG, "slow.py": SLOW_SERVICE}
    )
    trust(repo)  # the person's own: its service is allowed
    state = repo / ".git" / "synthetic"
    marker = str(tmp_path)
    with (
        code_server(tmp_path / "cs", repo) as url,
        workbench(url, repo, artefacts / "failure-cancel.png") as page,
    ):
        page.locator("div.statusbar-item[aria-label^='Synthetic constructs: 0']").wait_for()
        palette(page, "Synthetic: New Construct...")
        quick_input(page, "name").fill("Slow start")
        page.keyboard.press("Enter")
        quick_input(page, "base ref")
        page.keyboard.press("Enter")
        toast = page.locator(".notification-toast", has_text="Creating the construct")
        toast.wait_for()
        # The service runs and is waited for (it never says it is ready).
        wait_for("the slow service to run", lambda: [
            p for p in processes_running("slow.py") if marker in p])
        assert list((state / "constructs").glob("*.toml"))
        page.screenshot(path=str(artefacts / "cancel-progress.png"))
        toast.get_by_role("button", name="Cancel").click()
        # Within the page's deadline: the wait for the service (15 minutes
        # at most) ended with the Cancel, not with the service.
        page.locator(".notification-toast", has_text="creation cancelled").wait_for()
        assert not list((state / "constructs").glob("*.toml"))
        assert not list((state / "services").glob("*.toml"))
        assert not list((state / "port_allocations").glob("*.toml"))
        branches = git_out(repo, "branch", "--format=%(refname:short)")
        assert branches == "main", branches
        assert git_out(repo, "worktree", "list").count("\n") == 0
        wait_for("the service to be gone", lambda: not [
            p for p in processes_running("slow.py") if marker in p], timeout=15)


def test_a_fresh_profile_installs_its_own_server_in_one_click(tmp_path: Path) -> None:
    """Issue 22, item 6: no setting at all, and `python3` on PATH without synthetic_ls:
    the extension says so and offers to install the server it brings into an
    environment of its own; one click, and the server runs (the view counts)."""
    base = Path(getattr(sys, "_base_executable", sys.executable))
    has_it = subprocess.run([str(base), "-I", "-c", "import synthetic_ls"],
                            capture_output=True, timeout=60).returncode == 0
    if has_it:
        pytest.skip(f"{base} has synthetic_ls already: nothing to install")
    artefacts = artefacts_folder() / "fresh"
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": GOOD_CONFIG})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(base)
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join([str(bin_dir), *(p for p in os.environ["PATH"].split(os.pathsep)
                                            if p != venv_bin)])
    # pip's downloads from the set-up, reused (the profile's HOME is new).
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    with (
        code_server(tmp_path / "cs", repo, fresh=True,
                    env_extra={"PATH": path, "PIP_CACHE_DIR": cache}) as url,
        workbench(url, repo, artefacts / "failure-fresh.png") as page,
    ):
        shot = Shots(page, artefacts)
        toast = page.locator(".notification-toast", has_text="synthetic-ls is not installed")
        toast.wait_for()
        shot("not-installed")
        toast.get_by_role("button", name="Install the Language Server").click()
        page.locator(".notification-toast", has_text="installing the language server").wait_for()
        # pip installs the server and its libraries: minutes on a slow machine. A
        # failure shows as an error naming the own environment: no need to wait more.
        up = "div.statusbar-item[aria-label^='Synthetic constructs: 0']"

        def outcome() -> str | None:
            if page.locator(up).count():
                return "up"
            if page.locator(".notification-toast", has_text="own environment").count() or \
                    page.locator(".notification-toast", has_text="failed").count():
                return "failed"
            return None

        assert wait_for("the server from its own environment", outcome, timeout=900) == "up"
        shot("installed")
    own = list((tmp_path / "cs" / "user-data").rglob("server-venv/bin/python"))
    assert own, "no environment of the extension's own"
    check = subprocess.run([str(own[0]), "-I", "-c", "import synthetic_ls, sys; print(sys.prefix)"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "server-venv" in check.stdout, check.stderr
