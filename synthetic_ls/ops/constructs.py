"""Construct operations: create, show, edit, remove (listing: :mod:`.listing`).

One plain function per operation, shared by the CLI and the language server.
Each takes an open :class:`~state_format.store.StateStore` and an options object,
returns a result object whose ``to_dict()`` is its one JSON form, and raises
:class:`~synthetic_ls.errors.SyntheticError` for input it rejects (state
errors such as a missing or broken record propagate as
:class:`~state_format.errors.StateError`). Creation and removal walk the
resource list of :mod:`synthetic_ls.provision` and name no resource.

Names are data only: they are trimmed and length-checked here, stored as a TOML
string, and never used in a path, a ref or a shell command (ids are derived
from an ASCII slug of the name instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from typing_extensions import TypedDict

from state_format.errors import RecordNotFoundError
from state_format.journal import Journal
from state_format.protocol import StateStore
from state_format.records import Construct, utc_now
from state_format.statuses import (
    DEFAULT_STATUS,
    INITIAL_STATUSES,
    Status,
    allowed_next,
    can_transition,
)
from state_format.store import one_line
from synthetic_ls.consent.gate import NOBODY, Consent, not_allowed
from synthetic_ls.consent.items import RunItem
from synthetic_ls.errors import ConflictError, InvalidInputError
from synthetic_ls.ops.check_results import CheckRunJson
from synthetic_ls.ops.names import DESCRIPTION_MAX as DESCRIPTION_MAX  # re-exported
from synthetic_ls.ops.names import check_unicode
from synthetic_ls.ops.names import normalize_description as normalize_description
from synthetic_ls.ops.names import normalize_name as normalize_name
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.services import ServiceJson
from synthetic_ls.ops.show import services_and_ports as services_and_ports  # re-exported
from synthetic_ls.ops.show import show_construct as show_construct  # re-exported
from synthetic_ls.ops.views import (
    ConstructResult,
    ConstructView,
    ConstructViewJson,
    views,
    with_copies,
)
from synthetic_ls.provision import flow
from synthetic_ls.provision.consent_items import of_creation, of_release
from synthetic_ls.provision.context import Context, Progress
from synthetic_ls.provision.lifecycle import PlanItem
from synthetic_ls.provision.ports import PortJson, port_dict
from synthetic_ls.provision.resources import INCLUDE_FILES, PORTS, RESOURCES, SERVICES
from synthetic_ls.provision.services import ServiceRecordJson, record_dict
from synthetic_ls.provision.step_error import StepFailedError
from synthetic_ls.provision.work import CreateSettings, Creation, Release, ReleaseSettings
from synthetic_ls.repo_files import utf8_path_problem


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


class SkippedJson(TypedDict):
    """An include file a creation did not copy, and why."""

    path: str
    reason: str


class CreatedConstructJson(ConstructViewJson):
    """``synthetic.construct.create``: the new construct, the include files copied and
    passed over, its ports and its services as started."""

    copied: list[str]
    skipped: list[SkippedJson]
    ports: list[PortJson]
    services: list[ServiceRecordJson]


class ShownConstructJson(ConstructViewJson):
    """``synthetic.construct.show``: the construct with its services, ports, and the last
    run of each of its checks (``synthetic check``; empty when none ran)."""

    services: list[ServiceJson]
    ports: list[PortJson]
    checks: list[CheckRunJson]


class EditedConstructJson(ConstructViewJson):
    """``synthetic.construct.update|review``: the construct after the change, and the
    names of the fields that changed."""

    changed: list[str]


class KeptJson(TypedDict):
    """Something of a removed construct that stays: its branch, or its agent session."""

    what: Literal["branch", "session"]
    name: str
    reason: str


class RemoveResultJson(TypedDict):
    """``synthetic.construct.delete``: the id removed, notes for a person on what was
    released, and what stays (``kept``: what a face acts on)."""

    removed: str
    notes: list[str]
    kept: list[KeptJson]


@dataclass(frozen=True)
class CreateOptions:
    """Inputs of :func:`create_construct`.

    ``template_id`` None means the config's default template; ``status`` None
    means ``ready`` with a worktree and ``pending`` without.
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
    #: An OpenCode agent session: None when the template has an ``agent``,
    #: True or False to override.
    agent: bool | None = None
    #: On failure keep the record in ``error`` (saying which step failed)
    #: instead of deleting it; what the steps made is undone either way.
    keep_failed: bool = False
    #: ``provider/model`` for its agent session instead of the template's (``--model``).
    model: str | None = None
    #: The group of attempts it is made in (set by :mod:`.groups`, never by a person).
    group_id: str | None = None


def parse_model(value: str) -> str:
    """A ``provider/model`` from user input, trimmed, or InvalidInputError saying the form."""
    check_unicode(value, "model")
    cleaned = value.strip()
    provider, slash, model = cleaned.partition("/")
    if not slash or not provider or not model or any(ch.isspace() for ch in cleaned):
        raise InvalidInputError(
            f"{one_line(value)!r} is not a model: give it as PROVIDER/MODEL "
            "(e.g. anthropic/claude-sonnet-4)", fields={"option": "model"},
        )
    return cleaned


@dataclass(frozen=True)
class PlanResult:
    """What creating a construct would do (``new --dry-run``)."""

    id: str
    template_id: str
    items: list[PlanItem]
    #: What of the repository's code it would run, each with whether it was allowed.
    runs: list[tuple[RunItem, bool]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"id", "template_id", "plan": [{"resource", "summary", "details"}],
        "runs": [{"kind", "where", "text", "digest", "allowed"}]}``."""
        return {
            "id": self.id,
            "template_id": self.template_id,
            "plan": [i.to_dict() for i in self.items],
            "runs": [{**item.to_dict(), "allowed": ok} for item, ok in self.runs],
        }


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

    view: ConstructView
    changed: list[str]
    recovered: list[str] = field(default_factory=list)

    @property
    def construct(self) -> Construct:
        """The construct after the edit."""
        return self.view.construct

    def to_dict(self) -> EditedConstructJson:
        """The construct, plus ``changed`` (field names)."""
        return {**self.view.to_dict(), "changed": list(self.changed)}


@dataclass(frozen=True)
class RemoveOptions:
    """Inputs of :func:`remove_construct`.

    ``force`` accepts losing uncommitted work in the worktree and deletes a
    branch that holds unmerged commits.
    """

    ref: str
    force: bool = False
    #: Keep the agent session in OpenCode (default: delete it with the construct).
    keep_session: bool = False


@dataclass(frozen=True)
class Kept:
    """Something of a removed construct that stays: its branch, or its agent session."""

    what: Literal["branch", "session"]
    name: str
    reason: str

    def to_dict(self) -> KeptJson:
        """``{"what", "name", "reason"}``."""
        return {"what": self.what, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class RemoveResult:
    """The construct that was removed, notes on what was released, and what stays.

    ``notes`` are sentences for a person; ``kept`` is what a face acts on.
    """

    construct: Construct
    notes: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    def to_dict(self) -> RemoveResultJson:
        """``{"removed": id, "notes": [...], "kept": [{"what", "name", "reason"}]}``."""
        return {
            "removed": self.construct.id,
            "notes": list(self.notes),
            "kept": [k.to_dict() for k in self.kept],
        }


# -- operations -----------------------------------------------------------------


def _view(store: StateStore, construct: Construct, *, inspect: bool = True) -> ConstructView:
    file = store.location(Construct, construct.id)
    return views(store.repo.worktree, [construct], [file], inspect=inspect)[0]


def _new_creation(ctx: Context, options: CreateOptions) -> tuple[Creation, Status]:
    """Check every input and set up the creation; nothing is written."""
    problem = utf8_path_problem(ctx.root, "the repository's folder")
    if problem is not None:
        raise InvalidInputError(problem, fields={"path": str(ctx.root)})
    name = normalize_name(options.name)
    description = normalize_description(options.description)
    status = parse_status(options.status) if options.status is not None else None
    if status is not None:
        refuse_core_status(status)
    if status is not None and status not in INITIAL_STATUSES:
        allowed = ", ".join(s.value for s in Status if s in INITIAL_STATUSES - CORE_STATUSES)
        raise InvalidInputError(
            f"a new construct cannot start as {status.value!r} (allowed: {allowed})"
        )
    if not options.worktree and (options.from_ref is not None or options.branch is not None):
        raise InvalidInputError(
            "a start point or a branch needs a worktree", fields={"option": "worktree"}
        )
    if not options.worktree and options.agent:
        raise InvalidInputError(
            "an agent session needs a worktree to work in", fields={"option": "worktree"}
        )
    model = parse_model(options.model) if options.model is not None else None
    if model is not None and (options.agent is False or not options.worktree):
        raise InvalidInputError(
            "a model is for an agent session, which needs a worktree and an agent",
            fields={"option": "model"},
        )
    if options.worktree:
        # The repository first: a checkout git cannot use makes the config moot.
        _ = ctx.git
    template_id, template, _config = ctx.choose_template(options.template_id)
    if options.branch is not None:
        from synthetic_ls.git import branches

        if not branches.is_valid_branch_name(options.branch):
            raise InvalidInputError(f"{options.branch!r} is not a valid git branch name")
    now = utc_now()
    construct = Construct(
        id="pending-id",
        name=name,
        description=description,
        template_id=template_id,
        status=Status.SPAWNING,
        created_at=now,
        updated_at=now,
        # `--no-agent` is remembered: a worktree added later gets no session either.
        no_agent=True if options.agent is False else None,
        # Where its agent and services run is fixed at creation: a template
        # changed later never moves a running construct out of its sandbox.
        isolation=template.isolation.runtime if template.isolation else None,
        isolation_image=template.isolation.image if template.isolation else None,
        isolation_devcontainer=template.isolation.devcontainer if template.isolation else None,
        group_id=options.group_id,
        model=model,
    )
    settings = CreateSettings(
        from_ref=options.from_ref,
        branch=options.branch,
        worktree=options.worktree,
        # A model asks for an agent even when the template has none.
        agent=True if model is not None else options.agent,
        keep_failed=options.keep_failed,
    )
    work = Creation(ctx, construct, template, settings)
    final = status or (Status.READY if options.worktree else DEFAULT_STATUS)
    return work, final


def plan_construct(store: StateStore, options: CreateOptions) -> PlanResult:
    """What :func:`create_construct` would do with ``options``; changes nothing."""
    work, _final = _new_creation(Context(store), options)
    new_id = store.new_id(Construct, work.construct.name)
    work.construct = work.construct.model_copy(update={"id": new_id})
    runs = of_creation(work)
    missing = set(not_allowed(work.ctx.root, runs))
    return PlanResult(work.construct.id, work.construct.template_id, flow.plan(work, RESOURCES),
                      [(item, item not in missing) for item in runs])


def create_construct(
    store: StateStore,
    options: CreateOptions,
    *,
    cancelled: Callable[[], bool] | None = None,
    progress: Progress | None = None,
    consent: Consent = NOBODY,
) -> ConstructResult:
    """Validate the inputs, write the record, then provision every resource in order.

    Either all of it is made, or nothing is left behind: a failure (Ctrl-C
    too) undoes the steps begun, newest first, and a crash leaves a journal
    that ``doctor --fix`` (or the next change of the construct) rolls back.
    ``cancelled`` is asked between steps; when it says yes, the creation
    stops the same way (an editor's cancel button). ``progress`` is told
    each step as it starts: (number, steps in all, title). ``consent`` is the
    person's answer about running the repository's code (``consent-required``
    with nothing written, when what it would run was not allowed).
    """
    work, final = _new_creation(Context(store, progress, cancelled, consent=consent), options)
    # Before anything starts (the OpenCode server too): the person's consent to
    # the repository's commands and OpenCode plugins this construct would run.
    work.ctx.require_consent(of_creation(work), doing=f"creating {work.construct.name}")
    # Before the record: a server that cannot be reached, or a provider without
    # credentials, refuses the creation with nothing written.
    flow.preflight(work, RESOURCES)
    with store.lock():
        construct_id = store.new_id(Construct, work.construct.name)
        work.construct = work.construct.model_copy(
            update={"id": construct_id, "journal": Journal.begin("create")}
        )
        # Planning makes nothing: its errors (a branch that exists, a folder
        # in the way) reject the input before any record is written.
        flow.plan(work, RESOURCES, strict=True)
        try:
            store.create(work.construct)
        except Exception as exc:
            raise StepFailedError("recording the construct", exc, [], []) from exc
    construct = flow.create(work, RESOURCES, final_status=final)
    included = work.results.of(INCLUDE_FILES)
    ports = work.results.of(PORTS)
    services = work.results.of(SERVICES)
    return with_copies(
        _view(store, construct, inspect=False),
        list(included.copied) if included else [],
        list(included.skipped) if included else [],
        ports=[port_dict(p) for p in ports.ports] if ports else [],
        services=[record_dict(r) for r in services.services] if services else [],
    )


def write_record(
    store: StateStore,
    name: str,
    description: str,
    template_id: str,
    status: Status,
    extra: Mapping[str, Any] | None = None,
) -> Construct:
    """Write a new, settled construct record (no resources to make) with a fresh id."""
    with store.lock():
        now = utc_now()
        construct = Construct(
            id=store.new_id(Construct, name),
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


def edit_construct(store: StateStore, options: EditOptions) -> EditResult:
    """Change name, description and/or status; the status change must be allowed.

    The id never changes (it is a stable handle, also used in branch names).
    """
    if options.name is None and options.description is None and options.status is None:
        raise InvalidInputError("nothing to change: give a new name, description or status")
    name = normalize_name(options.name) if options.name is not None else None
    description = (
        normalize_description(options.description) if options.description is not None else None
    )
    status = parse_status(options.status) if options.status is not None else None
    if status is not None:
        refuse_core_status(status)
    target, recovery = settle(Context(store), store.resolve_construct(options.ref))
    if target is None:
        raise RecordNotFoundError(
            f"no construct {options.ref!r}: {recovery.message() if recovery else 'it is gone'}"
        )
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
    return EditResult(
        view=_view(store, updated, inspect=False),
        changed=changed,
        recovered=[recovery.message()] if recovery else [],
    )


def check_transition(construct: Construct, new: Status) -> None:
    """Raise ConflictError unless ``construct`` may move to status ``new``."""
    if not can_transition(construct.status, new):
        allowed = ", ".join(allowed_next(construct.status)) or "none"
        raise ConflictError(
            f"construct {construct.id} cannot go from {construct.status.value!r} to "
            f"{new.value!r} (allowed from {construct.status.value!r}: {allowed})"
        )


def remove_construct(
    store: StateStore, options: RemoveOptions, *, consent: Consent = NOBODY
) -> RemoveResult:
    """Remove a construct: release its resources newest first, then delete the record.

    Before anything changes, every resource is asked whether releasing it
    would lose work (uncommitted changes, unmerged commits ...); without
    ``options.force`` that refuses. An interrupted removal is resumed; an
    interrupted creation is rolled back (which removes it too).
    """
    settings = ReleaseSettings(force=options.force, keep_session=options.keep_session)
    return remove(Context(store, consent=consent), options.ref, settings)


def remove(ctx: Context, ref: str, settings: ReleaseSettings) -> RemoveResult:
    """:func:`remove_construct` within an operation's context (landing and discarding use it)."""
    original = ctx.store.resolve_construct(ref)
    construct, recovery = settle(ctx, original, resuming="remove")
    if construct is None:
        # An interrupted creation, rolled back: nothing of it is left.
        return RemoveResult(construct=original, notes=[recovery.message()] if recovery else [])
    work = Release(ctx, construct, ctx.template_of(construct.template_id), settings)
    if construct.journal is None:
        # The teardown and stop commands it would run (a resumed removal asks
        # nobody: what was not allowed is skipped, with a note).
        ctx.require_consent(of_release(work), doing=f"removing {construct.id}")
        flow.preflight_release(work, RESOURCES)
    notes = flow.release(work, RESOURCES, op="remove")
    return RemoveResult(construct=construct, notes=notes, kept=_kept(ctx, construct, settings))


def _kept(ctx: Context, construct: Construct, settings: ReleaseSettings) -> list[Kept]:
    """What of a construct just removed is still there, read from git and the settings."""
    kept: list[Kept] = []
    if construct.branch:
        from synthetic_ls.git import branches
        from synthetic_ls.provision.worktree import NOT_OURS, owns_branch

        if branches.branch_tip(ctx.git, construct.branch) is not None:
            base = construct.base_ref or ""
            count = branches.unmerged_count(
                ctx.git, construct.branch, base, construct.base_commit or ""
            )
            reason = (
                NOT_OURS if not owns_branch(construct)
                else f"{count} commit(s) not merged into its base" if count
                else "checked out in another worktree"
            )
            kept.append(Kept("branch", construct.branch, reason))
    if settings.keep_session and construct.opencode_session_id:
        kept.append(Kept("session", construct.opencode_session_id, "asked to keep it"))
    return kept
