"""Benchmark: the language server, against baselines measured in the same run.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_lsp.py

Prints, each with the ratio against its baseline:

1. startup: process start to the first diagnostics on the built-in example,
   over stdio (target under 0.3 s); baselines: a bare pygls server that
   publishes empty diagnostics (the floor of any server on pygls and
   lsprotocol), ``synthetic config check`` on the same file (a whole process
   that prints the same diagnostics) and a bare ``python -c pass``;
2. latency: server time to check a 500-line config after an edit, in the
   server's code path (document update, check, conversion to LSP; target
   under 20 ms); baseline: ``check_config_text`` alone on the same text; plus
   the round trip a client sees over stdio, less the debounce;
3. memory: the server's resident size after 10,000 edits over stdio (flat:
   compared with after 100), in-process over 10,000 checked edits, and over
   stdio after 2,000 ``synthetic.construct.list`` commands on 50 constructs
   (compared with after 100: pygls 2.1.1 as it comes keeps every command's
   result; see ``synthetic_ls/lsp/protocol.py``);
4. a command: ``synthetic.construct.list`` over stdio against
   ``list_constructs`` in-process, on 200 constructs;
5. the live-state poll: one ``stat`` of the records folder, and a scan of
   10,000 record files (what a poll costs; see ``lsp/live_state.py``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_config import generate  # noqa: E402

EXAMPLE = ROOT / "synthetic_ls" / "examples" / "demo" / "synthetic.config.ts"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class Client:
    """A minimal LSP client over the server's stdin/stdout (no dependencies)."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "synthetic_ls.lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=ENV,
        )
        self.messages: Queue[dict[str, Any]] = Queue()
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            if "id" in message and "method" in message:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            self.messages.put(message)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any) -> Any:
        self._next += 1
        ident = self._next
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        while True:
            message = self.messages.get(timeout=60)
            if message.get("id") == ident and "method" not in message:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result")

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, method: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.perf_counter() + timeout
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.perf_counter()))
            except Empty:
                raise TimeoutError(method) from None
            if message.get("method") == method:
                return message["params"]  # type: ignore[no-any-return]

    def initialize(self, root: Path) -> None:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "capabilities": {},
            },
        )
        self.notify("initialized", {})

    def open(self, path: Path, text: str) -> None:
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": path.as_uri(),
                    "languageId": "typescript",
                    "version": 1,
                    "text": text,
                }
            },
        )

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def make_repo(path: Path, config: str) -> Path:
    path.mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, env=env, check=True)
    (path / "synthetic.config.ts").write_text(config)
    subprocess.run(["git", "add", "-A"], cwd=path, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=path, env=env, check=True)
    return path


def in_process_server(root: Path) -> Any:
    """A server made by the factory, with a workspace as ``initialize`` would give it."""
    from pygls.workspace import Workspace

    from synthetic_ls.lsp.server import create_server

    server = create_server()
    server.protocol._workspace = Workspace(root.as_uri())
    return server


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:5.2f}x" if baseline else "  n/a"


# -- 1. startup ---------------------------------------------------------------------

#: A pygls server that answers ``didOpen`` with empty diagnostics, and nothing else.
BARE_PYGLS = """
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0")

@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def opened(ls, params):
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

server.start_io()
"""


def bench_startup(work: Path, runs: int = 7) -> None:
    repo = make_repo(work / "startup", EXAMPLE.read_text())
    config = repo / "synthetic.config.ts"
    text = config.read_text()
    first: list[float] = []
    for _ in range(runs):
        client = Client()
        client.initialize(repo)
        client.open(config, text)
        client.wait("textDocument/publishDiagnostics")
        first.append(time.perf_counter() - client.started)
        client.close()
    # The floor: pygls itself (with lsprotocol's types), publishing empty
    # diagnostics for the same file: what any server on this library pays.
    floor: list[float] = []
    for _ in range(runs):
        client = Client([sys.executable, "-c", BARE_PYGLS])
        client.initialize(repo)
        client.open(config, text)
        client.wait("textDocument/publishDiagnostics")
        floor.append(time.perf_counter() - client.started)
        client.close()
    cli: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "synthetic_ls.cli.main", "config", "check", str(config)],
            env=ENV,
            capture_output=True,
        )
        cli.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=ENV)
        bare.append(time.perf_counter() - start)
    server = median_ms(first)
    print(f"1. startup to first diagnostics on the example (median of {runs})")
    print(f"   synthetic-ls            {server:7.1f} ms   (target < 300 ms)")
    pygls_floor = median_ms(floor)
    print(f"   a bare pygls server     {pygls_floor:7.1f} ms   "
          f"server/pygls {ratio(server, pygls_floor)}")
    check, nothing = median_ms(cli), median_ms(bare)
    print(f"   synthetic config check  {check:7.1f} ms   server/CLI {ratio(server, check)}")
    print(f"   python -c pass          {nothing:7.1f} ms   server/bare {ratio(server, nothing)}")


# -- 2. latency ------------------------------------------------------------------------


def bench_latency(work: Path) -> None:
    from lsprotocol import types

    from synthetic_ls.config import check_config_text
    from synthetic_ls.lsp.diagnostics import to_lsp

    text = generate(500)
    repo = make_repo(work / "latency", text)
    path = repo / "synthetic.config.ts"
    uri = path.as_uri()
    server = in_process_server(repo)
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="typescript", version=1, text=text)
    )
    line = text.splitlines().index('      type: "implementation",')
    server_times: list[float] = []
    checker_times: list[float] = []
    for version in range(2, 42):
        value = "planning" if version % 2 else "implementation"
        old = "implementation" if version % 2 else "planning"
        start = time.perf_counter()
        server.workspace.update_text_document(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            types.TextDocumentContentChangePartial(
                range=types.Range(
                    start=types.Position(line=line, character=13),
                    end=types.Position(line=line, character=13 + len(old)),
                ),
                text=value,
            ),
        )
        analysis = server.analyze(uri)
        assert analysis is not None
        to_lsp(analysis)
        server_times.append(time.perf_counter() - start)
        current = server.workspace.get_text_document(uri).source
        start = time.perf_counter()
        check_config_text(current, path, repo)
        checker_times.append(time.perf_counter() - start)
    served, checked = median_ms(server_times), median_ms(checker_times)
    print(f"2. diagnostics after an edit of a {len(text.splitlines())}-line config (median of 40)")
    print(f"   server time (update, check, LSP form)  {served:6.2f} ms   (target < 20 ms)")
    print(
        f"   check_config_text alone                {checked:6.2f} ms   "
        f"server/check {ratio(served, checked)}"
    )

    # The same over stdio, as a client sees it (debounce subtracted).
    from synthetic_ls.lsp.diagnostics import DEBOUNCE_SECONDS

    client = Client()
    client.initialize(repo)
    client.open(path, text)
    client.wait("textDocument/publishDiagnostics")
    trips: list[float] = []
    for version in range(2, 12):
        value = "planning" if version % 2 else "implementation"
        old = "implementation" if version % 2 else "planning"
        start = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": line, "character": 13},
                            "end": {"line": line, "character": 13 + len(old)},
                        },
                        "text": value,
                    }
                ],
            },
        )
        client.wait("textDocument/publishDiagnostics")
        trips.append(time.perf_counter() - start - DEBOUNCE_SECONDS)
    client.close()
    print(
        f"   over stdio, edit to diagnostics less the {DEBOUNCE_SECONDS * 1000:.0f} ms debounce "
        f"{median_ms(trips):6.2f} ms"
    )


# -- 3. memory ---------------------------------------------------------------------------


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_memory(work: Path, edits: int = 10_000) -> None:
    from lsprotocol import types

    text = EXAMPLE.read_text()
    repo = make_repo(work / "memory", text)
    path = repo / "synthetic.config.ts"
    uri = path.as_uri()
    line = text.splitlines().index('      label: "Web API Server",')

    def change(version: int) -> dict[str, Any]:
        letter = "AB"[version % 2]
        return {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": line, "character": 14},
                        "end": {"line": line, "character": 15},
                    },
                    "text": letter,
                }
            ],
        }

    client = Client()
    client.initialize(repo)
    client.open(path, text)
    client.wait("textDocument/publishDiagnostics")
    marks: dict[int, int] = {}
    for version in range(2, edits + 2):
        client.notify("textDocument/didChange", change(version))
        if version % 50 == 0:
            # A pause now and then, so that checks run as they would while typing.
            client.wait("textDocument/publishDiagnostics")
        if version - 1 in (100, 1_000, edits):
            client.wait("textDocument/publishDiagnostics")
            marks[version - 1] = client.rss_kb()
    client.close()
    print(f"3. memory after edits (server process RSS; a check every 50 edits, {edits:,} in all)")
    for count, kb in marks.items():
        print(
            f"   after {count:6,} edits  {kb / 1024:7.1f} MB   vs after 100 {ratio(kb, marks[100])}"
        )

    # In-process: every edit checked, the server's cache and documents included.
    server = in_process_server(repo)
    server.workspace.put_text_document(
        types.TextDocumentItem(uri=uri, language_id="typescript", version=1, text=text)
    )
    marks = {}
    for version in range(2, edits + 2):
        letter = "AB"[version % 2]
        server.workspace.update_text_document(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            types.TextDocumentContentChangePartial(
                range=types.Range(
                    start=types.Position(line=line, character=14),
                    end=types.Position(line=line, character=15),
                ),
                text=letter,
            ),
        )
        server.analyze(uri)
        if version - 1 in (100, 1_000, edits):
            marks[version - 1] = _rss_kb()
    print(f"   in-process, every one of {edits:,} edits checked:")
    for count, kb in marks.items():
        print(
            f"   after {count:6,} edits  {kb / 1024:7.1f} MB   vs after 100 {ratio(kb, marks[100])}"
        )


def bench_command_memory(work: Path, commands: int = 2_000, constructs: int = 50) -> None:
    from state_format.store import Store
    from synthetic_ls.ops.constructs import CreateOptions, create_construct

    config = 'export default { templates: { a: { label: "A" } } };\n'
    repo = make_repo(work / "command-memory", config)
    store = Store.open(repo)
    for index in range(constructs):
        create_construct(store, CreateOptions(name=f"c{index}", template_id="a", worktree=False))
    client = Client()
    client.initialize(repo)
    marks: dict[int, int] = {}
    for count in range(1, commands + 1):
        client.request(
            "workspace/executeCommand",
            {"command": "synthetic.construct.list", "arguments": [{"inspect": False}]},
        )
        if count in (100, 1_000, commands):
            marks[count] = client.rss_kb()
    client.close()
    print(f"   over stdio, synthetic.construct.list on {constructs} constructs:")
    for count, kb in marks.items():
        print(
            f"   after {count:6,} lists  {kb / 1024:7.1f} MB   vs after 100 {ratio(kb, marks[100])}"
        )


# -- 4. a command -------------------------------------------------------------------------


def bench_command(work: Path, constructs: int = 200, runs: int = 15) -> None:
    from state_format.store import Store
    from synthetic_ls.ops.constructs import CreateOptions, create_construct
    from synthetic_ls.ops.listing import list_constructs

    repo = make_repo(work / "command", EXAMPLE.read_text().replace("// MISTAKE", "//"))
    # A config without errors, so that constructs can be made from it.
    (repo / "synthetic.config.ts").write_text(
        'export default { templates: { a: { label: "A" } } };\n'
    )
    store = Store.open(repo)
    for index in range(constructs):
        create_construct(store, CreateOptions(name=f"c{index}", template_id="a", worktree=False))
    in_process: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        list_constructs(Store.open(repo), inspect=True).to_dict()
        in_process.append(time.perf_counter() - start)
    client = Client()
    client.initialize(repo)
    over: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = client.request(
            "workspace/executeCommand",
            {"command": "synthetic.construct.list", "arguments": [{}]},
        )
        over.append(time.perf_counter() - start)
        assert len(result["constructs"]) == constructs
    client.close()
    served, direct = median_ms(over), median_ms(in_process)
    print(f"4. synthetic.construct.list on {constructs} constructs (median of {runs})")
    print(f"   over stdio           {served:7.2f} ms")
    print(f"   ops in-process       {direct:7.2f} ms   stdio/in-process {ratio(served, direct)}")


# -- 5. the live-state poll ------------------------------------------------------------------


def bench_poll(work: Path, files: int = 10_000) -> None:
    from synthetic_ls.lsp.live_state import FULL_EVERY, INTERVAL, contents_stamp, folder_stamp

    folder = work / "records"
    folder.mkdir()
    for index in range(files):
        (folder / f"c{index:05d}.toml").write_text('id = "x"\n')
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        folder_stamp(folder)
    stat = (time.perf_counter() - start) / runs
    start = time.perf_counter()
    for _ in range(5):
        contents_stamp(folder)
    scan = (time.perf_counter() - start) / 5
    per_second = (stat / INTERVAL + scan / (INTERVAL * FULL_EVERY)) * 1000
    print(f"5. live-state poll (every {INTERVAL * 1000:.0f} ms; a scan every {FULL_EVERY})")
    print(f"   stat of the folder               {stat * 1e6:8.1f} us")
    print(f"   scan of {files:,} record files     {scan * 1000:8.1f} ms (off the message loop)")
    print(f"   cost: {per_second:.1f} ms of CPU per second with {files:,} records")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        bench_startup(work)
        bench_latency(work)
        bench_command(work)
        bench_poll(work)
        bench_memory(work)
        bench_command_memory(work)


if __name__ == "__main__":
    main()
