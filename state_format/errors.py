"""Errors raised by the state format, and the base of every error Synthetic reports.

:class:`CodedError` is the one error family: every error a person is shown
(here, and ``SyntheticError`` above this package) has a one-line message, a
stable ``code`` (a name) and structured ``fields``. Faces map codes to their
own form (an exit code and a hint in the CLI, JSON-RPC error data in the
language server); Synthetic declares every code, with its meaning, in
``synthetic_ls/error_codes.py``.
"""

from __future__ import annotations

import re
from typing import Any


def _kebab(class_name: str) -> str:
    """``BrokenRecordError`` -> ``broken-record``."""
    stem = class_name.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower()


class CodedError(Exception):
    """An error a person can act on: ``str()`` is one line, ``code`` a stable name.

    ``code`` is the class's own ``code`` when it sets one, else the class
    name in kebab case (``BrokenRecordError`` is ``broken-record``).
    :attr:`fields` are the structured details.
    """

    code: str = ""

    def __init__(
        self, *args: Any, code: str | None = None, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(*args)
        self.code = code or type(self).code or _kebab(type(self).__name__)
        self.extra_fields: dict[str, Any] = dict(fields or {})

    @property
    def fields(self) -> dict[str, Any]:
        """Structured details: the path, line or OS error number when there is one, and more."""
        out: dict[str, Any] = {}
        for name in ("path", "line", "errno"):
            value = getattr(self, name, None)
            if isinstance(value, str | int) and not isinstance(value, bool):
                out[name] = value
        out.update(self.extra_fields)
        return out


class StateError(CodedError):
    """Base class: the on-disk state cannot be used as asked. ``str()`` is one line."""



class NotARepositoryError(StateError):
    """The path is not inside a git repository, or the repository is bare."""



class FormatTooNewError(StateError):
    """The state was written by a newer Synthetic; this tool must be upgraded."""



class BrokenRecordError(StateError):
    """A record file is not valid TOML or does not match its schema.

    ``path`` and ``line`` (1-based, or None when unknown) locate the problem.
    """


    def __init__(self, path: str, line: int | None, detail: str) -> None:
        self.path = path
        self.line = line
        self.detail = detail
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: broken record: {detail}")


class RecordNotFoundError(StateError):
    """No record matches the given id, prefix or name."""



class AmbiguousReferenceError(StateError):
    """A prefix or name matches more than one record."""



class LockTimeoutError(StateError):
    """Another process held the state lock for too long."""



class BareRepositoryError(NotARepositoryError):
    """The repository is bare: constructs need a work tree to live beside."""


class InvalidRecordError(StateError):
    """A record the caller asked to write does not satisfy the format.

    Raised before anything touches the disk, so the old file stays as it was.
    """



class LockLostError(LockTimeoutError):
    """The lock file was deleted or replaced while held; the write was abandoned."""


class StateLayoutError(StateError):
    """Something under the state folder is of the wrong kind.

    For example ``constructs`` is a file where the folder of records belongs,
    or ``.lock`` is a folder where the lock file belongs. ``path`` names it;
    the message says what to move away. Nothing was read or changed.
    """


    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class StateAccessError(StateError):
    """The system refused to read or write the state: no permission, a read-only
    file system, a full disk. ``path`` is the file or folder concerned, ``errno``
    the system's error number (or None).

    Writes are atomic, so the files are as they were before the attempt unless
    the message says otherwise.
    """


    def __init__(self, path: str, errno: int | None, message: str) -> None:
        self.path = path
        self.errno = errno
        super().__init__(message)


class UnsafeRepositoryError(NotARepositoryError):
    """Git refuses to use the repository (``safe.directory``: it belongs to another user).

    The message carries git's own explanation, with the command that adds an
    exception if the person trusts the repository.
    """
