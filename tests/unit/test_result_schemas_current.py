"""The results' JSON Schemas (synthetic_ls/schemas): committed, current, and complete.

Real results are checked against them in tests/integration/test_results_match_schemas.py
and tests/opencode/test_session_result_schemas.py; the VS Code extension's
types are generated from them (its own test checks that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

from jsonschema import Draft202012Validator

from synthetic_ls.lsp.commands import COMMANDS
from synthetic_ls.schemas import RESULTS, SCHEMA_DIR, generate
from synthetic_ls.schemas.results import COMMANDS_FILE

#: What the generator makes now (made once: pydantic takes a while per schema).
generated = cache(generate)


def test_the_committed_schemas_are_those_of_the_code() -> None:
    wanted = generated()
    stale = [name for name, text in wanted.items()
             if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != text]
    extra = sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json") if p.name not in wanted)
    assert not stale and not extra, (
        f"run `python -m synthetic_ls.schemas`; stale: {stale}, no longer made: {extra}"
    )


def test_the_check_command_says_so() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "synthetic_ls.schemas", "--check"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_schema_is_valid_and_closed() -> None:
    for name, text in generated().items():
        schema = json.loads(text)
        Draft202012Validator.check_schema(schema)

        def closed(node: object, where: str) -> None:
            if isinstance(node, dict):
                if node.get("type") == "object" and "properties" in node:
                    assert node.get("additionalProperties") is False, where
                    assert all("title" not in p for p in node["properties"].values()), where
                for key, value in node.items():
                    closed(value, f"{where}/{key}")
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    closed(value, f"{where}/{i}")

        closed(schema, name)


def test_each_command_named_exists_and_the_commands_file_maps_them_all() -> None:
    named = [c for r in RESULTS for c in r.commands]
    # Two forms for one command only where a construct on another machine answers in
    # its own form (`delete`, `land`): the commands file says "any of" them.
    twice = sorted({c for c in named if named.count(c) > 1})
    assert twice == ["synthetic.construct.delete", "synthetic.construct.land"], twice
    assert set(named) <= set(COMMANDS), set(named) - set(COMMANDS)
    bundle = json.loads(generated()[COMMANDS_FILE])
    assert sorted(bundle["properties"]) == sorted(set(named))
    titles: dict[str, list[dict[str, str]]] = {}
    for result in RESULTS:
        title = json.loads(generated()[f"{result.name}.schema.json"])["title"]
        for command in result.commands:
            titles.setdefault(command, []).append({"$ref": f"#/$defs/{title}"})
    for command, refs in titles.items():
        expected = refs[0] if len(refs) == 1 else {"anyOf": refs}
        assert bundle["properties"][command] == expected, command


def test_the_removal_preview_says_what_a_face_needs() -> None:
    schema = json.loads(generated()["removal-preview.schema.json"])
    assert set(schema["required"]) == {
        "construct", "name", "worktree", "loses", "locked", "branch", "session", "services",
        "ports", "force_required",
    }
    fate = schema["$defs"]["BranchFate"]["properties"]
    assert fate["without_force"]["enum"] == ["deleted", "kept"]
    kept = json.loads(generated()["remove-result.schema.json"])["$defs"]["Kept"]["properties"]
    assert kept["what"]["enum"] == ["branch", "session"]
