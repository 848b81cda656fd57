"""The server object in-process: the factory, and no memory kept per handled message."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import Workspace

from synthetic_ls.lsp.server import FEATURES, SyntheticServer, create_server

EXAMPLE = Path(__file__).parents[2] / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"


class _Sink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)


def _server(features: tuple[str, ...] = FEATURES) -> tuple[SyntheticServer, _Sink]:
    server = create_server(features)
    server.protocol._workspace = Workspace(EXAMPLE.parent.as_uri())
    sink = _Sink()
    server.protocol.set_writer(sink)
    return server, sink


def test_the_factory_registers_only_the_features_asked_for() -> None:
    server, _ = _server(("hover",))
    features = server.protocol.fm.features
    assert types.TEXT_DOCUMENT_HOVER in features
    assert types.TEXT_DOCUMENT_COMPLETION not in features
    assert not server.protocol.fm.commands
    full, _ = _server()
    assert "synthetic.construct.create" in full.protocol.fm.commands


def test_handled_notifications_leave_no_future_behind() -> None:
    # pygls 2.1.1 kept one future per notification (about 2 KB a keystroke).
    server, _ = _server()
    text = EXAMPLE.read_text()
    uri = EXAMPLE.as_uri()
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="typescript", version=1, text=text)
    )

    def change(version: int) -> Any:
        body = {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 0, "character": 0},
                            "end": {"line": 0, "character": 0},
                        },
                        "text": " ",
                    }
                ],
            },
        }
        return json.loads(json.dumps(body), object_hook=server.protocol.structure_message)

    async def main() -> None:
        server.loop = asyncio.get_running_loop()
        for version in range(2, 202):
            server.protocol.handle_message(change(version))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert server.workspace.get_text_document(uri).version == 201
    assert len(server.protocol._request_futures) == 0
