"""Collects diagnostics while a config is read, converting spans to ranges."""

from __future__ import annotations

from typing import Any

from synthetic_ls.config.diagnostics import Code, Diagnostic, Severity
from synthetic_ls.config.source import SourceText, Span, excerpt

# Past this many, a file is not a config being edited; more would only slow
# the editor down.
MAX_DIAGNOSTICS = 200


class Reporter:
    """Accumulates :class:`Diagnostic` objects for one source file."""

    def __init__(self, source: SourceText, limit: int = MAX_DIAGNOSTICS) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.limit = limit
        self.dropped = 0
        # What each diagnostic given was about: its code, place and details
        # (``data``). A `const` used or spread in several places is checked at
        # each, but a problem in it is one problem, at one place: reported
        # once, though each use would word it after its own context
        # ("`templates[0]` must be..." and "`templates[1]` must be...").
        self._given: set[tuple[Code, Span, tuple[str, ...]]] = set()

    def add(self, severity: Severity, code: Code, span: Span, message: str, **data: Any) -> None:
        """Record a diagnostic of any severity at ``span``, once (past the limit, only count it)."""
        # The text details tell problems apart (which field is missing); the
        # list ones (allowed values) follow from the code and the place.
        details = tuple([v for v in data.values() if v.__class__ is str]) if data else ()
        key = (code, span, details)
        if key in self._given:
            return
        self._given.add(key)
        if len(self.diagnostics) >= self.limit:
            self.dropped += 1
            return
        self.diagnostics.append(
            Diagnostic(
                range=self.source.range(span),
                severity=severity,
                code=code.value,
                message=message,
                data=data,
            )
        )

    def error(self, code: Code, span: Span, message: str, **data: Any) -> None:
        """Record an error at ``span``."""
        self.add("error", code, span, message, **data)

    def warning(self, code: Code, span: Span, message: str, **data: Any) -> None:
        """Record a warning at ``span``."""
        self.add("warning", code, span, message, **data)

    def text(self, span: Span, limit: int = 40) -> str:
        """A short, printable excerpt of the source at ``span``, for a message (see ``excerpt``)."""
        # A character is at most 4 bytes: decode no more than the excerpt can show.
        end = min(span.end, span.start + 32 * limit)
        return excerpt(self.source.data[span.start : end].decode("utf-8", "replace"), limit)
