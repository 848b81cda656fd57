"""Fault injection: ``kill -9`` each operation at every step, then ``doctor --fix``; check.

**Creation.** For each step of ``synthetic new`` on the built-in example's
template (the record, then each resource: worktree, prompt bundle, ports,
services, agent session ...) and each round, it starts ``synthetic new`` in
its own process group, waits until the record's journal says that step has
begun (plus a delay that differs per round: at once, a little later, later
still), sends SIGKILL to the whole group, and runs ``synthetic doctor
--fix``. Then it counts what a crash must never leave behind:

* worktrees: linked worktrees git still lists, and folders in the worktrees
  folder;
* branches: branches other than ``main``;
* ports: port allocation records;
* processes: processes whose working folder is in the worktrees folder;
* sessions: OpenCode sessions rooted in a worktree folder the runs used;
* inconsistent records: construct records still there after the fix (each
  creation was killed, so none may stay), broken files, prompt bundles or
  services without their construct.

**The other operations**, the same way (the kill once the construct's
journal shows the step begun, plus the round's delay), each on a construct
made for it: ``services restart``, ``start`` and ``stop`` (every service
ends stopped, no process left in the worktree); ``commit`` (the commit is
made whole, or the index and files are as before); ``land`` with each
strategy, merge, squash, rebase and apply (the target holds the work and
the record says ``completed``, or the target is exactly as before with no
``MERGE_HEAD``, ``SQUASH_MSG``, rebase folder or lock file left, and the
construct's branch as before); the person stages a file and edits another
in the target checkout after the kill, and that work must come through the
fix untouched; ``discard`` (forced: the construct had unmerged commits and
uncommitted changes) and ``rm --keep-session`` (record, worktree, branch,
ports and processes gone; the session gone, or kept as asked); ``new --attempts 3``
at each step of the group (``member-1`` ... ``send``: no group, construct,
worktree, branch, port, process or session of it left). After each,
``synthetic ls`` must show no operation and ``synthetic doctor`` (no fix)
no finding. Each wrong thing counts as one inconsistency.

Every count must be 0; the script exits 1 otherwise. ``--rounds 1
--sample`` is the reduced form the test suite runs (every creation step,
a discard killed while it deletes its session, and a group of attempts
killed in its second member). It uses the
offline model and a managed ``opencode serve`` with HOME in a temporary
folder.
Run: ``.venv/bin/python bench/fault_injection.py [--rounds N] [--sample] [--only PART]``.
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
from typing import Any

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
#: The same for the other operations, whose git steps take a few milliseconds.
OP_DELAYS = (0.0, 0.02, 0.05, 0.15)


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
        # The bench's own repository: its person allows what it runs.
        subprocess.run([sys.executable, "-m", "synthetic_ls.cli", "trust", "--yes"],
                       cwd=self.repo, env=self.env, check=True, capture_output=True)

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


# -- operations other than creation --------------------------------------------------

#: Files in a git dir that a finished or undone landing must not leave behind.
GIT_LEFTOVERS = ("MERGE_HEAD", "MERGE_MSG", "MERGE_MODE", "SQUASH_MSG", "rebase-merge",
                 "rebase-apply", "index.lock", "HEAD.lock", "ORIG_HEAD.lock")
#: The person's own work in the target checkout, made after the kill: a staged new
#: file and an unstaged edit of a tracked file the landings never touch.
PERSON_STAGED, PERSON_EDITED = "person-staged.txt", "README.md"


@dataclass
class OpCounts:
    """Kills of one operation and what was found wrong after ``doctor --fix``."""

    runs: int = 0
    hits: int = 0
    problems: list[str] = field(default_factory=list)


#: ``--sample``: the kills of the reduced form the test suite runs, besides every
#: creation step: a discard deleting its agent session, and a group of three attempts
#: killed once its second member began (each such run takes ~20 s here;
#: tests/integration/test_killed_operations.py kills landings and removals at fixed points).
SAMPLE = {"discard": "session", "group": "member-2"}
#: The steps to kill at, by operation (None: every step).
chosen: dict[str, str] | None = None


def wanted(what: str, step: str) -> bool:
    return chosen is None or chosen.get(what) == step


class OpLab(Lab):
    """The lab with the helpers the operation scenarios need."""

    n = 0
    server: tuple[str, str] | None = None

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(["git", *args], cwd=cwd or self.repo, env=self.env,
                              capture_output=True, text=True).stdout.rstrip("\n")

    def record(self, cid: str) -> dict[str, Any] | None:
        path = self.state / "constructs" / f"{cid}.toml"
        try:
            return tomllib.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"journal": {"op": "?", "started": []}}  # half written: look again

    def make(self, *, agent: bool = False) -> dict[str, Any]:
        OpLab.n += 1
        args = ["new", f"op {OpLab.n}", "--json"] + ([] if agent else ["--no-agent"])
        made = self.synthetic(*args)
        if made.returncode != 0:
            raise RuntimeError(f"synthetic new failed: {made.stderr}")
        return dict(json.loads(made.stdout))

    def session_exists(self, worktree: str, session: str | None) -> bool:
        if session is None or self.server is None:
            return False
        import httpx

        url, password = self.server
        with httpx.Client(base_url=url, auth=("opencode", password), timeout=10) as client:
            body = client.get("/session", params={"directory": worktree}).json()
        return any(s.get("id") == session for s in body)

    def write(self, where: str, name: str, text: str) -> None:
        Path(where, name).write_text(text)

    def commit_on_main(self) -> None:
        """Move main on (another file), so that a merge makes a merge commit."""
        OpLab.n += 1
        (self.repo / f"main-{OpLab.n}.txt").write_text(f"main {OpLab.n}\n")
        self.git("add", f"main-{OpLab.n}.txt")
        self.git("commit", "-qm", f"main {OpLab.n}")

    def clean(self) -> list[str]:
        """Problems ``ls`` and ``doctor`` (without --fix) report afterwards."""
        problems = []
        doctor = self.synthetic("doctor", "--json")
        findings = json.loads(doctor.stdout or "{}").get("findings", [])
        problems += [f"doctor: {f.get('kind')}: {f.get('message')}" for f in findings]
        if doctor.returncode != 0 and not findings:
            problems.append(f"doctor exit {doctor.returncode}: {doctor.stderr.strip()}")
        listed = json.loads(self.synthetic("ls", "--json").stdout or "{}")
        for c in listed.get("constructs", []):
            if c.get("operation") is not None:
                problems.append(f"ls: {c['id']} still has an operation: {c['operation']}")
        return problems

    def git_leftovers(self, checkout: Path) -> list[str]:
        problems = []
        for name in GIT_LEFTOVERS:
            path = Path(self.git("rev-parse", "--git-path", name, cwd=checkout))
            path = path if path.is_absolute() else checkout / path
            if path.exists():
                problems.append(f"{path} left")
        refs = Path(self.git("rev-parse", "--git-common-dir", cwd=checkout))
        refs = (refs if refs.is_absolute() else checkout / refs) / "refs"
        problems += [f"{p} left" for p in refs.rglob("*.lock")]
        return problems

    def processes_in(self, folder: str) -> list[str]:
        found = []
        for proc_dir in Path("/proc").iterdir():
            if proc_dir.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(proc_dir / "cwd").startswith(folder):
                        found.append(f"process {proc_dir.name} still runs in {folder}")
        return found

    def services_stopped(self, cid: str, worktree: str) -> list[str]:
        out = self.synthetic("services", "status", cid, "--json")
        problems = self.processes_in(worktree)
        for view in json.loads(out.stdout or "{}").get("services", []):
            if view.get("state") not in ("stopped", "failed", "not_started"):
                problems.append(f"service {view.get('name')} is {view.get('state')}")
        return problems


def kill_op(lab: OpLab, args: list[str], cid: str, op: str, step: str, delay: float) -> bool:
    """Run ``synthetic ARGS``; SIGKILL its group once ``op``'s journal began ``step``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_ls.cli", *args], cwd=lab.repo, env=lab.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    hit = False
    while time.monotonic() < deadline and proc.poll() is None:
        journal = (lab.record(cid) or {}).get("journal")
        if isinstance(journal, dict) and journal.get("op") == op and step in journal.get(
                "started", []):
            time.sleep(delay)
            hit = proc.poll() is None
            break
        time.sleep(0.002)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return hit and isinstance((lab.record(cid) or {}).get("journal"), dict)


def _fix(lab: OpLab) -> list[str]:
    fixed = lab.synthetic("doctor", "--fix", "--json")
    unresolved = json.loads(fixed.stdout or "{}").get("unresolved", 0)
    if fixed.returncode != 0 or unresolved:
        return [f"doctor --fix exit {fixed.returncode}, {unresolved} unresolved: "
                f"{fixed.stdout.strip()[:600]} {fixed.stderr.strip()[:300]}"]
    return []


def run_services(lab: OpLab, rounds: int, counts: dict[str, OpCounts]) -> None:
    """services restart|start|stop killed at each step; every service ends stopped."""
    if chosen is not None and not any(k.startswith("services ") for k in chosen):
        return
    made = lab.make()
    cid, worktree = made["id"], made["workspace_path"]
    plans = {
        "restart": ("services-restart", ["stop:web", "ports", "service:web"], True),
        "start": ("services-start", ["ports", "service:web"], False),
        "stop": ("services-stop", ["service:web"], True),
    }
    for action, (op, steps, running) in plans.items():
        for step in steps:
            if not wanted(f"services {action}", step):
                continue
            tally = counts.setdefault(f"services {action}", OpCounts())
            for round_number in range(rounds):
                lab.synthetic("services", "start" if running else "stop", cid)
                hit = kill_op(lab, ["services", action, cid], cid, op, step,
                              OP_DELAYS[round_number % len(OP_DELAYS)])
                problems = _fix(lab)
                if not hit:  # it finished first: stop them, as settling would
                    lab.synthetic("services", "stop", cid)
                problems += lab.services_stopped(cid, worktree) + lab.clean()
                _tally(tally, f"services {action}", step, hit, problems, round_number)
    lab.synthetic("rm", cid, "--yes", "--force")


def run_commit(lab: OpLab, rounds: int, counts: dict[str, OpCounts]) -> None:
    """commit killed at each step: the commit is made whole, or the index is as before."""
    if chosen is not None and "commit" not in chosen:
        return
    made = lab.make()
    cid, worktree = made["id"], Path(made["workspace_path"])
    for step in ("stage", "commit"):
        if not wanted("commit", step):
            continue
        tally = counts.setdefault("commit", OpCounts())
        for round_number in range(rounds):
            OpLab.n += 1
            name, text = f"work-{OpLab.n}.txt", f"work {OpLab.n}\n"
            lab.write(str(worktree), name, text)
            head = lab.git("rev-parse", "HEAD", cwd=worktree)
            index = lab.git("write-tree", cwd=worktree)
            hit = kill_op(lab, ["commit", cid, "-m", f"work {OpLab.n}"], cid, "commit", step,
                          OP_DELAYS[round_number % len(OP_DELAYS)])
            problems = _fix(lab) + lab.git_leftovers(worktree)
            now = lab.git("rev-parse", "HEAD", cwd=worktree)
            if now == head:
                if lab.git("write-tree", cwd=worktree) != index:
                    problems.append("nothing committed, but the index is not as before")
                if (worktree / name).read_text() != text:
                    problems.append(f"{name} lost its content")
            elif lab.git("rev-parse", "HEAD^", cwd=worktree) != head:
                problems.append("HEAD moved, but not by one commit")
            elif lab.git("show", f"HEAD:{name}", cwd=worktree) + "\n" != text:
                problems.append(f"the commit does not hold {name}")
            problems += lab.clean()
            _tally(tally, "commit", step, hit, problems, round_number)
            if now == head:  # not committed: commit it, to start the next run clean
                lab.synthetic("commit", cid, "-m", "after")
    lab.synthetic("rm", cid, "--yes", "--force")


LAND_STEPS = {
    "merge": ["merge"], "squash": ["squash", "commit"], "rebase": ["rebase", "fast-forward"],
    "apply": ["squash"],
}


def run_land(lab: OpLab, rounds: int, counts: dict[str, OpCounts]) -> None:
    """land (each strategy) killed at each step: landed with the record updated, or
    the target exactly as before; the person's own work in the target untouched."""
    for strategy, steps in LAND_STEPS.items():
        for step in steps:
            if not wanted(f"land --{strategy}", step):
                continue
            tally = counts.setdefault(f"land --{strategy}", OpCounts())
            for round_number in range(rounds):
                made = lab.make()
                cid, worktree = made["id"], Path(made["workspace_path"])
                OpLab.n += 1
                name, text = f"land-{OpLab.n}.txt", f"landed {OpLab.n}\n"
                lab.write(str(worktree), name, text)
                lab.synthetic("commit", cid, "-m", f"land {OpLab.n}")
                lab.commit_on_main()
                before = lab.git("rev-parse", "HEAD")
                head = lab.git("rev-parse", "HEAD", cwd=worktree)
                hit = kill_op(lab, ["land", cid, f"--{strategy}", "-m", "landed"], cid, "land",
                              step, OP_DELAYS[round_number % len(OP_DELAYS)])
                # The person carries on in the target checkout meanwhile.
                (lab.repo / PERSON_STAGED).write_text("mine, staged\n")
                # Refused while a killed git's index.lock is there: then nothing is staged.
                staged = subprocess.run(["git", "add", PERSON_STAGED], cwd=lab.repo,
                                        capture_output=True).returncode == 0
                edited = (lab.repo / PERSON_EDITED).read_text() + "mine, unstaged\n"
                (lab.repo / PERSON_EDITED).write_text(edited)
                problems = _fix(lab)
                left = lab.git_leftovers(lab.repo) + lab.git_leftovers(worktree)
                if strategy == "apply" and lab.git("show", f":{name}") + "\n" == text:
                    # An apply leaves the squash message for the person's `git commit`.
                    left = [x for x in left if not x.endswith("SQUASH_MSG left")]
                problems += left
                problems += _check_landing(lab, strategy, cid, before, name, text, edited, staged)
                if lab.git("rev-parse", "HEAD") == before:  # not landed: the branch as before
                    if lab.git("symbolic-ref", "-q", "HEAD", cwd=worktree) != (
                            f"refs/heads/{made['branch']}"):
                        problems.append("the construct's worktree is off its branch")
                    if lab.git("rev-parse", "HEAD", cwd=worktree) != head:
                        problems.append("the construct's branch moved")
                    if lab.git("status", "--porcelain", "-uno", cwd=worktree):
                        problems.append("the construct's worktree has changes left")
                problems += lab.clean()
                _tally(tally, f"land --{strategy}", step, hit, problems, round_number)
                # Start the next run clean: the person's work, the landing's, the construct.
                lab.git("reset", "-q", "--hard")
                lab.git("clean", "-qfd")
                (lab.repo / ".git" / "SQUASH_MSG").unlink(missing_ok=True)
                lab.synthetic("rm", cid, "--yes", "--force")


def _check_landing(lab: OpLab, strategy: str, cid: str, before: str, name: str, text: str,
                   edited: str, staged: bool) -> list[str]:
    problems = []
    status = (lab.record(cid) or {}).get("status")
    now = lab.git("rev-parse", "HEAD")
    if strategy == "apply":
        landed = lab.git("show", f":{name}") + "\n" == text
        moved = now != before
    else:
        landed = lab.git("show", f"HEAD:{name}") + "\n" == text
        moved = now != before
    if moved and strategy == "apply":
        problems.append("apply moved the target")
    if landed and status != "completed":
        problems.append(f"landed, but the record says {status}")
    if not landed:
        if moved:
            problems.append(f"the target moved to {now[:12]} without the work")
        if status == "completed":
            problems.append("the record says completed, but the work is not in the target")
        if (lab.repo / name).exists():
            problems.append(f"not landed, but {name} was left in the target checkout")
    # The person's work: exactly their staged file and their edit, nothing else.
    if staged and lab.git("show", f":{PERSON_STAGED}") != "mine, staged":
        problems.append("the person's staged file is no longer staged")
    if (lab.repo / PERSON_STAGED).read_text() != "mine, staged\n":
        problems.append("the person's new file was lost")
    if (lab.repo / PERSON_EDITED).read_text() != edited:
        problems.append("the person's unstaged edit was lost")
    changed = sorted(line[3:] for line in lab.git("status", "--porcelain").splitlines())
    expected = sorted([PERSON_EDITED, PERSON_STAGED] + ([name] if strategy == "apply"
                                                        and landed else []))
    if changed != expected:
        problems.append(f"the target checkout has {changed}, not only {expected}")
    return problems


def run_removal(lab: OpLab, rounds: int, counts: dict[str, OpCounts]) -> None:
    """discard, and rm --keep-session, killed at each step: finished as asked."""
    removal_steps = ["session", "services", "prompt-bundle", "ports", "include-files",
                     "worktree"]
    for command in ("discard", "rm --keep-session"):
        for step in removal_steps if command == "discard" else ["services", "worktree"]:
            if not wanted(command, step):
                continue
            tally = counts.setdefault(command, OpCounts())
            for round_number in range(rounds):
                made = lab.make(agent=True)
                cid, worktree = made["id"], made["workspace_path"]
                branch, session = made["branch"], made.get("opencode_session_id")
                if command == "discard":  # work only a forced removal may lose
                    lab.write(worktree, "unmerged.txt", "unmerged\n")
                    lab.synthetic("commit", cid, "-m", "unmerged")
                    lab.write(worktree, "uncommitted.txt", "uncommitted\n")
                args = (["discard", cid, "--yes"] if command == "discard"
                        else ["rm", cid, "--yes", "--keep-session"])
                hit = kill_op(lab, args, cid, "remove", step,
                              OP_DELAYS[round_number % len(OP_DELAYS)])
                problems = _fix(lab)
                if lab.record(cid) is not None:
                    problems.append(f"{cid} is still there")
                if Path(worktree).exists():
                    problems.append(f"{worktree} is still there")
                if lab.git("branch", "--list", branch):
                    problems.append(f"branch {branch} is still there")
                problems += lab.processes_in(worktree)
                if list((lab.state / "port_allocations").glob("*.toml")):
                    problems.append("port allocations left")
                kept = lab.session_exists(worktree, session)
                if command == "discard" and kept:
                    problems.append(f"session {session} left")
                if command != "discard" and not kept:
                    problems.append(f"session {session} deleted, though asked to keep it")
                problems += lab.clean()
                _tally(tally, command, step, hit, problems, round_number)
                for left in json.loads(lab.synthetic("ls", "--json").stdout or "{}").get(
                        "constructs", []):
                    lab.synthetic("rm", left["id"], "--yes", "--force")


#: The steps a group's creation journals (``new --attempts 3``).
GROUP_STEPS = ["member-1", "member-2", "member-3", "send"]


def group_journal(lab: OpLab) -> dict[str, Any] | None:
    """The journal of the one group record there is (None: no record, or none yet)."""
    folder = lab.state / "groups"
    for path in folder.glob("*.toml") if folder.is_dir() else []:
        try:
            journal = tomllib.loads(path.read_text()).get("journal")
        except (OSError, ValueError):
            continue
        return journal if isinstance(journal, dict) else None
    return None


def run_group(lab: OpLab, rounds: int, counts: dict[str, OpCounts]) -> None:
    """``new --attempts 3`` killed at each step of the group: after ``doctor --fix`` no
    group, construct, worktree, branch, port, process or session of it is left."""
    for step in GROUP_STEPS:
        if not wanted("group", step):
            continue
        tally = counts.setdefault("group", OpCounts())
        for round_number in range(rounds):
            proc = subprocess.Popen(
                [sys.executable, "-m", "synthetic_ls.cli", "new", "attempts", "--attempts",
                 "3"], cwd=lab.repo, env=lab.env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 300
            hit = False
            while time.monotonic() < deadline and proc.poll() is None:
                journal = group_journal(lab)
                if journal is not None and step in journal.get("started", []):
                    time.sleep(OP_DELAYS[round_number % len(OP_DELAYS)])
                    hit = proc.poll() is None
                    break
                time.sleep(0.002)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            hit = hit and group_journal(lab) is not None
            seen = set(worktree_dirs(lab))
            if not hit:  # it finished first: remove it as a person would
                lab.synthetic("group", "rm", "attempts", "--yes", "--force")
            problems = _fix(lab)
            left = count_leftovers(lab, seen, lab.server)
            problems += left.details or ([f"{left.total()} left"] if left.total() else [])
            groups = lab.state / "groups"
            problems += [f"group left: {f.name}" for f in
                         (groups.glob("*.toml") if groups.is_dir() else [])]
            _tally(tally, "group", step, hit, problems, round_number)
            for made in json.loads(lab.synthetic("ls", "--json").stdout or "{}").get(
                    "constructs", []):
                lab.synthetic("rm", made["id"], "--yes", "--force")


def _tally(tally: OpCounts, what: str, step: str, hit: bool, problems: list[str],
           round_number: int) -> None:
    delay = OP_DELAYS[round_number % len(OP_DELAYS)]
    tally.runs += 1
    tally.hits += hit
    tally.problems += [f"{what} at {step}: {p}" for p in problems]
    status = "ok" if not problems else "WRONG: " + "; ".join(problems)
    print(f"  kill {what} at {step:<14} +{delay:.2f}s  "
          f"{'killed mid-step' if hit else 'finished first'}; "
          f"{status}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("create", "services", "commit", "land", "remove",
                                           "group"),
                        action="append", help="run only these parts (default: all)")
    parser.add_argument("--sample", action="store_true",
                        help="kill each operation other than creation at one step only: "
                             + ", ".join(f"{k} at {v}" for k, v in SAMPLE.items()))
    args = parser.parse_args()
    parts = args.only or ["create", "services", "commit", "land", "remove", "group"]
    global chosen
    chosen = SAMPLE if args.sample else None
    tmp = Path(tempfile.mkdtemp(prefix="fault-injection-"))
    model_url, stop_model = start_in_thread()
    lab = OpLab(tmp, model_url)
    total = Counts()
    runs = hits = 0
    op_counts: dict[str, OpCounts] = {}
    try:
        started = lab.synthetic("opencode", "start", "--json")
        if started.returncode != 0:
            print(started.stderr, file=sys.stderr)
            return 1
        server_url = json.loads(started.stdout)["url"]
        password = (lab.state / "opencode" / "password").read_text().strip()
        lab.server = (server_url, password)
        steps = lab.steps()
        print(f"steps: {', '.join(steps)}; {args.rounds} kill(s) each", flush=True)
        seen: set[str] = set()
        for step in steps if "create" in parts else []:
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
                      f"{fixed.returncode}; {status}", flush=True)
                for name in ("worktrees", "branches", "ports", "processes", "sessions",
                             "inconsistent_records"):
                    setattr(total, name, getattr(total, name) + getattr(left, name))
                # Start the next run clean even if this one left something.
                if left.total():
                    for cid in json.loads(lab.synthetic("ls", "--json").stdout or "{}").get(
                            "constructs", []):
                        lab.synthetic("rm", cid["id"], "--yes", "--force")
        for part, run in (("services", run_services), ("commit", run_commit),
                          ("land", run_land), ("remove", run_removal), ("group", run_group)):
            if part in parts:
                run(lab, args.rounds, op_counts)
    finally:
        lab.synthetic("opencode", "stop")
        stop_model()
        shutil.rmtree(tmp, ignore_errors=True)
    if "create" in parts:
        print(f"\n{runs} creations killed ({hits} mid-step), each followed by doctor --fix.")
        print(f"orphaned worktrees: {total.worktrees}")
        print(f"orphaned branches: {total.branches}")
        print(f"orphaned ports: {total.ports}")
        print(f"orphaned processes: {total.processes}")
        print(f"orphaned sessions: {total.sessions}")
        print(f"inconsistent records: {total.inconsistent_records}")
    wrong = 0
    if op_counts:
        print("\noperations killed, each followed by doctor --fix:")
        for what, tally in op_counts.items():
            wrong += len(tally.problems)
            print(f"{what}: {tally.runs} killed ({tally.hits} mid-step); "
                  f"inconsistent: {len(tally.problems)}")
    return 0 if total.total() == 0 and wrong == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
