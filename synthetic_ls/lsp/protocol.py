"""pygls's protocol, run so that it keeps nothing per handled message.

pygls 2.1.1 (the latest release) keeps the future of each message whose
handler is a coroutine, a threaded function or a generator in a table that
it empties only when it answers a request. Each of its built-in
notification handlers (``didOpen``, ``didChange``, ``didClose`` ...) is a
generator, and so is ``workspace/executeCommand``'s, which hands the
command to its handler as an inner message of its own: the future of every
notification (about 2 KB a keystroke) and of every command, its whole
result included (about 50 KB for a list of 50 constructs), stayed for the
life of the server (``bench/bench_lsp.py``, memory).

:class:`SyntheticProtocol` keeps pygls's built-in handlers and runs them
otherwise, through public names only (``protocol_cls``, the ``lsp_*``
handler methods and ``lsp_method``):

* each built-in notification handler becomes a plain function that runs
  pygls's generator to its end at once, calling the feature's own handler
  directly (those are plain functions: :func:`check_handlers` says so at
  start-up);
* ``workspace/executeCommand`` becomes a coroutine, whose future is the
  request's own (dropped once answered); it runs a threaded command on the
  server's thread pool and answers on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.feature_manager import is_thread_function
from pygls.protocol import LanguageServerProtocol, lsp_method

if TYPE_CHECKING:
    from cattrs import Converter
    from pygls.lsp.server import LanguageServer

#: pygls's built-in notification handlers (all generators), by method.
NOTIFICATIONS: dict[str, str] = {
    types.INITIALIZED: "lsp_initialized",
    types.TEXT_DOCUMENT_DID_OPEN: "lsp_text_document__did_open",
    types.TEXT_DOCUMENT_DID_CHANGE: "lsp_text_document__did_change",
    types.TEXT_DOCUMENT_DID_CLOSE: "lsp_text_document__did_close",
    types.NOTEBOOK_DOCUMENT_DID_OPEN: "lsp_notebook_document__did_open",
    types.NOTEBOOK_DOCUMENT_DID_CHANGE: "lsp_notebook_document__did_change",
    types.NOTEBOOK_DOCUMENT_DID_CLOSE: "lsp_notebook_document__did_close",
    types.SET_TRACE: "lsp_set_trace",
    types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS: "lsp_workspace__did_change_workspace_folders",
    types.WINDOW_WORK_DONE_PROGRESS_CANCEL: "lsp_work_done_progress_cancel",
}

Steps = Generator[tuple[Callable[..., Any], Any, Any], Any, Any]


def is_plain(handler: Callable[..., Any]) -> bool:
    """Whether pygls would run ``handler`` as is (not a coroutine, thread or generator)."""
    return not (
        asyncio.iscoroutinefunction(handler)
        or is_thread_function(handler)
        or inspect.isgeneratorfunction(handler)
    )


def run_to_end(steps: Steps) -> Any:
    """Run a built-in generator handler to its end, calling what it yields at once."""
    value = None
    while True:
        try:
            handler, args, kwargs = steps.send(value)
        except StopIteration as stop:
            return stop.value
        if not is_plain(handler):
            raise TypeError(f"{handler!r}: a notification handler must be a plain function")
        value = handler(*(args or ()), **(kwargs or {}))


def _plain(method: str, name: str) -> Any:
    """pygls's built-in handler ``name`` of notification ``method``, as a plain function."""
    built_in = getattr(LanguageServerProtocol, name)

    @lsp_method(method)
    def handler(self: LanguageServerProtocol, *args: Any) -> None:
        run_to_end(built_in(self, *args))

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = f"pygls's {method} handler, run to its end at once."
    return handler


def check_handlers(protocol: LanguageServerProtocol) -> None:
    """Raise TypeError unless every feature handler of a built-in notification is plain.

    Called once the features are registered: one that is not would keep
    its future for good under stock pygls, and cannot run to its end at once here.
    """
    for method in NOTIFICATIONS:
        handler = protocol.fm.features.get(method)
        if handler is not None and not is_plain(handler):
            raise TypeError(f"the {method} handler {handler!r} must be a plain function")


log = logging.getLogger(__name__)


class SyntheticProtocol(LanguageServerProtocol):
    """pygls's protocol, keeping no future per notification or command (see the module)."""

    def __init__(self, server: LanguageServer, converter: Converter) -> None:
        self.language_server = server
        super().__init__(server, converter)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        """``$/cancelRequest``: one for a request that is no longer running is no news.

        Editors cancel the requests whose answers they no longer want (all of
        them when a window reloads), and the answer of a request handled at
        once, or already sent, crosses the cancel on the wire. pygls warned
        about each ("Cancel notification for unknown message id"): a dozen
        warnings in VS Code's "Synthetic" output channel per reload.
        """
        if msg_id in self._request_futures:
            super()._handle_cancel_notification(msg_id)
        else:
            log.debug("cancel of request %s, which is no longer running", msg_id)

    lsp_initialized = _plain(types.INITIALIZED, "lsp_initialized")
    lsp_text_document__did_open = _plain(
        types.TEXT_DOCUMENT_DID_OPEN, "lsp_text_document__did_open"
    )
    lsp_text_document__did_change = _plain(
        types.TEXT_DOCUMENT_DID_CHANGE, "lsp_text_document__did_change"
    )
    lsp_text_document__did_close = _plain(
        types.TEXT_DOCUMENT_DID_CLOSE, "lsp_text_document__did_close"
    )
    lsp_notebook_document__did_open = _plain(
        types.NOTEBOOK_DOCUMENT_DID_OPEN, "lsp_notebook_document__did_open"
    )
    lsp_notebook_document__did_change = _plain(
        types.NOTEBOOK_DOCUMENT_DID_CHANGE, "lsp_notebook_document__did_change"
    )
    lsp_notebook_document__did_close = _plain(
        types.NOTEBOOK_DOCUMENT_DID_CLOSE, "lsp_notebook_document__did_close"
    )
    lsp_set_trace = _plain(types.SET_TRACE, "lsp_set_trace")
    lsp_workspace__did_change_workspace_folders = _plain(
        types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS,
        "lsp_workspace__did_change_workspace_folders",
    )
    lsp_work_done_progress_cancel = _plain(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, "lsp_work_done_progress_cancel"
    )

    # A coroutine where pygls has a generator: the point of this override.
    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]
        self, params: types.ExecuteCommandParams
    ) -> Any:
        """pygls's command dispatch (arguments, unknown names), awaited on the loop."""
        return await self._run(super().lsp_workspace__execute_command(params))

    async def _run(self, steps: Steps) -> Any:
        value = None
        while True:
            try:
                handler, args, kwargs = steps.send(value)
            except StopIteration as stop:
                return stop.value
            value = await self._call(handler, args or (), kwargs or {})

    async def _call(self, handler: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if asyncio.iscoroutinefunction(handler):
            return await handler(*args, **kwargs)
        if inspect.isgeneratorfunction(handler):
            return await self._run(handler(*args, **kwargs))
        if not is_thread_function(handler):
            return handler(*args, **kwargs)
        # A $/cancelRequest cancels this coroutine and is answered at once, as
        # pygls answers it for its generator; the command itself runs on.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.language_server.thread_pool, functools.partial(handler, *args, **kwargs)
        )
