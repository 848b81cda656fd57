"""TypeScript declarations of the config format, generated from its JSON Schema.

Editors run TypeScript's own server on ``synthetic.config.ts`` too; without
types for ``@synthetic/config`` it reports the import of
``defineSyntheticConfig`` as unresolved. The VS Code extension ships the
output of :func:`typescript_declarations` (``vscode-extension/types/``,
checked against this generator by a unit test) so that TypeScript
understands the file the way the checker does: the same keys, types and
enums, with the schema's descriptions as JSDoc.

The declarations describe the config as written: a template's or a
service's ``id`` may be omitted where a record key gives it, and an
environment value may be ``process.env.X`` (``string | undefined``).
"""

from __future__ import annotations

import json
from typing import Any

from synthetic_ls.config.jsonschema import json_schema

MODULE = "@synthetic/config"

#: Keys whose value a record key supplies in the record form.
_KEYED = {"Template", "ProcessService", "DockerService", "ComposeService"}

HEADER = """\
// Type declarations of synthetic.config.ts, generated from its JSON Schema by
// synthetic_ls/config/dts.py (`synthetic config schema --format dts`).
// Do not edit: regenerate. They describe what Synthetic's checker accepts, so
// that TypeScript's own server understands the file too.
"""

# `process.env.X` in a config, without @types/node: an interface merge that is
# identical to @types/node's own declaration, so the two can coexist.
_PROCESS = """\
declare namespace NodeJS {
  interface ProcessEnv {
    [key: string]: string | undefined;
  }
  interface Process {
    env: ProcessEnv;
  }
}
declare var process: NodeJS.Process;
"""


def _doc(schema: dict[str, Any], indent: str) -> str:
    text = schema.get("description")
    if not text:
        return ""
    lines = str(text).replace("*/", "*\u200b/").splitlines()
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    body = "".join(f"{indent} * {line}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any], indent: str) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return "string | undefined" if name == "EnvRef" else name
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "anyOf" in schema:
        parts: list[str] = []
        for sub in schema["anyOf"]:
            t = _type(sub, indent)
            for piece in [t] if "{" in t or "(" in t else t.split(" | "):
                if piece not in parts:
                    parts.append(piece)
        if "unknown" in parts:
            return "unknown"
        return " | ".join(f"({p})" if "=>" in p else p for p in parts)
    kind = schema.get("type")
    if kind == "string":
        return "string"
    if kind in ("integer", "number"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "null":
        return "null"
    if kind == "array":
        item = _type(schema.get("items", {}), indent)
        # readonly: a config may spread `as const` values into arrays.
        return f"readonly ({item})[]" if "|" in item else f"readonly {item}[]"
    if kind == "object":
        if "properties" in schema:
            return _object(schema, indent, optional_id=False)
        extra = schema.get("additionalProperties")
        value = _type(extra, indent) if isinstance(extra, dict) else "unknown"
        return f"{{ [key: string]: {value} }}"
    return "unknown"


def _object(schema: dict[str, Any], indent: str, optional_id: bool) -> str:
    required = set(schema.get("required", []))
    inner = indent + "  "
    out = ["{\n"]
    for key, prop in schema.get("properties", {}).items():
        opt = key not in required or (optional_id and key == "id")
        # A discriminating `type` const stays required only where it has no default.
        out.append(_doc(prop, inner))
        name = key if key.isidentifier() else json.dumps(key)
        out.append(f"{inner}{name}{'?' if opt else ''}: {_type(prop, inner)};\n")
    out.append(f"{indent}}}")
    return "".join(out)


def typescript_declarations() -> str:
    """The ``.d.ts`` text: ``declare module "@synthetic/config"`` and ``process.env``."""
    schema = json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    body: list[str] = []
    for name in sorted(defs):
        if name == "EnvRef":
            continue
        d = defs[name]
        body.append(_doc(d, "  "))
        body.append(f"  export interface {name} {_object(d, '  ', optional_id=name in _KEYED)}\n\n")
    top = {k: v for k, v in schema.items() if k != "$defs"}
    body.append(_doc(top, "  "))
    body.append(f"  export interface SyntheticConfig {_object(top, '  ', optional_id=False)}\n\n")
    # Not generic (`<T extends SyntheticConfig>(config: T): T`): a type parameter
    # switches off TypeScript's excess-property check, so a typo such as `typ`
    # or `nv` would pass unflagged (issue 21).
    body.append(
        "  /** Identity: returns the config, typed (Synthetic reads the file as data,"
        " never runs it). */\n"
        "  export function defineSyntheticConfig(config: SyntheticConfig): SyntheticConfig;\n"
        "  export default defineSyntheticConfig;\n"
    )
    return f"{HEADER}\n{_PROCESS}\ndeclare module {json.dumps(MODULE)} {{\n{''.join(body)}}}\n"
