"""Generate the JSON Schemas in ``state_format/schemas/`` from the pydantic models.

Run ``python -m state_format.schema_gen`` after changing a model; a test fails
while the committed files are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from state_format.marker import CURRENT_VERSION
from state_format.records import RECORD_KINDS, FormatMarker

SCHEMA_DIR = Path(__file__).with_name("schemas")
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(model: type[BaseModel], name: str, where: str) -> dict[str, object]:
    body = model.model_json_schema(mode="validation")
    _drop_null(body)
    return {
        "$schema": _DIALECT,
        "$comment": (
            f"Generated from state_format.records by `python -m state_format.schema_gen`; "
            f"state format version {CURRENT_VERSION}. Files: {where}. Do not edit by hand."
        ),
        **body,
    }


def _drop_null(schema: dict[str, Any]) -> None:
    """TOML has no null: an unset optional key is omitted, so say just its type."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
            if prop.get("default", 0) is None:
                del prop["default"]


def generate() -> dict[str, str]:
    """File name -> JSON text for every record kind and the format marker."""
    out: dict[str, str] = {}
    for kind, model in RECORD_KINDS.items():
        out[f"{kind}.schema.json"] = json.dumps(
            _schema(model, kind, f"synthetic/{model.folder}/<id>.toml"), indent=2
        ) + "\n"
    out["format.schema.json"] = json.dumps(
        _schema(FormatMarker, "format", "synthetic/format.toml"), indent=2
    ) + "\n"
    return out


def main() -> None:
    """Write the schemas; with ``--check`` only report stale files (exit 1)."""
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in generate().items():
        path = SCHEMA_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(name)
            if not check:
                SCHEMA_DIR.mkdir(exist_ok=True)
                path.write_text(text, encoding="utf-8")
    if check and stale:
        sys.stderr.write("stale schemas: " + ", ".join(stale) + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
