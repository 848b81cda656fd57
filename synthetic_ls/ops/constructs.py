"""Construct operations: create, show, edit, remove (listing: :mod:`.listing`).

One plain function per operation, shared by the CLI and the language server.
Each takes an open :class:`~state_format.store.Store` and an options object,
returns a result object, and raises :class:`~synthetic_ls.errors.SyntheticError`
for input it rejects (state errors such as a missing or broken record
propagate as :class:`~state_format.errors.StateError`).

Names are data only: they are trimmed and length-checked here, stored as a TOML
string, and never used in a path, a ref or a shell command (ids are derived
from an ASCII slug of the name instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from state_format.errors import BrokenRecordError
from state_format.records import NAME_MAX, Construct, format_timestamp, utc_now
from state_format.statuses import (
    DEFAULT_STATUS,
    INITIAL_STATUSES,
    Status,
    allowed_next,
    can_transition,
)
from state_format.store import Store, one_line
from synthetic_ls.errors import ConflictError, InvalidInputError
from synthetic_ls.ops.templates import resolve_template

#: Longest description accepted (characters).
DESCRIPTION_MAX = 10_000

#: Version of the --json shape of a construct (bumped only on incompatible change).
JSON_VERSION = 1


# -- input checks -----------------------------------------------------------


def _check_unicode(value: str, what: str) -> None:
    # Lone surrogates (from undecodable bytes in argv) cannot be written as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid Unicode text") from None


def normalize_name(name: str) -> str:
    """A construct name as stored: trimmed, non-empty, at most NAME_MAX characters."""
    _check_unicode(name, "name")
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInputError("a construct name cannot be empty")
    if len(cleaned) > NAME_MAX:
        raise InvalidInputError(
            f"a construct name can have at most {NAME_MAX} characters (got {len(cleaned)})"
        )
    return cleaned


def normalize_description(description: str) -> str:
    """A description as stored: trimmed, at most DESCRIPTION_MAX characters."""
    _check_unicode(description, "description")
    cleaned = description.strip()
    if len(cleaned) > DESCRIPTION_MAX:
        raise InvalidInputError(
            f"a description can have at most {DESCRIPTION_MAX} characters (got {len(cleaned)})"
        )
    return cleaned


def parse_status(value: str) -> Status:
    """A status from user input, or InvalidInputError listing the valid ones."""
    try:
        return Status(value.strip().lower().replace("-", "_"))
    except ValueError:
        valid = ", ".join(s.value for s in Status)
        raise InvalidInputError(f"unknown status {one_line(value)!r} (valid: {valid})") from None


#: Statuses only Synthetic itself sets: they mark an operation in progress,
#: which recovery would otherwise never find.
CORE_STATUSES = frozenset({Status.SPAWNING, Status.DELETING})


def refuse_core_status(status: Status) -> None:
    """Raise InvalidInputError for a status that marks an operation in progress."""
    if status in CORE_STATUSES:
        raise InvalidInputError(
            f"status {status.value!r} is set by Synthetic while it creates or removes a "
            "construct; it cannot be chosen by hand"
        )


# -- results ------------------------------------------------------------------


def construct_as_dict(construct: Construct, store: Store | None = None) -> dict[str, Any]:
    """The stable ``--json`` shape of a construct (documented in README.md).

    Every known field is always present (null when unset); keys a newer tool
    or a person added to the file are under ``extra``.
    """
    out: dict[str, Any] = {
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
        "created_at": format_timestamp(construct.created_at),
        "updated_at": format_timestamp(construct.updated_at),
        "extra": _jsonable(dict(construct.model_extra or {})),
    }
    if store is not None:
        out["file"] = str(store.path_of(Construct, construct.id))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # TOML dates and times a person wrote


def broken_as_dict(error: BrokenRecordError) -> dict[str, Any]:
    """The ``--json`` shape of a broken record: path, line (or null) and message."""
    return {"file": error.path, "line": error.line, "error": error.detail}


@dataclass(frozen=True)
class CreateOptions:
    """Inputs of :func:`create_construct`.

    ``template_id`` None means the config's default template; ``status`` None
    means :data:`~state_format.statuses.DEFAULT_STATUS`. Later options (worktree,
    base ref, branch) are added here, not as new parameters.
    """

    name: str
    template_id: str | None = None
    description: str = ""
    status: str | None = None
    #: Give the construct its own git worktree on a new branch (the usual case).
    worktree: bool = True
    #: Start point of the branch: branch, tag or commit (default: HEAD of the
    #: checkout the command runs in).
    from_ref: str | None = None
    #: Exact branch name instead of ``<prefix><id>``.
    branch: str | None = None


@dataclass(frozen=True)
class CreateResult:
    """What :func:`create_construct` made: the record, its file, and what was copied."""

    construct: Construct
    path: Path
    copied: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EditOptions:
    """Changes for :func:`edit_construct`; None leaves a field as it is."""

    ref: str
    name: str | None = None
    description: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class EditResult:
    """The construct after the edit and the names of the fields that changed."""

    construct: Construct
    changed: list[str]


@dataclass(frozen=True)
class RemoveOptions:
    """Inputs of :func:`remove_construct`.

    ``force`` discards uncommitted changes in the worktree and deletes a branch
    that holds unmerged commits.
    """

    ref: str
    force: bool = False


@dataclass(frozen=True)
class RemoveResult:
    """The construct that was removed, and notes on what was released with it."""

    construct: Construct
    notes: list[str] = field(default_factory=list)


# -- operations -----------------------------------------------------------------


def create_construct(store: Store, options: CreateOptions) -> CreateResult:
    """Validate the inputs, pick a fresh id from the name, write the record.

    With ``options.worktree`` the construct also gets its own branch and
    worktree (see :mod:`synthetic_ls.ops.worktrees`): either all of it is made,
    or nothing is left behind.
    """
    name = normalize_name(options.name)
    description = normalize_description(options.description)
    status = parse_status(options.status) if options.status is not None else None
    if status is not None:
        refuse_core_status(status)
    if status is not None and status not in INITIAL_STATUSES:
        allowed = ", ".join(s.value for s in Status if s in INITIAL_STATUSES)
        raise InvalidInputError(
            f"a new construct cannot start as {status.value!r} (allowed: {allowed})"
        )
    if not options.worktree:
        if options.from_ref is not None or options.branch is not None:
            raise InvalidInputError("--from and --branch need a worktree; drop --no-worktree")
        template_id = resolve_template(store.repo.worktree, options.template_id)
        construct = _write_new(store, name, description, template_id, status or DEFAULT_STATUS)
        return CreateResult(construct=construct, path=store.path_of(Construct, construct.id))
    from synthetic_ls.ops.construct_worktree import create_with_worktree

    return create_with_worktree(store, options, name, description, status)


def _write_new(
    store: Store,
    name: str,
    description: str,
    template_id: str,
    status: Status,
    extra: Mapping[str, Any] | None = None,
    *,
    construct_id: str | None = None,
) -> Construct:
    """Write a new construct record under the lock, with a fresh id unless one is given.

    A caller passing ``construct_id`` chose it with :meth:`Store.new_id` while
    already holding the (reentrant) lock.
    """
    with store.lock():
        now = utc_now()
        construct = Construct(
            id=construct_id or store.new_id(Construct, name),
            name=name,
            description=description,
            template_id=template_id,
            status=status,
            created_at=now,
            updated_at=now,
            **dict(extra or {}),
        )
        store.create(construct)
    return construct


def show_construct(store: Store, ref: str) -> Construct:
    """The construct ``ref`` names (id, exact name or unique id prefix)."""
    return store.resolve_construct(ref)


def edit_construct(store: Store, options: EditOptions) -> EditResult:
    """Change name, description and/or status; the status change must be allowed.

    The id never changes (it is a stable handle, also used in branch names).
    """
    if options.name is None and options.description is None and options.status is None:
        raise InvalidInputError("nothing to change; give --name, --description or --status")
    name = normalize_name(options.name) if options.name is not None else None
    description = (
        normalize_description(options.description) if options.description is not None else None
    )
    status = parse_status(options.status) if options.status is not None else None
    if status is not None:
        refuse_core_status(status)
    target = store.resolve_construct(options.ref)
    changed: list[str] = []

    def change(current: Construct) -> dict[str, Any]:
        # Runs under the lock on the freshly read record, so the transition is
        # checked against the status as it is now, not as it was when resolved.
        out: dict[str, Any] = {}
        if name is not None and name != current.name:
            out["name"] = name
        if description is not None and description != current.description:
            out["description"] = description
        if status is not None and status != current.status:
            check_transition(current, status)
            out["status"] = status
        changed.extend(out)
        return out

    updated = store.update(Construct, target.id, change)
    return EditResult(construct=updated, changed=changed)


def check_transition(construct: Construct, new: Status) -> None:
    """Raise ConflictError unless ``construct`` may move to status ``new``."""
    if not can_transition(construct.status, new):
        allowed = ", ".join(allowed_next(construct.status)) or "none"
        raise ConflictError(
            f"construct {construct.id} cannot go from {construct.status.value!r} to "
            f"{new.value!r} (allowed from {construct.status.value!r}: {allowed})"
        )


def set_status(store: Store, construct_id: str, status: Status) -> Construct:
    """Move a construct to ``status`` under the lock, checking the transition."""

    def change(current: Construct) -> dict[str, Any]:
        if current.status == status:
            return {}
        check_transition(current, status)
        return {"status": status}

    return store.update(Construct, construct_id, change)


#: Steps that release a construct's resources before its record goes; each
#: returns a note for the user. Later issues add worktree removal etc. here.
ReleaseStep = Callable[[Store, Construct, RemoveOptions], list[str]]


def remove_construct(
    store: Store,
    options: RemoveOptions,
    release_steps: tuple[ReleaseStep, ...] | None = None,
) -> RemoveResult:
    """Remove a construct: check, mark it ``deleting``, release its resources, delete the record.

    By default the release steps remove the worktree and (unless it holds
    unmerged work) the branch; uncommitted changes block removal before
    anything changes unless ``options.force``. If a release step fails the
    construct is set to ``error`` (so it shows up in ``ls``) and the error
    propagates; running ``rm`` again retries.
    """
    construct = store.resolve_construct(options.ref)
    if release_steps is None:
        from synthetic_ls.ops.construct_worktree import preflight_removal, release_for_removal

        preflight_removal(store, construct, options)
        release_steps = (release_for_removal,)
    marked = set_status(store, construct.id, Status.DELETING)
    notes: list[str] = []
    try:
        for step in release_steps:
            notes.extend(step(store, marked, options))
    except BaseException:
        set_status(store, construct.id, Status.ERROR)
        raise
    store.delete(Construct, construct.id)
    return RemoveResult(construct=marked, notes=notes)
