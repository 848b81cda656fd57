"""Benchmark: Neovim start to the first diagnostics of a Synthetic config, against
baselines measured in the same run (issue 21: target under 0.5 s).

Run by hand (not part of the test suite)::

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/bench_nvim.py [--rounds 10]

Prints the median over the rounds of:

1. baseline: ``nvim --clean --headless +qa`` (Neovim alone);
2. plugin, no repository: Neovim with the plugin on the runtimepath and
   ``setup()`` called, in a folder without a config, to ``qa`` (what the plugin
   costs every Neovim start: its modules and vim.lsp are loaded on first use);
3. from ``--startuptime`` of (2): the time spent sourcing ``plugin/synthetic.lua``
   and the init that calls ``setup()``;
4. first diagnostics: ``nvim synthetic.config.ts`` in a repository (the built-in
   example), from the process start to the first ``DiagnosticChanged`` from the
   server (the time is written by Neovim, read against the start time here);

each with its ratio against the baseline. Figures, not assertions: the machine's
load moves them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"
SERVER = [sys.executable, "-I", "-m", "synthetic_ls.lsp"]

INIT = """
vim.opt.runtimepath:prepend(%(plugin)s)
vim.opt.swapfile = false
vim.opt.shada = ""
require("synthetic").setup({ cmd = vim.json.decode(%(cmd)s) })
local out = %(out)s
if out ~= "" then
  vim.api.nvim_create_autocmd("DiagnosticChanged", {
    once = true,
    callback = function()
      local s, us = vim.uv.gettimeofday()
      local f = assert(io.open(out, "w"))
      f:write(string.format("%%d.%%06d", s, us))
      f:close()
      vim.schedule(function() vim.cmd("qall!") end)
    end,
  })
end
"""


def nvim() -> str:
    found = shutil.which("nvim")
    if not found:
        sys.exit("nvim is not on PATH (PATH=$PWD/.venv/bin:$PATH)")
    return found


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, timeout=120,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def sourcing_ms(exe: str, init: Path, cwd: Path, log: Path) -> tuple[float, float]:
    """From ``--startuptime``: the ms spent sourcing the init (which calls ``setup()``)
    and ``plugin/synthetic.lua`` (the "self+sourced" column)."""
    log.unlink(missing_ok=True)
    subprocess.run([exe, "--headless", "--clean", "-u", str(init), "--startuptime", str(log),
                    "+qa"], cwd=cwd, check=True, capture_output=True, timeout=120,
                   stdin=subprocess.DEVNULL)
    init_ms = plugin_ms = 0.0
    for line in log.read_text().splitlines():
        fields = line.split()
        if "sourcing" in fields and fields[-1] == str(init):
            init_ms = float(fields[1])
        elif "sourcing" in fields and fields[-1].endswith("/plugin/synthetic.lua"):
            plugin_ms = float(fields[1])
    return init_ms, plugin_ms


def first_diagnostics(exe: str, init: Path, repo: Path, out: Path) -> float:
    out.unlink(missing_ok=True)
    start = time.time()
    subprocess.run([exe, "--headless", "--clean", "-u", str(init), "synthetic.config.ts"],
                   cwd=repo, check=True, capture_output=True, timeout=120,
                   stdin=subprocess.DEVNULL)
    if not out.exists():
        sys.exit("Neovim quit without diagnostics")
    return float(out.read_text()) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    exe = nvim()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        shutil.copy(EXAMPLE, repo / "synthetic.config.ts")
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        empty = base / "empty"
        empty.mkdir()
        out = base / "diagnostics-at"

        def init(name: str, out_path: str) -> Path:
            path = base / name
            path.write_text(INIT % {
                "plugin": json.dumps(str(ROOT / "nvim")),
                "cmd": json.dumps(json.dumps(SERVER)),
                "out": json.dumps(out_path),
            })
            return path

        quiet, watching = init("quiet.lua", ""), init("watching.lua", str(out))
        env_cmd = [exe, "--headless", "--clean"]
        rounds: dict[str, list[float]] = {"baseline": [], "plugin": [], "diagnostics": []}
        sourced: dict[str, list[float]] = {"init": [], "plugin": []}
        for _ in range(args.rounds):
            init_ms, plugin_ms = sourcing_ms(exe, quiet, empty, base / "startuptime.log")
            sourced["init"].append(init_ms)
            sourced["plugin"].append(plugin_ms)
            rounds["baseline"].append(timed([*env_cmd, "+qa"], empty))
            rounds["plugin"].append(timed([*env_cmd, "-u", str(quiet), "+qa"], empty))
            rounds["diagnostics"].append(first_diagnostics(exe, watching, repo, out))
    base_ms = statistics.median(rounds["baseline"]) * 1000
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    print(f"{version.splitlines()[0]}, {args.rounds} rounds, medians "
          f"(load: {os.getloadavg()[0]:.2f})")
    for name, label in (("baseline", "nvim --clean --headless +qa"),
                        ("plugin", "with the plugin and setup(), no repository, +qa"),
                        ("diagnostics", "start -> first diagnostics (target < 500 ms)")):
        ms = statistics.median(rounds[name]) * 1000
        print(f"  {label:52s} {ms:7.1f} ms  (x{ms / base_ms:.1f} the baseline)")
    plugin_ms, init_ms = statistics.median(sourced["plugin"]), statistics.median(sourced["init"])
    print(f"  --startuptime: sourcing plugin/synthetic.lua {plugin_ms:.2f} ms, "
          f"the init calling setup() {init_ms:.2f} ms")


if __name__ == "__main__":
    main()
