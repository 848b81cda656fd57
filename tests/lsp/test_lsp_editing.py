"""Hover, completion, go to definition and document symbols over stdio."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import CLEAN_CONFIG, open_config, position_of

# One server for the module: each test opens a config of its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _config(repo: Path, name: str) -> Path:
    folder = repo / name
    folder.mkdir(exist_ok=True)
    (folder / "synthetic.config.ts").write_text(CLEAN_CONFIG)
    return folder / "synthetic.config.ts"


def _doc(path: Path) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=path.as_uri())


async def _hover(client: LanguageClient, path: Path, needle: str, delta: int = 1) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=_doc(path), position=position_of(CLEAN_CONFIG, needle, delta)
        )
    )
    assert result is not None, needle
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def test_hover(shared_client: LanguageClient, shared_repo: Path) -> None:
    client = shared_client
    path = _config(shared_repo, "test_hover")
    await open_config(client, path)
    # A key: its schema description and type.
    text = await _hover(client, path, "summary")
    assert "`summary`" in text and "a string" in text and "One-line description" in text
    # A key inside a spread const, through its use.
    assert "milliseconds" in await _hover(client, path, "readyTimeoutMs")
    # An enum value lists the allowed values.
    assert "`planning`" in await _hover(client, path, '"implementation"')
    # A template id (record key) and a reference to one.
    text = await _hover(client, path, "web: {")
    assert "Template `web`" in text and "The web app" in text
    assert "`api` (process): `npm start`" in text and "`db` (docker)" in text
    assert "Template `web`" in await _hover(client, path, 'templateId: "web"', 14)
    # process.env.X: set or not, never the value.
    text = await _hover(client, path, "process.env")
    assert "SYNTHETIC_TEST_UNSET_VAR" in text and "not set" in text


async def test_hover_never_shows_an_env_value(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "test_hover_never_shows_an_env_value")
    text = CLEAN_CONFIG.replace("SYNTHETIC_TEST_UNSET_VAR", "PATH")
    await open_config(client, path, text)
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=_doc(path), position=position_of(text, "process.env", 1))
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    import os

    assert "is set" in result.contents.value
    assert os.environ["PATH"] not in result.contents.value


async def _complete(
    client: LanguageClient, path: Path, text: str, needle: str, delta: int
) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=_doc(path), position=position_of(text, needle, delta))
    )
    assert isinstance(result, types.CompletionList)
    return result.items


async def test_completion_of_keys_enums_and_template_ids(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "test_completion_of_keys_enums_and_template_ids")
    # An empty service object: the keys of a process service, required ones first
    # and as snippets.
    text = CLEAN_CONFIG.replace('db: { type: "docker", image: "postgres:16" }', "db: {  }")
    await open_config(client, path, text)
    items = await _complete(client, path, text, "db: {  }", 6)
    labels = [i.label for i in items]
    assert {"run", "readyPattern", "env", "ports"} <= set(labels)
    run = next(i for i in items if i.label == "run")
    assert run.insert_text == 'run: "$1"'
    assert run.insert_text_format == types.InsertTextFormat.Snippet
    assert sorted(items, key=lambda i: i.sort_text or "")[0].label in ("run", "id")
    kind = next(i for i in items if i.label == "type")
    assert kind.insert_text == 'type: "${1|process,docker,compose|}"'
    # A key already written is not offered again; the one being typed is.
    items = await _complete(client, path, text, "summary", 3)
    labels = [i.label for i in items]
    assert "label" not in labels and "summary" in labels and "services" not in labels
    # Enum values where the value is an enum.
    items = await _complete(client, path, text, '"implementation"', 2)
    assert [i.label for i in items] == ["implementation", "planning", "manual"]
    assert items[1].text_edit is not None and items[1].text_edit.new_text == '"planning"'
    # Template ids where one is referenced.
    items = await _complete(client, path, text, 'templateId: "web"', 14)
    assert sorted(i.label for i in items) == ["docs", "web"]


async def test_definition_and_symbols(shared_client: LanguageClient, shared_repo: Path) -> None:
    client = shared_client
    path = _config(shared_repo, "test_definition_and_symbols")
    await open_config(client, path)
    found = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=_doc(path), position=position_of(CLEAN_CONFIG, "...base", 4)
        )
    )
    assert isinstance(found, types.Location)
    assert found.uri == path.as_uri()
    assert found.range.start == position_of(CLEAN_CONFIG, "base =")
    none = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=_doc(path), position=position_of(CLEAN_CONFIG, "label")
        )
    )
    assert none is None
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=_doc(path))
    )
    assert symbols is not None
    shape = [
        (s.name, s.detail, [(c.name, c.detail) for c in s.children or []])
        for s in symbols
        if isinstance(s, types.DocumentSymbol)
    ]
    assert shape == [
        ("web", "Web", [("api", "process"), ("db", "docker")]),
        ("docs", "Docs", []),
    ]


async def test_symbols_of_the_array_form(shared_client: LanguageClient, shared_repo: Path) -> None:
    client = shared_client
    path = _config(shared_repo, "test_symbols_of_the_array_form")
    text = (
        'export default { templates: [ { id: "a", label: "A", services: '
        '[ { id: "s", run: "x" } ] }, { id: "b" } ] };\n'
    )
    await open_config(client, path, text)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=_doc(path))
    )
    assert symbols is not None
    assert [(s.name, [c.name for c in s.children or []]) for s in symbols] == [  # type: ignore[union-attr]
        ("a", ["s"]),
        ("b", []),
    ]


async def test_prompt_paths_hover_and_definition(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "prompt_paths")
    (shared_repo / "prompt_paths" / "brief.md").write_text("# Brief\nDo the thing.\n")
    text = CLEAN_CONFIG.replace(
        'type: "planning" }', 'type: "planning", prompts: ["prompt_paths/brief.md", "*.md"] }'
    )
    assert await open_config(client, path, text) == []
    position = position_of(text, "prompt_paths/brief.md", 3)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=_doc(path), position=position)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**brief.md**: 22 bytes" in hover.contents.value
    assert "Do the thing." in hover.contents.value
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=_doc(path), position=position)
    )
    assert isinstance(found, types.Location)
    assert found.uri == (shared_repo / "prompt_paths" / "brief.md").as_uri()
    # A glob names no one file: its hover is the field's description.
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=_doc(path), position=position_of(text, '"*.md"', 2))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "Prompt files" in hover.contents.value


async def test_a_path_out_of_the_repository_is_never_read(
    shared_client: LanguageClient, shared_repo: Path, tmp_path: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "escape")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    (shared_repo / "escape" / "link.md").symlink_to(secret)
    text = CLEAN_CONFIG.replace(
        'type: "planning" }', 'type: "planning", prompts: ["escape/link.md"] }'
    )
    await open_config(client, path, text)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=_doc(path), position=position_of(text, "escape/link.md", 2))
    )
    assert hover is None or "TOP SECRET" not in str(hover.contents)


async def test_completion_of_service_ids_in_template_ports(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "port_services")
    text = CLEAN_CONFIG.replace(
        'summary: "The web app",', 'summary: "The web app", ports: [{ name: "x", service: "" }],'
    )
    await open_config(client, path, text)
    items = await _complete(client, path, text, 'service: ""', 10)
    assert sorted(i.label for i in items) == ["api", "db"]


async def test_completion_of_repository_paths(
    shared_client: LanguageClient, shared_repo: Path
) -> None:
    client = shared_client
    path = _config(shared_repo, "paths")
    (shared_repo / "paths" / "prompts").mkdir()
    (shared_repo / "paths" / "prompts" / "a.md").write_text("a")
    text = CLEAN_CONFIG.replace(
        'type: "planning" }', 'type: "planning", prompts: ["paths/prompts/"] }'
    )
    await open_config(client, path, text)
    items = await _complete(client, path, text, '"paths/prompts/"', 15)
    assert [i.label for i in items] == ["a.md"]
    edit = items[0].text_edit
    assert isinstance(edit, types.TextEdit) and edit.new_text == "a.md"
    items = await _complete(client, path, text, '"paths/prompts/"', 1)
    labels = [i.label for i in items]
    assert "paths/" in labels and ".git/" not in labels and ".git" not in labels
