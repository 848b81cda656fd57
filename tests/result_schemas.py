"""Check a result's JSON against its committed schema (``synthetic_ls/schemas/results``).

The result goes through ``json`` first: a client sees it as JSON, so a
tuple is an array and a key is a string, as there.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from synthetic_ls.schemas import SCHEMA_DIR


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_matches(kind: str, result: Any) -> dict[str, Any]:
    """``result.to_dict()`` (or a dict) as JSON, after checking it against schema ``kind``."""
    data = result if isinstance(result, dict) else result.to_dict()
    data = json.loads(json.dumps(data))
    errors = sorted(_validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, f"{kind}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors
    )
    return data  # type: ignore[no-any-return]
