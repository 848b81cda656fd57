"""The server object in-process: the factory, and no memory kept per handled message."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from synthetic_ls.lsp.protocol import check_handlers
from synthetic_ls.lsp.server import SyntheticServer, create_server
from tests.gitrepo import make_repo


def test_the_factory_registers_only_the_features_asked_for() -> None:
    server = create_server(("hover",))
    features = server.protocol.fm.features
    assert types.TEXT_DOCUMENT_HOVER in features
    assert types.TEXT_DOCUMENT_COMPLETION not in features
    assert not server.protocol.fm.commands
    full = create_server()
    assert "synthetic.construct.create" in full.protocol.fm.commands


CONFIG = 'export default { defaults: { templateId: "d" }, templates: { d: { label: "D" } } };\n'


class _Transport:
    """Feeds JSON-RPC messages to an in-process server and keeps what it sends back."""

    def __init__(self, server: SyntheticServer) -> None:
        self.server = server
        self.sent: list[dict[str, Any]] = []
        server.protocol.set_writer(self, include_headers=False)

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data))

    def feed(self, method: str, params: Any, ident: int | None = None) -> None:
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if ident is not None:
            body["id"] = ident
        protocol = self.server.protocol
        message = json.loads(json.dumps(body), object_hook=protocol.structure_message)
        protocol.handle_message(message)

    async def answer(self, ident: int, timeout: float = 30) -> dict[str, Any]:
        """The response to request ``ident``, once it has been sent."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for message in self.sent:
                if message.get("id") == ident and "method" not in message:
                    return message
            assert asyncio.get_running_loop().time() < deadline, f"no answer to {ident}"
            await asyncio.sleep(0.01)


def _live_futures() -> int:
    """Futures of either kind alive in this process (pygls keeps one per message it keeps)."""
    gc.collect()
    kinds = (asyncio.Future, concurrent.futures.Future)
    return sum(1 for o in gc.get_objects() if isinstance(o, kinds))


def test_handled_messages_leave_no_future_behind(tmp_path: Path) -> None:
    # pygls 2.1.1 kept the future of every notification (about 2 KB a
    # keystroke) and of every command, its result included.
    repo = make_repo(tmp_path / "repo", {"synthetic.config.ts": CONFIG})
    config = repo / "synthetic.config.ts"
    uri = config.as_uri()
    server = create_server()
    transport = _Transport(server)

    async def main() -> tuple[int, int]:
        transport.feed("initialize", {"processId": None, "rootUri": repo.as_uri(),
                                      "capabilities": {}}, ident=0)
        await transport.answer(0)
        transport.feed("initialized", {})
        transport.feed("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "typescript", "version": 1, "text": CONFIG}})
        before = _live_futures()
        for version in range(2, 202):
            transport.feed("textDocument/didChange", {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                              "end": {"line": 0, "character": 0}},
                                    "text": " "}],
            })
            await asyncio.sleep(0)
        for ident in range(1, 21):
            transport.feed("workspace/executeCommand", {
                "command": "synthetic.construct.list",
                "arguments": [{"root": str(repo), "inspect": False}],
            }, ident=ident)
            assert (await transport.answer(ident))["result"]["constructs"] == []
        for ident in range(21, 41):
            transport.feed("textDocument/codeLens", {"textDocument": {"uri": uri}}, ident=ident)
            assert (await transport.answer(ident))["result"]
        return before, _live_futures()

    before, after = asyncio.run(main())
    assert server.workspace.get_text_document(uri).version == 201
    # 240 messages: the few futures still alive are work in progress (a check).
    assert after - before < 10, f"{after - before} more futures after 240 messages"


def test_a_cancelled_command_is_answered_at_once() -> None:
    """$/cancelRequest answers a running command as cancelled (as stock pygls does)."""
    server = create_server(("commands",))
    transport = _Transport(server)
    started, release = threading.Event(), threading.Event()

    @server.command("test.wait")
    @server.thread()
    def wait(ls: SyntheticServer, *args: Any) -> str:
        started.set()
        release.wait(30)
        return "done"

    async def main() -> dict[str, Any]:
        transport.feed("workspace/executeCommand", {"command": "test.wait"}, ident=7)
        deadline = asyncio.get_running_loop().time() + 30
        while not started.is_set():
            assert asyncio.get_running_loop().time() < deadline, "the command never started"
            await asyncio.sleep(0.01)
        transport.feed("$/cancelRequest", {"id": 7})
        answer = await transport.answer(7)
        release.set()
        return answer

    answer = asyncio.run(main())
    assert answer["error"]["code"] == types.LSPErrorCodes.RequestCancelled


def test_a_notification_handler_must_be_plain() -> None:
    """One pygls would run as a thread or a coroutine is refused when the server is made."""
    server = create_server(("hover",))

    @server.thread()
    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def changed(ls: SyntheticServer, params: types.DidChangeTextDocumentParams) -> None:
        pass

    with pytest.raises(TypeError, match="textDocument/didChange"):
        check_handlers(server.protocol)
