"""``synthetic demo``: the whole flow on a built-in example repository, with the offline model.

It copies ``examples/flow`` into a temporary git repository, starts the
offline model (no credentials) and points a managed ``opencode serve`` at it
(HOME in the temporary folder, so nothing of the user's is read or written),
then runs the real ``synthetic`` commands one after the other, printing each
with its output: check the config, create a construct (worktree, prompt
bundle, dev service, agent session), list it, prompt the agent, approve the
tool call it asks for, and remove the construct. Everything it started is
stopped and the folder deleted, whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).parents[1] / "examples" / "flow"
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Synthetic demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
    "GIT_COMMITTER_NAME": "Synthetic demo", "GIT_COMMITTER_EMAIL": "demo@example.invalid",
}


class DemoFailed(Exception):
    """A step of the demo did not do what it should (its output was printed)."""


def _environment(tmp: Path, model_url: str) -> dict[str, str]:
    from synthetic_ls.opencode.offline_model import isolated_env

    home = tmp / "home"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SYNTHETIC_OPENCODE_URL", "SYNTHETIC_OPENCODE_PASSWORD"))}
    env.update(_GIT_IDENTITY)
    env.update(isolated_env(home, model_url))
    env["SYNTHETIC_WORKTREES_DIR"] = str(tmp / "worktrees")
    from synthetic_ls.opencode.server import PINNED

    # The demo runs the OpenCode it is tested with, before any on PATH.
    if "SYNTHETIC_OPENCODE_BIN" not in env and os.access(PINNED, os.X_OK):
        env["SYNTHETIC_OPENCODE_BIN"] = str(PINNED)
    return env


def _make_repo(repo: Path, env: dict[str, str]) -> None:
    shutil.copytree(EXAMPLE, repo)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Demo site"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


#: What to try next, said at the end of the demo.
NEXT = """
Next, on your own repository (with the offline model, or your provider after
`opencode auth login`):
  cd ~/src/your-project
  synthetic init                  # a commented synthetic.config.ts
  synthetic config check
  synthetic trust                 # review what the config would run, and allow it
  synthetic new "Fix the login bug"
  synthetic session send fix-the-login-bug "..." --wait
  synthetic diff fix-the-login-bug; synthetic land fix-the-login-bug --remove
"""


def _constructs(repo: Path, env: dict[str, str]) -> list[str]:
    """The ids of the demo repository's constructs (none when it cannot tell)."""
    proc = subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "ls", "--json"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=60)
    try:
        return [c["id"] for c in json.loads(proc.stdout)["constructs"]]
    except (ValueError, KeyError, TypeError):
        return []


def _fetch_service(say: Callable[[str], None], shown: dict[str, Any]) -> None:
    """Ask the construct's dev server for its page, to show that it serves."""
    import httpx

    ports = shown.get("ports") or []
    port = next((p.get("port") for p in ports if isinstance(p, dict)), None)
    if port is None:
        raise DemoFailed("the construct has no port for its dev server")
    url = f"http://127.0.0.1:{port}/"
    page = httpx.get(url, timeout=10).text
    title = next((line for line in page.splitlines() if "<h1>" in line), page[:60])
    say(f"\n$ curl {url}\n{title.strip()}")


def run_demo(say: Callable[[str], None] = print) -> int:
    """Run the demo, printing through ``say``; 0 when every step did what it should."""
    from synthetic_ls.opencode.offline_model import start_in_thread

    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="synthetic-demo-"))
    model_url, stop_model = start_in_thread()
    env = _environment(tmp, model_url)
    repo = tmp / "demo-site"
    _make_repo(repo, env)
    say(f"Demo repository: {repo} (a copy of the built-in example)")
    say(f"Offline model: {model_url} (scripted, no credentials)")

    def synthetic(*args: str, check: bool = True, quiet: bool = False) -> str:
        if not quiet:
            say(f"\n$ synthetic {' '.join(args)}")
        proc = subprocess.run(
            [sys.executable, "-m", "synthetic_ls.cli", *args], cwd=repo, env=env,
            capture_output=True, text=True, timeout=180,
        )
        for text in (proc.stderr, proc.stdout):
            if text.strip() and not quiet:
                say(text.rstrip())
        if check and proc.returncode != 0:
            raise DemoFailed(f"`synthetic {args[0]}` exited with {proc.returncode}")
        return proc.stdout

    try:
        synthetic("config", "check")
        # What the repository would run, then the person's yes (kept in the demo's
        # own XDG_DATA_HOME: it goes with the demo's folder).
        synthetic("trust", "--list", check=False)
        synthetic("trust", "--yes", quiet=True)
        synthetic("new", "Add a greeting", "--description", "Say hello on the home page")
        listed = synthetic("ls", "--json", quiet=True)
        [construct] = json.loads(listed)["constructs"]
        cid = construct["id"]
        synthetic("ls")
        synthetic("show", cid)
        synthetic("ports")
        _fetch_service(say, json.loads(synthetic("show", cid, "--json", quiet=True)))
        synthetic("session", "send", cid, "Please add a greeting to the home page", "--wait")
        synthetic("session", "send", cid, "[tool:bash echo '<p>Hello!</p>' >> web/index.html]",
                  "--wait")
        synthetic("session", "approve", cid)
        synthetic("session", "watch", cid, "--timeout", "60")
        synthetic("session", "log", cid)
        # Review the agent's edit, commit it, land it into main (the construct goes).
        synthetic("diff", cid)
        synthetic("commit", cid, "-m", "Add a greeting to the home page")
        synthetic("land", cid, "--remove")
        landed = subprocess.run(["git", "log", "--oneline", "-2"], cwd=repo, env=env,
                                capture_output=True, text=True, check=True).stdout
        say(f"\n$ git log --oneline -2\n{landed.rstrip()}")
        if "Add a greeting" not in landed:
            raise DemoFailed("the agent's edit did not land on main")
        synthetic("ls")
    except (DemoFailed, subprocess.TimeoutExpired, ValueError, OSError) as exc:
        say(f"\ndemo: FAILED: {exc}")
        return 1
    finally:
        # Whatever the demo made and did not remove (it stopped half-way: a failure,
        # its output's reader gone), removed before its folder goes: no service of
        # it may run on.
        for cid in _constructs(repo, env):
            subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "rm", cid, "--yes",
                            "--force", "--trust"], cwd=repo, env=env, capture_output=True,
                           timeout=120)
        subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "opencode", "stop"],
                       cwd=repo, env=env, capture_output=True, timeout=60)
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"\ndemo: done in {time.monotonic() - started:.0f} s; everything it made is gone.")
    say(NEXT)
    return 0
