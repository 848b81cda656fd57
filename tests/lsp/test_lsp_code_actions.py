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


ARRAY_FORM = """\
export default {
  defaults: { templateId: "web-api" },
  templates: [
    {
      id: "web-api",
      label: "Web",
      services: [{ id: "api", run: "npm start" }, { id: "db", type: "docker", image: "pg" }],
    },
    { id: "docs", type: "planning" },
  ],
};
"""


@pytest.mark.parametrize(("needle", "what"), [("label", "template"), ('"npm start"', "service")])
async def test_array_form_to_record_form(
    shared_client: LanguageClient, shared_repo: Path, needle: str, what: str
) -> None:
    from tests.lsp.conftest import position_of

    client = shared_client
    path = _config(shared_repo, f"record-{what}")
    assert await open_config(client, path, ARRAY_FORM) == []
    at = position_of(ARRAY_FORM, needle, 1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=types.Range(start=at, end=at),
            context=types.CodeActionContext(
                diagnostics=[], only=[types.CodeActionKind.RefactorRewrite]
            ),
        )
    )
    assert actions is not None and len(actions) == 1
    action = actions[0]
    assert isinstance(action, types.CodeAction) and action.title.startswith(f"Convert the {what}s")
    assert action.edit is not None and action.edit.changes is not None
    fixed = apply_edits(ARRAY_FORM, list(action.edit.changes[path.as_uri()]))
    before = check_config_text(ARRAY_FORM, path, shared_repo).config
    after = check_config_text(fixed, path, shared_repo)
    assert after.diagnostics == [], fixed
    assert after.config == before  # the same model, written the other way
    assert 'id: "' not in fixed.split("templates")[1].split("services")[0] or what == "service"
