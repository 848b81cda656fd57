"""A service's ``readyPattern``: written as a JavaScript regex, matched by RE2, line by line.

Python's ``re`` backtracks: ``^(a+)+$`` against a long run of ``a`` and a
``!`` takes exponential time, and a service's output is not ours to trust.
RE2 (``google-re2``) matches in time linear in the text, whatever the
pattern, so the ready timeout holds and a language server that waits for a
service stays responsive. The price is RE2's syntax: no back-references and
no lookaround; :func:`pattern_error` says so at the config check.

The pattern is matched against each line of output as it arrives (``^``
and ``$`` are the line's ends), never against a window that more output
can push the ready line out of, and without terminal escape sequences
(colours) or a carriage return at its end. Of a line longer than :data:`LINE_LIMIT`
characters only the first part is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

#: The longest line looked at (characters); output past it on one line is skipped.
LINE_LIMIT = 64 * 1024
#: RE2's memory for one pattern (bytes): a repeat like ``a{1000}{1000}`` needs more and
#: is refused at the check, not at start-up.
MAX_MEMORY = 8 << 20

#: Terminal escape sequences (colours, cursor moves, titles): a service writes to a
#: pseudo-terminal, so it may colour its ready line; the pattern sees the text.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z_$][\w$]*)>")
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{4}))")
_BACKREFERENCE = re.compile(r"(?<!\\)(?:\\\\)*\\(?:[1-9]|k<)")
_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def _visible(line: str) -> str:
    """A line as a person sees it: escape sequences and a closing carriage return gone."""
    return _ESCAPES.sub("", line).removesuffix("\r")


class ReadyPatternError(ValueError):
    """A readyPattern RE2 cannot use; the message says why, for a person."""


def to_re2(pattern: str) -> str:
    """A JavaScript regex in RE2 syntax: named groups and ``\\u`` escapes translated."""
    pattern = _NAMED_GROUP.sub(r"(?P<\1>", pattern)
    return _UNICODE_ESCAPE.sub(lambda m: f"{m.group(1)}\\x{{{m.group(2) or m.group(3)}}}",
                               pattern)


def _options() -> Any:
    import re2  # only where a pattern is compiled: services and the config check

    options = re2.Options()
    options.log_errors = False  # RE2 would print each refusal on stderr
    options.max_mem = MAX_MEMORY
    return options


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern; :class:`ReadyPatternError` when RE2 refuses it.

    Cached: a config repeats the same few patterns.
    """
    import re2

    if _BACKREFERENCE.search(pattern):
        raise ReadyPatternError("back-references (\\1, \\k<name>) cannot be matched in "
                                "linear time, so RE2 does not support them")
    if _LOOKAROUND.search(pattern):
        raise ReadyPatternError("lookaround ((?=, (?!, (?<=, (?<!) cannot be matched in "
                                "linear time, so RE2 does not support it")
    try:
        return re2.compile(to_re2(pattern), _options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ReadyPatternError(str(detail)) from None


def pattern_error(pattern: str) -> str | None:
    """Why RE2 cannot use the readyPattern ``pattern``, or None when it can."""
    try:
        compile_pattern(pattern)
    except ReadyPatternError as exc:
        return str(exc)
    return None


@dataclass
class LineMatcher:
    """Feed it output as it comes; it says when a line (the unfinished last one too) matches."""

    pattern: str
    _compiled: Any = field(init=False, repr=False)
    _partial: str = field(default="", init=False, repr=False)
    _overlong: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._compiled = compile_pattern(self.pattern)

    def feed(self, text: str) -> bool:
        """True once a line of the output so far matches.

        Of a line longer than :data:`LINE_LIMIT`, only a match within its
        first part counts (one that ends at the cut might be there only
        because of it: ``$``); the rest is never kept.
        """
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            finished = index < len(pieces) - 1
            if not self._overlong:
                self._partial += piece
                if len(self._partial) > LINE_LIMIT:
                    # Its first part, once: a match that ends before the cut
                    # does not depend on it (one that ends there might: `$`).
                    head = _ESCAPES.sub("", self._partial[:LINE_LIMIT])
                    found = self._compiled.search(head)
                    if found is not None and found.end() < len(head):
                        return True
                    self._overlong, self._partial = True, ""
                elif self._compiled.search(_visible(self._partial)) is not None:
                    return True
            if finished:
                self._partial, self._overlong = "", False
        return False
