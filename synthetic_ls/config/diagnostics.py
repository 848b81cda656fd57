"""Diagnostics: positions, ranges, severities and the stable diagnostic codes.

Positions are 0-based, LSP style: ``line`` counts ``\\n``-separated lines and
``character`` counts UTF-16 code units from the start of the line (what the
Language Server Protocol uses by default and what ``tsc`` reports). The CLI
prints them 1-based, like compilers do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Severity = Literal["error", "warning", "information", "hint"]

# LSP DiagnosticSeverity numbers.
_LSP_SEVERITY: dict[str, int] = {"error": 1, "warning": 2, "information": 3, "hint": 4}


class Code(StrEnum):
    """Stable diagnostic codes; tools and tests may rely on them never changing."""

    # Reading the file
    NOT_UTF8 = "not-utf8"
    FILE_TOO_LARGE = "file-too-large"
    UNREADABLE = "unreadable"
    SYMLINK_ESCAPES_REPO = "symlink-escapes-repo"
    TOO_MANY = "too-many-problems"
    # Syntax
    SYNTAX_ERROR = "syntax-error"
    MISSING_TOKEN = "missing-token"
    # Static evaluation (the file is data, never run)
    NO_DEFAULT_EXPORT = "no-default-export"
    NON_LITERAL = "non-literal"
    UNBOUND_IDENTIFIER = "unbound-identifier"
    TEMPLATE_SUBSTITUTION = "template-substitution"
    COMPUTED_KEY = "computed-key"
    UNSUPPORTED_SPREAD = "unsupported-spread"
    UNSUPPORTED_STATEMENT = "unsupported-statement"
    CIRCULAR_REFERENCE = "circular-reference"
    TOO_LARGE = "too-large"
    TOO_DEEP = "too-deep"
    DUPLICATE_KEY = "duplicate-key"
    # Schema
    UNKNOWN_KEY = "unknown-key"
    WRONG_TYPE = "wrong-type"
    MISSING_REQUIRED = "missing-required"
    BAD_ENUM = "bad-enum"
    INVALID_VALUE = "invalid-value"
    # Semantic checks
    ID_MISMATCH = "id-mismatch"
    DUPLICATE_ID = "duplicate-id"
    INVALID_REGEX = "invalid-regex"
    PORT_OUT_OF_RANGE = "port-out-of-range"
    BAD_PORT_SPEC = "bad-port-spec"
    DUPLICATE_PORT = "duplicate-port"
    DUPLICATE_PORT_ENV = "duplicate-port-env"
    PATH_ESCAPES_REPO = "path-escapes-repo"
    NO_MATCH = "no-match"
    UNKNOWN_PROMPT_VARIABLE = "unknown-prompt-variable"
    PROMPT_READS_GIT_DIR = "prompt-reads-git-dir"
    UNKNOWN_PROMPT_SERVICE = "unknown-prompt-service"
    PROMPT_READS_ENV = "prompt-reads-env"
    AGENT_MISSING_PROVIDER = "agent-missing-provider"
    UNKNOWN_TEMPLATE = "unknown-template"
    UNKNOWN_SERVICE = "unknown-service"
    BAD_BRANCH_PREFIX = "bad-branch-prefix"
    # Advice (warnings): accepted, but would misbehave
    NO_TEMPLATES = "no-templates"
    WORKTREE_ROOT_INSIDE_REPO = "worktree-root-inside-repo"
    ISOLATION_IMAGE = "isolation-image"
    BRANCH_PREFIX_NO_SLASH = "branch-prefix-no-slash"
    BAD_CHECK_NAME = "bad-check-name"
    EMPTY_CHECK = "empty-check"


@dataclass(frozen=True, slots=True)
class Position:
    """A 0-based position: line, and UTF-16 code units into that line."""

    line: int
    character: int

    def to_lsp(self) -> dict[str, int]:
        """The LSP ``Position`` object."""
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True, slots=True)
class Range:
    """A half-open range between two positions (end is exclusive)."""

    start: Position
    end: Position

    def to_lsp(self) -> dict[str, Any]:
        """The LSP ``Range`` object."""
        return {"start": self.start.to_lsp(), "end": self.end.to_lsp()}

    @classmethod
    def of(cls, sl: int, sc: int, el: int, ec: int) -> Range:
        """Shorthand: ``Range.of(start_line, start_char, end_line, end_char)``."""
        return cls(Position(sl, sc), Position(el, ec))


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a config file, with where it is and what to do."""

    range: Range
    severity: Severity
    code: str
    message: str
    # Extra machine-readable hints (e.g. ``{"suggestion": "readyPattern"}``) for
    # editor code actions; never needed to understand the message.
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_lsp(self) -> dict[str, Any]:
        """The LSP ``Diagnostic`` object (0-based range, numeric severity)."""
        out: dict[str, Any] = {
            "range": self.range.to_lsp(),
            "severity": _LSP_SEVERITY[self.severity],
            "code": self.code,
            "source": "synthetic",
            "message": self.message,
        }
        if self.data:
            out["data"] = dict(self.data)
        return out

    def format_human(self, path: str) -> str:
        """``path:line:col: severity: message [code]`` with 1-based line and column."""
        start = self.range.start
        where = f"{path}:{start.line + 1}:{start.character + 1}"
        return f"{where}: {self.severity}: {self.message} [{self.code}]"
