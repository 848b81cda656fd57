"""Repository-relative paths and globs: escaping the repository, matching files.

Globs use the usual syntax: ``*`` and ``?`` within one path segment, ``[...]``
character classes and ``**`` for any number of folders (as a whole segment;
elsewhere ``**`` is a plain ``*``, as in ``.gitignore``). Matching walks the
repository lazily, skips ``.git`` and ``node_modules`` and gives up (assuming
a match, so that no false warning is shown) after a fixed number of entries,
so a check stays fast on a large checkout. A :class:`WalkBudget` shared by
the matches of one config check bounds their total the same way, however
many patterns the file holds.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import stat
from functools import lru_cache
from pathlib import Path

_SKIP_DIRS = frozenset({".git", "node_modules"})
_WALK_BUDGET = 20_000
# Entries all the matches of one config check may look at together: a few
# large walks' worth, a fraction of a second. A 1 MB file holds tens of
# thousands of patterns; without it, each one would walk the checkout.
CHECK_WALK_BUDGET = 200_000
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


def git_private_dirs(root: Path) -> tuple[str, ...]:
    """The real paths of the git folders behind the checkout at ``root``.

    Its git directory and, for a linked worktree, the common one: they hold
    the remote's credentials, hooks and Synthetic's own state (the OpenCode
    password among it), which nothing a repository names may read. Found from
    ``.git`` alone (a folder, or a ``gitdir:`` file and its ``commondir``),
    so asking runs no git.
    """
    dot = Path(root) / ".git"
    found: list[str] = []
    try:
        if dot.is_dir():
            found.append(os.path.realpath(dot))
        elif dot.is_file():
            text = dot.read_text(encoding="utf-8", errors="replace")[:4096]
            if text.startswith("gitdir:"):
                gitdir = Path(root) / text[len("gitdir:"):].strip()
                found.append(os.path.realpath(gitdir))
                common = gitdir / "commondir"
                if common.is_file():
                    named = common.read_text(encoding="utf-8", errors="replace")[:4096].strip()
                    found.append(os.path.realpath(gitdir / named))
    except OSError:
        pass
    return tuple(found)


def in_git_dir(root: Path, rel: str, private: tuple[str, ...] | None = None) -> bool:
    """True when ``rel`` (relative to ``root``) is, or leads into, a git directory.

    By name (any ``.git`` segment: the checkout's own and a submodule's) and
    by where it really is (a symbolic link into the git folders of
    :func:`git_private_dirs`, passed as ``private`` when known).
    """
    if ".git" in rel.replace("\\", "/").split("/"):
        return True
    dirs = git_private_dirs(root) if private is None else private
    real = os.path.realpath(Path(root) / rel)
    return any(real == d or real.startswith(d + os.sep) for d in dirs)


def names_git_dir(root: Path, entry: str) -> bool:
    """True when a config entry (a path or a glob) names a git directory or something in one.

    A glob is judged by the folder all its matches are below. Used for
    prompt entries: a repository's config must not be able to send the
    remote's credentials or Synthetic's state (the OpenCode password) to the
    agent, so such an entry is refused, at the check and at creation.
    """
    pattern = entry.replace("\\", "/").removeprefix("./").rstrip("/")
    if not pattern or escapes_repo(pattern):
        return False
    if has_glob(pattern):
        pattern = walk_start(root, pattern).relative_to(root).as_posix()
    return in_git_dir(root, pattern)


def split_anchor(pattern: str) -> tuple[str, bool]:
    """A .gitignore-style pattern without its leading ``/``, and whether it had one.

    In .gitignore (and so in ``includePatterns``) a leading ``/`` anchors the
    pattern at the repository root: ``/.env`` is the root's ``.env`` only. Two
    slashes are not a pattern but an absolute path, and stay one.
    """
    if pattern.startswith("/") and not pattern.startswith("//"):
        return pattern[1:], True
    return pattern, False


def has_glob(pattern: str) -> bool:
    """True when ``pattern`` contains glob characters."""
    return _GLOB_CHARS.search(pattern) is not None


@lru_cache(maxsize=256)
def glob_segments(pattern: str) -> tuple[re.Pattern[str] | None, ...]:
    """A glob as one compiled pattern per path segment; None stands for ``**``.

    A ``**`` segment is any number of folders (consecutive ones are one);
    other asterisks, even doubled, stay within a name, as in ``.gitignore``.
    Each segment is translated by ``fnmatch``, whose patterns do not
    backtrack, and :func:`glob_matches` combines them without backtracking
    either: a regex over the whole path (``(?:.*/)?`` per ``**``) took seconds
    per name for ten ``**/`` in a row, doubling with each one more.
    """
    out: list[re.Pattern[str] | None] = []
    for segment in pattern.split("/"):
        if segment == "**":
            if not out or out[-1] is not None:
                out.append(None)
        else:
            out.append(re.compile(fnmatch.translate(segment)))
    return tuple(out)


def glob_matches(segments: tuple[re.Pattern[str] | None, ...], parts: list[str]) -> bool:
    """True when the path ``parts`` match ``segments`` (from :func:`glob_segments`).

    The classic wildcard algorithm, over segments, with ``**`` as the star:
    on a mismatch the last ``**`` takes one more segment and the rest is
    tried again, so the work is at most segments × parts, never exponential.
    """
    count = len(segments)
    p = s = 0
    star = resume = -1
    while s < len(parts):
        if p < count and segments[p] is None:
            star, resume = p, s
            p += 1
            continue
        segment = segments[p] if p < count else None
        if segment is not None and segment.match(parts[s]):
            p += 1
            s += 1
        elif star >= 0:
            resume += 1
            p, s = star + 1, resume
        else:
            return False
    while p < count and segments[p] is None:
        p += 1
    return p == count


class WalkBudget:
    """How many more folder entries the matches of one config check may look at."""

    __slots__ = ("left",)

    def __init__(self, entries: int = CHECK_WALK_BUDGET) -> None:
        self.left = entries


def walk_start(root: Path, pattern: str) -> Path:
    """The folder a glob's matches are all below: its leading literal folders under ``root``."""
    fixed: list[str] = []
    for segment in pattern.rstrip("/").split("/")[:-1]:
        if has_glob(segment):
            break
        fixed.append(segment)
    return root.joinpath(*fixed) if fixed else root


def matches_any(
    root: Path, pattern: str, *, anywhere: bool = False, budget: WalkBudget | None = None
) -> bool:
    """True when at least one file or folder under ``root`` matches ``pattern``.

    ``anywhere``: a .gitignore-style pattern: one without ``/`` also matches at
    any depth (``.env*`` matches ``api/.env.local``), and a leading ``/``
    anchors it at the root (``/.env``).
    ``budget``: shared with other calls; once it is spent, every pattern is
    assumed to match (no false warning, and no more looking).
    """
    pattern = pattern.replace("\\", "/").removeprefix("./")
    if anywhere:
        pattern, anchored = split_anchor(pattern)
        anywhere = not anchored  # an anchored pattern matches at the root only
    if not pattern or escapes_repo(pattern):
        return False
    if budget is not None:
        if budget.left <= 0:
            return True
        budget.left -= 1  # the stat below, or the start of the walk
    if not has_glob(pattern):
        # os.path, not Path: a name the filesystem cannot hold (too long, a
        # NUL) is simply not there, where Path.exists() raises.
        if os.path.exists(root / pattern):
            return True
        if not (anywhere and "/" not in pattern.rstrip("/")):
            return False
    if anywhere and "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    start = walk_start(root, pattern)
    if not os.path.isdir(start):
        return False
    globs = glob_segments(pattern.rstrip("/"))
    last = globs[-1]
    # Without `**` a match has as many parts as the pattern: go no deeper.
    most = None if None in globs else len(globs)
    left = _WALK_BUDGET if budget is None else min(_WALK_BUDGET, budget.left)
    for folder, dirs, files in os.walk(start):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        parts = [] if rel == "." else rel.split("/")
        names = (*files, *dirs)
        if most is not None and len(parts) + 1 >= most:
            dirs[:] = []
        for name in names:
            # The last segment first: one compiled match rules out most names.
            if (last is None or last.match(name)) and glob_matches(globs, [*parts, name]):
                return True
        seen = len(files) + len(dirs) + 1
        left -= seen
        if budget is not None:
            budget.left -= seen
        if left <= 0:
            return True  # too big to be sure: do not warn
    return False


def repo_file(repo_root: Path, text: str) -> Path | None:
    """The regular file a repository-relative path in the config names, or None.

    None for a glob, a path out of the repository (also through a symbolic
    link: the real path must stay inside), a missing file or anything that
    is not a regular file (a folder, a pipe, a device). What an editor
    opens or previews for a prompt path; reading it runs nothing.
    """
    if not text or has_glob(text) or escapes_repo(text):
        return None
    candidate = Path(repo_root) / text
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(os.path.realpath(repo_root)):
        return None
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None
    except OSError:
        return None
    return candidate


def utf8_path_problem(path: Path | str, what: str) -> str | None:
    """Why ``path`` cannot be used (None when it can): it is not UTF-8 text.

    Records are TOML and the agent's messages JSON, both UTF-8: a folder
    name holding other bytes (decoded by Python as surrogate escapes) could
    be neither recorded nor told to the agent.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return (f"{what} {shown} is not UTF-8 text, which Synthetic's records and the "
                "agent's messages must be; rename or move it")
    return None
