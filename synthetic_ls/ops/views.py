"""How a construct is shown: the one JSON form every face uses.

:class:`ConstructView` is a construct as read (the one model,
:class:`~state_format.records.Construct`), its record file, the state of its
worktree when asked for, and the operation in progress if any.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from typing_extensions import TypedDict

from state_format.errors import BrokenRecordError
from state_format.journal import Journal
from state_format.owner import Liveness
from state_format.records import Construct, format_timestamp
from synthetic_ls.ops.usage import UsageJson

if TYPE_CHECKING:
    # pygit2 comes with these: imported where a worktree exists to inspect,
    # so listing and showing constructs whose folders are gone never load it.
    from synthetic_ls.git.repo import GitRepo
    from synthetic_ls.ops.agent_status import AgentInfo

#: Version of the JSON shapes (bumped only on an incompatible change).
JSON_VERSION = 1

#: What the state of an operation's owner is called in JSON.
_OWNER_STATES = {
    Liveness.ALIVE: "running",
    Liveness.DEAD: "interrupted",
    Liveness.UNKNOWN: "elsewhere",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # TOML dates and times a person wrote


# -- the JSON forms (TypedDicts: mypy checks the code that builds them, and
# python -m synthetic_ls.schemas makes JSON Schemas of them for the faces) ---------


class OperationJson(TypedDict):
    """An operation in progress on the construct (or interrupted): which, by whom, how far.

    ``state`` is ``running``, ``interrupted`` or ``elsewhere`` (another machine's).
    """

    op: str
    owner: str
    state: str
    steps_begun: list[str]
    steps_done: list[str]


class ConstructJson(TypedDict):
    """A construct's record (README, "--json output"): every known field, null when unset."""

    id: str
    name: str
    description: str
    template_id: str
    status: str
    workspace_path: str | None
    opencode_session_id: str | None
    branch: str | None
    base_ref: str | None
    base_commit: str | None
    #: Where its agent and services run: ``bubblewrap``, ``container`` or null (as the person).
    isolation: str | None
    error: str | None
    created_at: str
    updated_at: str
    #: Keys a newer tool or a person added to the record file.
    extra: dict[str, Any]
    file: str | None
    operation: OperationJson | None
    #: The host it lives on (``new --host``; its state is the remote's), null for this machine.
    host: str | None
    #: Its id in the host's repository (``id`` is this machine's record), null when local.
    remote_id: str | None
    #: The group of attempts it was made in (``new --attempts``), null when none.
    group_id: str | None
    #: ``provider/model`` of its agent when not its template's (``new --model``), else null.
    model: str | None


class BrokenRecordJson(TypedDict):
    """A record file that cannot be read: where, and why."""

    file: str
    line: int | None
    error: str


class WorktreeJson(TypedDict):
    """The state of a construct's worktree: ``changes`` are ``git status --short`` lines."""

    exists: bool
    branch: str | None
    head: str | None
    ahead: int
    behind: int
    dirty: bool
    changes: list[str]
    size_bytes: int | None


class AgentJson(TypedDict):
    """What the construct's agent does now: ``state`` is ``busy``, ``idle``,
    ``awaiting_input``, ``error`` or ``unknown`` (no server answered)."""

    state: str
    pending_permissions: list[str]
    #: Tokens and cost of its session so far (null: no server told).
    usage: UsageJson | None


class ConstructViewJson(ConstructJson):
    """A construct as listed or shown: its record, its worktree and its agent (null: not known)."""

    worktree: WorktreeJson | None
    agent: AgentJson | None


class ConstructListJson(TypedDict):
    """``synthetic.construct.list`` (``synthetic ls --json``)."""

    version: int
    constructs: list[ConstructViewJson]
    broken: list[BrokenRecordJson]
    #: How each host with remote constructs answered (empty when there are none).
    hosts: list[HostListingJson]
    #: Tokens and cost summed over the listed constructs whose agents told them.
    usage: UsageJson


class HostListingJson(TypedDict):
    """How one host answered ``ls``: ``ok``, ``unreachable`` or ``failed`` (with the error)."""

    host: str
    state: str
    error: str | None
    code: str | None


def operation_dict(construct: Construct) -> OperationJson | None:
    """``{"op", "owner", "state"}`` of the operation in progress, or None."""
    return journal_dict(construct.journal)


def journal_dict(journal: Journal | None) -> OperationJson | None:
    """``{"op", "owner", "state"}`` of a record's journal (any kind's), or None."""
    if journal is None:
        return None
    return {
        "op": journal.op,
        "owner": journal.owner.where(),
        "state": "interrupted" if journal.stopped else _OWNER_STATES[journal.owner.liveness()],
        "steps_begun": list(journal.started),
        "steps_done": list(journal.done),
    }


def construct_dict(construct: Construct, file: Path | str | None = None) -> ConstructJson:
    """The stable JSON shape of a construct (README.md, "--json output").

    Every known field is always present (null when unset); keys a newer tool
    or a person added to the file are under ``extra``.
    """
    return {
        "id": construct.id,
        "name": construct.name,
        "description": construct.description,
        "template_id": construct.template_id,
        "status": construct.status.value,
        "workspace_path": construct.workspace_path,
        "opencode_session_id": construct.opencode_session_id,
        "branch": construct.branch,
        "base_ref": construct.base_ref,
        "base_commit": construct.base_commit,
        "isolation": construct.isolation,
        "error": construct.error,
        "created_at": format_timestamp(construct.created_at),
        "updated_at": format_timestamp(construct.updated_at),
        "extra": _jsonable(dict(construct.model_extra or {})),
        "file": str(file) if file is not None else None,
        "operation": operation_dict(construct),
        "host": None,
        "remote_id": None,
        "group_id": construct.group_id,
        "model": construct.model,
    }


def broken_dict(error: BrokenRecordError) -> BrokenRecordJson:
    """The JSON shape of a broken record: file, line (or null) and message."""
    return {"file": error.path, "line": error.line, "error": error.detail}


@dataclass(frozen=True)
class WorktreeInfo:
    """What ``ls`` and ``show`` tell about a construct's worktree."""

    exists: bool
    branch: str | None
    head: str | None
    ahead: int
    behind: int
    changes: list[str]
    size_bytes: int | None = None

    @property
    def dirty(self) -> bool:
        """True when the worktree has uncommitted changes."""
        return bool(self.changes)

    def to_dict(self) -> WorktreeJson:
        """``{"exists", "branch", "head", "ahead", "behind", "dirty", "changes", "size_bytes"}``."""
        return {
            "exists": self.exists,
            "branch": self.branch,
            "head": self.head,
            "ahead": self.ahead,
            "behind": self.behind,
            "dirty": self.dirty,
            "changes": self.changes,
            "size_bytes": self.size_bytes,
        }

    def summary(self) -> str:
        """``clean``, ``dirty +2 -1`` or ``missing``."""
        if not self.exists:
            return "missing"
        text = "dirty" if self.dirty else "clean"
        if self.ahead or self.behind:
            text += f" +{self.ahead} -{self.behind}"
        return text


@dataclass(frozen=True)
class ConstructView:
    """A construct as shown: record, file, and (when inspected) its worktree and agent."""

    construct: Construct
    file: str
    worktree: WorktreeInfo | None = None
    agent: AgentInfo | None = None

    def to_dict(self) -> ConstructViewJson:
        """:func:`construct_dict` plus ``"worktree"`` and ``"agent"`` (null when not known)."""
        return {
            **construct_dict(self.construct, self.file),
            "worktree": self.worktree.to_dict() if self.worktree is not None else None,
            "agent": self.agent.to_dict() if self.agent is not None else None,
        }


def _base_target(git: GitRepo, construct: Construct) -> str | None:
    """The commit a construct's branch is compared with: its base ref now, else its base."""
    if construct.base_ref:
        ref = git.repo.references.get(construct.base_ref)
        if ref is not None:
            return str(ref.resolve().target)
    return construct.base_commit


def _gone() -> WorktreeInfo:
    """What a worktree whose folder is gone shows."""
    return WorktreeInfo(False, None, None, 0, 0, [])


def _has_checkout(path: str) -> bool:
    """Whether ``path`` holds a checkout (its ``.git``); one ``lstat``."""
    return os.path.lexists(f"{path}/.git") if path else False


def worktree_info(git: GitRepo, construct: Construct, *, with_size: bool = False) -> WorktreeInfo:
    """Branch, ahead/behind its base, changes and optionally disk size of the worktree."""
    path = construct.workspace_path or ""
    if not _has_checkout(path):
        return _gone()  # gone: nothing to compare
    from synthetic_ls.git import worktree_status  # pygit2: see the imports above

    state = worktree_status.worktree_state(
        git, Path(path), _base_target(git, construct), with_size=with_size
    )
    return WorktreeInfo(
        exists=state.exists,
        branch=state.branch or None,
        head=state.head or None,
        ahead=state.ahead,
        behind=state.behind,
        changes=state.dirty,
        size_bytes=state.size_bytes,
    )


def views(
    checkout: Path,
    constructs: Sequence[Construct],
    files: Sequence[str],
    *,
    inspect: bool = True,
    with_size: bool = False,
    agents: Mapping[str, AgentInfo] | None = None,
) -> list[ConstructView]:
    """Views of ``constructs``; with ``inspect``, each worktree's state too.

    ``agents`` (construct id -> what its agent does) comes from
    :func:`synthetic_ls.ops.agent_status.poll_agents`. pygit2 is imported
    only when some construct has a worktree to inspect.
    """
    infos: dict[str, WorktreeInfo] = {}
    with_tree = [c for c in constructs if c.workspace_path] if inspect else []
    # Folders that are gone are told apart first (one lstat each): only a
    # worktree that is there needs the repository opened.
    present = [c for c in with_tree if _has_checkout(c.workspace_path or "")]
    infos = {c.id: _gone() for c in with_tree}
    if present:
        from synthetic_ls.git.repo import GitRepo

        git = GitRepo.discover(checkout)
        infos.update((c.id, worktree_info(git, c, with_size=with_size)) for c in present)
    agents = agents or {}
    return [
        ConstructView(c, f, infos.get(c.id), agents.get(c.id))
        for c, f in zip(constructs, files, strict=True)
    ]


@dataclass(frozen=True)
class ConstructResult:
    """An operation's result that is one construct (``show``, ``import``, ``edit``).

    ``copied`` and ``skipped`` are the include files a creation copied and
    passed over; they appear in the JSON only for operations that copy
    (``extra_keys``), so each operation keeps its documented shape.
    """

    view: ConstructView
    copied: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    #: Keys this operation adds to the construct's JSON, with their values.
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def construct(self) -> Construct:
        """The construct."""
        return self.view.construct

    def to_dict(self) -> ConstructViewJson:
        """The construct with ``"worktree"``, plus this operation's own keys.

        Each operation's whole shape is its own TypedDict (``ShownConstructJson``
        ...): the keys it adds are typed where it makes them, and the schema
        tests check real results against it.
        """
        return cast(ConstructViewJson, {**self.view.to_dict(), **dict(self.extra)})


def with_copies(
    view: ConstructView, copied: list[str], skipped: list[tuple[str, str]], **more: Any
) -> ConstructResult:
    """A creation's result: the construct plus ``copied``, ``skipped`` and ``more`` keys."""
    extra = {
        "copied": list(copied),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        **more,
    }
    return ConstructResult(view, tuple(copied), tuple(skipped), tuple(extra.items()))
