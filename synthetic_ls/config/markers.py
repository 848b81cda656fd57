"""Annotations on schema fields that tell the validator how a field is written.

They sit in ``Annotated[...]`` metadata next to pydantic's own constraints so
that the schema (``schema.py``) stays the single description of the format:
the validator reads them to accept the alternative shapes and run the extra
checks, and the JSON Schema export reads them to describe those shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synthetic_ls.config.diagnostics import Code


class SpecError(ValueError):
    """Raised by an :class:`OrString` parser: the string is not in the expected form."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RecordOrArray:
    """A collection written either as a record keyed by id or as an array of objects with ``id``."""

    what: str  # "template" or "service", for messages
    id_field: str = "id"


@dataclass(frozen=True)
class OrString:
    """The value may also be written as a string, turned into the field's shape by ``parse``."""

    parse: Callable[[str], Any]
    numbers: bool = False  # a number is also accepted, read as its decimal string


@dataclass(frozen=True)
class Discriminator:
    """A union of models chosen by the string in ``field`` (``default`` when absent)."""

    field: str
    default: str


@dataclass(frozen=True)
class DefaultFrom:
    """When absent, the field takes the value of another field of the same object."""

    field: str


@dataclass(frozen=True)
class RequiredCode:
    """Report this field's absence with a dedicated code and message."""

    code: Code
    message: str


@dataclass(frozen=True)
class RepoPath:
    """A path (or glob) relative to the repository root that must stay inside it."""

    glob: bool = False
    must_match: bool = False  # warn when nothing in the repository matches
    anywhere: bool = False  # a slash-less pattern matches at any depth (gitignore style)
    prompt: bool = False  # prompt files: their ${...} variables are checked too


@dataclass(frozen=True)
class PortNumber:
    """A TCP port: out-of-range values get ``port-out-of-range``."""


@dataclass(frozen=True)
class RegexPattern:
    """A regular expression (JavaScript syntax) that must compile."""


@dataclass(frozen=True)
class BranchPrefix:
    """A prefix for git branch names; must be a legal start of a ref name."""
