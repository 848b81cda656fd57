"""Land a construct's branch: every check first, then the real git, journalled.

Landing checks everything it can before it touches anything (the target
checkout is clean, the construct's worktree too, the base was not
rewritten, the merge would not conflict: ``git merge-tree --write-tree``,
which touches no worktree), then runs the real git in the target's checkout
so hooks run, and rolls back what it began when a step fails. It is a
journalled change (:mod:`synthetic_ls.provision.journalled`): a ``kill -9``
between any two steps, or between the merge and the record update, is
finished or undone by ``doctor --fix`` (:func:`recover_land`).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.statuses import Status, allowed_next, can_transition
from state_format.text import one_line
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import ConflictError, InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.constructs import KeptJson
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.review import Span, draft_message, span_for, worktree_changes
from synthetic_ls.ops.review_errors import (
    BaseRewrittenError,
    ConstructDirtyError,
    LandFailedError,
    MergeConflictError,
    NothingToLandError,
    NoWorktreeError,
    TargetDirtyError,
    TargetFilesInTheWayError,
    TargetMissingError,
    TargetNotCheckedOutError,
    git_refusal,
)
from synthetic_ls.ops.views import ConstructJson, construct_dict
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import journalled
from synthetic_ls.provision.recoveries import recover_land, roll_back_target, undo_rebase
from synthetic_ls.provision.work import Work

STRATEGIES = ("merge", "squash", "rebase", "apply")


class LandingSteps(Protocol):
    """Where a landing's git steps are journalled: a construct's journal
    (:class:`synthetic_ls.provision.journalled.Steps`), or a remote record's."""

    def begin(self, name: str, **facts: str) -> None:
        """Journal that step ``name`` begins, with more ``facts``."""

    def record_group(self, pgid: int) -> None:
        """Journal a child process group, so recovery ends it first."""


@dataclass(frozen=True)
class LandOptions:
    """Inputs of :func:`land_construct`."""

    ref: str
    #: ``merge`` (a merge commit, or fast-forward when possible), ``squash``,
    #: ``rebase`` (the commits replayed on the target, then fast-forward) or
    #: ``apply`` (the changes left staged, uncommitted, in the target's checkout).
    strategy: str = "merge"
    #: The commit message (merge, squash); None: git's (merge) or a draft (squash).
    message: str | None = None
    #: The branch to land into (default: the branch the construct started from).
    into: str | None = None
    #: Remove the construct afterwards, by the usual removal rules.
    remove: bool = False


class LandRemovalJson(TypedDict):
    """How removing a landed construct went: removed, or refused (``error``: code and
    message; the work landed all the same), and what of it stays."""

    removed: bool
    kept: list[KeptJson]
    error: ErrorJson | None


class ErrorJson(TypedDict):
    """An error as data: its stable ``code`` and its message for a person."""

    code: str
    message: str


class LandResultJson(TypedDict):
    """``synthetic.construct.land``: what landing did; ``removed`` is null unless the
    construct was to be removed too, else the removal's notes for a person, and
    ``removal`` says the same as data."""

    construct: ConstructJson
    strategy: str
    target: str
    checkout: str
    before: str
    after: str
    fast_forward: bool
    commits: int
    staged: list[str]
    removed: list[str] | None
    removal: LandRemovalJson | None


class LandPlanJson(TypedDict):
    """``synthetic.construct.landPlan``: what landing would do, every check passed;
    ``message`` is the drafted squash message (null for other strategies)."""

    construct: str
    branch: str
    strategy: str
    target: str
    checkout: str
    head: str
    target_tip: str
    commits: list[gitr.CommitJson]
    message: str | None


@dataclass(frozen=True)
class LandResult:
    """What landing did."""

    construct: Construct
    file: str
    strategy: str
    target: str
    checkout: str
    before: str
    after: str
    fast_forward: bool
    commits: int
    staged: list[str] = field(default_factory=list)
    removed: list[str] | None = None
    removal: LandRemovalJson | None = None

    def to_dict(self) -> LandResultJson:
        """See README, "Review and land"."""
        return {
            "construct": construct_dict(self.construct, self.file),
            "strategy": self.strategy,
            "target": self.target,
            "checkout": self.checkout,
            "before": self.before,
            "after": self.after,
            "fast_forward": self.fast_forward,
            "commits": self.commits,
            "staged": list(self.staged),
            "removed": self.removed,
            "removal": self.removal,
        }


def _check_completable(construct: Construct) -> None:
    """Raise ConflictError (as ``edit --status completed`` would) unless it may complete."""
    if not can_transition(construct.status, Status.COMPLETED):
        allowed = ", ".join(allowed_next(construct.status)) or "none"
        raise ConflictError(
            f"construct {construct.id} cannot go from {construct.status.value!r} to "
            f"'completed' (allowed from {construct.status.value!r}: {allowed}); nothing was landed"
        )


def _target_checkout(store: StateStore, span: Span) -> Path:
    found = gitr.checkout_of(span.root, span.target)
    if found is not None:
        return found
    raise TargetNotCheckedOutError(
        f"the branch {span.target!r} is not checked out anywhere; check it out (in the "
        "main checkout or a worktree) to land into it",
        fields={"construct": span.construct.id, "target": span.target},
    )


def preflight(store: StateStore, span: Span, strategy: str) -> Path:
    """Every check landing makes before it touches anything; returns the target checkout."""
    c = span.construct
    _check_completable(c)
    if not span.target:
        raise TargetMissingError(
            f"construct {c.id} started from a tag or a commit, not a branch: name the "
            "branch to land into",
            fields={"construct": c.id, "target": None},
        )
    if (
        c.base_commit
        and c.base_commit != span.merge_base  # the merge base is in the target: fine
        and not gitr.is_ancestor(span.root, c.base_commit, span.target_tip)
    ):
        raise BaseRewrittenError(
            f"the branch {span.target!r} was rewritten since construct {c.id} started from "
            f"it (force-pushed or reset: its start {c.base_commit[:12]} is no longer in "
            f"{span.target!r}); nothing was landed. Rebase the construct's branch onto "
            f"{span.target!r} by hand, check its diff, then land it",
            fields={"construct": c.id, "target": span.target, "base_commit": c.base_commit,
                    "target_tip": span.target_tip},
        )
    # Before "nothing to land": an agent that never committed has work, uncommitted.
    own = worktree_changes(store, c)
    if own:
        lines = [f"{x.status} {x.path}" for x in own]
        raise ConstructDirtyError(
            f"the worktree of construct {c.id} at {c.workspace_path} has uncommitted changes, "
            "which landing would leave behind; nothing was landed. Commit them (`synthetic "
            f"commit {c.id} -m MESSAGE`; include files are never committed), or discard "
            "them, first:" + "".join(f"\n  {one_line(x, 200)}" for x in lines[:20]),
            fields={"construct": c.id, "path": c.workspace_path, "files": lines},
        )
    if span.merge_base == span.head:  # the target has every commit of the branch
        raise NothingToLandError(
            f"the branch {span.branch!r} has no commit that {span.target!r} does not have "
            "already; nothing to land",
            fields={"construct": c.id, "branch": span.branch, "target": span.target},
        )
    checkout = _target_checkout(store, span)
    busy = gitr.operation_in_progress(checkout)
    dirty = gitr.dirty_lines(checkout)
    if busy or dirty:
        what = busy or f"{len(dirty)} local change(s)"
        raise TargetDirtyError(
            f"the checkout of {span.target!r} at {checkout} has {what}; nothing was landed. "
            "Commit or stash them first:" + "".join(f"\n  {one_line(x, 200)}" for x in dirty[:20]),
            fields={"construct": c.id, "path": str(checkout), "files": dirty,
                    "operation": busy},
        )
    if strategy == "rebase" and not (
        c.workspace_path and (Path(c.workspace_path) / ".git").exists()
    ):
        raise NoWorktreeError(
            f"rebasing replays the commits in the construct's worktree, and construct {c.id} "
            "has none; land it with merge or squash",
            fields={"construct": c.id},
        )
    in_the_way = gitr.untracked_in_the_way(checkout, span.merge_base, span.head)
    if in_the_way:
        raise TargetFilesInTheWayError(
            f"landing construct {c.id} would overwrite {len(in_the_way)} untracked or ignored "
            f"file(s) in {checkout}, which git would not keep; nothing was landed. Move them "
            "away, or drop them from the construct's branch:"
            + "".join(f"\n  {one_line(p, 200)}" for p in in_the_way[:20]),
            fields={"construct": c.id, "path": str(checkout), "files": in_the_way},
        )
    check = gitr.merge_check(span.root, span.target_tip, span.head)
    if not check.clean:
        raise MergeConflictError(
            f"landing construct {c.id} into {span.target!r} would conflict in "
            f"{len(check.conflicts)} file(s); nothing was landed:"
            + "".join(f"\n  {one_line(p, 200)}" for p in check.conflicts[:50]),
            fields={"construct": c.id, "target": span.target, "files": check.conflicts},
        )
    return checkout


#: Hooks each strategy's git commands run, in order.
_HOOKS = {
    "merge": ("pre-merge-commit", "prepare-commit-msg", "commit-msg", "post-merge"),
    "squash": ("pre-commit", "prepare-commit-msg", "commit-msg"),
    "rebase": ("pre-rebase",),
    "apply": (),
}


def _failed(
    span: Span, strategy: str, checkout: Path, proc: Any, step: str
) -> SyntheticError:
    return git_refusal(
        checkout, proc, _HOOKS[strategy], f"{step} failed and was rolled back; nothing was landed",
        {"construct": span.construct.id, "target": span.target, "step": step}, LandFailedError,
    )


@dataclass(frozen=True)
class LandPlan:
    """What landing would do, every check passed, with nothing landed yet."""

    span: Span
    strategy: str
    checkout: Path
    commits: list[gitr.Commit]
    message: str | None  # the drafted squash message; None for other strategies

    def to_dict(self) -> LandPlanJson:
        """See README, "Language server" (``synthetic.construct.landPlan``)."""
        s = self.span
        return {
            "construct": s.construct.id,
            "branch": s.branch,
            "strategy": self.strategy,
            "target": s.target,
            "checkout": str(self.checkout),
            "head": s.head,
            "target_tip": s.target_tip,
            "commits": [c.to_dict() for c in self.commits],
            "message": self.message,
        }


def check_land(store: StateStore, options: LandOptions) -> LandPlan:
    """Every check :func:`land_construct` makes first, with nothing landed.

    A face calls it before asking the person anything more (the squash
    message to edit, a confirmation), so that a conflict is said first.
    """
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})"
        )
    construct = store.resolve_construct(options.ref)
    span = span_for(store, construct, options.into)
    checkout = preflight(store, span, options.strategy)
    commits = gitr.commits_between(span.root, span.target_tip, span.head)
    message = options.message
    if options.strategy == "squash" and message is None:
        message = draft_message(store, construct.id)
    return LandPlan(span, options.strategy, checkout, commits, message)


def _git(steps: LandingSteps, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A git step of the landing, in its own process group recorded in the journal."""
    return gitr.run_git(cwd, *args, step=f"git {args[0]}", check=False, on_start=steps.record_group)


def land_git(
    steps: LandingSteps, span: Span, strategy: str, checkout: Path, message: str | None
) -> tuple[bool, list[str]]:
    """The git steps of a landing, each journalled; (fast-forward?, files left staged).

    A step that fails is rolled back here, precisely, before its error goes
    on (the journal's recovery then finds nothing left to do).
    """
    before = span.target_tip
    fast_forward = False
    staged: list[str] = []
    if strategy == "merge":
        # The commit checked above, not the branch name: an agent may commit meanwhile.
        into = "" if span.target in ("main", "master") else f" into {span.target}"
        message = message or f"Merge branch '{span.branch}'{into}\n"
        steps.begin("merge")
        proc = _git(steps, checkout, "merge", "--no-edit", "-m", message, span.head)
        if proc.returncode != 0:
            roll_back_target(checkout, before, span.head)
            raise _failed(span, strategy, checkout, proc, f"merging {span.branch}")
        fast_forward = gitr.rev(checkout, "HEAD") == span.head
    elif strategy in ("squash", "apply"):
        steps.begin("squash")
        proc = _git(steps, checkout, "merge", "--squash", span.head)
        if proc.returncode != 0:
            roll_back_target(checkout, before, span.head)
            raise _failed(span, strategy, checkout, proc, f"squashing {span.branch}")
        if strategy == "squash":
            steps.begin("commit")
            proc = _git(steps, checkout, "commit", "-q", "-m", message or "")
            if proc.returncode != 0:
                roll_back_target(checkout, before, span.head)
                raise _failed(span, strategy, checkout, proc, "committing the squash")
        else:
            listed = gitr.run_git(
                checkout, "diff", "--cached", "--name-only", "-z", step="listing staged files"
            ).stdout.split("\0")
            staged = [p for p in listed if p]
    else:  # rebase: replay in the construct's worktree, then fast-forward the target
        worktree = Path(span.construct.workspace_path or "")
        steps.begin("rebase")
        proc = _git(steps, worktree, "rebase", "-q", span.target_tip)
        if proc.returncode != 0:
            undo_rebase(worktree, span.head, span.branch, None, before)
            raise _failed(span, strategy, worktree, proc,
                          f"rebasing {span.branch or span.head[:12]}")
        new_head = gitr.rev(worktree, "HEAD") or span.head
        steps.begin("fast-forward", rebased=new_head)
        proc = _git(steps, checkout, "merge", "--ff-only", "-q", new_head)
        if proc.returncode != 0:
            roll_back_target(checkout, before, new_head)
            undo_rebase(worktree, span.head, span.branch, new_head, before)
            raise _failed(span, strategy, checkout, proc, f"fast-forwarding {span.target}")
        fast_forward = True
    return fast_forward, staged


def land_construct(
    store: StateStore, options: LandOptions, *, consent: Consent = NOBODY
) -> LandResult:
    """Land the construct's branch into its target branch; see the module docstring.

    A journalled change: each git step is written to the construct's journal
    (with the target's tip before it) before it runs, and the status becomes
    ``completed`` in the same write that removes the journal. After a crash
    anywhere, recovery (:func:`recover_land`) finishes a landing git
    completed or rolls back one it did not.
    """
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})"
        )
    strategy = options.strategy
    if options.message is not None and not options.message.strip():
        raise InvalidInputError("the commit message is empty; nothing was landed")
    # The consent is the removal's (`--remove`: teardown and stop commands).
    ctx = Context(store, consent=consent)
    construct, recovery = settle(ctx, store.resolve_construct(options.ref))
    if construct is None:
        raise NotFoundError(
            f"no construct {options.ref!r} any more: "
            f"{recovery.message() if recovery else 'it is gone'}",
            code="record-not-found",
        )
    span = span_for(store, construct, options.into)
    checkout = preflight(store, span, strategy)
    message = options.message
    if strategy == "squash" and message is None:
        message = draft_message(store, construct.id)
    before = span.target_tip
    commits = len(gitr.commits_between(span.root, span.target_tip, span.head))
    work = Work(ctx, construct, ctx.template_of(construct.template_id))
    facts = {
        "strategy": strategy, "target": span.target, "checkout": str(checkout),
        "before": before, "head": span.head, "branch": span.branch,
        "worktree": construct.workspace_path or "",
    }
    with journalled(
        work, "land", facts=facts, recover=recover_land,
        # A squash lands the work as one new commit: the record keeps the branch
        # tip it came from, so that a later `rm` knows that tip's work is in.
        done=lambda: {"status": Status.COMPLETED,
                      "landed_tip": span.head if strategy == "squash" else None},
    ) as steps:
        fast_forward, staged = land_git(steps, span, strategy, checkout, message)
    after = gitr.rev(checkout, "HEAD") or before
    file = store.location(Construct, construct.id)
    removed, removal = None, None
    if options.remove:
        removed, removal = _remove_after(ctx, work.construct, strategy, span.head)
    return LandResult(
        work.construct, file, strategy, span.target, str(checkout), before, after,
        fast_forward, commits, staged, removed, removal,
    )


def _remove_after(
    ctx: Context, construct: Construct, strategy: str, head: str
) -> tuple[list[str], LandRemovalJson]:
    """Remove a landed construct by the usual rules; a squashed branch goes too.

    The notes for a person, and the same as data (refused: the error's code).
    """
    from state_format.errors import CodedError
    from synthetic_ls.ops.constructs import remove
    from synthetic_ls.provision.work import ReleaseSettings

    # A squash commit holds the branch's work: a branch still at the tip that
    # landed holds nothing else, and the worktree's release deletes it.
    settings = ReleaseSettings(landed_tip=head if strategy == "squash" else None)
    try:
        result = remove(ctx, construct.id, settings)
    except CodedError as exc:
        # The work landed; only the clean-up was refused (work appeared meanwhile ...).
        message = one_line(str(exc), 2000)
        error: ErrorJson = {"code": exc.code, "message": message}
        return [f"not removed: {message}"], {"removed": False, "kept": [], "error": error}
    kept = [k.to_dict() for k in result.kept]
    return result.notes, {"removed": True, "kept": kept, "error": None}


