"""Fault injection: ``kill -9`` a creation at every step, then ``doctor --fix``; count what is left.

For each step of ``synthetic new`` on the built-in example's template (the
record, then each resource: worktree, prompt bundle, ports, services, agent
session ...) and each round, it starts ``synthetic new`` in its own process
group, waits until the record's journal says that step has begun (plus a
delay that differs per round: at once, a little later, later still), sends
SIGKILL to the whole group, and runs ``synthetic doctor --fix``. Then it
counts what a crash must never leave behind:

* worktrees: linked worktrees git still lists, and folders in the worktrees
  folder;
* branches: branches other than ``main``;
* ports: port allocation records;
* processes: processes whose working folder is in the worktrees folder;
* sessions: OpenCode sessions rooted in a worktree folder the runs used;
* inconsistent records: construct records still there after the fix (each
  creation was killed, so none may stay), broken files, prompt bundles or
  services without their construct.

Every count must be 0; the script exits 1 otherwise. ``--rounds 1`` is the
reduced form the test suite runs. It uses the offline model and a managed
``opencode serve`` with HOME in a temporary folder.
Run: ``.venv/bin/python bench/fault_injection.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthetic_ls.opencode.offline_model import isolated_env, start_in_thread  # noqa: E402

EXAMPLE = ROOT / "synthetic_ls" / "examples" / "flow"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "f", "GIT_AUTHOR_EMAIL": "f@example.invalid",
    "GIT_COMMITTER_NAME": "f", "GIT_COMMITTER_EMAIL": "f@example.invalid",
}
#: After the step begins, wait this long before the kill (one per round, cycling).
DELAYS = (0.0, 0.05, 0.15, 0.3)


@dataclass
class Counts:
    """What was left after the fixes (all must be 0)."""

    worktrees: int = 0
    branches: int = 0
    ports: int = 0
    processes: int = 0
    sessions: int = 0
    inconsistent_records: int = 0
    details: list[str] = field(default_factory=list)

    def total(self) -> int:
        return (self.worktrees + self.branches + self.ports + self.processes + self.sessions
                + self.inconsistent_records)


class Lab:
    """A temporary repository from the example, with its environment."""

    def __init__(self, tmp: Path, model_url: str) -> None:
        self.tmp = tmp
        self.repo = tmp / "repo"
        self.trees = tmp / "worktrees"
        home = tmp / "home"
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SYNTHETIC_OPENCODE_URL", "SYNTHETIC_OPENCODE_PASSWORD")}
        self.env.update(GIT_ENV)
        self.env.update(isolated_env(home, model_url, ask_bash=False))
        self.env["SYNTHETIC_WORKTREES_DIR"] = str(self.trees)
        local = ROOT / ".tools" / "node_modules" / ".bin" / "opencode"
        if os.access(local, os.X_OK):
            self.env.setdefault("SYNTHETIC_OPENCODE_BIN", str(local))
        shutil.copytree(EXAMPLE, self.repo)
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "x"]):
            subprocess.run(["git", *args], cwd=self.repo, env=self.env, check=True)
        self.state = self.repo / ".git" / "synthetic"

    def synthetic(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "synthetic_ls.cli", *args], cwd=self.repo, env=self.env,
            capture_output=True, text=True, timeout=300,
        )

    def steps(self) -> list[str]:
        """``record`` and the resources a new construct of the default template gets."""
        out = self.synthetic("new", "plan", "--dry-run", "--json")
        plan = json.loads(out.stdout)["plan"]
        return ["record", *(item["resource"] for item in plan)]

    def finished(self) -> bool:
        """A construct whose record has no journal: its creation finished."""
        folder = self.state / "constructs"
        for path in folder.glob("*.toml") if folder.is_dir() else []:
            try:
                return "journal" not in tomllib.loads(path.read_text())
            except (OSError, ValueError):
                continue
        return False

    def journal_steps(self) -> list[str] | None:
        """The steps begun by the creation in progress (None: no record yet)."""
        folder = self.state / "constructs"
        for path in folder.glob("*.toml") if folder.is_dir() else []:
            try:
                data = tomllib.loads(path.read_text())
            except (OSError, ValueError):
                continue
            journal = data.get("journal")
            if isinstance(journal, dict):
                return [str(s) for s in journal.get("started", [])]
            return []
        return None


def kill_at(lab: Lab, step: str, delay: float) -> bool:
    """Run ``new`` and SIGKILL its group once ``step`` has begun (+ ``delay``); True if it did."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_ls.cli", "new", "victim"], cwd=lab.repo, env=lab.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    hit = False
    while time.monotonic() < deadline and proc.poll() is None:
        begun = lab.journal_steps()
        if begun is not None and (step == "record" or step in begun):
            time.sleep(delay)
            hit = proc.poll() is None
            break
        time.sleep(0.002)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # A record without a journal is a creation that finished before the kill
    # (the process was only exiting): a whole construct, not a half one.
    return hit and not lab.finished()


def worktree_dirs(lab: Lab) -> list[str]:
    return sorted(str(p) for p in lab.trees.iterdir()) if lab.trees.is_dir() else []


def count_leftovers(lab: Lab, seen_dirs: set[str], server: tuple[str, str] | None) -> Counts:
    counts = Counts()
    listed = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=lab.repo,
                            capture_output=True, text=True).stdout
    linked = [ln for ln in listed.splitlines() if ln.startswith("worktree ")][1:]
    counts.worktrees = len(linked) + len(worktree_dirs(lab))
    branches = subprocess.run(["git", "branch", "--format=%(refname:short)"], cwd=lab.repo,
                              capture_output=True, text=True).stdout.split()
    counts.branches = len([b for b in branches if b != "main"])
    for kind in ("port_allocations",):
        folder = lab.state / kind
        counts.ports += len(list(folder.glob("*.toml"))) if folder.is_dir() else 0
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc_dir / "cwd")
        except OSError:
            continue
        if cwd.startswith(str(lab.trees)):
            counts.processes += 1
            counts.details.append(f"process {proc_dir.name} in {cwd}")
    if server is not None:
        import httpx

        url, password = server
        with httpx.Client(base_url=url, auth=("opencode", password), timeout=10) as client:
            for directory in seen_dirs:
                body = client.get("/session", params={"directory": directory}).json()
                left = [s for s in body if s.get("directory") == directory]
                counts.sessions += len(left)
    for kind in ("constructs", "prompt_bundles", "services"):
        folder = lab.state / kind
        files = list(folder.glob("*.toml")) if folder.is_dir() else []
        counts.inconsistent_records += len(files)
        counts.details += [f"record left: {f.name}" for f in files]
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fault-injection-"))
    model_url, stop_model = start_in_thread()
    lab = Lab(tmp, model_url)
    total = Counts()
    runs = hits = 0
    try:
        started = lab.synthetic("opencode", "start", "--json")
        if started.returncode != 0:
            print(started.stderr, file=sys.stderr)
            return 1
        server_url = json.loads(started.stdout)["url"]
        password = (lab.state / "opencode" / "password").read_text().strip()
        steps = lab.steps()
        print(f"steps: {', '.join(steps)}; {args.rounds} kill(s) each")
        seen: set[str] = set()
        for step in steps:
            for round_number in range(args.rounds):
                delay = DELAYS[round_number % len(DELAYS)]
                hit = kill_at(lab, step, delay)
                runs += 1
                hits += hit
                seen.update(worktree_dirs(lab))
                if not hit:  # it finished: remove it as a person would, then count
                    for made in json.loads(lab.synthetic("ls", "--json").stdout or "{}").get(
                            "constructs", []):
                        lab.synthetic("rm", made["id"], "--yes", "--force")
                fixed = lab.synthetic("doctor", "--fix", "--json")
                left = count_leftovers(lab, seen, (server_url, password))
                status = "ok" if left.total() == 0 else "LEFT: " + ", ".join(left.details)
                print(f"  kill at {step:<16} +{delay:.2f}s  "
                      f"{'killed mid-step' if hit else 'finished first'}; doctor exit "
                      f"{fixed.returncode}; {status}")
                for name in ("worktrees", "branches", "ports", "processes", "sessions",
                             "inconsistent_records"):
                    setattr(total, name, getattr(total, name) + getattr(left, name))
                # Start the next run clean even if this one left something.
                if left.total():
                    for cid in json.loads(lab.synthetic("ls", "--json").stdout or "{}").get(
                            "constructs", []):
                        lab.synthetic("rm", cid["id"], "--yes", "--force")
    finally:
        lab.synthetic("opencode", "stop")
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{runs} creations killed ({hits} mid-step), each followed by doctor --fix.")
    print(f"orphaned worktrees: {total.worktrees}")
    print(f"orphaned branches: {total.branches}")
    print(f"orphaned ports: {total.ports}")
    print(f"orphaned processes: {total.processes}")
    print(f"orphaned sessions: {total.sessions}")
    print(f"inconsistent records: {total.inconsistent_records}")
    return 0 if total.total() == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
