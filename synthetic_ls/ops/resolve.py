"""Resolve: rebase a construct's branch onto its landing target, conflicts back to its agent.

``synthetic resolve REF`` rebases the construct's branch onto the branch it
would land into (its worktree, its own git, hooks included). A clean rebase
is done. On a conflict the construct's agent gets a prompt naming the
conflicted files with both sides of each hunk (bounded), and the person's own
words; when its turn ends, Synthetic checks no conflict marker is left,
stages the files and continues the rebase, commit after commit (a bounded
number of rounds). With ``by_hand``, or when the agent fails, waits for a
permission or leaves markers, the rebase is left in progress and the result
says which files and how to go on: ``continue`` (after the person fixed
them) or ``abort`` (the branch back as it was). Once the rebase is through,
the branch is checked as a landing would check it.

Every step that changes the worktree runs as the journalled change
``resolve`` (facts: the branch's commit before, the commit it is rebased
onto), so that ``doctor --fix`` after a ``kill -9`` at any step puts the
branch and the worktree back (:func:`~synthetic_ls.provision.recoveries.recover_resolve`).
A rebase left in progress for the person holds no journal: git's own
rebase state is what ``continue`` and ``abort`` read.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import TypedDict

from state_format.errors import CodedError
from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.text import one_line
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.git import conflicts as gitc
from synthetic_ls.git import review as gitr
from synthetic_ls.opencode.client import TURN_TIMEOUT
from synthetic_ls.ops.landing import ErrorJson, LandOptions, check_land
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.review import Span, span_for, worktree_changes
from synthetic_ls.ops.review_errors import (
    ConstructDirtyError,
    NoWorktreeError,
    TargetMissingError,
    git_refusal,
)
from synthetic_ls.ops.session import PermissionJson
from synthetic_ls.provision.consent_items import of_agent_folder
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import Steps, journalled
from synthetic_ls.provision.recoveries import recover_resolve
from synthetic_ls.provision.work import Work

#: Conflicting commits handed to the agent, at most, in one resolve.
MAX_ROUNDS = 10
#: The conflicts part of a prompt is cut past this many characters.
PROMPT_LIMIT = 16000
ACTIONS = ("start", "continue", "abort")


class ResolveInProgressError(ConflictError):
    """A rebase of the construct's branch is in progress in its worktree already."""

    code = "resolve-in-progress"


class NoResolveInProgressError(ConflictError):
    """``continue`` or ``abort`` asked, with no rebase in progress in the worktree."""

    code = "no-resolve-in-progress"


class RebaseFailedError(SyntheticError):
    """``git rebase`` refused to begin (a hook, git itself); nothing was changed."""

    code = "rebase-failed"


class WorktreeOffBranchError(ConflictError):
    """The construct's worktree is not on the construct's branch (detached, or another)."""

    code = "worktree-off-branch"


@dataclass(frozen=True)
class ResolveOptions:
    """Inputs of :func:`resolve_construct`."""

    ref: str
    #: The branch to rebase onto (default: the one the construct started from, as for land).
    into: str | None = None
    #: Leave every conflict to the person (no agent).
    by_hand: bool = False
    #: The person's own words, appended to the prompt the agent gets.
    prompt: str | None = None
    #: ``start`` a resolve, ``continue`` one left in progress, or ``abort`` it.
    action: str = "start"
    #: How long one agent turn may take (seconds).
    timeout: float = TURN_TIMEOUT


class ResolveConflictJson(TypedDict):
    """A file left in conflict: ``kind`` says how (``both-modified``, ``deleted-by-target``
    ...); ``markers``: it still holds conflict markers."""

    path: str
    kind: str
    markers: bool


class ResolveAgentJson(TypedDict):
    """The agent's last turn: ``state`` (``idle``, ``error``, ``awaiting_input``), its reply,
    its error, and the permissions it waits for."""

    state: str
    reply: str | None
    error: str | None
    permissions: list[PermissionJson]


class ResolveLandingJson(TypedDict):
    """Whether the rebased branch now lands cleanly into the target (``land --check``);
    else the landing check's error (``code``, ``message``)."""

    lands: bool
    commits: int
    error: ErrorJson | None


class ResolveResultJson(TypedDict):
    """``synthetic.construct.resolve``: how the rebase went.

    ``state``: ``rebased`` (done), ``up-to-date`` (nothing to rebase),
    ``stopped`` (left in progress for the person: ``reason`` says why,
    ``conflicts`` which files), or ``aborted``. ``reason``: ``by-hand``,
    ``markers-left``, ``agent-failed``, ``agent-waiting``, ``no-session``,
    ``rounds`` or ``git`` (``detail``: git's words). ``landing`` is set once
    the rebase is through.
    """

    construct: str
    branch: str
    target: str
    worktree: str
    state: str
    reason: str | None
    detail: str | None
    before: str
    head: str
    onto: str
    stopped_at: str | None
    rounds: int
    conflicts: list[ResolveConflictJson]
    agent: ResolveAgentJson | None
    landing: ResolveLandingJson | None


@dataclass
class ResolveResult:
    """What resolving did; see :class:`ResolveResultJson`."""

    construct: str
    branch: str
    target: str
    worktree: str
    state: str
    before: str
    head: str
    onto: str
    reason: str | None = None
    detail: str | None = None
    stopped_at: str | None = None
    rounds: int = 0
    conflicts: list[ResolveConflictJson] = field(default_factory=list)
    agent: ResolveAgentJson | None = None
    landing: ResolveLandingJson | None = None

    def to_dict(self) -> ResolveResultJson:
        """See docs/guide/review.md, "Resolve"."""
        return {
            "construct": self.construct, "branch": self.branch, "target": self.target,
            "worktree": self.worktree, "state": self.state, "reason": self.reason,
            "detail": self.detail, "before": self.before, "head": self.head,
            "onto": self.onto, "stopped_at": self.stopped_at, "rounds": self.rounds,
            "conflicts": list(self.conflicts), "agent": self.agent, "landing": self.landing,
        }


# -- the prompt ------------------------------------------------------------------------


def _side(lines: list[str], cut: int) -> str:
    body = "\n".join(lines)
    return body + (f"\n[... {cut} more line(s)]" if cut else "")


def conflict_prompt(
    branch: str, target: str, worktree: str, commit: str | None, subject: str,
    found: list[gitc.Conflict], extra: str | None,
) -> str:
    """The prompt that hands one conflicting commit to the agent: files and both sides."""
    replaying = f"your commit {commit[:12]} ({subject!r})" if commit else "your commits"
    head = (
        f"Synthetic is rebasing your branch `{branch}` onto `{target}`, which moved on since "
        f"you started. Replaying {replaying} conflicts with what `{target}` has now, in "
        f"{len(found)} file(s) of your worktree {worktree}.\n\n"
        "Resolve them: edit each file so that it keeps both intentions (what the target has "
        "and what your commit meant), and remove every conflict marker (<<<<<<<, =======, "
        ">>>>>>>). Do not commit, do not run `git rebase --continue`, `git add` or "
        "`git checkout`: when your turn ends, Synthetic checks the files, stages them and "
        "continues the rebase.\n"
    )
    parts: list[str] = []
    for c in found:
        text = f"\n## {c.path} ({c.kind})\n"
        if c.kind == "deleted-by-target":
            text += f"`{target}` deleted this file; your commit changed it. Keep it (with " \
                    "your change) or delete it.\n"
        elif c.kind == "deleted-by-construct":
            text += f"Your commit deleted this file; `{target}` changed it. Delete it, or " \
                    "keep it with the target's change.\n"
        for n, h in enumerate(c.hunks, 1):
            text += (
                f"\nConflict {n} of {len(c.hunks) + c.hunks_cut}:\n"
                f"--- `{target}`'s side (between <<<<<<< and =======):\n"
                f"{_side(h.ours, h.ours_cut)}\n"
                "--- your commit's side (between ======= and >>>>>>>):\n"
                f"{_side(h.theirs, h.theirs_cut)}\n"
            )
        if c.hunks_cut:
            text += f"[... {c.hunks_cut} more conflict(s) in this file: open it]\n"
        parts.append(text)
    body = ""
    for i, text in enumerate(parts):
        if len(body) + len(text) > PROMPT_LIMIT:
            body += "\n[... more: " + ", ".join(c.path for c in found[i:]) + ": open them]\n"
            break
        body += text
    tail = f"\n{extra.strip()}\n" if extra and extra.strip() else ""
    return head + body + tail


# -- the steps -------------------------------------------------------------------------


def _worktree_of(construct: Construct) -> Path:
    path = construct.workspace_path
    if not path or not (Path(path) / ".git").exists():
        raise NoWorktreeError(
            f"construct {construct.id} has no worktree to rebase in; `synthetic worktree add "
            f"{construct.id}` gives it one",
            fields={"construct": construct.id},
        )
    return Path(path)


def _on_branch(worktree: Path, construct: Construct) -> None:
    on = gitr.run_step(worktree, "symbolic-ref", "-q", "HEAD").stdout.strip()
    if on != f"refs/heads/{construct.branch}":
        raise WorktreeOffBranchError(
            f"the worktree of construct {construct.id} at {worktree} is not on its branch "
            f"{construct.branch!r} (it is on {on.removeprefix('refs/heads/') or 'a detached HEAD'}"
            f"); switch back (`git -C {worktree} switch {construct.branch}`) first",
            fields={"construct": construct.id, "branch": construct.branch, "path": str(worktree)},
        )


def _own_rebase(worktree: Path, construct: Construct) -> gitc.RebaseState | None:
    """The rebase in progress in the worktree, if any; refused when it is not of the branch."""
    state = gitc.rebase_state(worktree)
    if state is not None and state.branch != construct.branch:
        raise WorktreeOffBranchError(
            f"a rebase of {state.branch or 'a detached HEAD'!r}, not of the branch "
            f"{construct.branch!r}, is in progress in {worktree}; finish it with git first",
            fields={"construct": construct.id, "branch": construct.branch, "path": str(worktree)},
        )
    return state


def _conflict_list(worktree: Path, found: list[gitc.Conflict]) -> list[ResolveConflictJson]:
    return [{"path": c.path, "kind": c.kind, "markers": gitc.has_markers(worktree, c.path)}
            for c in found]


def _subject(worktree: Path, commit: str | None) -> str:
    if not commit:
        return ""
    proc = gitr.run_step(worktree, "log", "-1", "--format=%s", commit)
    return one_line(proc.stdout.strip(), 200)


@dataclass
class _Run:
    """One resolve under way: where, what for, and what the caller is told."""

    store: StateStore
    construct: Construct
    span: Span
    worktree: Path
    options: ResolveOptions
    consent: Consent
    emit: Callable[[str], None]
    steps: Steps
    rounds: int = 0
    agent: ResolveAgentJson | None = None

    def git(self, *args: str, editor: bool = False) -> subprocess.CompletedProcess[str]:
        """A git step in the worktree, in its own process group recorded in the journal."""
        env = {"GIT_EDITOR": "true"} if editor else None
        return gitr.run_git(self.worktree, *args, step=f"git {args[0]}", check=False,
                            on_start=self.steps.record_group, env=env)

    def ask_agent(self, state: gitc.RebaseState, found: list[gitc.Conflict]) -> str | None:
        """Hand the conflicts to the agent; None when its turn ended well, else the reason."""
        from synthetic_ls.ops.session import abort_session, send_prompt

        self.rounds += 1
        self.steps.begin(f"agent:{self.rounds}")
        text = conflict_prompt(
            self.construct.branch or "", self.span.target, str(self.worktree),
            state.stopped_at, _subject(self.worktree, state.stopped_at), found,
            self.options.prompt,
        )
        self.emit(f"asking the agent to resolve {len(found)} file(s) "
                  f"(round {self.rounds})")
        try:
            sent = send_prompt(
                self.store, self.construct.id, text, wait=True, timeout=self.options.timeout,
                on_line=lambda line: self.emit(f"  {line}"), consent=self.consent,
            )
        except CodedError as exc:
            self.agent = {"state": "error", "reply": None, "error": one_line(str(exc), 2000),
                          "permissions": []}
            return "agent-failed"
        except BaseException:
            # Ctrl-C while the agent works: the rebase is about to be undone, so its
            # turn must not go on writing into the files afterwards.
            with contextlib.suppress(Exception):
                abort_session(self.store, self.construct.id)
            raise
        self.agent = {"state": sent.state, "reply": sent.reply, "error": sent.error,
                      "permissions": list(sent.permissions)}
        if sent.state == "awaiting_input":
            return "agent-waiting"
        if sent.state == "error":
            return "agent-failed"
        return None


def _stop(run: _Run, reason: str, detail: str | None = None) -> ResolveResult:
    state = gitc.rebase_state(run.worktree)
    found = gitc.conflicts(run.worktree)
    return ResolveResult(
        run.construct.id, run.construct.branch or "", run.span.target, str(run.worktree),
        "stopped", run.span.head,
        gitr.rev(run.worktree, "HEAD") or "", state.onto if state else run.span.target_tip,
        reason=reason, detail=detail, stopped_at=state.stopped_at if state else None,
        rounds=run.rounds, conflicts=_conflict_list(run.worktree, found), agent=run.agent,
    )


def _drive(run: _Run, *, agent_first: bool) -> ResolveResult | None:
    """Carry the rebase in progress on to its end; a result when it stops for the person.

    ``agent_first`` False (``continue``): the conflicts of the commit it
    stopped on were fixed by the person (or the agent, outside Synthetic),
    so they are checked and staged, not handed to the agent.
    """
    by_hand = run.options.by_hand
    fresh = agent_first
    while True:
        state = gitc.rebase_state(run.worktree)
        if state is None:
            return None  # through
        unmerged = gitc.unmerged_paths(run.worktree)
        if unmerged and fresh:
            found = gitc.conflicts(run.worktree)
            run.emit(f"conflict replaying {(state.stopped_at or '?')[:12]}: "
                     + ", ".join(unmerged))
            if by_hand:
                return _stop(run, "by-hand")
            if not run.construct.opencode_session_id:
                return _stop(run, "no-session")
            if run.rounds >= MAX_ROUNDS:
                return _stop(run, "rounds")
            reason = run.ask_agent(state, found)
            if reason is not None:
                return _stop(run, reason)
        # Whoever resolved them: no marker may be left in what the commit will hold.
        touched = sorted(set(unmerged) | set(gitc.staged_paths(run.worktree)))
        marked = [p for p in touched if gitc.has_markers(run.worktree, p)]
        if marked:
            return _stop(run, "markers-left", "conflict markers are left in " + ", ".join(marked))
        run.steps.begin(f"continue:{run.rounds}")
        if unmerged:
            run.git("add", "-A", "--", *[f":(literal){p}" for p in unmerged])
        run.emit("continuing the rebase")
        proc = run.git("rebase", "--continue", editor=True)
        fresh = True
        after = gitc.rebase_state(run.worktree)
        if proc.returncode != 0 and after is not None and not gitc.unmerged_paths(run.worktree):
            # Stopped, but not on a conflict: a hook refused, or the commit became empty.
            return _stop(run, "git", one_line(proc.stderr + proc.stdout, 2000))


def _landing(store: StateStore, construct: Construct, into: str | None) -> ResolveLandingJson:
    """The landing's checks against the rebased branch (``land --check``)."""
    try:
        plan = check_land(store, LandOptions(ref=construct.id, into=into))
    except CodedError as exc:
        return {"lands": False, "commits": 0,
                "error": {"code": exc.code, "message": one_line(str(exc), 2000)}}
    return {"lands": True, "commits": len(plan.commits), "error": None}


def resolve_construct(
    store: StateStore,
    options: ResolveOptions,
    *,
    on_line: Callable[[str], None] | None = None,
    consent: Consent = NOBODY,
) -> ResolveResult:
    """Rebase the construct's branch onto its target; conflicts to its agent or the person.

    See the module docstring. Refused, with nothing changed: a construct with
    no worktree (``no-worktree``), uncommitted changes in it
    (``construct-dirty``), a target that does not exist or is no branch
    (``target-missing``), a rebase already in progress (``resolve-in-progress``;
    ``continue`` or ``abort`` it), or, for those, none (``no-resolve-in-progress``).
    """
    if options.action not in ACTIONS:
        raise InvalidInputError(f"unknown action {options.action!r} (one of {', '.join(ACTIONS)})")
    if not options.timeout > 0:
        raise InvalidInputError(f"the turn timeout must be positive seconds, not {options.timeout}")
    emit = on_line or (lambda _line: None)
    ctx = Context(store, consent=consent)
    construct, recovery = settle(ctx, store.resolve_construct(options.ref))
    if construct is None:
        raise NotFoundError(
            f"no construct {options.ref!r} any more: "
            f"{recovery.message() if recovery else 'it is gone'}",
            code="record-not-found",
        )
    worktree = _worktree_of(construct)
    in_progress = _own_rebase(worktree, construct)
    if options.action != "start":
        if in_progress is None:
            raise NoResolveInProgressError(
                f"no rebase of construct {construct.id} is in progress in {worktree}; "
                f"`synthetic resolve {construct.id}` begins one",
                fields={"construct": construct.id, "path": str(worktree)},
            )
        return _resume(ctx, construct, worktree, in_progress, options, emit)
    if in_progress is not None:
        raise ResolveInProgressError(
            f"a rebase of construct {construct.id} is in progress in {worktree} (a resolve "
            f"left for you?): `synthetic resolve {construct.id} --continue` once its conflicts "
            f"are fixed, or `--abort` to put the branch back",
            fields={"construct": construct.id, "path": str(worktree)},
        )
    _on_branch(worktree, construct)
    span = span_for(store, construct, options.into)
    if not span.target:
        raise TargetMissingError(
            f"construct {construct.id} started from a tag or a commit, not a branch: name the "
            "branch to rebase onto (--into)",
            fields={"construct": construct.id, "target": None},
        )
    own = worktree_changes(store, construct)
    if own:
        lines = [f"{x.status} {x.path}" for x in own]
        raise ConstructDirtyError(
            f"the worktree of construct {construct.id} at {worktree} has uncommitted changes, "
            "which a rebase would mix with the conflicts; nothing was changed. Commit them "
            f"(`synthetic commit {construct.id} -m MESSAGE`) or discard them first:"
            + "".join(f"\n  {one_line(x, 200)}" for x in lines[:20]),
            fields={"construct": construct.id, "path": str(worktree), "files": lines},
        )
    if not options.by_hand and construct.opencode_session_id:
        # Asked before anything changes: the agent's server may have to start.
        ctx.require_consent(of_agent_folder(worktree),
                            doing=f"handing the conflicts of {construct.id} to its agent")
    if gitr.is_ancestor(worktree, span.target_tip, span.head):
        emit(f"{span.branch} already has every commit of {span.target}: nothing to rebase")
        return ResolveResult(
            construct.id, span.branch, span.target, str(worktree), "up-to-date", span.head,
            span.head, span.target_tip, landing=_landing(store, construct, options.into),
        )
    work = Work(ctx, construct, ctx.template_of(construct.template_id))
    facts = {"before": span.head, "branch": span.branch, "worktree": str(worktree),
             "onto": span.target_tip, "target": span.target}
    with journalled(work, "resolve", facts=facts, recover=recover_resolve) as steps:
        run = _Run(store, construct, span, worktree, options, consent, emit, steps)
        steps.begin("rebase")
        emit(f"rebasing {span.branch} onto {span.target} ({span.target_tip[:12]})")
        proc = gitr.run_git(worktree, "rebase", span.target_tip, step="git rebase",
                            check=False, on_start=steps.record_group, env={"GIT_EDITOR": "true"})
        if proc.returncode != 0 and gitc.rebase_state(worktree) is None:
            raise git_refusal(
                worktree, proc, ("pre-rebase",),
                f"rebasing {span.branch} onto {span.target} failed; nothing was changed",
                {"construct": construct.id, "target": span.target, "step": "rebase"},
                RebaseFailedError,
            )
        stopped = _drive(run, agent_first=True)
    return _finish(store, run, stopped, options.into)


def _finish(
    store: StateStore, run: _Run, stopped: ResolveResult | None, into: str | None
) -> ResolveResult:
    """The result: stopped for the person, or rebased and checked as a landing would be."""
    if stopped is not None:
        return stopped
    head = gitr.rev(run.worktree, "HEAD") or ""
    run.emit(f"rebased: {run.span.branch} is at {head[:12]}")
    return ResolveResult(
        run.construct.id, run.span.branch, run.span.target, str(run.worktree), "rebased",
        run.span.head, head, run.span.target_tip, rounds=run.rounds, agent=run.agent,
        landing=_landing(store, run.construct, into),
    )


def _resume(
    ctx: Context, construct: Construct, worktree: Path, state: gitc.RebaseState,
    options: ResolveOptions, emit: Callable[[str], None],
) -> ResolveResult:
    """``continue`` or ``abort`` a rebase left in progress, journalled like its start."""
    store = ctx.store
    span = span_for(store, construct, options.into)
    span = Span(span.construct, span.root, span.branch, state.orig_head, span.target,
                state.onto, span.merge_base)
    work = Work(ctx, construct, ctx.template_of(construct.template_id))
    facts = {"before": state.orig_head, "branch": span.branch, "worktree": str(worktree),
             "onto": state.onto, "target": span.target}
    if options.action == "abort":
        with journalled(work, "resolve", facts=facts, recover=recover_resolve) as steps:
            steps.begin("abort")
            proc = gitr.run_git(worktree, "rebase", "--abort", step="git rebase",
                                check=False, on_start=steps.record_group)
            if proc.returncode != 0:
                recover_resolve(work, steps.journal)  # forgotten, and the branch reset
        emit(f"aborted: {span.branch} is back at {state.orig_head[:12]}")
        return ResolveResult(
            construct.id, span.branch, span.target, str(worktree), "aborted", state.orig_head,
            gitr.rev(worktree, "HEAD") or "", state.onto,
        )
    if not options.by_hand and construct.opencode_session_id:
        ctx.require_consent(of_agent_folder(worktree),
                            doing=f"handing the conflicts of {construct.id} to its agent")
    with journalled(work, "resolve", facts=facts, recover=recover_resolve) as steps:
        run = _Run(store, construct, span, worktree, options, ctx.consent, emit, steps)
        stopped = _drive(run, agent_first=False)
    return _finish(store, run, stopped, options.into)
