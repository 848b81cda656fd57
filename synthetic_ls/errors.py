"""The one error type every operation raises.

:class:`SyntheticError` (a :class:`~state_format.errors.CodedError`) carries a
stable ``code``, declared once in :mod:`synthetic_ls.error_codes` with its
kind, meaning and fields, and one line of message. Faces map it to their
own form: the CLI prints ``synthetic: <message>`` and exits with the status
of the code's kind (:mod:`synthetic_ls.cli.exit_codes`, the only place exit
statuses are known); the language server answers with a JSON-RPC error whose
data is :func:`error_payload`.
"""

from __future__ import annotations

from typing import Any

from state_format.errors import BrokenRecordError, CodedError
from synthetic_ls.error_codes import Kind, kind_of


class SyntheticError(CodedError):
    """An error a user can act on; ``str(err)`` is the one-line message.

    ``code`` is a stable name declared in :mod:`synthetic_ls.error_codes`
    (the class's own, or the one given); ``fields`` holds structured details
    (a step, candidates, a file).
    """

    code = "failed"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, code=code or type(self).code, fields=fields)

    @property
    def message(self) -> str:
        """The human message, one line."""
        return str(self)


class NotFoundError(SyntheticError):
    """Something the user named does not exist."""

    code = "not-found"


class ConflictError(SyntheticError):
    """The request conflicts with current state."""

    code = "conflict"


class InvalidInputError(SyntheticError):
    """The user's input was rejected."""

    code = "invalid-input"


class OperationCancelledError(SyntheticError):
    """The person asked to stop (an editor's Cancel); what was begun is undone."""

    code = "cancelled"


def kind(exc: CodedError) -> Kind:
    """What sort of failure ``exc`` is (from its code's declaration)."""
    return kind_of(exc.code)


def error_payload(exc: CodedError) -> dict[str, Any]:
    """A user error as data: ``{"code", "kind", "message", ...fields}``."""
    fields = dict(exc.fields)
    if isinstance(exc, BrokenRecordError):
        fields["file"] = fields.pop("path", exc.path)
    return {"code": exc.code, "kind": kind(exc).value, "message": str(exc), **fields}
