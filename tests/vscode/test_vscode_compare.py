"""A group of attempts in a real VS Code (code-server in Chromium, the built ``.vsix``).

Three attempts at one task are made by the real CLI (``new --attempts 3``,
each with its agent in the real ``opencode serve`` on the offline model);
two of them write the right answer, one the wrong one, so the template's
check fails for that one. In VS Code the person sees the group in the
Constructs tree with its attempts under it, runs the wrong attempt's checks
(Run Checks, allowed in the consent dialog: a notification says it failed),
opens the comparison view from the group's row, runs every attempt's checks
from the view, sees the failing check on the wrong attempt's row and the
file the attempts differ on, and lands the first attempt from its row,
confirming what discarding the others loses: the answer is on ``main``,
the other attempts' worktrees and branches are gone.

A second test: agents whose constructs are collapsed in the tree ask a
question and a permission; each is told once, in a notification that says
what is asked, with its actions (Open Session; Approve and Deny).

Helpers (code-server, the workbench, waits) are those of tests/vscode/test_vscode.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import make_repo
from tests.vscode.test_vscode import (
    MISSING,
    PROJECT,
    REQUIRED,
    TREE_ROWS,
    Shots,
    artefacts_folder,
    code_server,
    commit,
    git_out,
    palette,
    quick_input,
    texts,
    wait_for,
    workbench,
)

pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs " + "; ".join(MISSING))

CONFIG = """\
export default {
  defaults: { templateId: "agent" },
  templates: {
    agent: {
      label: "Agent",
      agent: { providerId: "offline", modelId: "echo" },
      checks: { test: "grep -q right answer.txt" },
    },
  },
};
"""
TASK = "Write the answer"


def cli(repo: Path, env: dict[str, str], *args: str) -> Any:
    """The real CLI's ``--json`` answer."""
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "synthetic_ls.cli", *args, "--json"],
        cwd=repo, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def opencode_or_skip() -> str:
    from tests.opencode.conftest import find_opencode

    binary = find_opencode()
    if binary is None:
        if REQUIRED:
            raise RuntimeError("tests/vscode needs opencode (bash scripts/setup.sh)")
        pytest.skip("opencode is not installed")
    return binary


def comparison(page: Any) -> Any:
    """The comparison view's frame (a webview: a frame inside the workbench's), once shown.

    A tree refresh (the agents' events) can land between the row's render and
    the click; the command then asks which group, as from the palette: the one.
    """
    for frame in page.frames:
        if frame.locator("table.attempts").count():
            return frame
    title = page.locator(".quick-input-widget .quick-input-title",
                         has_text="Compare the attempts of which group?")
    if title.count() and title.is_visible():
        page.keyboard.press("Enter")
    return None


def test_a_group_is_compared_and_one_attempt_landed_from_the_view(tmp_path: Path) -> None:
    from synthetic_ls.opencode.offline_model import start_server_in_thread
    from tests.opencode.conftest import running_opencode

    binary = opencode_or_skip()
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    home = tmp_path / "opencode-home"
    home.mkdir()
    model, stop_model = start_server_in_thread()
    try:
        with running_opencode(binary, home, model.url) as served:
            reach = {"SYNTHETIC_OPENCODE_URL": served.url,
                     "SYNTHETIC_OPENCODE_PASSWORD": served.password}
            group = cli(repo, reach, "new", TASK, "--attempts", "3")
            members = group["members"]
            assert len(members) == 3
            # What each attempt's agent did (the offline model writes no file of its own).
            for m, answer in zip(members, ("right", "wrong", "right"), strict=True):
                commit(Path(m["workspace_path"]), {"answer.txt": f"{answer}\n"}, f"{answer} answer")
            first, wrong = members[0], members[1]
            with code_server(tmp_path / "cs", repo, env_extra=reach) as url, \
                    workbench(url, repo, artefacts / "failure-compare.png") as page:
                shot = Shots(page, artefacts / "compare")
                page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
                # The group's row, its attempts under it.
                group_row = page.locator(f"{TREE_ROWS}[aria-level='1']", has_text=TASK).filter(
                    has_text="3 attempts")
                group_row.wait_for()
                wait_for("the attempts under the group", lambda: page.locator(
                    f"{TREE_ROWS}[aria-level='2']").count() >= 3)
                shot("group-in-tree")

                # Run Checks on the wrong attempt: the person allows the template's command
                # first; a notification says the check failed.
                palette(page, "Synthetic: Run Checks")
                quick_input(page, "Run the checks of which construct?").fill(wrong["name"])
                page.keyboard.press("Enter")
                dialog = page.locator(".monaco-dialog-box")
                dialog.wait_for()
                assert "grep -q right answer.txt" in dialog.inner_text()
                dialog.get_by_role("button", name="Allow and Run").click()
                page.locator(".notification-toast", has_text=(
                    f"{wrong['name']}: 1 of 1 check(s) failed (test failed)")).wait_for()
                shot("checks-of-one")

                group_row.hover()
                group_row.locator(".action-label[aria-label^='Compare Attempts']").click()
                # The view's frame is replaced on each render: found again for each look.
                def seen(selector: str, text: str = "") -> Any:
                    frame = comparison(page)
                    found = frame.locator(selector, has_text=text) if frame else None
                    return found if found is not None and found.count() else None

                rows = wait_for("a row per attempt", lambda: (
                    r := seen("tr[data-attempt]")) is not None and r.count() == 3 and r)
                assert "test not run" in rows.nth(0).inner_text()
                assert "test fail" in rows.nth(1).inner_text()  # run above, recorded
                wait_for("the file the attempts differ on", lambda: seen("li.differ", "answer.txt"))
                shot("compare-view")

                # Every attempt's checks, run from the view (allowed already: no question).
                wait_for("the view's buttons", lambda: seen("button", "Run Checks and Compare")
                         ).click()
                wait_for("the wrong attempt's failing check", lambda: seen(
                    f"tr[data-attempt='{wrong['id']}'] li.fail", "test fail"))
                wait_for("the right attempt's passing check", lambda: seen(
                    f"tr[data-attempt='{first['id']}'] li.pass", "test pass"))
                right_row = seen(f"tr[data-attempt='{first['id']}']")
                assert "1 file +1 −0" in right_row.inner_text()
                shot("checks-run")

                # Beside the view: the patch from the first attempt to the wrong one,
                # then the wrong one's own diff (its one file) in the diff editor.
                right_row.locator("button", has_text="Diff Against").click()
                quick_input(page, f"Diff {first['id']} against which attempt?").fill(wrong["name"])
                page.keyboard.press("Enter")
                wait_for("the patch between the attempts", lambda: {"-right", "+wrong"} <= {
                    line.strip() for line in texts(page, ".monaco-editor .view-line", "")})
                shot("diff-attempts")
                wait_for("the wrong attempt's row", lambda: seen(
                    f"tr[data-attempt='{wrong['id']}'] button", "Open Diff")).click()
                page.locator(".tabs-container .tab", has_text="answer.txt").wait_for()
                shot("attempt-diff")
                right_row = wait_for("the first attempt's row", lambda: seen(
                    f"tr[data-attempt='{first['id']}']"))

                # Land the first; the confirmation lists what discarding the others loses.
                right_row.locator("button", has_text="Land This, Discard Others").click()
                box = quick_input(page, "discard the other attempts: how?")
                box.fill("Merge")
                page.keyboard.press("Enter")
                dialog.wait_for()
                text = dialog.inner_text()
                assert "discard 2 other attempt(s)" in text and "wrong answer" in text, text
                shot("pick-confirmation")
                dialog.get_by_role("button", name="Land and Discard Others").click()
                page.locator(".notification-toast",
                             has_text="Discarded 2 other attempt(s)").wait_for()
                wait_for("the group to leave the tree", lambda: page.locator(
                    TREE_ROWS, has_text="3 attempts").count() == 0)
                shot("landed")
            assert (repo / "answer.txt").read_text() == "right\n"
            assert git_out(repo, "log", "-1", "--format=%s") != ""
            for m in members[1:]:
                assert not Path(m["workspace_path"]).exists()
                assert m["branch"] not in git_out(repo, "branch", "--format=%(refname:short)")
    finally:
        stop_model()


QUESTION = {"questions": [{"question": "Which database?", "header": "DB",
                           "options": [{"label": "pg", "description": "PostgreSQL"}]}]}


def test_a_question_and_a_permission_of_collapsed_constructs_are_told_once(
    tmp_path: Path,
) -> None:
    from synthetic_ls.opencode.offline_model import start_server_in_thread
    from tests.opencode.conftest import running_opencode

    binary = opencode_or_skip()
    artefacts = artefacts_folder()
    repo = make_repo(tmp_path / "app", {"synthetic.config.ts": CONFIG})
    home = tmp_path / "opencode-home"
    home.mkdir()
    model, stop_model = start_server_in_thread()
    try:
        with running_opencode(binary, home, model.url) as served:
            reach = {"SYNTHETIC_OPENCODE_URL": served.url,
                     "SYNTHETIC_OPENCODE_PASSWORD": served.password}
            asker = cli(repo, reach, "new", "Asker", "--template", "agent")
            other = cli(repo, reach, "new", "Other", "--template", "agent")
            with code_server(tmp_path / "cs", repo, env_extra=reach) as url, \
                    workbench(url, repo, artefacts / "failure-alerts.png") as page:
                shot = Shots(page, artefacts / "alerts")
                page.get_by_role("tab", name=re.compile(r"^Synthetic")).click()
                page.locator(f"{TREE_ROWS}[aria-level='1']", has_text="Other").wait_for()
                # Both rows collapsed: nothing of either agent is in view.
                assert page.locator(f"{TREE_ROWS}[aria-level='2']").count() == 0
                cli(repo, reach, "session", "send", asker["id"],
                    f"[tool:question {json.dumps(QUESTION)}]")
                question = page.locator(".notification-toast",
                                        has_text="Asker's agent asks: Which database?")
                question.wait_for()
                question.get_by_role("button", name="Open Session").wait_for()
                shot("question")
                cli(repo, reach, "session", "send", other["id"], "[tool:bash echo hi]")
                permission = page.locator(".notification-toast", has_text="bash: echo hi")
                permission.wait_for()
                assert "Other's agent asks for permission" in permission.inner_text()
                for action in ("Approve", "Deny"):
                    permission.get_by_role("button", name=action).wait_for()
                shot("permission")
                # The events come in order: a second telling of the question would be here.
                assert question.count() == 1
                assert page.locator(f"{TREE_ROWS}[aria-level='2']").count() == 0
    finally:
        stop_model()
