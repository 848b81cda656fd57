"""Pydantic models of every record kind, and their TOML value mapping.

Conventions shared by all kinds (see README.md):

* timestamps are RFC 3339 strings in UTC with a ``Z`` and millisecond
  precision (``"2025-05-01T09:30:00.000Z"``); a native TOML offset date-time
  is accepted on read, a date-time without offset is not;
* an unset optional field is written by **omitting its key**; on read an empty
  string in an optional field also means unset;
* keys this version does not know are kept (``extra="allow"``) and survive a
  rewrite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
)

from state_format.ids import ID_PATTERN
from state_format.journal import OPERATIONS, Journal
from state_format.owner import Owner
from state_format.statuses import Status
from state_format.timefmt import format_timestamp as format_timestamp  # re-exported
from state_format.timefmt import utc_now as utc_now  # re-exported

#: Longest construct name accepted (characters, after trimming).
NAME_MAX = 200
#: Largest process id a record may hold: ``pid_t`` is a signed 32-bit integer on
#: Linux and macOS. Anything beyond is not a process (``os.kill`` would raise
#: OverflowError), and 0 or a negative id would signal a whole process group.
PID_MAX = 2**31 - 1


def _aware_utc(value: Any) -> Any:
    """Reject naive date-times (no offset) and normalise aware ones to UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset, e.g. 2025-05-01T09:30:00Z")
        return value.astimezone(UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)  # 3.11 reads "Z" and fractions
        if parsed.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset, e.g. 2025-05-01T09:30:00Z")
        return parsed.astimezone(UTC)
    raise ValueError("timestamp must be an RFC 3339 string")


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


def _journal(value: Any) -> Journal | None:
    """A journal from its TOML table (or as given); ValueError names the bad part."""
    if value is None or isinstance(value, Journal):
        return value
    return Journal.from_toml(value)


_OWNER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The process running the operation.",
    "properties": {
        "pid": {"type": "integer", "minimum": 1, "maximum": 2147483647},
        "start": {"type": "integer", "description": "Start time, clock ticks since boot."},
        "host": {"type": "string", "description": "/etc/machine-id, else host:<name>."},
        "boot": {"type": "string", "description": "The kernel's boot id."},
        "pidns": {"type": "string", "description": "PID namespace, e.g. pid:[4026531836]."},
    },
    "required": ["pid"],
}

#: JSON Schema of the ``journal`` table (see state_format/journal.py).
JOURNAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An operation in progress on this construct (absent when none).",
    "properties": {
        "op": {"enum": list(OPERATIONS)},
        "owner": _OWNER_SCHEMA,
        "started": {"type": "array", "items": {"type": "string"}},
        "done": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "integer"}},
        "restore": {"type": "object", "additionalProperties": {"type": "string"}},
        "facts": {
            "type": "object", "additionalProperties": {"type": "string"},
            "description": "What recovery needs that is not a record field.",
        },
        "stopped": {"type": "boolean", "description": "It failed; nobody works on it."},
    },
    "required": ["op", "owner"],
}

#: The ``journal`` field's type: read from and written as its TOML table.
JournalField = Annotated[
    Journal | None,
    PlainValidator(_journal),
    PlainSerializer(lambda j: j.to_toml() if j is not None else None),
    WithJsonSchema({"anyOf": [JOURNAL_SCHEMA, {"type": "null"}]}),
]


class Record(BaseModel):
    """Base of every record kind: an ``id`` and the shared conventions."""

    # defer_build: each kind builds its validator on first use, so a command
    # that touches only constructs does not pay for the other kinds at start-up.
    model_config = ConfigDict(
        extra="allow", validate_assignment=False, use_enum_values=False, defer_build=True
    )

    #: Folder under the state root holding this kind's files (set per subclass).
    folder: ClassVar[str] = ""
    #: Name of the record kind in messages and schema file names.
    kind: ClassVar[str] = ""
    _timestamp_fields: ClassVar[tuple[str, ...]] = ()
    _optional_str_fields: ClassVar[tuple[str, ...]] = ()

    id: str = Field(pattern=ID_PATTERN, description="Unique id; also the file name without .toml.")

    def to_toml_values(self) -> dict[str, Any]:
        """Key/value pairs to write, in field order; unset optionals omitted."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = _to_toml(value)
        for key, value in (self.model_extra or {}).items():
            out[key] = value
        return out


def _to_toml(value: Any) -> Any:
    if isinstance(value, Journal):
        return value.to_toml()
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Status):
        return value.value
    if isinstance(value, BaseModel):
        return {k: v for k, v in value.model_dump(mode="json").items() if v is not None}
    if isinstance(value, dict):
        return {k: _to_toml(v) for k, v in value.items()}
    return value


class CheckRun(BaseModel):
    """The last run of one of the template's checks in the construct's worktree."""

    model_config = ConfigDict(extra="allow")

    command: str = Field(description="The shell command that ran (the template's `run`).")
    passed: bool = Field(description="True when it exited with status 0 within its time.")
    exit_code: int | None = Field(
        default=None, description="Its exit status; absent when it was stopped (timed out) "
        "or killed by a signal.")
    timed_out: bool = Field(default=False, description="True when it ran out of time and was "
                            "stopped (then it did not pass).")
    duration_ms: int = Field(ge=0, description="How long it ran, in milliseconds.")
    finished_at: str = Field(description="When it ended, RFC 3339 UTC.")
    head: str | None = Field(
        default=None, description="The worktree's HEAD commit when it ran (uncommitted changes "
        "may have been there too).")
    output: list[str] = Field(default_factory=list,
                              description="The last lines of its output (each cut short).")
    log: str | None = Field(default=None, description="The file with its whole output.")


class Construct(Record):
    """One construct: a unit of work with its own worktree, session and services."""

    folder: ClassVar[str] = "constructs"
    kind: ClassVar[str] = "construct"

    name: str = Field(min_length=1, description="What a person calls it; any Unicode text.")
    description: str = Field(default="", description="Free text; empty string when none.")
    template_id: str = Field(min_length=1, description="Id of the template in synthetic.config.ts.")
    workspace_path: str | None = Field(
        default=None, description="Absolute path of the construct's git worktree."
    )
    opencode_session_id: str | None = Field(default=None, description="OpenCode session id.")
    status: Status = Field(description="Lifecycle status; see the transition table.")
    created_at: datetime = Field(description="RFC 3339 UTC.")
    updated_at: datetime = Field(description="RFC 3339 UTC; changes on every update.")
    branch: str | None = Field(default=None, description="Branch checked out in the worktree.")
    base_ref: str | None = Field(default=None, description="Ref the branch was created from.")
    base_commit: str | None = Field(default=None, description="Commit id base_ref pointed at.")
    no_agent: bool | None = Field(
        default=None,
        description="True when the construct was made without an agent session (`new "
        "--no-agent`): a worktree added to it later gets none either. Absent: as its template "
        "says.",
    )
    landed_tip: str | None = Field(
        default=None,
        description="The branch's tip when it was landed as one squash commit: its work is in "
        "the target though none of its commits is, so removal deletes the branch while it is "
        "still at that tip.",
    )
    branch_owned: bool | None = Field(
        default=None,
        description="True when Synthetic created the branch (removal may delete it); false for "
        "a branch it found (an imported worktree's), which it never deletes. Absent in records "
        "written before: then a branch is Synthetic's when its name ends in the construct's id.",
    )
    isolation: str | None = Field(
        default=None,
        description="Where the construct's agent and services run when its template isolates "
        "them: `bubblewrap` or `container` (then `isolation_image` names the image). Absent: "
        "as the person, on this machine.",
    )
    isolation_image: str | None = Field(
        default=None, description="The container image of a `container` construct."
    )
    isolation_devcontainer: str | None = Field(
        default=None,
        description="A `container` construct with no `isolation_image`: the devcontainer.json "
        "(relative to the repository root) whose `image` its containers run.",
    )
    error: str | None = Field(
        default=None,
        description="While status is error after a failed creation kept on request: which "
        "step failed and why.",
    )
    group_id: str | None = Field(
        default=None,
        description="Id of the group of attempts (`groups/<id>.toml`) it was made in by `new "
        "--attempts`/`--model`; written with the record, before any resource, so that a "
        "group's recovery finds every member. Absent: a construct of its own.",
    )
    model: str | None = Field(
        default=None,
        description="`provider/model` its agent session uses instead of its template's "
        "(`new --model`). Absent: the template's.",
    )
    checks: dict[str, CheckRun] | None = Field(
        default=None,
        description="The last run of each of its template's checks (`synthetic check`), by "
        "check name: written when a run ends, so that a comparison reads them without "
        "running them again.",
    )
    journal: JournalField = Field(
        default=None,
        description="While an operation changes this construct (create, add-worktree, "
        "remove, remove-worktree, services-start/stop/restart/resume, prompts-build, commit, "
        "land, resolve, check): which, run by which process, the steps begun and done, and "
        "what recovery needs. Recovery undoes or finishes an operation whose process is gone.",
    )

    _v_time = field_validator("created_at", "updated_at", mode="before")(_aware_utc)
    _v_empty = field_validator(
        "workspace_path", "opencode_session_id", "branch", "base_ref", "base_commit", "error",
        "group_id", "model", mode="before",
    )(_empty_is_none)


class PromptBundle(Record):
    """The assembled prompt given to a construct's agent (one per construct)."""

    folder: ClassVar[str] = "prompt_bundles"
    kind: ClassVar[str] = "prompt_bundle"

    construct_id: str = Field(pattern=ID_PATTERN, description="Id of the owning construct.")
    content: str = Field(description="The prompt text (a TOML multi-line string).")
    token_count: int | None = Field(default=None, ge=0, description="Estimated tokens.")
    token_method: str | None = Field(
        default=None, description="How token_count was made (a tokenizer, or an estimate)."
    )
    created_at: datetime = Field(description="RFC 3339 UTC.")

    _v_time = field_validator("created_at", mode="before")(_aware_utc)


class PortAllocation(Record):
    """A TCP port reserved for one service of one construct (filled by a later issue)."""

    folder: ClassVar[str] = "port_allocations"
    kind: ClassVar[str] = "port_allocation"

    construct_id: str = Field(pattern=ID_PATTERN, description="Id of the owning construct.")
    service_name: str = Field(min_length=1, description="Service (or port request) name.")
    port: int = Field(ge=1, le=65535, description="The allocated TCP port.")
    allocated_at: datetime = Field(description="RFC 3339 UTC.")

    name: str | None = Field(
        default=None,
        description="Name of the port request within the service (e.g. `http`); "
        "absent for a service's only port.",
    )
    env: str | None = Field(
        default=None, description="Environment variable that carries the port to the services."
    )

    _v_time = field_validator("allocated_at", mode="before")(_aware_utc)
    _v_empty = field_validator("name", "env", mode="before")(_empty_is_none)


#: Service statuses a record may hold (``needs_resume`` is only ever shown, never
#: stored: it is a running status whose process is gone).
SERVICE_STATUSES = ("starting", "ready", "stopped", "failed")


class Service(Record):
    """A managed service (dev server, container) of a construct (filled by a later issue)."""

    folder: ClassVar[str] = "services"
    kind: ClassVar[str] = "service"

    construct_id: str = Field(pattern=ID_PATTERN, description="Id of the owning construct.")
    name: str = Field(min_length=1, description="Service name from the template.")
    type: str = Field(description='"process", "docker" or "compose".')
    command: str | None = Field(default=None, description="Command line as run.")
    cwd: str | None = Field(default=None, description="Working folder.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment given to the service (may hold secrets)."
    )
    pid: int | None = Field(default=None, ge=1, le=PID_MAX, description="Process id while running.")
    status: str = Field(description="starting, ready, stopped or failed.")
    ready_pattern: str | None = Field(default=None, description="Regex marking readiness.")
    started_at: datetime | None = Field(default=None, description="RFC 3339 UTC.")
    stopped_at: datetime | None = Field(default=None, description="RFC 3339 UTC.")
    start: int | None = Field(
        default=None,
        ge=0,
        description="Start time of process `pid` (clock ticks since boot, /proc/<pid>/stat "
        "field 22): a live pid with another start time is a reused pid, not the service.",
    )
    host: str | None = Field(default=None, description="Machine id of the host it runs on.")
    boot: str | None = Field(default=None, description="Boot id when it was started.")
    pidns: str | None = Field(default=None, description="PID namespace `pid` is seen in.")
    log: str | None = Field(default=None, description="File the service's output goes to.")
    container: str | None = Field(
        default=None, description="docker: container name; compose: project name."
    )
    error: str | None = Field(default=None, description="Why it failed (status failed).")

    @field_validator("started_at", "stopped_at", mode="before")
    @classmethod
    def _v_time(cls, value: Any) -> Any:
        return None if value in (None, "") else _aware_utc(value)

    _v_empty = field_validator(
        "command", "cwd", "ready_pattern", "host", "boot", "pidns", "log", "container", "error",
        mode="before",
    )(_empty_is_none)

    def process(self) -> Owner | None:
        """The recorded process (pid, start time, host, boot, namespace), or None."""
        if self.pid is None:
            return None
        return Owner(self.pid, self.start, self.host or "", self.boot or "", self.pidns or "")


class RemoteConstruct(Record):
    """Where a construct made on another machine (``new --host``) lives; its state is the
    remote's own, read over SSH."""

    folder: ClassVar[str] = "remotes"
    kind: ClassVar[str] = "remote_construct"

    name: str = Field(min_length=1, description="The name given to `new --host`.")
    host: str = Field(min_length=1, description="The host's name in the person's hosts file.")
    url: str = Field(
        min_length=1,
        description="The host's address when the construct was made "
        "(`ssh://[user@]host[:port]/path/to/clone`): the remote repository's clone.",
    )
    template_id: str | None = Field(default=None, description="Template asked for, if any.")
    remote_id: str | None = Field(
        default=None,
        description="The construct's id in the remote repository; absent until the remote "
        "made it.",
    )
    start_commit: str | None = Field(
        default=None, description="The commit pushed as the construct's start point."
    )
    base_ref: str | None = Field(
        default=None,
        description="The local branch the start point came from (`refs/heads/<name>`), when "
        "it was one: the branch `land` lands into unless told otherwise.",
    )
    incoming_ref: str | None = Field(
        default=None,
        description="The ref the start point was pushed to in the remote clone "
        "(`refs/synthetic/incoming/<id>`).",
    )
    created_at: datetime = Field(description="RFC 3339 UTC.")
    updated_at: datetime = Field(description="RFC 3339 UTC; changes on every update.")
    journal: JournalField = Field(
        default=None,
        description="While a creation (`create`), removal (`remove`) or landing (`land`) is "
        "in progress: its steps (`push`, `remote-new`; `remote-rm`; `fetch`, the local "
        "landing's git steps, `remote-status`), so that recovery can undo or finish it "
        "on both machines.",
    )

    _v_time = field_validator("created_at", "updated_at", mode="before")(_aware_utc)
    _v_empty = field_validator(
        "template_id", "remote_id", "start_commit", "base_ref", "incoming_ref", mode="before"
    )(_empty_is_none)


class Group(Record):
    """A group of attempts at one task (``new --attempts N`` / ``--model``): constructs made
    from one template and one prompt, each with its own worktree, branch and session."""

    folder: ClassVar[str] = "groups"
    kind: ClassVar[str] = "group"

    name: str = Field(min_length=1, description="The task's name (its first line).")
    prompt: str = Field(min_length=1, description="The prompt every member's agent was sent.")
    template_id: str = Field(min_length=1, description="Template every member was made from.")
    models: list[str] = Field(
        default_factory=list,
        description="`provider/model` of each member in order (`--model`); empty when every "
        "member uses its template's model.",
    )
    members: list[str] = Field(
        default_factory=list,
        description="Ids of the member constructs, in order of creation. A member removed "
        "on its own (`rm`, `discard`) stays listed, shown as gone.",
    )
    created_at: datetime = Field(description="RFC 3339 UTC.")
    updated_at: datetime = Field(description="RFC 3339 UTC; changes on every update.")
    journal: JournalField = Field(
        default=None,
        description="While the group is created (`create`: steps `member-<n>`, then "
        "`send`), removed (`remove`) or picked (`pick`: one member landed, the others "
        "discarded; fact `kept`). Recovery of a dead `create` or `remove` removes every "
        "construct whose `group_id` is this group, then the record; of a `pick`, every one but "
        "the kept.",
    )

    _v_time = field_validator("created_at", "updated_at", mode="before")(_aware_utc)


class FormatMarker(BaseModel):
    """``format.toml``: the format version of the whole state folder."""

    model_config = ConfigDict(extra="allow")

    version: int = Field(
        ge=0, strict=True, description="Format version; this Synthetic writes 1."
    )


#: Every record kind, by its ``kind`` name.
RECORD_KINDS: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (Construct, PromptBundle, PortAllocation, Service, RemoteConstruct, Group)
}
