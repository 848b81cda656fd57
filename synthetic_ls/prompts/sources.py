"""Which files make a prompt bundle, in which order, read safely."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthetic_ls.errors import SyntheticError
from synthetic_ls.repo_files import (
    escapes_repo,
    git_private_dirs,
    glob_matches,
    glob_segments,
    has_glob,
    in_git_dir,
    names_git_dir,
    walk_start,
)

#: Largest fragment read (bytes); a bundle is for a model's context, not a corpus.
FRAGMENT_MAX = 256 * 1024
#: Most files one pattern may bring in.
FILES_PER_PATTERN = 200
_SKIP_DIRS = frozenset({".git", "node_modules"})


class PromptError(SyntheticError):
    """A prompt fragment that cannot be used: missing, unreadable, or with a bad variable.

    ``fields`` locate it: ``file`` (repository-relative), and ``line`` /
    ``column`` (1-based) for a variable.
    """

    code = "prompt-error"


@dataclass(frozen=True)
class Source:
    """One file of the bundle: its path, the config entry that brought it, its order."""

    path: str  # repository-relative, with "/"
    entry: str  # the path or glob as written in the config
    origin: str  # "promptSources" or "templates.<id>.prompts"
    order: int | None  # set for {path, order} entries


def _inside(root: Path, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == os.path.realpath(root) or Path(real).is_relative_to(os.path.realpath(root))


def _regular(root: Path, rel: str, private: tuple[str, ...]) -> bool:
    path = root / rel
    if not _inside(root, path) or in_git_dir(root, rel, private):
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _walk(root: Path, start: Path) -> Iterable[str]:
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")


def expand(root: Path, entry: str) -> list[str]:
    """The regular files inside the repository an entry names (file, folder or glob), sorted.

    At most ``FILES_PER_PATTERN + 1`` of them: one more than a bundle takes
    says that the entry names too many.

    A path out of the repository, also through a symbolic link, names
    nothing; nor does one in a git directory (see :func:`~synthetic_ls.repo_files.names_git_dir`).
    """
    pattern = entry.replace("\\", "/").removeprefix("./")
    if not pattern or escapes_repo(pattern):
        return []
    private = git_private_dirs(root)
    if not has_glob(pattern):
        target = root / pattern
        if os.path.isdir(target) and _inside(root, target):
            found = [p for p in _walk(root, target) if _regular(root, p, private)]
            return found[:FILES_PER_PATTERN + 1]
        return [pattern.rstrip("/")] if _regular(root, pattern, private) else []
    start = walk_start(root, pattern)
    if not os.path.isdir(start) or not _inside(root, start):
        return []
    globs = glob_segments(pattern.rstrip("/"))
    found = []
    for rel in _walk(root, start):
        if glob_matches(globs, rel.split("/")) and _regular(root, rel, private):
            found.append(rel)
            if len(found) > FILES_PER_PATTERN:
                break
    return found


def resolve(root: Path, entries: Sequence[Source]) -> list[Source]:
    """The bundle's files in order: ``{path, order}`` entries by order, then the rest as written.

    ``entries`` are the config's entries as written (``path`` empty): the
    caller reads them from the config, which this package does not know. A
    file named twice comes once, where it first comes. An entry that names
    no file is a :class:`PromptError`.
    """
    ordered = sorted((e for e in entries if e.order is not None), key=lambda e: e.order or 0)
    rest = [e for e in entries if e.order is None]
    seen: set[str] = set()
    out: list[Source] = []
    for entry in [*ordered, *rest]:
        if names_git_dir(root, entry.entry):
            raise PromptError(
                f"prompt source {entry.entry!r} ({entry.origin}) is in the git directory, "
                "which holds credentials and Synthetic's state; a prompt may not read it",
                fields={"file": entry.entry, "origin": entry.origin},
            )
        files = expand(root, entry.entry)
        if not files:
            raise PromptError(
                f"prompt source {entry.entry!r} ({entry.origin}) {_why_nothing(root, entry.entry)}",
                fields={"file": entry.entry, "origin": entry.origin},
            )
        if len(files) > FILES_PER_PATTERN:
            raise PromptError(
                f"prompt source {entry.entry!r} ({entry.origin}) names more than "
                f"{FILES_PER_PATTERN} files; name fewer (a bundle is for a model's context)",
                fields={"file": entry.entry, "origin": entry.origin},
            )
        for path in files:
            if path not in seen:
                seen.add(path)
                out.append(Source(path, entry.entry, entry.origin, entry.order))
    return out


def _why_nothing(root: Path, entry: str) -> str:
    """Why a path entry names no file, in the words of a message."""
    pattern = entry.replace("\\", "/").removeprefix("./")
    if pattern and not has_glob(pattern) and not escapes_repo(pattern):
        path = root / pattern
        if os.path.lexists(path) and not _inside(root, path):
            return "leads out of the repository (a symbolic link), so it is not read"
        if os.path.lexists(path) and not os.path.isdir(path) and not _regular(
            root, pattern.rstrip("/"), git_private_dirs(root)
        ):
            return "is not a regular file, so it is not read"
    return "names no file in the repository"


def read_fragment(root: Path, rel: str) -> str:
    """The text of a fragment: a regular UTF-8 file inside the repository, at most FRAGMENT_MAX."""
    path = root / rel
    if not _inside(root, path):
        raise PromptError(f"prompt file {rel} leads out of the repository", fields={"file": rel})
    if in_git_dir(root, rel):
        raise PromptError(f"prompt file {rel} is in the git directory", fields={"file": rel})
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        # A link inside the repository is fine: read where it points (checked above).
        try:
            fd = os.open(os.path.realpath(path), os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            raise PromptError(
                f"cannot read prompt file {rel}: {err.strerror}", fields={"file": rel}
            ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PromptError(f"prompt file {rel} is not a regular file", fields={"file": rel})
        data = handle.read(FRAGMENT_MAX + 1)
    if len(data) > FRAGMENT_MAX:
        raise PromptError(
            f"prompt file {rel} is larger than {FRAGMENT_MAX // 1024} KiB", fields={"file": rel}
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PromptError(f"prompt file {rel} is not UTF-8 text", fields={"file": rel}) from None
