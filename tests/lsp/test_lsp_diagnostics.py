"""Diagnostics over stdio: on open, after an edit (debounced, unsaved text), cleared on close."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from synthetic_ls.ops.config import check_config
from tests.lsp.conftest import CLEAN_CONFIG, diagnostics_for, open_config, replace_all


async def test_clean_config_has_no_diagnostics(client: LanguageClient, repo: Path) -> None:
    assert await open_config(client, repo / "synthetic.config.ts") == []


@pytest.mark.workspace("example_repo")
async def test_open_gives_the_same_diagnostics_as_config_check(
    client: LanguageClient, example_repo: Path
) -> None:
    path = example_repo / "synthetic.config.ts"
    got = await open_config(client, path)
    expected = check_config(path).to_dict()["diagnostics"]
    assert [(d.code, d.range.start.line, d.range.start.character, d.message) for d in got] == [
        (e["code"], e["range"]["start"]["line"], e["range"]["start"]["character"], e["message"])
        for e in expected
    ]
    assert {d.code for d in got} >= {"unknown-key", "bad-enum", "id-mismatch", "invalid-regex"}
    typo = next(d for d in got if d.code == "unknown-key")
    assert typo.severity == types.DiagnosticSeverity.Error
    assert typo.data == {"key": "readyPatern", "suggestion": "readyPattern"}


async def test_an_unsaved_edit_is_checked_after_a_pause_and_close_clears(
    client: LanguageClient, repo: Path
) -> None:
    path = repo / "synthetic.config.ts"
    uri = path.as_uri()
    assert await open_config(client, path) == []
    # Several quick edits: only the last text is checked (debounced).
    for version, label in enumerate(("A", "B", "C"), start=2):
        replace_all(
            client, uri, version, CLEAN_CONFIG.replace('type: "planning"', f'typo: "{label}"')
        )
    diagnostics = await diagnostics_for(client, uri)
    assert [d.code for d in diagnostics] == ["unknown-key"]
    assert diagnostics[0].data == {"key": "typo", "suggestion": "type"}
    assert path.read_text() == CLEAN_CONFIG  # nothing was saved
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await diagnostics_for(client, uri) == []


async def test_other_files_are_left_alone(client: LanguageClient, repo: Path) -> None:
    other = repo / "README.md"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=other.as_uri(), language_id="markdown", version=1, text="# hi"
            )
        )
    )
    with pytest.raises(asyncio.TimeoutError):
        await diagnostics_for(client, other.as_uri(), timeout=0.5)


async def test_a_prompt_file_that_appears_clears_its_warning(
    client: LanguageClient, repo: Path
) -> None:
    path = repo / "synthetic.config.ts"
    text = CLEAN_CONFIG.replace('type: "planning" }', 'type: "planning", prompts: ["docs/p.md"] }')
    diagnostics = await open_config(client, path, text)
    assert [d.code for d in diagnostics] == ["no-match"]
    (repo / "docs").mkdir()
    (repo / "docs" / "p.md").write_text("# prompt\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(repo / "docs" / "p.md").as_uri(), type=types.FileChangeType.Created
                )
            ]
        )
    )
    assert await diagnostics_for(client, path.as_uri()) == []
    # The server asked to be told of created and deleted files.
    methods = [r.method for r in client.registrations]  # type: ignore[attr-defined]
    assert methods == [types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
