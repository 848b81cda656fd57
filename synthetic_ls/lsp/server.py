"""The server object and its factory: shared state, documents, and the feature modules.

:func:`create_server` makes a :class:`SyntheticServer` and lets each feature
module register its handlers on it (pygls examples and esbonio work the same
way), so a test or another face can build a server with only some features.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from synthetic_ls import __version__
from synthetic_ls.lsp.protocol import SyntheticProtocol, check_handlers

if TYPE_CHECKING:
    from synthetic_ls.config import ConfigResult

log = logging.getLogger(__name__)

CONFIG_FILENAME = "synthetic.config.ts"


@dataclass(frozen=True)
class Analysis:
    """One version of one open config, checked: what every feature reads."""

    uri: str
    version: int | None
    path: Path
    #: The repository the config belongs to (its paths are checked against it).
    root: Path | None
    result: ConfigResult


class SyntheticServer(LanguageServer):
    """pygls server plus the state the features share.

    Checked documents are cached per URI and version; checking runs on one
    worker thread (``checker``), operations on pygls' thread pool. Messages to
    the client from other threads go through the event loop
    (:meth:`from_thread`), so their order is the loop's.
    """

    def __init__(self) -> None:
        super().__init__(
            "synthetic-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=SyntheticProtocol,
        )
        self._analyses: dict[str, Analysis] = {}
        self._lock = threading.Lock()
        #: Checks config text, one at a time, off the message loop.
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synthetic-check")
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Called (on the loop) when a repository is first seen; live_state watches it.
        self.on_repository: list[Callable[[Path], None]] = []
        self._repositories: set[Path] = set()
        #: Called (on the loop) once the client has initialized.
        self.on_initialized: list[Callable[[], None]] = []
        #: Called (on the loop) when the client asks the server to shut down.
        self.on_shutdown: list[Callable[[], None]] = []
        #: The diagnostics feature's scheduler (``diagnostics.Scheduler``), if registered.
        self.diagnostics_scheduler: Any = None
        #: The live-state feature's watcher (``live_state.Watcher``), if registered.
        self.live_state: Any = None

    # -- documents -------------------------------------------------------------

    @staticmethod
    def is_config(uri: str) -> bool:
        """Whether the document is a ``synthetic.config.ts`` (the only files served)."""
        return uri.rsplit("/", 1)[-1] == CONFIG_FILENAME

    def analyze(self, uri: str) -> Analysis | None:
        """The checked current text of an open config (cached per version); None for others.

        Safe from any thread. Runs nothing from the repository: the text is
        parsed and evaluated as data.
        """
        if not self.is_config(uri):
            return None
        try:
            document = self.workspace.get_text_document(uri)
            text, version = document.source, document.version
        except Exception:  # closed meanwhile, or not open at all
            return None
        with self._lock:
            cached = self._analyses.get(uri)
        if cached is not None and cached.version == version and version is not None:
            return cached
        from synthetic_ls.config import check_config_text, find_repo_root

        path = Path(to_fs_path(uri) or uri)
        root = find_repo_root(path.parent)
        result = check_config_text(text, path, root or path.parent)
        analysis = Analysis(uri, version, path, root, result)
        with self._lock:
            current = self._analyses.get(uri)
            if current is None or (current.version or 0) <= (version or 0):
                self._analyses[uri] = analysis
        return analysis

    def forget(self, uri: str) -> None:
        """Drop what is cached about a closed document."""
        with self._lock:
            self._analyses.pop(uri, None)

    def open_configs(self) -> list[str]:
        """URIs of the open config documents."""
        return [uri for uri in self.workspace.text_documents if self.is_config(uri)]

    # -- repositories ---------------------------------------------------------

    def workspace_roots(self) -> list[Path]:
        """The repository roots of the workspace folders (several folders, several repos)."""
        from synthetic_ls.config import find_repo_root

        roots: list[Path] = []
        for folder in self.workspace.folders.values():
            path = to_fs_path(folder.uri)
            root = find_repo_root(Path(path)) if path else None
            if root is not None and root not in roots:
                roots.append(root)
        if not roots and self.workspace.root_path:
            root = find_repo_root(Path(self.workspace.root_path))
            if root is not None:
                roots.append(root)
        return roots

    def see_repository(self, root: Path) -> None:
        """Note a repository the client works in (a folder, or an open config's); on the loop."""
        if root in self._repositories:
            return
        self._repositories.add(root)
        for callback in self.on_repository:
            callback(root)

    # -- talking to the client from any thread ---------------------------------

    def from_thread(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on the event loop (from a worker thread)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(function, *args)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification (custom ones included); safe from any thread."""
        self.from_thread(self.protocol.notify, method, params)


#: The feature modules, in registration order.
FEATURES: tuple[str, ...] = (
    "diagnostics",
    "hover",
    "completion",
    "code_actions",
    "navigation",
    "code_lens",
    "commands",
    "live_state",
    "agent_events",
)


def _load(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"synthetic_ls.lsp.{name}")


def create_server(features: Iterable[str] = FEATURES) -> SyntheticServer:
    """A server with the given feature modules registered (all of them by default)."""
    server = SyntheticServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: SyntheticServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_running_loop()
        for callback in ls.on_initialized:
            callback()
        for root in ls.workspace_roots():
            ls.see_repository(root)
        # Warm the checker (tree-sitter, pydantic) while the client opens files.
        ls.checker.submit(_warm_up)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: SyntheticServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for root in ls.workspace_roots():
            ls.see_repository(root)

    for name in features:
        _load(name).register(server)
    check_handlers(server.protocol)
    return server


def _warm_up() -> None:
    from synthetic_ls.config import check_config_text

    check_config_text("export default { templates: {} };\n", Path(CONFIG_FILENAME), None)


def to_lsp_range(r: Any) -> types.Range:
    """A :class:`synthetic_ls.config.Range` as an lsprotocol ``Range``."""
    return types.Range(
        start=types.Position(line=r.start.line, character=r.start.character),
        end=types.Position(line=r.end.line, character=r.end.character),
    )
