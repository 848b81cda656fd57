"""The typed model of synthetic.config.ts (pydantic), one description per field.

Field names are snake_case in Python and camelCase in the file (pydantic
aliases). The model is the *normalised* form the rest of the program uses:
templates are a dict keyed by id whatever shape the file used, services a
list with ``id``/``name``/``type`` filled in, docker ``"host:container"``
strings turned into :class:`PortRequest` objects, prompt sources into
:class:`PromptSource` objects. The alternative written shapes are described by
the markers in :mod:`synthetic_ls.config.markers`, which the validator and the
JSON Schema export read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.markers import (
    BranchPrefix,
    DefaultFrom,
    Discriminator,
    OrString,
    PortNumber,
    RecordOrArray,
    RegexPattern,
    RepoPath,
    RequiredCode,
    SpecError,
)
from synthetic_ls.config.source import excerpt

DEFAULT_BRANCH_PREFIX = "synthetic/"


class _Model(BaseModel):
    """Base: camelCase aliases in the file, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=False
    )


class EnvRef(BaseModel):
    """``process.env.NAME`` (or ``... ?? "default"``), resolved only at construct creation."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Name of the environment variable.")
    default: str | None = Field(
        default=None, description="Value used when the variable is unset (the `??` operand)."
    )

    def resolve(self, environ: Mapping[str, str]) -> str | None:
        """The variable's value in ``environ``, else the default, else None."""
        value = environ.get(self.name)
        return value if value is not None else self.default


def resolve_env(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace every :class:`EnvRef` in ``value`` (recursively) by its value in ``environ``.

    Strings, numbers and other values are returned unchanged; lists and dicts
    are copied. An unset variable without default resolves to None, and a
    dict entry resolving to None is dropped, the way ``JSON.stringify`` drops
    ``undefined``, so ``env: {TOKEN: process.env.TOKEN}`` simply leaves TOKEN
    unset when the variable is.
    """
    if isinstance(value, EnvRef):
        return value.resolve(environ)
    if isinstance(value, list):
        return [resolve_env(item, environ) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            resolved = resolve_env(item, environ)
            if resolved is not None:
                out[key] = resolved
        return out
    return value


EnvValue = str | EnvRef
Port = Annotated[int, Field(ge=1, le=65535), PortNumber()]


def parse_docker_port(text: str) -> dict[str, Any]:
    """Read a docker port string ``"5432"`` or ``"15432:5432"`` (optionally ``/tcp``)."""
    spec = text.strip()
    for suffix in ("/tcp", "/udp"):
        if spec.endswith(suffix):
            spec = spec[: -len(suffix)]
    parts = spec.split(":")
    # ASCII digits only: str.isdigit() also accepts digits int() refuses ("²").
    if len(parts) not in (1, 2) or not all(p.isascii() and p.isdigit() for p in parts):
        raise SpecError(
            Code.BAD_PORT_SPEC,
            f'Port "{excerpt(text)}" is not of the form "CONTAINER" or "HOST:CONTAINER" '
            '(e.g. "5432:5432").',
        )
    for part in parts:
        # Length first: int() refuses (raises on) more than 4,300 digits.
        if len(part.lstrip("0")) > 5 or not 1 <= int(part) <= 65535:
            raise SpecError(
                Code.PORT_OUT_OF_RANGE, f"Port {excerpt(part)} is out of range (1-65535)."
            )
    numbers = [int(p) for p in parts]
    container = numbers[-1]
    return {"name": str(container), "preferred": numbers[0], "container": container}


def _items_or(alternative: dict[str, Any]) -> Any:
    def extra(schema: dict[str, Any]) -> None:
        schema["items"] = {"anyOf": [schema["items"], alternative]}

    return extra


def _or_string(schema: dict[str, Any]) -> None:
    plain = {k: schema.pop(k) for k in ("type", "items") if k in schema}
    schema["anyOf"] = [plain, {"type": "string"}]


def _record_or_array(schema: dict[str, Any]) -> None:
    item = schema.pop("items", None) or schema.pop("additionalProperties", None)
    schema.pop("type", None)
    schema["anyOf"] = [
        {"type": "object", "additionalProperties": item, "description": "Keyed by id."},
        {"type": "array", "items": item, "description": "Each item has an `id`."},
    ]


_DOCKER_PORT_STRING = {
    "type": "string",
    "pattern": r"^\d+(:\d+)?(/(tcp|udp))?$",
    "description": '"CONTAINER" or "HOST:CONTAINER"; HOST (else CONTAINER) is the preferred '
                   "host port. Containers use the host's network: the container listens on the "
                   "allocated port, given in the port's variable.",
}

StringList = Annotated[list[str], OrString(lambda s: [s])]


class PortRequest(_Model):
    """A port a service needs; Synthetic allocates a free host port for each construct."""

    name: str = Field(description="Name of the port, unique within the service (e.g. `http`).")
    preferred: Port | None = Field(
        default=None,
        description="Host port to use when it is free; another is allocated otherwise.",
    )
    container: Port | None = Field(
        default=None,
        description="Docker services: the port the image listens on by default. Not a mapping: "
        "containers use the host's network, so the container must listen on the allocated "
        "port, given in the port's variable.",
    )
    env: str | None = Field(
        default=None,
        description="Environment variable that receives the allocated port (e.g. `PORT`).",
    )


class TemplatePort(_Model):
    """A template-level port request (older shape): ``{name, preferred, port, service}``."""

    name: str = Field(description="Name of the port, unique within the template.")
    preferred: Port | None = Field(default=None, description="Host port to use when it is free.")
    port: Port | None = Field(
        default=None,
        description="Older spelling of `preferred`; `preferred` wins when both are set.",
    )
    service: str | None = Field(
        default=None, description="Id of the service of this template that uses the port."
    )

    @property
    def preferred_port(self) -> int | None:
        """``preferred``, else the older ``port``."""
        return self.preferred if self.preferred is not None else self.port


_READY_PATTERN_DESCRIPTION = (
    "Regular expression (JavaScript syntax) matched against the service's output; "
    "the service counts as ready at the first match."
)


class _ServiceBase(_Model):
    id: str = Field(
        description="Service id, unique within the template. "
        "In the record form it defaults to the key."
    )
    name: Annotated[str, DefaultFrom("id")] = Field(
        default="", description="Display name. Defaults to the id."
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict,
        description="Environment variables for the service; values may be `process.env.X`.",
    )


class ProcessService(_ServiceBase):
    """A local process started with a shell command in the construct's worktree."""

    type: Literal["process"] = Field(
        default="process", description="Service kind; `process` when omitted."
    )
    run: str = Field(description="Shell command that starts the service (e.g. `npm run dev`).")
    setup: StringList = Field(
        default_factory=list,
        description="Commands run once before the first start (a string or a list).",
        json_schema_extra=_or_string,
    )
    cwd: Annotated[str, RepoPath()] | None = Field(
        default=None,
        description="Working directory relative to the worktree root; must stay inside it.",
    )
    ready_pattern: Annotated[str, RegexPattern()] | None = Field(
        default=None, description=_READY_PATTERN_DESCRIPTION
    )
    ready_timeout_ms: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="How long to wait for `readyPattern`, in milliseconds."
    )
    stop: str | None = Field(
        default=None, description="Shell command that stops the service; SIGTERM when omitted."
    )
    ports: list[PortRequest] = Field(
        default_factory=list, description="Ports the service needs allocated."
    )


class DockerService(_ServiceBase):
    """A container run from an image on the host's network (``--network host``), listening
    on its allocated ports itself: each is given to it in its port variable."""

    type: Literal["docker"] = Field(description="Service kind.")
    image: str = Field(description="Image to run (e.g. `postgres:16`).")
    command: StringList | None = Field(
        default=None,
        description="Command passed to the container (a string or a list of arguments).",
        json_schema_extra=_or_string,
    )
    ports: list[Annotated[PortRequest, OrString(parse_docker_port, numbers=True)]] = Field(
        default_factory=list,
        description='Port requests: objects, or docker strings "CONTAINER" / "HOST:CONTAINER" '
        "(no mapping: the container listens on the allocated port, its variable says which).",
        json_schema_extra=_items_or(_DOCKER_PORT_STRING),
    )
    volumes: list[str] = Field(
        default_factory=list, description="Volume mounts in docker syntax (`name:/path`)."
    )
    ready_pattern: Annotated[str, RegexPattern()] | None = Field(
        default=None, description=_READY_PATTERN_DESCRIPTION
    )
    ready_timeout_ms: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="How long to wait for `readyPattern`, in milliseconds."
    )


class ComposeService(_ServiceBase):
    """Services from a docker compose file, as project ``synthetic-<construct id>`` on the
    host's network (Synthetic adds ``network_mode: host`` to each of its services; the port
    variables are in the environment for the file's ``${...}``)."""

    type: Literal["compose"] = Field(description="Service kind.")
    file: Annotated[str, RepoPath(glob=False, must_match=True)] = Field(
        description="Compose file relative to the repository root."
    )
    services: list[str] = Field(
        default_factory=list, description="Compose services to start; all when empty."
    )


Service = Annotated[
    ProcessService | DockerService | ComposeService, Discriminator("type", default="process")
]


class Agent(_Model):
    """Which model and agent the construct's OpenCode session uses."""

    provider_id: Annotated[
        str,
        RequiredCode(
            Code.AGENT_MISSING_PROVIDER,
            "`agent` has no `providerId`; OpenCode needs the provider to pick the model "
            '(e.g. providerId: "opencode").',
        ),
    ] = Field(description="OpenCode provider id (e.g. `opencode`, `anthropic`).")
    model_id: str | None = Field(default=None, description="Model id within the provider.")
    agent_id: str | None = Field(default=None, description="OpenCode agent to use (e.g. `build`).")


class Isolation(_Model):
    """Run the construct's agent (its OpenCode server) and its services in a sandbox.

    ``bubblewrap``: no image, starts at once; the root read-only, the worktree
    writable, the person's home, the state folder, the main checkout and the
    other constructs' worktrees hidden. ``container``: the same, in a container
    from ``image`` or from a ``devcontainer.json``, on the local Docker engine.
    """

    runtime: Literal["bubblewrap", "container"] = Field(
        description="`bubblewrap` (a sandbox with no image) or `container` (Docker)."
    )
    image: str | None = Field(
        default=None, description="Container image (`container` only; or `devcontainer`)."
    )
    devcontainer: Annotated[str, RepoPath(glob=False, must_match=True)] | None = Field(
        default=None,
        description="A `devcontainer.json` whose `image` the container uses "
        "(`container` only; or `image`).",
    )


def _check_from_string(text: str) -> dict[str, Any]:
    return {"run": text}


#: How long a check may run when its ``timeoutMs`` is not set (10 minutes).
DEFAULT_CHECK_TIMEOUT_MS = 600_000


class Check(_Model):
    """A command that tells whether a construct's work is good (tests, a linter), run in its
    worktree by `synthetic check`: exit status 0 passes."""

    run: str = Field(description="Shell command, run in the construct's worktree "
                     "(e.g. `pytest -q`).")
    cwd: Annotated[str, RepoPath()] | None = Field(
        default=None,
        description="Working directory relative to the worktree root; must stay inside it.",
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict,
        description="Environment variables for the check, on top of the template's `env`; "
        "values may be `process.env.X`.",
    )
    timeout_ms: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Stop the check (and fail it) after this many milliseconds "
        "(default 600000, ten minutes).",
    )


class Template(_Model):
    """A kind of construct: its prompts, services, ports, environment and agent."""

    id: str = Field(description="Template id. In the record form it defaults to the key.")
    label: Annotated[str, DefaultFrom("id")] = Field(
        default="", description="Human name shown in pickers. Defaults to the id."
    )
    summary: str | None = Field(default=None, description="One-line description.")
    type: Literal["implementation", "planning", "manual"] = Field(
        default="manual",
        description="Kind of work: `implementation`, `planning` or `manual` (the default).",
    )
    services: Annotated[list[Service], RecordOrArray("service")] = Field(
        default_factory=list,
        description="Services started for each construct: "
        "a record keyed by id or an array with ids.",
        json_schema_extra=_record_or_array,
    )
    env: dict[str, EnvValue] = Field(
        default_factory=dict, description="Environment for the agent and every service."
    )
    prompts: list[Annotated[str, RepoPath(glob=True, must_match=True, prompt=True)]] = Field(
        default_factory=list,
        description="Prompt files (paths or globs relative to the repository root).",
    )
    agent: Agent | None = Field(default=None, description="Agent settings for the session.")
    setup: StringList = Field(
        default_factory=list,
        description="Shell commands run in a new worktree before services start.",
        json_schema_extra=_or_string,
    )
    teardown: StringList = Field(
        default_factory=list,
        description="Shell commands run before the worktree is removed.",
        json_schema_extra=_or_string,
    )
    include_patterns: list[Annotated[str, RepoPath(glob=True, must_match=True, anywhere=True)]] = (
        Field(
            default_factory=list,
            description="Untracked files copied into the worktree (globs, e.g. `.env*`).",
        )
    )
    ports: list[TemplatePort] = Field(
        default_factory=list,
        description="Template-level port requests (older shape): {name, preferred, port, service}.",
    )
    isolation: Isolation | None = Field(
        default=None,
        description="Run the agent and services in a sandbox: "
        '`{ runtime: "bubblewrap" }` or `{ runtime: "container", image: "..." }`.',
    )
    checks: dict[str, Annotated[Check, OrString(_check_from_string)]] = Field(
        default_factory=dict,
        description="Checks of a construct's work, keyed by name: a shell command, or "
        "`{ run, cwd, env, timeoutMs }` (e.g. `{ test: \"pytest -q\", lint: { run: "
        "\"ruff check .\" } }`). `synthetic check` runs them in the worktree.",
        json_schema_extra=lambda schema: schema.update(additionalProperties={"anyOf": [
            schema.get("additionalProperties", {}),
            {"type": "string", "description": "The check's shell command."}]}),
    )
    review_on_idle: bool = Field(
        default=False,
        description="Move a construct to `reviewing` (instead of `ready`) when its agent "
        "finishes a turn well.",
    )

    def get_service(
        self, service_id: str
    ) -> ProcessService | DockerService | ComposeService | None:
        """The service with this id, or None."""
        return next((s for s in self.services if s.id == service_id), None)


class OpenCode(_Model):
    """How to reach OpenCode and which model to use by default."""

    url: str | None = Field(
        default=None,
        description="URL of an OpenCode server to use (e.g. `http://127.0.0.1:4096`); "
        "when unset, Synthetic starts and manages one per repository.",
    )
    workspace_id: str | None = Field(default=None, description="OpenCode workspace id.")
    token: EnvValue | None = Field(
        default=None, description="Access token; usually `process.env.OPENCODE_TOKEN`."
    )
    default_provider: str | None = Field(
        default=None, description="Provider used when a template's agent names none."
    )
    default_model: str | None = Field(
        default=None, description="Model used when a template's agent names none."
    )


def _prompt_source_from_string(text: str) -> dict[str, Any]:
    return {"path": text}


class PromptSource(_Model):
    """Prompt files added to every construct's prompt bundle."""

    path: Annotated[str, RepoPath(glob=True, must_match=True, prompt=True)] = Field(
        description="File or glob relative to the repository root."
    )
    order: int = Field(
        default=0, description="Position in the bundle: lower first; ties keep file order."
    )


class Defaults(_Model):
    """Defaults applied when a command does not say otherwise."""

    template_id: str | None = Field(
        default=None, description="Template used when creating a construct without naming one."
    )


class Worktrees(_Model):
    """Where construct worktrees go and how their branches are named."""

    root: str | None = Field(
        default=None,
        description="Folder for construct worktrees; relative paths resolve against the "
        "repository root. Unset: the default location outside the checkout.",
    )
    branch_prefix: Annotated[str, BranchPrefix()] = Field(
        default=DEFAULT_BRANCH_PREFIX,
        description='Prefix of construct branch names (default "synthetic/").',
    )


class SyntheticConfig(_Model):
    """The whole synthetic.config.ts: templates and the settings shared by all constructs."""

    opencode: OpenCode = Field(default_factory=OpenCode, description="OpenCode connection.")
    prompt_sources: list[Annotated[PromptSource, OrString(_prompt_source_from_string)]] = Field(
        default_factory=list,
        description="Prompt files for every construct: paths/globs or {path, order}.",
        json_schema_extra=_items_or({"type": "string", "description": "Path or glob."}),
    )
    templates: Annotated[dict[str, Template], RecordOrArray("template")] = Field(
        default_factory=dict,
        description="Templates: a record keyed by id or an array of templates with `id`.",
        json_schema_extra=_record_or_array,
    )
    defaults: Defaults = Field(default_factory=Defaults, description="Defaults.")
    worktrees: Worktrees = Field(
        default_factory=Worktrees, description="Worktree location and branch naming."
    )

    def get_template(self, template_id: str) -> Template | None:
        """The template with this id, or None."""
        return self.templates.get(template_id)

    @property
    def default_template_id(self) -> str | None:
        """``defaults.templateId``: the template used when none is named."""
        return self.defaults.template_id
