"""Quick fixes over stdio: each one yields a file that then checks clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from synthetic_ls.config import check_config_text
from tests.lsp.conftest import apply_edits, diagnostics_for, open_config, replace_all

# One server for the module: each test opens a config of its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _config(repo: Path, name: str) -> Path:
    folder = repo / name
    folder.mkdir(exist_ok=True)
    return folder / "synthetic.config.ts"


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
async def test_quick_fix_gives_a_clean_file(
    shared_client: LanguageClient, shared_repo: Path, case: str
) -> None:
    client, repo = shared_client, shared_repo
    path = _config(repo, case)
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


async def test_a_bad_enum_offers_every_allowed_value(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "every-enum")
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
