"""JSON Schema export of the config format (``synthetic config schema``)."""

from __future__ import annotations

from typing import Any

from synthetic_ls.config.schema import SyntheticConfig

SCHEMA_ID = "https://synthetic.dev/schemas/synthetic.config.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the evaluated config object, with descriptions.

    It describes the object passed to ``defineSyntheticConfig`` as written
    (camelCase keys, both record and array shapes), not the normalised model.
    """
    schema = SyntheticConfig.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
