"""Quick fixes over stdio: each one yields a file that then checks clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from synthetic_ls.config import check_config_text
from tests.lsp.conftest import apply_edits, diagnostics_for, open_config, replace_all

BASE = """\
export default {
  templates: {
    web: {
      label: "Web",
      type: "planning",
      services: {
        api: { run: "npm start", readyPattern: "up" },
      },
    },
  },
};
"""

CASES = {
    "unknown-key": BASE.replace("readyPattern", "readyPatern"),
    "id-mismatch": BASE.replace('label: "Web"', 'id: "webb", label: "Web"'),
    "bad-enum": BASE.replace('"planning"', '"planing"'),
    "missing-required": BASE.replace('run: "npm start", ', ""),
    "missing-required-docker": BASE.replace(
        'api: { run: "npm start", readyPattern: "up" }', 'db: { type: "docker" }'
    ),
    "missing-required-array": BASE.replace(
        'services: {\n        api: { run: "npm start", readyPattern: "up" },\n      },',
        'services: [{ id: "api" }],',
    ),
    "quoted-unknown-key": BASE.replace("readyPattern", '"readyPatern"'),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_quick_fix_gives_a_clean_file(client: LanguageClient, repo: Path, case: str) -> None:
    path = repo / "synthetic.config.ts"
    text = CASES[case]
    diagnostics = await open_config(client, path, text)
    code = case.removeprefix("quoted-").removesuffix("-docker").removesuffix("-array")
    assert [d.code for d in diagnostics] == [code], diagnostics
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert actions, f"no quick fix for {case}"
    action = actions[0]
    assert isinstance(action, types.CodeAction)
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.edit is not None and action.edit.changes is not None
    fixed = apply_edits(text, list(action.edit.changes[path.as_uri()]))
    result = check_config_text(fixed, path, repo)
    assert result.diagnostics == [], (action.title, fixed)
    # And the server agrees once the client applies the edit.
    replace_all(client, path.as_uri(), 2, fixed)
    assert await diagnostics_for(client, path.as_uri()) == []


async def test_a_bad_enum_offers_every_allowed_value(client: LanguageClient, repo: Path) -> None:
    path = repo / "synthetic.config.ts"
    text = BASE.replace('"planning"', '"zzz"')
    diagnostics = await open_config(client, path, text)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert actions is not None
    assert [a.title for a in actions] == [
        'Change to "implementation"',
        'Change to "planning"',
        'Change to "manual"',
    ]
