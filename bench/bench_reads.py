"""Benchmark: reads of constructs with live agents, this code against an earlier commit's.

Issue 19 made reads pure: ``ls`` and ``show`` used to poll the agents and
write the statuses they found (a locked read-modify-write per construct that
moved); now they poll the same way and show the agents' states as an overlay,
writing nothing. This measures that reads did not get slower for it.

One run; each version's repository has its own managed ``opencode serve``
(the offline model, HOME in a temporary folder). For each version (this tree, and the tree
given with ``--base``: a checkout of the earlier commit with its own
``.venv``), a repository with ``--constructs`` constructs that have agent
sessions, half of them with the agent waiting for a permission (so that the
earlier code has statuses to write the first time). Then, alternating the
versions every round, in a fresh process of each version's Python:

* ``list`` in-process (``ops.listing.list_constructs``, as the language
  server runs it: the median of several calls in one process, after one
  warm-up);
* ``show`` in-process (``ops.constructs.show_construct`` of one construct
  whose agent waits);
* the ``synthetic ls --json`` command as a whole (a cold process).

Both repositories are made by this code, the same way; the earlier code
reads its copy as the format-1 state it is (at rest, formats 1 and 2 differ
only in the marker).

Each line gives this code's median, the earlier code's, and the median of
the rounds' ratios. Target: ratios at most 1.0x within noise.

Run: ``.venv/bin/python bench/bench_reads.py --base /path/to/old/checkout [--rounds 8]``
(make the old checkout with ``git worktree add ../base 3bc7102`` and
``python3 -m venv .venv && .venv/bin/pip install -r requirements-ci.txt -e .``).
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
sys.path.insert(0, str(ROOT))

from synthetic_ls.opencode.offline_model import isolated_env, start_in_thread  # noqa: E402

CONFIG = """export default {
  defaults: { templateId: "agent" },
  templates: { agent: { label: "Agent", agent: { providerId: "offline", modelId: "echo" } } },
};
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
    "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid",
}

#: Run in a version's own Python: time list and show in-process, print JSON.
TIMER = r"""
import json, statistics, sys, time
from state_format.store import Store
from synthetic_ls.ops.listing import list_constructs
from synthetic_ls.ops.constructs import show_construct
repo, ref, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = Store.open(repo)
def timed(fn):
    fn()
    out = []
    for _ in range(calls):
        start = time.perf_counter(); fn(); out.append(time.perf_counter() - start)
    return statistics.median(out)
print(json.dumps({
    "list": timed(lambda: list_constructs(store)),
    "show": timed(lambda: show_construct(store, ref)),
}))
"""


class Version:
    """One version of Synthetic: its source tree, its Python, its repository."""

    def __init__(self, name: str, tree: Path, repo: Path, env: dict[str, str]) -> None:
        self.name = name
        self.tree = tree
        self.python = str(tree / ".venv" / "bin" / "python")
        self.repo = repo
        # The version's own sources first, whatever the venv's editable install points at.
        self.env = {**env, "PYTHONPATH": str(tree)}
        self.waiting = ""

    def synthetic(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-m", "synthetic_ls.cli", *args], cwd=self.repo, env=self.env,
            capture_output=True, text=True, timeout=300, check=True,
        )

    def prepare(self, constructs: int) -> None:
        """A repository with ``constructs`` agents, every other one waiting for a permission."""
        self.repo.mkdir(parents=True)
        (self.repo / "synthetic.config.ts").write_text(CONFIG)
        (self.repo / "README.md").write_text("bench\n")
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
            subprocess.run(["git", *args], cwd=self.repo, env=self.env, check=True)
        # The bench's own repository: its person allows what it runs (this tree's CLI;
        # code from before consent existed ignores it).
        subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "trust", "--yes"],
                       cwd=self.repo, env=self.env, check=True, capture_output=True)
        for i in range(constructs):
            made = json.loads(self._retried("new", f"agent {i}", "--json").stdout)
            if i % 2 == 0:
                self.synthetic("session", "send", made["id"], "[tool:bash echo x > x.txt]",
                               "--wait", "--json")
                self.waiting = made["id"]

    def _retried(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command that may time out against a cold, loaded OpenCode (earlier code waited 5 s)."""
        tries = 6
        for attempt in range(tries):
            try:
                return self.synthetic(*args)
            except subprocess.CalledProcessError as exc:
                if attempt == tries - 1:
                    what = f"{self.name}: synthetic {' '.join(args)}: {exc.stderr}"
                    raise RuntimeError(what) from None
        raise AssertionError("unreachable")

    def time_in_process(self, calls: int) -> dict[str, float]:
        out = subprocess.run(
            [self.python, "-c", TIMER, str(self.repo), self.waiting, str(calls)],
            cwd=self.repo, env=self.env, capture_output=True, text=True, timeout=300, check=True,
        ).stdout
        return dict(json.loads(out.splitlines()[-1]))

    def time_cli(self) -> float:
        start = time.perf_counter()
        self.synthetic("ls", "--json")
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="checkout of the earlier code")
    parser.add_argument("--constructs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    binary = os.environ.get("SYNTHETIC_OPENCODE_BIN") or str(
        ROOT / ".tools" / "node_modules" / ".bin" / "opencode")
    if not os.access(binary, os.X_OK):
        print("opencode is not installed: run scripts/setup.sh", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    model_url, stop_model = start_in_thread()
    versions: list[Version] = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHETIC_OPENCODE_")}
        env.update(GIT_ENV)
        env.update(isolated_env(tmp / "home", model_url, ask_bash=True))
        env.update(SYNTHETIC_OPENCODE_BIN=binary, SYNTHETIC_WORKTREES_DIR=str(tmp / "trees"))
        ours = Version("this code", ROOT, tmp / "ours", env)
        base = Version("earlier", args.base.resolve(), tmp / "base", env)
        versions = [ours, base]
        # Both repositories are made by this code (the same steps, the same
        # data); the earlier code then reads its own as the format-1 state it
        # is: nothing at rest differs but the marker.
        made_by = Version("this code", ROOT, base.repo, env)
        for version in (ours, made_by):
            version.prepare(args.constructs)
        base.waiting = made_by.waiting
        (base.repo / ".git" / "synthetic" / "format.toml").write_text("version = 1\n")
        samples: dict[str, dict[str, list[float]]] = {
            v.name: {"list": [], "show": [], "ls": []} for v in versions}
        for number in range(args.rounds):
            for version in (ours, base) if number % 2 == 0 else (base, ours):
                timed = version.time_in_process(args.calls)
                samples[version.name]["list"].append(timed["list"])
                samples[version.name]["show"].append(timed["show"])
                samples[version.name]["ls"].append(version.time_cli())
        print(f"{args.constructs} constructs with agents ({(args.constructs + 1) // 2} waiting "
              f"for a permission), {args.rounds} rounds")
        for what, label in (("list", "list_constructs (in-process)"),
                            ("show", "show_construct (in-process)"),
                            ("ls", "synthetic ls --json (CLI)")):
            a, b = samples[ours.name][what], samples[base.name][what]
            ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
            print(f"{label:<32} this code {statistics.median(a) * 1000:8.1f} ms   earlier "
                  f"{statistics.median(b) * 1000:8.1f} ms   ratio {ratio:5.2f}x")
    finally:
        for version in versions:
            if version.repo.exists():
                subprocess.run([version.python, "-m", "synthetic_ls.cli", "opencode", "stop"],
                               cwd=version.repo, env=version.env, capture_output=True)
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
