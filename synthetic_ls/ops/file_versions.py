"""One file of a construct as of its merge base or its branch tip.

An editor's diff view puts this on the left (``at="base"``: the merge base
with its target) beside the file in the construct's worktree, or shows the
branch tip's version (``at="head"``) of a file the worktree no longer has.
The content comes from git's objects only, never from the filesystem, so a
path can name nothing outside the repository; a file over
:data:`TEXT_MAX` or one that looks binary is described, not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from synthetic_ls.errors import InvalidInputError
from synthetic_ls.git import review as gitr

#: Largest file sent as text (bytes); a larger one is described by its size.
TEXT_MAX = 4 * 1024 * 1024
#: Where git looks for a NUL to call a file binary (its own heuristic's span).
_BINARY_PROBE = 8000
#: The versions a caller may ask for.
SIDES = ("base", "head")


class FileVersionJson(TypedDict):
    """``synthetic.construct.file``: one file at the merge base or the branch tip; ``text``
    is null when it does not exist there, is binary or too large (``size`` bytes)."""

    construct: str
    path: str
    at: Literal["base", "head"]
    commit: str
    exists: bool
    size: int
    binary: bool
    too_large: bool
    text: str | None


@dataclass(frozen=True)
class FileVersion:
    """A file's content (or why there is none) at one side of a construct's span."""

    construct: str
    path: str
    at: Literal["base", "head"]
    commit: str
    exists: bool
    size: int
    binary: bool
    too_large: bool
    text: str | None

    def to_dict(self) -> FileVersionJson:
        """``{construct, path, at, commit, exists, size, binary, too_large, text}``."""
        return {
            "construct": self.construct,
            "path": self.path,
            "at": self.at,
            "commit": self.commit,
            "exists": self.exists,
            "size": self.size,
            "binary": self.binary,
            "too_large": self.too_large,
            "text": self.text,
        }


def _checked_path(path: str) -> str:
    """``path`` if it is a plain repository-relative path, else InvalidInputError."""
    parts = PurePosixPath(path).parts
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(c in path for c in "\0\n\r")
        or any(p in (".", "..") for p in parts)
        or path != "/".join(parts)
    ):
        raise InvalidInputError(
            f"{path!r} is not a path inside the repository (relative, with no '.' or '..' "
            "parts)",
            fields={"path": path},
        )
    return path


def file_version(store: StateStore, ref: str, path: str, *, at: str = "base") -> FileVersion:
    """``path`` in construct ``ref`` as of its merge base (``base``) or branch tip (``head``)."""
    from synthetic_ls.ops.review import span_of

    if at not in SIDES:
        raise InvalidInputError(f"unknown side {at!r} (one of {', '.join(SIDES)})")
    side: Literal["base", "head"] = "base" if at == "base" else "head"
    _checked_path(path)
    span = span_of(store, ref)
    commit = span.merge_base if side == "base" else span.head
    blob = gitr.read_blob(span.root, commit, path, TEXT_MAX)
    exists = blob.kind != "missing"
    too_large = blob.kind == "blob" and blob.data is None
    binary = blob.data is not None and b"\0" in blob.data[:_BINARY_PROBE]
    text: str | None = None
    if blob.data is not None and not binary:
        text = blob.data.decode("utf-8", "replace")
    elif blob.kind == "commit":
        text = f"Subproject at {path}\n"
    return FileVersion(
        span.construct.id, path, side, commit, exists, blob.size, binary, too_large, text
    )
