"""Repository-relative paths and globs: escaping the repository, matching files.

Globs use the usual syntax: ``*`` and ``?`` within one path segment, ``[...]``
character classes and ``**`` for any number of folders. Matching walks the
repository lazily, skips ``.git`` and ``node_modules`` and gives up (assuming
a match, so that no false warning is shown) after a fixed number of entries,
so a check stays fast on a large checkout.
"""

from __future__ import annotations

import os
import posixpath
import re
from functools import lru_cache
from pathlib import Path

_SKIP_DIRS = frozenset({".git", "node_modules"})
_WALK_BUDGET = 20_000
_GLOB_CHARS = re.compile(r"[*?\[]")
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")  # a Windows absolute path


def escapes_repo(path: str) -> bool:
    """True when ``path`` is absolute or climbs out of the folder it is relative to."""
    if not path:
        return False
    if path.startswith(("/", "\\", "~")) or _DRIVE.match(path):
        return True
    normal = posixpath.normpath(path.replace("\\", "/"))
    return normal == ".." or normal.startswith("../")


def has_glob(pattern: str) -> bool:
    """True when ``pattern`` contains glob characters."""
    return _GLOB_CHARS.search(pattern) is not None


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob to a regex over '/'-separated relative paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error:
        return re.compile(re.escape(pattern) + r"\Z")


def matches_any(root: Path, pattern: str, *, anywhere: bool = False) -> bool:
    """True when at least one file or folder under ``root`` matches ``pattern``.

    ``anywhere``: a pattern without ``/`` also matches at any depth, the way
    ``.gitignore`` patterns do (``.env*`` matches ``api/.env.local``).
    """
    pattern = pattern.replace("\\", "/").removeprefix("./")
    if not pattern or escapes_repo(pattern):
        return False
    if not has_glob(pattern):
        if (root / pattern).exists():
            return True
        if not (anywhere and "/" not in pattern.rstrip("/")):
            return False
    if anywhere and "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    # Walk only below the literal folders that start the pattern.
    segments = pattern.rstrip("/").split("/")
    fixed: list[str] = []
    for segment in segments[:-1]:
        if has_glob(segment):
            break
        fixed.append(segment)
    start = root.joinpath(*fixed) if fixed else root
    if not start.is_dir():
        return False
    regex = glob_regex(pattern.rstrip("/"))
    budget = _WALK_BUDGET
    for folder, dirs, files in os.walk(start):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        for name in (*files, *dirs):
            if regex.match(prefix + name):
                return True
        budget -= len(files) + len(dirs) + 1
        if budget <= 0:
            return True  # too big to be sure: do not warn
    return False
