"""The one error type every operation raises, with stable exit codes.

The CLI catches :class:`SyntheticError` at its entry point and prints
``synthetic: <message>`` on stderr with ``exit_code``; the language server turns
it into an LSP error. Each exit code means one thing, documented in the README.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from state_format.errors import BrokenRecordError, CodedError


class ExitCode(IntEnum):
    """Process exit codes of the ``synthetic`` command; each means one thing."""

    OK = 0
    FAILED = 1  # the operation ran and found errors (e.g. config check) or failed
    USAGE = 2  # bad command-line usage (argparse uses 2 as well)
    NOT_FOUND = 3  # a construct, file or ref that was named does not exist
    STATE = 4  # the on-disk state is unreadable, broken or from a newer version
    CONFLICT = 5  # the request conflicts with current state (transition, dirty tree, exists)
    NOT_A_REPO = 6  # not inside a git repository (or a bare one)
    INVALID = 7  # the input was rejected (bad name, bad template, bad config)
    INTERNAL = 70  # a bug in Synthetic (sysexits' EX_SOFTWARE); never expected
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


#: Stable error codes by exit code, for errors that name no code of their own.
_CODES_BY_EXIT: dict[int, str] = {
    ExitCode.FAILED: "failed",
    ExitCode.USAGE: "usage",
    ExitCode.NOT_FOUND: "not-found",
    ExitCode.STATE: "state",
    ExitCode.CONFLICT: "conflict",
    ExitCode.NOT_A_REPO: "not-a-repo",
    ExitCode.INVALID: "invalid-input",
    ExitCode.INTERNAL: "internal",
    ExitCode.INTERRUPTED: "interrupted",
}



class SyntheticError(CodedError):
    """An error a user can act on; ``str(err)`` is the one-line message.

    ``code`` is a stable name (``not-found``, ``conflict`` ...) that faces
    report in machine-readable output; by default it follows the exit code.
    ``fields`` holds structured details (a step, candidates, a file).
    """

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(
        self,
        message: str,
        *,
        exit_code: ExitCode | None = None,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        if exit_code is not None:
            self.exit_code = exit_code
        # The class's own code, else the one that goes with the exit code.
        code = code or type(self).code or _CODES_BY_EXIT.get(self.exit_code, "failed")
        super().__init__(message, code=code, fields=fields)

    @property
    def message(self) -> str:
        """The human message, one line."""
        return str(self)


class NotFoundError(SyntheticError):
    """Something the user named does not exist."""

    exit_code = ExitCode.NOT_FOUND
    code = "not-found"


class ConflictError(SyntheticError):
    """The request conflicts with current state."""

    exit_code = ExitCode.CONFLICT
    code = "conflict"


class InvalidInputError(SyntheticError):
    """The user's input was rejected."""

    exit_code = ExitCode.INVALID
    code = "invalid-input"


def error_payload(exc: CodedError) -> dict[str, Any]:
    """A user error as data: ``{"code", "message", "exit_code", ...fields}``."""
    fields = dict(exc.fields)
    if isinstance(exc, BrokenRecordError):
        fields["file"] = fields.pop("path", exc.path)
    return {"code": exc.code, "message": str(exc), "exit_code": int(exc.exit_code), **fields}


class OperationCancelledError(SyntheticError):
    """The person asked to stop (an editor's Cancel); what was begun is undone."""

    exit_code = ExitCode.INTERRUPTED
    code = "cancelled"
