"""The TypeScript declarations of the config (synthetic_ls/config/dts.py).

The VS Code extension ships them (vscode-extension/ts-plugin/); they must be
what the generator makes from the current schema. Their TypeScript is
checked by `tsc --noEmit` in the extension (vscode-extension/test/fixtures).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from synthetic_ls.config.dts import typescript_declarations
from synthetic_ls.config.jsonschema import json_schema

SHIPPED = Path(__file__).resolve().parents[2] / "vscode-extension/ts-plugin/synthetic-config.d.ts"


def test_the_extension_ships_the_declarations_of_the_current_schema() -> None:
    assert SHIPPED.read_text() == typescript_declarations(), (
        "regenerate: python -m synthetic_ls.cli config schema --format dts "
        "> vscode-extension/ts-plugin/synthetic-config.d.ts"
    )


def test_every_schema_key_is_declared_with_its_description() -> None:
    text = typescript_declarations()
    schema = json_schema()
    assert 'declare module "@synthetic/config"' in text
    signature = "defineSyntheticConfig(config: SyntheticConfig): SyntheticConfig;"
    assert f"export function {signature}" in text
    for name, d in schema["$defs"].items():
        if name == "EnvRef":
            continue
        assert f"export interface {name} {{" in text
        for key in d.get("properties", {}):
            assert f"    {key}" in text
    assert '"implementation" | "planning" | "manual"' in text
    # Ids come from record keys, so they are optional; a service's kind is required.
    assert "    id?: string;" in text and 'type: "docker";' in text


def test_the_cli_prints_them() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "synthetic_ls.cli", "config", "schema", "--format", "dts"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    assert out == typescript_declarations()
