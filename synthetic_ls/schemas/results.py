"""Which results have a schema, and how a ``TypedDict`` becomes one.

The schema is pydantic's (``TypeAdapter(...).json_schema()``), tidied so that
both a validator and a code generator read it the same way:

* a ``TypedDict``'s name loses its ``Json`` suffix (``RemovalPreviewJson``
  is ``RemovalPreview``): that is the name generated types get;
* objects admit no other keys (``additionalProperties: false``), so a key
  the code adds without declaring it fails the tests that validate real
  results, and generated types have no catch-all index signature;
* properties carry no ``title`` (a generator would make a type of each).

A shape used by several results (``Commit``, ``Construct`` ...) is the same
``$defs`` entry in each file; :func:`generate` refuses two different shapes
under one name, so the generated types can declare each once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from synthetic_ls.ops.attempts_diff import AttemptsDiffJson
from synthetic_ls.ops.checks import ChecksResultJson
from synthetic_ls.ops.commit_work import CommitResultJson
from synthetic_ls.ops.compare import CompareResultJson
from synthetic_ls.ops.config import ConfigInitJson
from synthetic_ls.ops.constructs import (
    CreatedConstructJson,
    EditedConstructJson,
    RemoveResultJson,
    ShownConstructJson,
)
from synthetic_ls.ops.discard import DiscardPreviewJson, DiscardResultJson
from synthetic_ls.ops.doctor import DoctorReportJson
from synthetic_ls.ops.file_versions import FileVersionJson
from synthetic_ls.ops.groups import GroupJson, GroupListJson, GroupRemovedJson
from synthetic_ls.ops.hosts import HostChangeJson, HostCheckJson, HostListJson
from synthetic_ls.ops.land_queue import LandQueueJson
from synthetic_ls.ops.landing import LandPlanJson, LandResultJson
from synthetic_ls.ops.pick import PickPreviewJson, PickResultJson
from synthetic_ls.ops.ports import PortsJson
from synthetic_ls.ops.prompts import PromptBuildJson, PromptPreviewJson
from synthetic_ls.ops.remote_constructs import RemoteCreatedJson, RemoteRemovedJson
from synthetic_ls.ops.remote_landing import RemoteLandResultJson
from synthetic_ls.ops.remote_reach import ServicesOpenJson
from synthetic_ls.ops.removal_preview import RemovalPreviewJson
from synthetic_ls.ops.resolve import ResolveResultJson
from synthetic_ls.ops.review import DiffJson
from synthetic_ls.ops.services import ServiceLogsJson, ServicesJson
from synthetic_ls.ops.session import (
    SessionAbortJson,
    SessionConnectJson,
    SessionLogJson,
    SessionOpenJson,
    SessionPermissionsJson,
    SessionReplyJson,
    SessionSendJson,
    SessionWatchJson,
)
from synthetic_ls.ops.templates import TemplatesJson
from synthetic_ls.ops.trust import TrustJson
from synthetic_ls.ops.version import VersionJson
from synthetic_ls.ops.views import ConstructListJson
from synthetic_ls.ops.watch_all import InputRequestJson
from synthetic_ls.provision.lifecycle import FindingJson

#: Where the schemas are committed.
SCHEMA_DIR = Path(__file__).with_name("results")
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SUFFIX = "Json"


@dataclass(frozen=True)
class Result:
    """One result kind: its file name, its ``TypedDict``, and the commands returning it."""

    name: str
    shape: Any
    #: The language server's commands whose result this is (their ``to_dict()``,
    #: which the CLI's ``--json`` prints too).
    commands: tuple[str, ...]


RESULTS: tuple[Result, ...] = (
    Result("construct-list", ConstructListJson, ("synthetic.construct.list",)),
    Result("construct-show", ShownConstructJson, ("synthetic.construct.show",)),
    Result("construct-create", CreatedConstructJson, ("synthetic.construct.create",)),
    Result(
        "construct-edit",
        EditedConstructJson,
        ("synthetic.construct.update", "synthetic.construct.review"),
    ),
    Result("removal-preview", RemovalPreviewJson, ("synthetic.construct.removalPreview",)),
    Result("remove-result", RemoveResultJson, ("synthetic.construct.delete",)),
    Result("diff", DiffJson, ("synthetic.construct.diff",)),
    Result("file-version", FileVersionJson, ("synthetic.construct.file",)),
    Result("commit-result", CommitResultJson, ("synthetic.construct.commit",)),
    Result("land-plan", LandPlanJson, ("synthetic.construct.landPlan",)),
    Result("land-result", LandResultJson, ("synthetic.construct.land",)),
    Result("land-queue", LandQueueJson, ("synthetic.construct.landQueue",)),
    Result("resolve-result", ResolveResultJson, ("synthetic.construct.resolve",)),
    Result("discard-preview", DiscardPreviewJson, ("synthetic.construct.discardPreview",)),
    Result("discard-result", DiscardResultJson, ("synthetic.construct.discard",)),
    Result("group", GroupJson, ("synthetic.group.create", "synthetic.group.show")),
    Result("group-list", GroupListJson, ("synthetic.group.list",)),
    Result("group-removed", GroupRemovedJson, ("synthetic.group.delete",)),
    Result("pick-preview", PickPreviewJson, ("synthetic.group.pickPreview",)),
    Result("pick-result", PickResultJson, ("synthetic.group.pick",)),
    Result("compare-result", CompareResultJson, ("synthetic.group.compare",)),
    Result("attempts-diff", AttemptsDiffJson, ("synthetic.group.diffAttempts",)),
    Result("templates", TemplatesJson, ("synthetic.config.templates",)),
    Result("config-init", ConfigInitJson, ("synthetic.config.init",)),
    Result("doctor-report", DoctorReportJson, ("synthetic.doctor.run",)),
    Result("doctor-finding", FindingJson, ("synthetic.doctor.fix",)),
    Result(
        "services-status",
        ServicesJson,
        (
            "synthetic.services.status",
            "synthetic.services.start",
            "synthetic.services.stop",
            "synthetic.services.restart",
            "synthetic.services.resume",
        ),
    ),
    Result("service-logs", ServiceLogsJson, ("synthetic.services.logs",)),
    Result("ports", PortsJson, ("synthetic.ports.list",)),
    Result("session-open", SessionOpenJson, ("synthetic.session.open",)),
    Result("session-send", SessionSendJson, ("synthetic.session.send",)),
    Result("session-watch", SessionWatchJson, ("synthetic.session.watch",)),
    Result("session-abort", SessionAbortJson, ("synthetic.session.abort",)),
    Result("session-log", SessionLogJson, ("synthetic.session.log",)),
    Result("session-permissions", SessionPermissionsJson, ("synthetic.session.permissions",)),
    Result(
        "session-reply", SessionReplyJson, ("synthetic.session.approve", "synthetic.session.deny")
    ),
    Result("prompt-build", PromptBuildJson, ("synthetic.prompts.build",)),
    Result("prompt-preview", PromptPreviewJson, ("synthetic.prompts.preview",)),
    Result("trust", TrustJson,
           ("synthetic.trust.preview", "synthetic.trust.allow", "synthetic.trust.revoke")),
    Result("host-list", HostListJson, ("synthetic.host.list",)),
    Result("host-check", HostCheckJson, ("synthetic.host.check",)),
    # The CLI only, so far: hosts are added in a terminal; the version is what
    # `host check` asks another machine's Synthetic.
    Result("host-change", HostChangeJson, ()),
    Result("version", VersionJson, ()),
    # `new --host`; in the editors a command of its own (`createRemote`).
    Result("remote-created", RemoteCreatedJson, ("synthetic.construct.createRemote",)),
    # `rm` and `land` of a construct on another machine: a command's answer is then
    # this form or the local one (its show, diff, log, previews, commit and discard
    # answer the host's JSON in the local forms).
    Result("remote-removed", RemoteRemovedJson, ("synthetic.construct.delete",)),
    Result("remote-land-result", RemoteLandResultJson, ("synthetic.construct.land",)),
    # `services open` of a construct on another machine (the CLI only, so far), and the
    # plumbing another machine's Synthetic runs over ssh to reach an agent here.
    Result("services-open", ServicesOpenJson, ("synthetic.services.open",)),
    Result("session-connect", SessionConnectJson, ()),
    # `show` carries the recorded results too.
    Result("checks-result", ChecksResultJson, ("synthetic.construct.check",)),
    # One line of `session watch --all --json`: a request of an agent for its person.
    Result("input-request", InputRequestJson, ()),
)


def _name(title: str) -> str:
    return title.removesuffix(_SUFFIX) if title.endswith(_SUFFIX) else title


def _tidy(node: Any, *, is_property: bool = False) -> Any:
    """The schema with names unsuffixed, closed objects and no property titles."""
    if isinstance(node, list):
        return [_tidy(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            if is_property:
                continue
            out[key] = _name(value)
        elif key == "$ref" and isinstance(value, str):
            base, _, ref = value.rpartition("/")
            out[key] = f"{base}/{_name(ref)}"
        elif key == "$defs":
            out[key] = {_name(k): _tidy(v) for k, v in sorted(value.items())}
        elif key == "properties":
            out[key] = {k: _tidy(v, is_property=True) for k, v in value.items()}
        else:
            out[key] = _tidy(value)
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def schema_of(result: Result) -> dict[str, Any]:
    """The JSON Schema of ``result``, as committed."""
    body = _tidy(TypeAdapter(result.shape).json_schema())
    commands = ", ".join(result.commands)
    of = (f"The result of {commands} (and of the CLI's --json for the same operation). "
          if commands else "The result of the CLI's --json for this operation. ")
    return {
        "$schema": _DIALECT,
        "$comment": (
            of +
            "Generated from the TypedDicts of synthetic_ls by `python -m synthetic_ls.schemas`; "
            "do not edit by hand."
        ),
        **body,
    }


#: The file that maps every command to its result, with every shape once.
COMMANDS_FILE = "commands.schema.json"


def _one_of(titles: list[str]) -> dict[str, Any]:
    """A command's result: one shape, or (a construct here or on another machine) any of
    several."""
    refs = [{"$ref": f"#/$defs/{t}"} for t in titles]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _commands_schema(shapes: dict[str, Any], by_command: dict[str, list[str]]) -> dict[str, Any]:
    """One self-contained schema: ``{command: its result}``, each shape in ``$defs`` once.

    A client generates its types from this file alone (each declared once), and
    can type a command's answer by its name.
    """
    return {
        "$schema": _DIALECT,
        "$comment": (
            "Every language server command with a typed result, and that result. Generated "
            "by `python -m synthetic_ls.schemas` with the other files of this folder; do not "
            "edit by hand."
        ),
        "$defs": dict(sorted(shapes.items())),
        "title": "CommandResults",
        "description": "The result of each ``synthetic.*`` command (its ``to_dict()``).",
        "type": "object",
        "properties": {c: _one_of(t) for c, t in sorted(by_command.items())},
        "required": sorted(by_command),
        "additionalProperties": False,
    }


def generate() -> dict[str, str]:
    """File name -> JSON text: each result of :data:`RESULTS`, and :data:`COMMANDS_FILE`.

    Raises ValueError when two results define different shapes under one name.
    """
    out: dict[str, str] = {}
    seen: dict[str, tuple[str, Any]] = {}
    by_command: dict[str, list[str]] = {}
    for result in RESULTS:
        schema = schema_of(result)
        named = dict(schema.get("$defs", {}))
        named[schema["title"]] = {k: v for k, v in schema.items() if not k.startswith("$")}
        for name, shape in named.items():
            first = seen.setdefault(name, (result.name, shape))
            if first[1] != shape:
                raise ValueError(
                    f"{name!r} has one shape in {first[0]} and another in {result.name}: "
                    "give one of the TypedDicts another name"
                )
        for c in result.commands:
            by_command.setdefault(c, []).append(schema["title"])
        out[f"{result.name}.schema.json"] = json.dumps(schema, indent=2) + "\n"
    shapes = {name: shape for name, (_, shape) in seen.items()}
    out[COMMANDS_FILE] = json.dumps(_commands_schema(shapes, by_command), indent=2) + "\n"
    return out
