"""The one error type every operation raises, with stable exit codes.

The CLI catches :class:`SyntheticError` at its entry point and prints
``synthetic: <message>`` on stderr with ``exit_code``; the language server turns
it into an LSP error. Each exit code means one thing, documented in the README.
"""

from __future__ import annotations

from enum import IntEnum


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


class SyntheticError(Exception):
    """An error a user can act on; ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        """The human message, one line."""
        return str(self)


class NotFoundError(SyntheticError):
    """Something the user named does not exist."""

    exit_code = ExitCode.NOT_FOUND


class ConflictError(SyntheticError):
    """The request conflicts with current state."""

    exit_code = ExitCode.CONFLICT


class InvalidInputError(SyntheticError):
    """The user's input was rejected."""

    exit_code = ExitCode.INVALID
