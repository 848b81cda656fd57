"""Live state: tell clients when construct records change on disk.

Records live in ``<git common dir>/synthetic/constructs/``, which editors
exclude from file watching, so the server watches it itself, for every
repository it sees (workspace folders and the repositories of open configs),
and sends the custom notification::

    synthetic/constructsChanged  {"root": "<repository work tree>", "stateDir": "<...>"}

A client refreshes its tree views on it (``synthetic.construct.list``).
When the watch of a repository begins, the server says so in the client's
log (``window/logMessage``: ``watching construct records of <root> (<folder>)``).

How: a stat poll, measured to be enough (``bench/bench_lsp.py``). Every
``INTERVAL`` seconds one ``stat`` of the folder (every record is written
by rename, which changes the folder); every ``FULL_EVERY`` polls (10 s) a scan of
the files' sizes and times as well, off the loop, for a hand edit made in
place. Latency is at most one interval for writes made by Synthetic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from synthetic_ls.lsp.server import SyntheticServer

log = logging.getLogger(__name__)

NOTIFICATION = "synthetic/constructsChanged"
#: How the log message that a repository is watched begins (followed by its root).
WATCHING = "watching construct records of"
INTERVAL = 0.25
FULL_EVERY = 40
RECORDS_FOLDER = "constructs"

Stamp = tuple[int, int, int] | None


def folder_stamp(folder: Path) -> Stamp:
    """A cheap stamp of the folder itself: changes when a file is added, removed or renamed."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)


def contents_stamp(folder: Path) -> tuple[int, int, int] | None:
    """A stamp of the files in the folder (count, newest change, total size)."""
    count = newest = total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                count += 1
                newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
                total += info.st_size
    except OSError:
        return None
    return (count, newest, total)


@dataclass
class Watched:
    """One repository's records folder and what it looked like last time."""

    root: Path
    state_dir: Path
    folder: Stamp
    contents: tuple[int, int, int] | None

    @property
    def records(self) -> Path:
        """The folder of construct records."""
        return self.state_dir / RECORDS_FOLDER


class Watcher:
    """Polls the records folders of the repositories seen; notifies on a change."""

    def __init__(self, server: SyntheticServer) -> None:
        self.server = server
        self.watched: dict[Path, Watched] = {}
        self._task: asyncio.Task[None] | None = None
        self._ticks = 0

    def add(self, root: Path) -> None:
        """Start watching the repository at ``root`` (called on the loop)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, _state_dir, root)
        future.add_done_callback(lambda done: self._added(root, done))

    def _added(self, root: Path, done: asyncio.Future[Path | None]) -> None:
        state_dir = done.result() if not done.cancelled() and done.exception() is None else None
        if state_dir is None or root in self.watched:
            return
        records = state_dir / RECORDS_FOLDER
        watched = Watched(root, state_dir, folder_stamp(records), None)
        self.watched[root] = watched
        # In the client's log (VS Code's output channel, Neovim's lsp.log):
        # from here on, a change of the records is notified.
        self.server.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info, message=f"{WATCHING} {root} ({records})"
            )
        )
        try:
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self._prime, watched)
            if self._task is None:
                self._task = loop.create_task(self._run())
        except RuntimeError:  # the server is exiting
            return

    @staticmethod
    def _prime(watched: Watched) -> None:
        watched.contents = contents_stamp(watched.records)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(INTERVAL)
            self._ticks += 1
            full = self._ticks % FULL_EVERY == 0
            for watched in list(self.watched.values()):
                try:
                    changed = self._poll(watched)
                    if full and not changed:
                        contents = await loop.run_in_executor(None, contents_stamp, watched.records)
                        changed = contents != watched.contents
                        watched.contents = contents
                    elif changed:
                        watched.contents = await loop.run_in_executor(
                            None, contents_stamp, watched.records
                        )
                    if changed:
                        self._changed(watched)
                except Exception:  # a poll must never stop the others
                    log.exception("watching %s failed", watched.records)

    def _poll(self, watched: Watched) -> bool:
        stamp = folder_stamp(watched.records)
        if stamp == watched.folder:
            return False
        watched.folder = stamp
        return True

    def _changed(self, watched: Watched) -> None:
        server = self.server
        server.protocol.notify(
            NOTIFICATION, {"root": str(watched.root), "stateDir": str(watched.state_dir)}
        )
        capabilities = server.client_capabilities
        workspace = capabilities.workspace if capabilities is not None else None
        lens = workspace.code_lens if workspace is not None else None
        if lens is not None and lens.refresh_support:
            server.protocol.send_request(types.WORKSPACE_CODE_LENS_REFRESH, None)

    def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            self._task = None


def _state_dir(root: Path) -> Path | None:
    """The Synthetic state folder of the repository at ``root`` (nothing is created)."""
    from state_format.errors import StateError
    from state_format.paths import find_repo

    try:
        return find_repo(root).state_dir
    except (StateError, OSError) as exc:
        log.info("not watching %s: %s", root, exc)
        return None


def register(server: SyntheticServer) -> None:
    """Watch every repository the server sees."""
    watcher = Watcher(server)
    server.live_state = watcher
    server.on_repository.append(watcher.add)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SyntheticServer, params: None) -> None:
        watcher.stop()
        for callback in ls.on_shutdown:
            with contextlib.suppress(Exception):
                callback()
        with contextlib.suppress(Exception):
            ls.checker.shutdown(wait=False, cancel_futures=True)
