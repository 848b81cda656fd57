"""``synthetic compare GROUP``: the attempts of a group side by side.

Per attempt: its status (the agent overlay's), what its agent did (turns and
how long, from OpenCode's messages), what it changed against the group's
start point (committed and uncommitted), the template's checks as recorded
(stale when recorded at another HEAD than the worktree's), tokens and cost;
across the attempts, which files they agree on (every attempt that changed
the file left the same content) or differ on, and the group's usage total.

A read unless ``run_checks``: the agents are asked of the running server
only, bounded (nothing is started). With ``run_checks`` each attempt's
checks are first run through :func:`synthetic_ls.ops.checks.run_checks`
(journalled, in each attempt's own worktree or sandbox), one attempt after
another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct, Group
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.check_results import CheckRunJson, run_json
from synthetic_ls.ops.review import DiffStatJson
from synthetic_ls.ops.usage import Usage, UsageJson, total
from synthetic_ls.provision.context import Context

#: Content id of a file an attempt deleted (beside git's blob ids).
DELETED = "deleted"


class CompareCheckJson(CheckRunJson):
    """A recorded check run, and whether it is ``stale``: recorded at another HEAD than the
    attempt's worktree has now (its uncommitted changes are not told apart)."""

    stale: bool


class CompareFileJson(TypedDict):
    """A file an attempt changed against the group's start point (``status``: A, M, D, or
    ``?`` untracked; counts null for a binary file); ``content``: the blob id it has now in
    the worktree, or ``deleted``."""

    path: str
    status: str
    additions: int | None
    deletions: int | None
    content: str


class CompareAttemptJson(TypedDict):
    """One attempt: its construct, status (``gone``: removed since), agent state (``unknown``
    when no server answered), turns and duration (null when the session could not be read),
    changes against the group's start point, checks and usage."""

    id: str
    name: str | None
    model: str | None
    status: str | None
    gone: bool
    agent_state: str | None
    turns: int | None
    duration_ms: int | None
    head: str | None
    worktree: str | None
    files: list[CompareFileJson]
    stat: DiffStatJson
    checks: list[CompareCheckJson]
    checks_not_run: list[str]
    usage: UsageJson | None
    notes: list[str]


class FileAgreementJson(TypedDict):
    """A file changed by at least one attempt: which changed it, and whether they ``agree``
    (all that changed it left the same content)."""

    path: str
    changed_by: list[str]
    agree: bool


class CompareResultJson(TypedDict):
    """``synthetic.group.compare`` (``synthetic compare --json``): a group's attempts side by
    side, the files they agree or differ on, the group's usage total, and whether checks were
    run now (``checks_ran``)."""

    group: str
    name: str
    template_id: str
    start: str | None
    attempts: list[CompareAttemptJson]
    files: list[FileAgreementJson]
    usage: UsageJson
    checks_ran: bool


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare_group` found (its JSON form is the one every face shows)."""

    group: Group
    start: str | None
    attempts: list[CompareAttemptJson]
    usage: Usage
    checks_ran: bool

    def agreement(self) -> list[FileAgreementJson]:
        """Every changed file, and whether the attempts that changed it agree."""
        contents: dict[str, dict[str, str]] = {}
        for attempt in self.attempts:
            for f in attempt["files"]:
                contents.setdefault(f["path"], {})[attempt["id"]] = f["content"]
        return [{"path": path, "changed_by": list(by), "agree": len(set(by.values())) == 1}
                for path, by in sorted(contents.items())]

    def to_dict(self) -> CompareResultJson:
        """See :class:`CompareResultJson`."""
        return {
            "group": self.group.id, "name": self.group.name,
            "template_id": self.group.template_id, "start": self.start,
            "attempts": list(self.attempts), "files": self.agreement(),
            "usage": self.usage.to_dict(), "checks_ran": self.checks_ran,
        }


# -- the session: turns and duration ------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """What an agent's messages tell: assistant messages and first prompt to last answer."""

    turns: int
    duration_ms: int | None


def session_facts(messages: Sequence[Any]) -> SessionFacts:
    """Turns (assistant messages) and the time from the first prompt to the last answer."""
    first: int | None = None
    last: int | None = None
    turns = 0
    for m in messages:
        times = (m.raw.get("info") or {}).get("time") or {}
        if m.role == "user" and first is None and isinstance(times.get("created"), int):
            first = times["created"]
        if m.role == "assistant":
            turns += 1
            end = times.get("completed") or times.get("created")
            if isinstance(end, int):
                last = end if last is None else max(last, end)
    duration = last - first if first is not None and last is not None and last >= first else None
    return SessionFacts(turns, duration)


def _sessions(ctx: Context, constructs: Sequence[Construct]) -> dict[str, SessionFacts]:
    """The session facts of each construct whose server runs and answers (none started)."""
    from synthetic_ls.consent.gate import checker
    from synthetic_ls.opencode.client import OpenCodeError
    from synthetic_ls.opencode.server import running_server
    from synthetic_ls.ops.agent_status import POLL_TIMEOUT
    from synthetic_ls.provision.consent_items import of_agent_folder
    from synthetic_ls.sandbox import agent_server

    allowed = checker(ctx.root)
    found: dict[str, SessionFacts] = {}
    shared = None
    for c in constructs:
        if not c.opencode_session_id or not c.workspace_path:
            continue
        if not allowed(of_agent_folder(c.workspace_path)):
            continue  # asking would make OpenCode load code changed since it was allowed
        if c.isolation:
            server = agent_server.running(ctx.store, c.id)
        else:
            shared = shared or running_server(ctx.store, ctx.config_as_read)
            server = shared
        if server is None:
            continue
        try:
            with server.client(timeout=POLL_TIMEOUT) as client:
                messages = client.messages(c.opencode_session_id, directory=c.workspace_path)
        except OpenCodeError:
            continue
        found[c.id] = session_facts(messages)
    return found


# -- what an attempt changed ----------------------------------------------------------


def attempt_files(store: StateStore, construct: Construct, start: str) -> list[CompareFileJson]:
    """Files the attempt's worktree differs in from ``start`` (committed and not), with the
    content each has now; include files copied in are left out."""
    from synthetic_ls.ops.review import _hidden_untracked

    worktree = Path(construct.workspace_path or "")
    proc = gitr.run_git(worktree, "diff", "--raw", "--numstat", "-z", "--no-renames",
                        "--no-ext-diff", start, "--", step="diffing the attempt")
    changes = gitr._parse_raw_numstat(proc.stdout)
    untracked = [c for c in gitr.uncommitted_changes(worktree) if c.status == "?"]
    hidden = _hidden_untracked(store, construct, [c.path for c in untracked])
    changes += [c for c in untracked if c.path not in hidden]
    present = [c.path for c in changes if c.status != "D"]
    blobs: dict[str, str] = {}
    if present:
        out = gitr.run_git(worktree, "hash-object", "--stdin-paths", step="hashing files",
                           input="\n".join(present) + "\n").stdout.split()
        blobs = dict(zip(present, out, strict=False))
    return [{"path": c.path, "status": "A" if c.status == "?" else c.status,
             "additions": c.additions, "deletions": c.deletions,
             "content": blobs.get(c.path, DELETED)} for c in sorted(changes, key=lambda c: c.path)]


def _checks(ctx: Context, construct: Construct, head: str | None
            ) -> tuple[list[CompareCheckJson], list[str]]:
    template = ctx.template_of(construct.template_id)
    names = list(template.checks) if template is not None else []
    recorded = construct.checks or {}
    runs: list[CompareCheckJson] = []
    for name, run in recorded.items():
        if names and name not in names:
            continue  # a check the template no longer has
        runs.append({**run_json(name, run), "stale": run.head != head})
    return runs, [n for n in names if n not in recorded]


def _attempt(ctx: Context, cid: str, construct: Construct | None, start: str | None,
             agent: Any, facts: SessionFacts | None) -> CompareAttemptJson:
    if construct is None:
        return {"id": cid, "name": None, "model": None, "status": None, "gone": True,
                "agent_state": None, "turns": None, "duration_ms": None, "head": None,
                "worktree": None, "files": [], "stat": _stat([]), "checks": [],
                "checks_not_run": [], "usage": None, "notes": ["removed since"]}
    notes: list[str] = []
    worktree = construct.workspace_path
    head = None
    files: list[CompareFileJson] = []
    if worktree and (Path(worktree) / ".git").exists():
        head = gitr.rev(Path(worktree), "HEAD")
        base = start or construct.base_commit
        if base:
            files = attempt_files(ctx.store, construct, base)
        else:
            notes.append("no start point recorded: changes unknown")
    else:
        notes.append("no worktree")
    checks, not_run = _checks(ctx, construct, head)
    usage = agent.usage if agent is not None else None
    return {
        "id": cid, "name": construct.name, "model": construct.model,
        "status": construct.status.value, "gone": False,
        "agent_state": agent.state if agent is not None else None,
        "turns": facts.turns if facts else None,
        "duration_ms": facts.duration_ms if facts else None,
        "head": head, "worktree": worktree, "files": files, "stat": _stat(files),
        "checks": checks, "checks_not_run": not_run,
        "usage": usage.to_dict() if usage is not None else None, "notes": notes,
    }


def _stat(files: Sequence[CompareFileJson]) -> DiffStatJson:
    return {"files": len(files), "additions": sum(f["additions"] or 0 for f in files),
            "deletions": sum(f["deletions"] or 0 for f in files)}


def _start(constructs: Sequence[Construct]) -> str | None:
    """The group's start point: the commit its members were made from (the first's)."""
    return next((c.base_commit for c in constructs if c.base_commit), None)


def compare_group(
    store: StateStore,
    ref: str,
    *,
    run_checks: bool = False,
    consent: Consent = NOBODY,
    cancelled: Callable[[], bool] | None = None,
) -> CompareResult:
    """The group's attempts side by side; with ``run_checks`` their checks are run first.

    Without ``run_checks`` nothing changes and nothing is started.
    """
    from synthetic_ls.ops.agent_status import overlay
    from synthetic_ls.ops.groups import show_group

    view = show_group(store, ref, usage=False)
    if run_checks:
        _run_all(store, [c for _cid, c in view.members if c is not None], consent, cancelled)
        view = show_group(store, view.group.id, usage=False)
    ctx = Context(store, consent=consent)
    alive = [c for _cid, c in view.members if c is not None]
    poll = overlay(ctx, alive)
    shown = {c.id: c for c in poll.constructs}
    facts = _sessions(ctx, alive)
    start = _start(alive)
    attempts = [_attempt(ctx, cid, shown.get(cid) if c is not None else None, start,
                         poll.agents.get(cid), facts.get(cid))
                for cid, c in view.members]
    usage = total(poll.agents[c.id].usage for c in alive if c.id in poll.agents)
    return CompareResult(view.group, start, attempts, usage, run_checks)


def _run_all(store: StateStore, members: Sequence[Construct], consent: Consent,
             cancelled: Callable[[], bool] | None) -> None:
    """Run every attempt's checks, one attempt after another (each in its own worktree)."""
    from synthetic_ls.ops.checks import run_checks as run

    for member in members:
        if not member.workspace_path or not Path(member.workspace_path).is_dir():
            continue  # nothing to check: shown with its note
        run(store, member.id, consent=consent, cancelled=cancelled)
