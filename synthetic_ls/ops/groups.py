"""Groups of attempts: one task given to several agents at once (``new --attempts/--model``).

A group is a record (``groups/<id>.toml``) naming its members, the prompt and the
models; each member is an ordinary construct (own worktree, branch, ports,
services and session) whose record carries ``group_id``. Creation is
all-or-nothing like a construct's: the group record is written first with a
``create`` journal, each member's record carries the group's id from its first
write, and a failure (Ctrl-C too) removes the members made so far and the
record. After ``kill -9``, ``doctor --fix`` (:func:`recover_group`) does the
same from what the records say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from state_format.errors import CodedError, RecordNotFoundError
from state_format.journal import Journal
from state_format.owner import Liveness
from state_format.protocol import StateStore
from state_format.records import NAME_MAX, Construct, Group, format_timestamp, utc_now
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import (
    ConflictError,
    InvalidInputError,
    OperationCancelledError,
    SyntheticError,
)
from synthetic_ls.ops.usage import Usage, UsageJson, total
from synthetic_ls.provision.context import Context, Progress
from synthetic_ls.provision.work import ReleaseSettings

#: Most attempts one group may have (each is a worktree, a session and services).
MAX_ATTEMPTS = 12


class GroupFailedError(SyntheticError):
    """Creating one member failed; every member made so far and the record were removed.

    The code is the member's own failure's (what the person must act on), as for a
    failed step of one creation.
    """

    def __init__(self, attempt: int, total: int, cause: BaseException, undone: list[str]):
        self.cause = cause
        detail = "interrupted" if isinstance(cause, KeyboardInterrupt) else (
            str(cause) or type(cause).__name__)
        # Attempt 0: every attempt was made, sending the prompts failed.
        what = f"attempt {attempt} of {total}" if attempt else "sending the prompt"
        message = f"{what} failed: {detail}; the group was undone"
        if undone:
            message += f" ({'; '.join(undone)})"
        super().__init__(message, fields={"attempt": attempt or None,
                                          "group_rolled_back": undone})
        if isinstance(cause, KeyboardInterrupt):
            self.code = "interrupted"
        elif isinstance(cause, CodedError):
            self.code = cause.code
            self.extra_fields = {**cause.fields, **self.extra_fields}


# -- inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupOptions:
    """Inputs of :func:`create_group`.

    ``attempts`` None means one attempt per model (``models`` given) or two.
    With both, the attempts take the models in turn (4 attempts, 2 models: a, b,
    a, b); fewer attempts than models is refused.
    """

    task: str
    attempts: int | None = None
    models: tuple[str, ...] = ()
    template_id: str | None = None
    from_ref: str | None = None


def member_models(attempts: int | None, models: tuple[str, ...]) -> list[str | None]:
    """The model of each member, in order (None: the template's); checks the counts."""
    from synthetic_ls.ops.constructs import parse_model

    parsed = [parse_model(m) for m in models]
    count = attempts if attempts is not None else (len(parsed) or 2)
    if count < 1 or count > MAX_ATTEMPTS:
        raise InvalidInputError(
            f"--attempts takes 1 to {MAX_ATTEMPTS} (got {count})", fields={"option": "attempts"})
    if parsed and count < len(parsed):
        raise InvalidInputError(
            f"{count} attempt(s) cannot try {len(parsed)} models: give --attempts at least "
            f"{len(parsed)}, or leave it out for one attempt per model",
            fields={"option": "attempts"})
    if not parsed:
        return [None] * count
    return [parsed[i % len(parsed)] for i in range(count)]


def _task(text: str) -> tuple[str, str]:
    """The group's name (the task's first line, shortened) and the prompt (all of it)."""
    from synthetic_ls.ops.constructs import normalize_description

    prompt = normalize_description(text)
    if not prompt:
        raise InvalidInputError("the task is empty: say what the agents should do")
    first = prompt.splitlines()[0].strip()
    # Members are called "<name> #<n>": leave room for the suffix.
    limit = NAME_MAX - 4
    return (first if len(first) <= limit else first[: limit - 3] + "..."), prompt


# -- results ---------------------------------------------------------------------------


class MemberJson(TypedDict):
    """One member of a group: its construct's id, name, status and model (``gone``: its
    record was removed since)."""

    id: str
    name: str | None
    status: str | None
    model: str | None
    branch: str | None
    workspace_path: str | None
    opencode_session_id: str | None
    gone: bool


class GroupJson(TypedDict):
    """``synthetic.group.show|create``: a group of attempts and its members (``operation``:
    the operation in progress or interrupted, else null; ``usage``: what its agents cost
    together, as the running server tells it now, null when it told nothing)."""

    id: str
    name: str
    prompt: str
    template_id: str
    models: list[str]
    members: list[MemberJson]
    created_at: str
    operation: str | None
    usage: UsageJson | None


class GroupListJson(TypedDict):
    """``synthetic.group.list``: every group, oldest first, unreadable files, and what every
    group's agents cost together."""

    groups: list[GroupJson]
    broken: list[str]
    usage: UsageJson


class GroupRemovedJson(TypedDict):
    """``synthetic.group.delete``: the group removed, and notes on each member removed."""

    removed: str
    members: list[str]
    notes: list[str]


@dataclass(frozen=True)
class GroupView:
    """A group with its members as their records are now."""

    group: Group
    members: list[tuple[str, Construct | None]]
    #: What the members' agents cost together (None: no server told it).
    usage: Usage | None = None

    def to_dict(self) -> GroupJson:
        """The JSON form (:class:`GroupJson`)."""
        journal = self.group.journal
        operation = None
        if journal is not None:
            dead = journal.stopped or journal.owner.liveness() is Liveness.DEAD
            operation = f"{journal.op} ({'interrupted' if dead else 'running'})"
        return {
            "id": self.group.id, "name": self.group.name, "prompt": self.group.prompt,
            "template_id": self.group.template_id, "models": list(self.group.models),
            "members": [_member(cid, c) for cid, c in self.members],
            "created_at": format_timestamp(self.group.created_at),
            "operation": operation,
            "usage": self.usage.to_dict() if self.usage is not None else None,
        }


def _member(cid: str, c: Construct | None) -> MemberJson:
    if c is None:
        return {"id": cid, "name": None, "status": None, "model": None, "branch": None,
                "workspace_path": None, "opencode_session_id": None, "gone": True}
    return {"id": cid, "name": c.name, "status": c.status.value, "model": c.model,
            "branch": c.branch, "workspace_path": c.workspace_path,
            "opencode_session_id": c.opencode_session_id, "gone": False}


@dataclass(frozen=True)
class GroupList:
    """Every readable group, and what could not be read."""

    views: list[GroupView]
    broken: list[str]

    def to_dict(self) -> GroupListJson:
        """``{"groups": [...], "broken": [...], "usage": {...}}``."""
        return {"groups": [v.to_dict() for v in self.views], "broken": list(self.broken),
                "usage": total(v.usage for v in self.views).to_dict()}


@dataclass(frozen=True)
class GroupRemoved:
    """A removed group: its id, its members' ids, notes on what was released."""

    group: Group
    members: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> GroupRemovedJson:
        """``{"removed", "members", "notes"}``."""
        return {"removed": self.group.id, "members": list(self.members),
                "notes": list(self.notes)}


# -- reads -------------------------------------------------------------------------------


def members_of(store: StateStore, group: Group) -> list[Construct]:
    """Every construct of ``group`` now: listed in it, or carrying its id (one whose
    creation was cut off before the group record named it)."""
    return [c for c in store.list_constructs().records
            if c.group_id == group.id or c.id in group.members]


def _view(store: StateStore, group: Group, constructs: list[Construct],
          usages: dict[str, Usage | None] | None = None) -> GroupView:
    by_id = {c.id: c for c in constructs}
    ids = list(group.members) + sorted(
        c.id for c in constructs if c.group_id == group.id and c.id not in group.members)
    usage = None
    if usages is not None:
        told = [usages[cid] for cid in ids if usages.get(cid) is not None]
        usage = total(told) if told else None
    return GroupView(group, [(cid, by_id.get(cid)) for cid in ids], usage)


def _usages(store: StateStore, constructs: list[Construct]) -> dict[str, Usage | None]:
    """What each construct's agent cost, from the running server (none is started)."""
    from synthetic_ls.ops.agent_status import poll_agents

    return {cid: info.usage for cid, info in poll_agents(Context(store), constructs).items()}


def list_groups(store: StateStore) -> GroupList:
    """Every group with its members and what their agents cost; reads only."""
    listed = store.list(Group)
    constructs = store.list_constructs().records
    grouped = {cid for g in listed.records for cid in g.members} | {
        c.id for c in constructs if c.group_id}
    usages = _usages(store, [c for c in constructs if c.id in grouped])
    views = [_view(store, g, constructs, usages)
             for g in sorted(listed.records, key=lambda g: (g.created_at, g.id))]
    return GroupList(views, [str(b) for b in listed.broken])


def show_group(store: StateStore, ref: str, *, usage: bool = True) -> GroupView:
    """One group by id, unique id prefix or exact name, with what its agents cost (not
    asked with ``usage`` False); reads only."""
    group = store.resolve(Group, ref)
    constructs = store.list_constructs().records
    if not usage:
        return _view(store, group, constructs)
    mine = [c for c in constructs if c.group_id == group.id or c.id in group.members]
    return _view(store, group, constructs, _usages(store, mine))


# -- creation -------------------------------------------------------------------------------


def create_group(
    store: StateStore,
    options: GroupOptions,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    consent: Consent = NOBODY,
) -> GroupView:
    """Create every member from one template, then send each agent the prompt.

    All or nothing: a failure (Ctrl-C too) removes the members made so far and
    the group record, and raises :class:`GroupFailedError`; a crash leaves the
    journal for :func:`recover_group`. ``progress`` is told each member's steps,
    titled ``attempt N/M: <step>``.
    """
    from synthetic_ls.ops.constructs import CreateOptions, create_construct
    from synthetic_ls.ops.session import send_prompt

    name, prompt = _task(options.task)
    models = member_models(options.attempts, options.models)
    ctx = Context(store, consent=consent)
    template_id, _template, _config = ctx.choose_template(options.template_id)
    with store.lock():
        now = utc_now()
        group = Group(
            id=store.new_id(Group, name), name=name, prompt=prompt, template_id=template_id,
            models=[m for m in models if m is not None] if options.models else [],
            members=[], created_at=now, updated_at=now, journal=Journal.begin("create"),
        )
        store.create(group)
    total = len(models)
    attempt = 0
    try:
        for attempt, model in enumerate(models, start=1):
            if cancelled is not None and cancelled():
                # Between two attempts: the ones made are undone like a failure.
                raise OperationCancelledError("the creation of the group was cancelled")
            _step(store, group.id, f"member-{attempt}")
            member = create_construct(
                store,
                CreateOptions(name=f"{name} #{attempt}", template_id=template_id,
                              description=prompt, from_ref=options.from_ref, agent=True,
                              model=model, group_id=group.id),
                progress=_titled(progress, attempt, total), cancelled=cancelled,
                consent=consent)
            _add_member(store, group.id, member.construct.id)
        attempt = 0  # the prompts: a failure there is the group's, not one attempt's
        _step(store, group.id, "send")
        current = store.get(Group, group.id)
        for number, cid in enumerate(current.members, start=1):
            if progress is not None:
                progress(0, 0, f"attempt {number}/{total}: sending the prompt")
            send_prompt(store, cid, prompt, consent=consent)
        store.update(Group, group.id, lambda _g: {"journal": None, "updated_at": utc_now()})
    except BaseException as exc:
        try:
            undone = _undo(Context(store, consent=consent), store.get(Group, group.id))
        except BaseException:
            # Nobody carries on from here: `doctor --fix` may take it over even while
            # this process lives on (a language server).
            stop_journal(store, group.id)
            raise
        if attempt == 1 and not isinstance(exc, KeyboardInterrupt) and isinstance(
                exc, CodedError):
            # Nothing was made: the first member's own error, as `new` would say it.
            raise
        raise GroupFailedError(attempt, total, exc, undone) from exc
    return show_group(store, group.id)


def stop_journal(store: StateStore, group_id: str) -> None:
    """Mark the group's operation as failed and stopped: recovery may take it over."""

    def change(g: Group) -> dict[str, Any]:
        return {"journal": g.journal.stop()} if g.journal else {}

    store.update(Group, group_id, change)


def _add_member(store: StateStore, group_id: str, construct_id: str) -> None:
    def change(g: Group) -> dict[str, Any]:
        return {"members": [*g.members, construct_id], "updated_at": utc_now()}

    store.update(Group, group_id, change)


def _titled(progress: Progress | None, attempt: int, total: int) -> Progress | None:
    if progress is None:
        return None

    def tell(number: int, steps: int, title: str) -> None:
        progress(number, steps, f"attempt {attempt}/{total}: {title}")

    return tell


def _step(store: StateStore, group_id: str, name: str) -> None:
    """Journal that step ``name`` of the group's operation begins (the last one is done)."""

    def change(g: Group) -> dict[str, Any]:
        assert g.journal is not None
        return {"journal": g.journal.step(name), "updated_at": utc_now()}

    store.update(Group, group_id, change)


def _undo(ctx: Context, group: Group, *, keep: str | None = None) -> list[str]:
    """Remove every member of ``group`` but ``keep`` (forced: what they did goes), then
    the record; what each removal said, in order."""
    from synthetic_ls.ops.constructs import remove

    notes: list[str] = []
    for member in members_of(ctx.store, group):
        if member.id == keep:
            continue
        try:
            # A member whose own creation was cut off is rolled back by its journal
            # (removal settles it first); the others are removed, forced.
            removed = remove(ctx, member.id, ReleaseSettings(force=True))
        except RecordNotFoundError:
            continue
        notes.append(f"removed {member.id}" + (f": {'; '.join(removed.notes)}"
                                               if removed.notes else ""))
    ctx.store.delete(Group, group.id)
    return notes


# -- removal and recovery ---------------------------------------------------------------------


def remove_group(
    store: StateStore, ref: str, *, force: bool = False, consent: Consent = NOBODY
) -> GroupRemoved:
    """Remove the group and every member (their worktrees, branches, sessions ...).

    Without ``force`` a member with work that would be lost (unmerged commits,
    uncommitted changes) refuses it before anything changes; journalled
    (``remove``, finished by recovery).
    """
    from synthetic_ls.ops.removal_preview import preview_of

    group = store.resolve(Group, ref)
    if group.journal is not None and not _dead(group):
        raise ConflictError(f"group {group.id} is busy: its {group.journal.op} is running",
                            fields={"group": group.id})
    ctx = Context(store, consent=consent)
    members = members_of(store, group)
    if not force:
        at_risk = [m.id for m in members if preview_of(ctx, m).force_required]
        if at_risk:
            raise ConflictError(
                f"removing group {group.id} would lose work in {', '.join(at_risk)}; land "
                "what you want to keep, or pass --force", fields={"members": at_risk})
    store.update(Group, group.id, lambda _g: {"journal": Journal.begin("remove")})
    try:
        notes = _undo(ctx, store.get(Group, group.id))
    except BaseException:
        stop_journal(store, group.id)  # `doctor --fix` finishes it
        raise
    return GroupRemoved(group, [m.id for m in members], notes)


def _dead(group: Group) -> bool:
    journal = group.journal
    return journal is not None and (journal.stopped or journal.owner.liveness() is Liveness.DEAD)


def interrupted_groups(store: StateStore) -> list[Group]:
    """Groups whose operation's process is gone (or that failed and stopped); reads only."""
    return [g for g in store.list(Group).records if _dead(g)]


def recover_group(store: StateStore, group: Group) -> list[str]:
    """Finish or undo the group's interrupted operation.

    ``create`` and ``remove`` end the same way: every member removed, then the
    record. ``pick`` keeps the landed member (fact ``kept``) and removes the others.
    """
    try:
        current = store.get(Group, group.id)
    except RecordNotFoundError:
        return ["nothing left to recover"]
    if not _dead(current) or current.journal is None:
        return ["nothing left to recover"]

    def take_over(g: Group) -> dict[str, Any]:
        # This process carries on (and any removal it starts) from here.
        return {"journal": g.journal.taken_over()} if g.journal else {}

    store.update(Group, current.id, take_over)
    keep = current.journal.facts.get("kept") if current.journal.op == "pick" else None
    how = {"create": "rolled back", "remove": "finished", "pick": "finished"}.get(
        current.journal.op, "settled")
    notes = _undo(Context(store), store.get(Group, current.id), keep=keep)
    return [f"{how} the {current.journal.op} of group {current.id}", *notes]

