"""The ``synthetic`` command's exit statuses: the only place they are known.

Each kind of error (:class:`~synthetic_ls.error_codes.Kind`) has one status,
documented in the README; the core raises codes, never statuses.
"""

from __future__ import annotations

from enum import IntEnum

from state_format.errors import CodedError
from synthetic_ls.error_codes import Kind
from synthetic_ls.errors import kind


class ExitCode(IntEnum):
    """Process exit statuses of the ``synthetic`` command; each means one thing."""

    OK = 0
    FAILED = 1  # the operation ran and found errors (e.g. config check) or failed
    USAGE = 2  # bad command-line usage (argparse uses 2 as well)
    NOT_FOUND = 3  # a construct, file or ref that was named does not exist
    STATE = 4  # the on-disk state is unreadable, broken or from a newer version
    CONFLICT = 5  # the request conflicts with current state (transition, dirty tree, exists)
    NOT_A_REPO = 6  # not inside a git repository (or a bare one)
    INVALID = 7  # the input was rejected (bad name, bad template, bad config)
    CONSENT = 8  # it would run the repository's code, which the person has not allowed
    INTERNAL = 70  # a bug in Synthetic (sysexits' EX_SOFTWARE); never expected
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


#: The exit status of each kind of error.
BY_KIND: dict[Kind, ExitCode] = {
    Kind.FAILED: ExitCode.FAILED,
    Kind.USAGE: ExitCode.USAGE,
    Kind.NOT_FOUND: ExitCode.NOT_FOUND,
    Kind.STATE: ExitCode.STATE,
    Kind.CONFLICT: ExitCode.CONFLICT,
    Kind.NOT_A_REPOSITORY: ExitCode.NOT_A_REPO,
    Kind.INVALID: ExitCode.INVALID,
    Kind.CONSENT: ExitCode.CONSENT,
    Kind.INTERRUPTED: ExitCode.INTERRUPTED,
    Kind.INTERNAL: ExitCode.INTERNAL,
}


def exit_code(exc: CodedError) -> ExitCode:
    """The exit status for ``exc``: its code's kind's."""
    return BY_KIND[kind(exc)]
