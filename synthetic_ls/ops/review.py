"""Review a construct's work: what its branch is compared with, diff, log, review.

One plain function per operation, shared by the CLI and the language server,
each returning a result whose ``to_dict()`` is its one JSON form. All of
them read, but ``review`` (a status change). Landing is
:mod:`synthetic_ls.ops.landing`, discarding :mod:`synthetic_ls.ops.discard`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from state_format.statuses import Status
from state_format.text import one_line
from synthetic_ls.errors import SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.review_errors import (
    BranchGoneError,
    LandFailedError,
    NoBranchError,
    TargetMissingError,
)

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


def span_for(store: StateStore, construct: Construct, into: str | None = None) -> Span:
    """The construct's branch against ``into`` (default: the branch it started from)."""
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


def span_of(store: StateStore, ref: str) -> Span:
    """The span of construct ``ref`` against the branch it started from."""
    return span_for(store, store.resolve_construct(ref))


def _hidden_untracked(store: StateStore, construct: Construct, paths: list[str]) -> set[str]:
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


def worktree_changes(store: StateStore, construct: Construct) -> list[gitr.FileChange]:
    """Uncommitted changes in the construct's worktree, include files left out."""
    path = construct.workspace_path
    if not path or not (Path(path) / ".git").exists():
        return []
    changes = gitr.uncommitted_changes(Path(path))
    hidden = _hidden_untracked(store, construct, [c.path for c in changes if c.status == "?"])
    return [c for c in changes if not (c.status == "?" and c.path in hidden)]


# -- diff ------------------------------------------------------------------------


class DiffStatJson(TypedDict):
    """How many files changed, and the lines added and deleted in them."""

    files: int
    additions: int
    deletions: int


class DiffJson(TypedDict):
    """``synthetic.construct.diff``: the branch's commits and files against the merge base
    with ``target`` (null: a tag or commit, nothing to land into), and the worktree's
    uncommitted files apart; with ``patch``, the diff texts too."""

    construct: str
    branch: str
    head: str
    target: str | None
    target_tip: str
    merge_base: str
    worktree: str | None
    commits: list[gitr.CommitJson]
    files: list[gitr.FileChangeJson]
    uncommitted: list[gitr.FileChangeJson]
    stat: DiffStatJson
    uncommitted_stat: DiffStatJson
    patch: NotRequired[str]
    uncommitted_patch: NotRequired[str | None]


@dataclass(frozen=True)
class DiffResult:
    """``synthetic diff``: the branch's commits and files, and the uncommitted ones apart."""

    span: Span
    commits: list[gitr.Commit]
    files: list[gitr.FileChange]
    uncommitted: list[gitr.FileChange]
    patch: str | None = None
    uncommitted_patch: str | None = None

    def to_dict(self) -> DiffJson:
        """See README, "Review and land"."""
        s = self.span
        out: DiffJson = {
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


def _stat(files: list[gitr.FileChange]) -> DiffStatJson:
    return {
        "files": len(files),
        "additions": sum(f.additions or 0 for f in files),
        "deletions": sum(f.deletions or 0 for f in files),
    }


def diff_construct(store: StateStore, ref: str, *, patch: bool = False) -> DiffResult:
    """The construct's changes against its base; with ``patch`` the diff text too."""
    construct = store.resolve_construct(ref)
    # The worktree's status scans every file: run it beside the branch's diff.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(worktree_changes, store, construct)
        span = span_for(store, construct)
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


def _session_messages(store: StateStore, construct: Construct) -> tuple[list[Any], str | None]:
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


def log_construct(store: StateStore, ref: str) -> LogResult:
    """The branch's commits and the session's turns, oldest first."""
    construct = store.resolve_construct(ref)
    span = span_for(store, construct)
    entries: list[dict[str, Any]] = [
        {"kind": "commit", "time_ms": c.time * 1000, **c.to_dict()}
        for c in gitr.commits_between(span.root, span.merge_base, span.head)
    ]
    messages, note = _session_messages(store, construct)
    entries += [_relative(t, construct.workspace_path) for t in _turns(messages)]
    entries.sort(key=lambda e: e["time_ms"] or 0)
    return LogResult(construct, entries, note, construct.opencode_session_id)


def session_summary(store: StateStore, construct: Construct) -> str:
    """The agent's last reply (its own summary of the work), or ``""``."""
    messages, _note = _session_messages(store, construct)
    turns = _turns(messages)
    text = next((t["summary"] for t in reversed(turns) if t["summary"]), "")
    return text if len(text) <= SUMMARY_MAX else text[:SUMMARY_MAX].rstrip() + "\n[...]"


def draft_message(store: StateStore, ref: str) -> str:
    """A squash commit message from the construct's name, description and session summary."""
    construct = store.resolve_construct(ref)
    span = span_for(store, construct)
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


# -- review ------------------------------------------------------------------------


def review_construct(store: StateStore, ref: str) -> Any:
    """Move the construct to ``reviewing`` (a person looks at its work); an ``EditResult``."""
    from synthetic_ls.ops.constructs import EditOptions, edit_construct

    return edit_construct(store, EditOptions(ref=ref, status=Status.REVIEWING.value))
