"""pytest-lsp fixtures: the real server over stdio, a client, and a git repository with a config."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.gitrepo import make_repo

EXAMPLE = Path(__file__).parents[2] / "synthetic_ls" / "examples" / "demo"

CLEAN_CONFIG = """\
const base = { type: "process", readyTimeoutMs: 5000 } as const;

export default {
  defaults: { templateId: "web" },
  worktrees: { root: "../wt" },
  templates: {
    web: {
      label: "Web",
      summary: "The web app",
      type: "implementation",
      services: {
        api: { ...base, run: "npm start", env: { TOKEN: process.env.SYNTHETIC_TEST_UNSET_VAR } },
        db: { type: "docker", image: "postgres:16" },
      },
    },
    docs: { label: "Docs", type: "planning" },
  },
};
"""

#: The server, started as a user would (without the console script, which an
#: editable install made before this module existed would not have).
SERVER = [sys.executable, "-m", "synthetic_ls.lsp"]


def capabilities() -> types.ClientCapabilities:
    """A client that supports progress and lens refresh (as VS Code does)."""
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(
            code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=True
            ),
            workspace_folders=True,
        ),
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    snippet_support=True, documentation_format=[types.MarkupKind.Markdown]
                )
            ),
        ),
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a clean config (committed)."""
    root = tmp_path / "repo"
    make_repo(root, {"synthetic.config.ts": CLEAN_CONFIG, "README.md": "hi\n"})
    return root


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A git repository holding the built-in example (with its deliberate mistakes)."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root)
    make_repo(root, {"README.md": "hi\n"})
    return root


@pytest.fixture(scope="module")
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository for the tests of one module that share a server (``shared_client``)."""
    root = tmp_path_factory.mktemp("shared") / "repo"
    make_repo(root, {"synthetic.config.ts": CLEAN_CONFIG, "README.md": "hi\n"})
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest) -> Any:
    """A client connected to a fresh server, its workspace the ``repo`` fixture's folder."""
    marker = request.node.get_closest_marker("workspace")
    async for _ in _session(
        lsp_client, request.getfixturevalue(marker.args[0] if marker else "repo")
    ):
        yield


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def shared_client(lsp_client: LanguageClient, shared_repo: Path) -> Any:
    """One server for a whole module (tests that only read, each in its own document)."""
    async for _ in _session(lsp_client, shared_repo):
        yield


async def _session(lsp_client: LanguageClient, root: Path) -> Any:
    changes: list[Any] = []
    refreshes: list[None] = []
    lsp_client.constructs_changed = changes  # type: ignore[attr-defined]
    lsp_client.lens_refreshes = refreshes  # type: ignore[attr-defined]

    @lsp_client.feature("synthetic/constructsChanged")
    def constructs_changed(params: Any) -> None:
        changes.append(params)

    registrations: list[types.Registration] = []
    lsp_client.registrations = registrations  # type: ignore[attr-defined]

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        registrations.extend(params.registrations)

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def lens_refresh(params: None) -> None:
        refreshes.append(None)

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        )
    )
    yield
    await lsp_client.shutdown_session()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "workspace(name): the fixture giving the workspace folder")


async def open_config(
    client: LanguageClient, path: Path, text: str | None = None
) -> list[types.Diagnostic]:
    """Open ``path`` in the client (its text, or ``text``) and return its first diagnostics."""
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="typescript",
                version=1,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return await diagnostics_for(client, uri)


async def diagnostics_for(
    client: LanguageClient, uri: str, timeout: float = 10
) -> list[types.Diagnostic]:
    """Wait for the next diagnostics published for ``uri``."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri:
                return list(params.diagnostics)

    return await asyncio.wait_for(wait(), timeout)


def replace_all(client: LanguageClient, uri: str, version: int, text: str) -> None:
    """Send a change that replaces the whole text."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def position_of(text: str, needle: str, delta: int = 0) -> types.Position:
    """The LSP position of ``needle`` (plus ``delta`` characters) in ``text``."""
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            prefix = line[: line.index(needle) + delta]
            return types.Position(line=number, character=len(prefix.encode("utf-16-le")) // 2)
    raise AssertionError(f"{needle!r} not in the text")


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """``text`` with LSP text edits applied (UTF-16 columns), last first."""
    lines = text.split("\n")

    def offset(position: types.Position) -> int:
        before = sum(len(line) + 1 for line in lines[: position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line)

    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        start, end = offset(edit.range.start), offset(edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text
