"""The files OpenCode would load from a folder, read from disk or from a commit.

OpenCode loads a folder's ``opencode.json(c)`` and ``.opencode/`` (plugins,
tools, its own config) when it first serves that folder. A new construct's
worktree does not exist when consent is asked, so its files are read from
the commit it will start from; an existing worktree's are read from disk
(an agent may have changed them).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a read of folders (``ls``) must not pay for importing pygit2
    import pygit2

#: Files OpenCode reads as its config in a folder (and in ``.opencode/``).
CONFIG_NAMES = ("opencode.json", "opencode.jsonc", ".opencode/opencode.json",
                ".opencode/opencode.jsonc")
#: Folders of code OpenCode loads and runs itself (plugins) or on the agent's call (tools).
CODE_FOLDERS = (".opencode/plugin", ".opencode/plugins", ".opencode/tool", ".opencode/tools")
#: At most this many files are listed per folder; more are summed up as one item.
MAX_FILES = 200
#: A config file larger than this is not parsed (it is still listed, by digest).
MAX_CONFIG = 1024 * 1024


class FileSource(Protocol):
    """Files under a root, by path relative to it (``/``-separated)."""

    def read(self, path: str, limit: int) -> bytes | None:
        """The file's first ``limit`` bytes, or None when it is not a regular file."""

    def digest(self, path: str) -> str | None:
        """SHA-256 of the file's whole content, or None when it is not a file."""

    def files_under(self, folder: str) -> Iterator[str]:
        """Every file below ``folder``, sorted (nothing when it is not a folder)."""


class FolderFiles:
    """Files of a folder on disk; links are not followed (OpenCode's own may be)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def _is_file(self, path: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(self._path(path)).st_mode)
        except (OSError, ValueError):
            return False

    def read(self, path: str, limit: int) -> bytes | None:
        """The file's first ``limit`` bytes (a link is read through: OpenCode would)."""
        if not self._is_file(path):
            return None
        try:
            with open(self._path(path), "rb") as f:
                return f.read(limit)
        except OSError:
            return None

    def digest(self, path: str) -> str | None:
        """SHA-256 of the file, streamed."""
        if not self._is_file(path):
            return None
        try:
            with open(self._path(path), "rb") as f:
                return hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            return None

    def files_under(self, folder: str) -> Iterator[str]:
        """Files below ``folder``, sorted; links to files count, linked folders are not entered."""
        base = self._path(folder)
        if not base.is_dir():
            return
        found: list[str] = []
        for top, dirs, names in os.walk(base):
            dirs.sort()
            rel = Path(top).relative_to(self.root).as_posix()
            found.extend(f"{rel}/{n}" for n in names if self._is_file(f"{rel}/{n}"))
        yield from sorted(found)


class CommitFiles:
    """Files of a commit's tree (what a new worktree will hold)."""

    def __init__(self, repo: pygit2.Repository, commit_id: str) -> None:
        import pygit2

        self._pygit2 = pygit2
        self.tree = repo[commit_id].peel(pygit2.Commit).tree

    def _blob(self, path: str) -> pygit2.Blob | None:
        try:
            entry = self.tree[path]
        except KeyError:
            return None
        return entry if isinstance(entry, self._pygit2.Blob) else None

    def read(self, path: str, limit: int) -> bytes | None:
        """The blob's first ``limit`` bytes."""
        blob = self._blob(path)
        return None if blob is None else blob.data[:limit]

    def digest(self, path: str) -> str | None:
        """SHA-256 of the blob's content (not git's object id: the same as on disk)."""
        blob = self._blob(path)
        return None if blob is None else hashlib.sha256(blob.data).hexdigest()

    def files_under(self, folder: str) -> Iterator[str]:
        """Blobs below ``folder``, sorted."""
        try:
            sub = self.tree[folder]
        except KeyError:
            return
        git = self._pygit2
        if not isinstance(sub, git.Tree):
            return
        found: list[str] = []

        def walk(tree: pygit2.Tree, prefix: str) -> None:
            for entry in tree:
                path = f"{prefix}/{entry.name}"
                if isinstance(entry, git.Tree):
                    walk(entry, path)
                elif isinstance(entry, git.Blob):
                    found.append(path)

        walk(sub, folder)
        yield from sorted(found)
