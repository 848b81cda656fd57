"""Config diagnostics: on open, on change (debounced) and on save; cleared on close.

The text checked is the editor's, saved or not, by the same checker as
``synthetic config check``. Checking runs on the server's checker thread;
the result is published only if the document is still at the version that
was checked (a newer edit has its own check coming).
"""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from synthetic_ls.lsp.server import Analysis, SyntheticServer, to_lsp_range

#: Seconds to wait after an edit before checking: typing does not check every key.
DEBOUNCE_SECONDS = 0.15

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def to_lsp(analysis: Analysis) -> list[types.Diagnostic]:
    """The analysis's diagnostics as lsprotocol objects."""
    return [
        types.Diagnostic(
            range=to_lsp_range(d.range),
            severity=_SEVERITY[d.severity],
            code=d.code,
            source="synthetic",
            message=d.message,
            data=dict(d.data) if d.data else None,
        )
        for d in analysis.result.diagnostics
    ]


class Scheduler:
    """Per-document debounce timers (touched only on the event loop)."""

    def __init__(self, server: SyntheticServer) -> None:
        self.server = server
        self._timers: dict[str, asyncio.TimerHandle] = {}
        #: Server time of the last check per URI, in seconds (for the benchmark).
        self.timings: dict[str, float] = {}

    def schedule(self, uri: str, delay: float) -> None:
        """Check ``uri`` after ``delay`` seconds, replacing a pending check."""
        if not self.server.is_config(uri):
            return
        pending = self._timers.pop(uri, None)
        if pending is not None:
            pending.cancel()
        loop = asyncio.get_running_loop()
        self.server.loop = loop
        if delay <= 0:
            self._submit(uri)
        else:
            self._timers[uri] = loop.call_later(delay, self._submit, uri)

    def cancel(self, uri: str) -> None:
        """Forget a pending check (the document closed)."""
        pending = self._timers.pop(uri, None)
        if pending is not None:
            pending.cancel()

    def _submit(self, uri: str) -> None:
        self._timers.pop(uri, None)
        self.server.checker.submit(self._check, uri)

    def _check(self, uri: str) -> None:
        start = time.perf_counter()
        analysis = self.server.analyze(uri)
        if analysis is None:
            return
        diagnostics = to_lsp(analysis)
        self.timings[uri] = time.perf_counter() - start
        self.server.from_thread(self._publish, analysis, diagnostics)

    def _publish(self, analysis: Analysis, diagnostics: list[types.Diagnostic]) -> None:
        server = self.server
        if analysis.uri not in server.workspace.text_documents:
            return  # closed meanwhile: its diagnostics were cleared
        current = server.workspace.get_text_document(analysis.uri).version
        if current is not None and analysis.version is not None and current != analysis.version:
            return  # a newer edit is on its way
        server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=analysis.uri, version=analysis.version, diagnostics=diagnostics
            )
        )
        if analysis.root is not None:
            server.see_repository(analysis.root)


def _watch_files(server: SyntheticServer) -> None:
    """Ask the client for file creations and deletions, when it can be asked."""
    workspace = server.client_capabilities.workspace
    watched = workspace.did_change_watched_files if workspace is not None else None
    if watched is None or not watched.dynamic_registration:
        return
    server.client_register_capability(
        types.RegistrationParams(
            registrations=[
                types.Registration(
                    id="synthetic-watched-files",
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=[
                            types.FileSystemWatcher(
                                glob_pattern="**/*",
                                kind=types.WatchKind.Create | types.WatchKind.Delete,
                            )
                        ]
                    ),
                )
            ]
        )
    )


def register(server: SyntheticServer) -> None:
    """Register the document-sync handlers that drive diagnostics."""
    scheduler = Scheduler(server)
    server.diagnostics_scheduler = scheduler
    server.on_initialized.append(lambda: _watch_files(server))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SyntheticServer, params: types.DidOpenTextDocumentParams) -> None:
        scheduler.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SyntheticServer, params: types.DidChangeTextDocumentParams) -> None:
        scheduler.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SyntheticServer, params: types.DidSaveTextDocumentParams) -> None:
        scheduler.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SyntheticServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if not ls.is_config(uri):
            return
        scheduler.cancel(uri)
        ls.forget(uri)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: SyntheticServer, params: types.DidChangeWatchedFilesParams) -> None:
        # A prompt or include file appeared or went: re-check the open configs
        # (the file-existence warnings depend on the folder, not the text).
        if any(change.type != types.FileChangeType.Changed for change in params.changes):
            for uri in ls.open_configs():
                ls.forget(uri)
                scheduler.schedule(uri, DEBOUNCE_SECONDS)
