"""Review and land a construct's work: diff, log, land, discard, review.

One plain function per operation, shared by the CLI and the language server,
each returning a result whose ``to_dict()`` is its one JSON form. Landing
checks everything it can before it touches anything (the target checkout is
clean, the construct's worktree too, the base was not rewritten, the merge
would not conflict: ``git merge-tree --write-tree``, which touches no
worktree), then runs the real git in the target's checkout so hooks run,
and rolls back what it began when a step fails.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from state_format.records import Construct
from state_format.statuses import Status, allowed_next, can_transition
from state_format.store import Store
from state_format.text import one_line
from synthetic_ls.errors import ConflictError, InvalidInputError, SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.review_errors import (
    BaseRewrittenError,
    BranchGoneError,
    ConstructDirtyError,
    HookFailedError,
    LandFailedError,
    MergeConflictError,
    NoBranchError,
    NothingToLandError,
    TargetDirtyError,
    TargetMissingError,
    TargetNotCheckedOutError,
)

STRATEGIES = ("merge", "squash", "rebase", "apply")
#: Longest session summary put into a drafted squash message (characters).
SUMMARY_MAX = 4000


# -- what a construct's branch is compared with -----------------------------------


@dataclass(frozen=True)
class Span:
    """A construct's branch against its target: the commits to review or land."""

    construct: Construct
    root: Path  # the main checkout (git commands run there)
    branch: str
    head: str  # the branch's tip
    target: str  # the target branch's short name ("" when only a commit is known)
    target_tip: str  # the commit the branch is compared with
    merge_base: str


def _span(store: Store, construct: Construct, into: str | None = None) -> Span:
    root = store.repo.worktree
    if not construct.branch:
        raise NoBranchError(
            f"construct {construct.id} has no branch (it was made without a worktree)",
            fields={"construct": construct.id},
        )
    target = into or (construct.base_ref or "").removeprefix("refs/heads/")
    if into is None and construct.base_ref and not construct.base_ref.startswith("refs/heads/"):
        target = ""  # a tag: compare with it, but there is no branch to land into
    tips = gitr.branch_tips(root, *([construct.branch, target] if target else [construct.branch]))
    head = tips.get(construct.branch)
    if head is None:
        raise BranchGoneError(
            f"the branch {construct.branch!r} of construct {construct.id} no longer exists "
            "(deleted by hand?); there is nothing to review or land. Remove the construct, "
            "or recreate the branch at its last commit",
            fields={"construct": construct.id, "branch": construct.branch},
        )
    if target:
        tip = tips.get(target)
        if tip is None:
            raise TargetMissingError(
                f"the branch {target!r} that construct {construct.id} would land into "
                "does not exist",
                fields={"construct": construct.id, "target": target},
            )
    else:
        tip = gitr.rev(root, construct.base_ref) if construct.base_ref else None
        tip = tip or construct.base_commit
        if not tip:
            raise TargetMissingError(
                f"construct {construct.id} has no recorded base to compare with",
                fields={"construct": construct.id, "target": None},
            )
    base = gitr.merge_base(root, tip, head)
    if base is None:
        raise LandFailedError(
            f"the branch {construct.branch!r} shares no history with {target or tip[:12]}",
            fields={"construct": construct.id},
        )
    return Span(construct, root, construct.branch, head, target, tip, base)


def span_of(store: Store, ref: str) -> Span:
    """The span of construct ``ref`` against the branch it started from."""
    return _span(store, store.resolve_construct(ref))


def _hidden_untracked(store: Store, construct: Construct, paths: list[str]) -> set[str]:
    """Untracked ``paths`` that are include files copied in (never shown as changes).

    An include file is one the template's ``includePatterns`` select, or (when
    the config cannot say) an unchanged copy of the main checkout's file.
    """
    if not paths or not construct.workspace_path:
        return set()
    from synthetic_ls.git.include_copy import _pathspec
    from synthetic_ls.provision.context import Context
    from synthetic_ls.provision.worktree import same_as_main

    worktree = Path(construct.workspace_path)
    hidden = {p for p in paths if same_as_main(worktree, store.repo.worktree, p)}
    template = Context(store).template_of(construct.template_id)
    patterns = [p for p in (template.include_patterns if template else []) if p.strip()]
    if patterns:
        proc = gitr.run_git(
            worktree, "ls-files", "-z", "--others", "--", *[_pathspec(p) for p in patterns],
            step="matching include patterns",
        )
        hidden |= {p for p in proc.stdout.split("\0") if p}
    return hidden & set(paths)


def worktree_changes(store: Store, construct: Construct) -> list[gitr.FileChange]:
    """Uncommitted changes in the construct's worktree, include files left out."""
    path = construct.workspace_path
    if not path or not (Path(path) / ".git").exists():
        return []
    changes = gitr.uncommitted_changes(Path(path))
    hidden = _hidden_untracked(store, construct, [c.path for c in changes if c.status == "?"])
    return [c for c in changes if not (c.status == "?" and c.path in hidden)]


# -- diff ------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffResult:
    """``synthetic diff``: the branch's commits and files, and the uncommitted ones apart."""

    span: Span
    commits: list[gitr.Commit]
    files: list[gitr.FileChange]
    uncommitted: list[gitr.FileChange]
    patch: str | None = None
    uncommitted_patch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """See README, "Review and land"."""
        s = self.span
        out: dict[str, Any] = {
            "construct": s.construct.id,
            "branch": s.branch,
            "head": s.head,
            "target": s.target or None,
            "target_tip": s.target_tip,
            "merge_base": s.merge_base,
            "worktree": s.construct.workspace_path,
            "commits": [c.to_dict() for c in self.commits],
            "files": [f.to_dict() for f in self.files],
            "uncommitted": [f.to_dict() for f in self.uncommitted],
            "stat": _stat(self.files),
            "uncommitted_stat": _stat(self.uncommitted),
        }
        if self.patch is not None:
            out["patch"] = self.patch
            out["uncommitted_patch"] = self.uncommitted_patch
        return out


def _stat(files: list[gitr.FileChange]) -> dict[str, int]:
    return {
        "files": len(files),
        "additions": sum(f.additions or 0 for f in files),
        "deletions": sum(f.deletions or 0 for f in files),
    }


def diff_construct(store: Store, ref: str, *, patch: bool = False) -> DiffResult:
    """The construct's changes against its base; with ``patch`` the diff text too."""
    construct = store.resolve_construct(ref)
    # The worktree's status scans every file: run it beside the branch's diff.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(worktree_changes, store, construct)
        span = _span(store, construct)
        files = gitr.committed_changes(span.root, span.merge_base, span.head)
        commits = gitr.commits_between(span.root, span.merge_base, span.head)
        uncommitted = pending.result()
    if not patch:
        return DiffResult(span, commits, files, uncommitted)
    text = gitr.patch(span.root, span.merge_base, span.head)
    wt_text = ""
    if uncommitted and construct.workspace_path:
        wt_text = gitr.patch(Path(construct.workspace_path), "HEAD")
    return DiffResult(span, commits, files, uncommitted, text, wt_text)


# -- log -------------------------------------------------------------------------


@dataclass(frozen=True)
class LogResult:
    """``synthetic log``: commits and the agent's turns, interleaved by time."""

    construct: Construct
    entries: list[dict[str, Any]]
    session: str | None  # why the session's turns are missing, or None
    session_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{"construct", "session_id", "session_note", "entries": [...]}``."""
        return {
            "construct": self.construct.id,
            "session_id": self.session_id,
            "session_note": self.session,
            "entries": self.entries,
        }


def _obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (shapes vary by version)."""
    return value if isinstance(value, dict) else {}


def _turns(messages: list[Any]) -> list[dict[str, Any]]:
    """One entry per prompt: what was asked, the last reply, and the files touched."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        created = _obj(_obj(m.raw.get("info")).get("time")).get("created")
        if m.role == "user" or not turns:
            turns.append({
                "kind": "turn", "time_ms": created if isinstance(created, int) else None,
                "prompt": one_line(m.text, 200) if m.role == "user" else "",
                "summary": "", "files": [], "tools": 0, "error": None,
            })
            if m.role == "user":
                continue
        turn = turns[-1]
        if m.text.strip():
            turn["summary"] = m.text.strip()
        if m.error:
            turn["error"] = str(m.error.get("name") or "error")
        for part in m.parts:
            if part.get("type") == "tool":
                turn["tools"] += 1
                args = _obj(_obj(part.get("state")).get("input"))
                path = args.get("filePath") or args.get("path")
                if isinstance(path, str) and path not in turn["files"]:
                    turn["files"].append(path)
            elif part.get("type") == "patch":
                for path in part.get("files") or []:
                    if isinstance(path, str) and path not in turn["files"]:
                        turn["files"].append(path)
    # Only turns the agent answered: the context message added without a reply is not one.
    return [t for t in turns if t["summary"] or t["tools"] or t["error"]]


def _relative(turn: dict[str, Any], worktree: str | None) -> dict[str, Any]:
    if worktree:
        prefix = worktree.rstrip("/") + "/"
        turn["files"] = [f.removeprefix(prefix) for f in turn["files"]]
    return turn


def _session_messages(store: Store, construct: Construct) -> tuple[list[Any], str | None]:
    """The session's messages, or why they cannot be had (never fails the log)."""
    if not construct.opencode_session_id:
        return [], "no agent session"
    from synthetic_ls.opencode.client import OpenCodeError
    from synthetic_ls.ops.session import session_target

    try:
        target = session_target(store, construct.id, start=False)
        with target.client() as client:
            return client.messages(target.session_id, directory=target.directory), None
    except (OpenCodeError, SyntheticError) as exc:
        return [], f"session unavailable: {one_line(str(exc), 300)}"


def log_construct(store: Store, ref: str) -> LogResult:
    """The branch's commits and the session's turns, oldest first."""
    construct = store.resolve_construct(ref)
    span = _span(store, construct)
    entries: list[dict[str, Any]] = [
        {"kind": "commit", "time_ms": c.time * 1000, **c.to_dict()}
        for c in gitr.commits_between(span.root, span.merge_base, span.head)
    ]
    messages, note = _session_messages(store, construct)
    entries += [_relative(t, construct.workspace_path) for t in _turns(messages)]
    entries.sort(key=lambda e: e["time_ms"] or 0)
    return LogResult(construct, entries, note, construct.opencode_session_id)


def session_summary(store: Store, construct: Construct) -> str:
    """The agent's last reply (its own summary of the work), or ``""``."""
    messages, _note = _session_messages(store, construct)
    turns = _turns(messages)
    text = next((t["summary"] for t in reversed(turns) if t["summary"]), "")
    return text if len(text) <= SUMMARY_MAX else text[:SUMMARY_MAX].rstrip() + "\n[...]"


def draft_message(store: Store, ref: str) -> str:
    """A squash commit message from the construct's name, description and session summary."""
    construct = store.resolve_construct(ref)
    span = _span(store, construct)
    parts = [construct.name.strip()]
    if construct.description.strip():
        parts.append(construct.description.strip())
    summary = session_summary(store, construct)
    if summary:
        parts.append("Agent summary:\n" + summary)
    commits = gitr.commits_between(span.root, span.merge_base, span.head)
    if commits:
        parts.append("Commits:\n" + "\n".join(f"* {c.subject}" for c in commits))
    parts.append(f"Construct: {construct.id}\nBranch: {span.branch}")
    return "\n\n".join(parts) + "\n"


# -- land ------------------------------------------------------------------------


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

    def to_dict(self) -> dict[str, Any]:
        """See README, "Review and land"."""
        from synthetic_ls.ops.views import construct_dict

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
        }


def _check_completable(construct: Construct) -> None:
    """Raise ConflictError (as ``edit --status completed`` would) unless it may complete."""
    if not can_transition(construct.status, Status.COMPLETED):
        allowed = ", ".join(allowed_next(construct.status)) or "none"
        raise ConflictError(
            f"construct {construct.id} cannot go from {construct.status.value!r} to "
            f"'completed' (allowed from {construct.status.value!r}: {allowed}); nothing was landed"
        )


def _target_checkout(store: Store, span: Span) -> Path:
    found = gitr.checkout_of(span.root, span.target)
    if found is not None:
        return found
    raise TargetNotCheckedOutError(
        f"the branch {span.target!r} is not checked out anywhere; check it out (in the "
        "main checkout or a worktree) to land into it",
        fields={"construct": span.construct.id, "target": span.target},
    )


def _preflight(store: Store, span: Span, strategy: str) -> Path:
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
        raise InvalidInputError(
            f"rebasing replays the commits in the construct's worktree, and construct {c.id} "
            "has none; land it with merge or squash",
            code="needs-worktree",
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


def git_refusal(
    cwd: Path, proc: Any, hooks: tuple[str, ...], what: str, fields: dict[str, Any],
    otherwise: type[SyntheticError],
) -> SyntheticError:
    """The error for a git step that failed and was rolled back.

    :class:`HookFailedError` when one of ``hooks`` is installed (a hook is the
    likely refuser), else ``otherwise``; ``what`` begins the message
    ("merging x failed and was rolled back; nothing was landed").
    """
    detail = one_line((proc.stderr or "") + (proc.stdout or ""), 2000)
    fields = {**fields, "detail": detail, "rolled_back": True}
    installed = [h for h in hooks if gitr.hook_path(cwd, h) is not None]
    if installed:
        return HookFailedError(
            f"{what}. A hook refused it ({', '.join(installed)}): {detail}",
            fields={**fields, "hooks": installed},
        )
    return otherwise(f"{what}: {detail}", fields=fields)


def _failed(
    span: Span, strategy: str, checkout: Path, proc: Any, step: str
) -> SyntheticError:
    return git_refusal(
        checkout, proc, _HOOKS[strategy], f"{step} failed and was rolled back; nothing was landed",
        {"construct": span.construct.id, "target": span.target, "step": step}, LandFailedError,
    )


def _roll_back(checkout: Path, before: str) -> None:
    """Put the target checkout back at ``before`` (its index and files too)."""
    if gitr.git_dir_file(checkout, "MERGE_HEAD").exists():
        gitr.run_step(checkout, "merge", "--abort")
    gitr.run_git(checkout, "reset", "-q", "--merge", before, step="rolling back")


@dataclass(frozen=True)
class LandPlan:
    """What landing would do, every check passed, with nothing landed yet."""

    span: Span
    strategy: str
    checkout: Path
    commits: list[gitr.Commit]
    message: str | None  # the drafted squash message; None for other strategies

    def to_dict(self) -> dict[str, Any]:
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


def check_land(store: Store, options: LandOptions) -> LandPlan:
    """Every check :func:`land_construct` makes first, with nothing landed.

    A face calls it before asking the person anything more (the squash
    message to edit, a confirmation), so that a conflict is said first.
    """
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})"
        )
    construct = store.resolve_construct(options.ref)
    span = _span(store, construct, options.into)
    checkout = _preflight(store, span, options.strategy)
    commits = gitr.commits_between(span.root, span.target_tip, span.head)
    message = options.message
    if options.strategy == "squash" and message is None:
        message = draft_message(store, construct.id)
    return LandPlan(span, options.strategy, checkout, commits, message)


def land_construct(store: Store, options: LandOptions) -> LandResult:
    """Land the construct's branch into its target branch; see the module docstring."""
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})"
        )
    strategy = options.strategy
    if options.message is not None and not options.message.strip():
        raise InvalidInputError("the commit message is empty; nothing was landed")
    construct = store.resolve_construct(options.ref)
    span = _span(store, construct, options.into)
    checkout = _preflight(store, span, strategy)
    message = options.message
    if strategy == "squash" and message is None:
        message = draft_message(store, construct.id)
    before = span.target_tip
    fast_forward = False
    staged: list[str] = []
    commits = len(gitr.commits_between(span.root, span.target_tip, span.head))
    if strategy == "merge":
        # The commit checked above, not the branch name: an agent may commit meanwhile.
        into = "" if span.target in ("main", "master") else f" into {span.target}"
        message = message or f"Merge branch '{span.branch}'{into}\n"
        args = ["merge", "--no-edit", "-m", message, span.head]
        proc = gitr.run_step(checkout, *args)
        if proc.returncode != 0:
            _roll_back(checkout, before)
            raise _failed(span, strategy, checkout, proc, f"merging {span.branch}")
        fast_forward = gitr.rev(checkout, "HEAD") == span.head
    elif strategy in ("squash", "apply"):
        proc = gitr.run_step(checkout, "merge", "--squash", span.head)
        if proc.returncode != 0:
            _roll_back(checkout, before)
            raise _failed(span, strategy, checkout, proc, f"squashing {span.branch}")
        if strategy == "squash":
            proc = gitr.run_step(checkout, "commit", "-q", "-m", message or "")
            if proc.returncode != 0:
                _roll_back(checkout, before)
                raise _failed(span, strategy, checkout, proc, "committing the squash")
        else:
            staged = gitr.run_git(
                checkout, "diff", "--cached", "--name-only", "-z", step="listing staged files"
            ).stdout.split("\0")
            staged = [p for p in staged if p]
    else:  # rebase: replay in the construct's worktree, then fast-forward the target
        worktree = Path(construct.workspace_path or "")
        proc = gitr.run_step(worktree, "rebase", "-q", span.target_tip)
        if proc.returncode != 0:
            if gitr.git_dir_file(worktree, "rebase-merge").exists() or gitr.git_dir_file(
                worktree, "rebase-apply"
            ).exists():
                gitr.run_step(worktree, "rebase", "--abort")
            gitr.run_git(worktree, "reset", "-q", "--keep", span.head, step="rolling back")
            raise _failed(span, strategy, worktree, proc, f"rebasing {span.branch}")
        new_head = gitr.rev(worktree, "HEAD") or span.head
        proc = gitr.run_step(checkout, "merge", "--ff-only", "-q", new_head)
        if proc.returncode != 0:
            _roll_back(checkout, before)
            gitr.run_git(worktree, "reset", "-q", "--keep", span.head, step="rolling back")
            raise _failed(span, strategy, checkout, proc, f"fast-forwarding {span.target}")
        fast_forward = True
    after = gitr.rev(checkout, "HEAD") or before
    # Checked before landing; now it is done, so the status follows whatever it is.
    updated = store.update(Construct, construct.id, lambda _c: {"status": Status.COMPLETED})
    file = str(store.path_of(Construct, construct.id))
    removed = None
    if options.remove:
        removed = _remove_after(store, updated, strategy, after, span.head)
    return LandResult(
        updated, file, strategy, span.target, str(checkout), before, after, fast_forward,
        commits, staged, removed,
    )


def _remove_after(
    store: Store, construct: Construct, strategy: str, landed: str, head: str
) -> list[str]:
    """Remove a landed construct by the usual rules; a squashed branch goes too."""
    from state_format.errors import StateError
    from synthetic_ls.ops.constructs import RemoveOptions, remove_construct

    try:
        result = remove_construct(store, RemoveOptions(ref=construct.id))
    except (SyntheticError, StateError) as exc:
        # The work landed; only the clean-up was refused (work appeared meanwhile ...).
        return [f"not removed: {one_line(str(exc), 2000)}"]
    notes = list(result.notes)
    if strategy == "squash" and construct.branch:
        root = store.repo.worktree
        tip = gitr.rev(root, f"refs/heads/{construct.branch}")
        if tip == head and gitr.checkout_of(root, construct.branch) is None:
            # Its work is in the squash commit: the branch holds nothing else.
            gitr.run_git(root, "branch", "-D", construct.branch, step="deleting the branch")
            notes = [n for n in notes if not n.startswith(f"kept branch {construct.branch}")]
            notes.append(f"deleted branch {construct.branch} (landed as {landed[:12]})")
    return notes


# -- discard and review ---------------------------------------------------------------


@dataclass(frozen=True)
class DiscardPreview:
    """What discarding would throw away: the commits no other branch has."""

    construct: Construct
    commits: list[gitr.Commit]
    uncommitted: list[gitr.FileChange]

    def to_dict(self) -> dict[str, Any]:
        return {
            "construct": self.construct.id,
            "branch": self.construct.branch,
            "unmerged": [c.to_dict() for c in self.commits],
            "uncommitted": [f.to_dict() for f in self.uncommitted],
        }


def discard_preview(store: Store, ref: str) -> DiscardPreview:
    """The unmerged commits and uncommitted changes :func:`discard_construct` would delete."""
    construct = store.resolve_construct(ref)
    commits: list[gitr.Commit] = []
    with contextlib.suppress(NoBranchError, BranchGoneError, TargetMissingError, LandFailedError):
        span = _span(store, construct)
        commits = gitr.commits_between(span.root, span.target_tip, span.head)
    return DiscardPreview(construct, commits, worktree_changes(store, construct))


@dataclass(frozen=True)
class DiscardResult:
    """``synthetic discard``: what was removed, with the commits deleted."""

    preview: DiscardPreview
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{"removed", "branch", "unmerged": [commits], "uncommitted", "notes"}``."""
        out = self.preview.to_dict()
        out["removed"] = out.pop("construct")
        out["notes"] = list(self.notes)
        return out


def discard_construct(store: Store, ref: str, *, keep_session: bool = False) -> DiscardResult:
    """Remove the construct and its branch, unmerged commits and uncommitted changes included."""
    from synthetic_ls.ops.constructs import RemoveOptions, remove_construct

    preview = discard_preview(store, ref)
    result = remove_construct(
        store, RemoveOptions(ref=preview.construct.id, force=True, keep_session=keep_session)
    )
    return DiscardResult(preview, result.notes)


def review_construct(store: Store, ref: str) -> Any:
    """Move the construct to ``reviewing`` (a person looks at its work); an ``EditResult``."""
    from synthetic_ls.ops.constructs import EditOptions, edit_construct

    return edit_construct(store, EditOptions(ref=ref, status=Status.REVIEWING.value))
