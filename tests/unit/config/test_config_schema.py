"""The pydantic schema: descriptions everywhere, JSON Schema export."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from synthetic_ls.config import STARTER_CONFIG, SyntheticConfig, json_schema
from synthetic_ls.config import schema as schema_module

from cfg_helpers import check  # isort: skip


def _models() -> list[type[BaseModel]]:
    return [
        obj for obj in vars(schema_module).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ ==
        schema_module.__name__
    ]


def test_every_field_has_a_description() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if not info.description
    ]
    assert missing == []


def _walk(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            out.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_walk(value))
    return out


def test_json_schema_describes_every_property_in_camel_case() -> None:
    schema = json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    for node in _walk(schema):
        for key, prop in node.get("properties", {}).items():
            assert "_" not in key, key
            assert prop.get("description"), key
    templates = schema["properties"]["templates"]
    assert {alt["type"] for alt in templates["anyOf"]} == {"object", "array"}
    assert "readyPattern" in schema["$defs"]["ProcessService"]["properties"]


def test_starter_config_checks_clean() -> None:
    result = check(STARTER_CONFIG)
    assert result.diagnostics == []
    assert isinstance(result.config, SyntheticConfig)
    assert result.config.default_template_id == "default"
    assert "default" in result.config.templates
