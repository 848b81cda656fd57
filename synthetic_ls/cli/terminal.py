"""Output a person reads in a terminal: text from git, a record or an agent is shown, never obeyed.

A branch under review, a record and an agent are untrusted: a file name or a
commit subject can hold an escape sequence (to move the cursor, rewrite what
was printed above, set the clipboard) or a newline (to fake a line of our
own output). Two layers keep them inert:

* :func:`shown` is the one escaping function for a field printed inside a
  line (a path, a subject, a name): every character that is not printable,
  newlines included, is written as its escape (``\\x1b``, ``\\n``,
  ``\\u202e``), so a field never breaks its line.
* :func:`terminal_safe_output` guards everything the command writes on top
  of that: control characters other than the newline and the tab (so C0
  and C1 controls, ESC among them, and the bidirectional overrides) are
  escaped on their way out, whatever code path printed them (a patch's
  content, a service's log, an error message quoting an agent).

JSON output needs neither: ``json.dumps`` escapes control characters, and
a program reads it, not a terminal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from state_format.text import one_line

#: C0 controls but newline and tab, DEL and C1 controls, and the invisible
#: bidirectional marks and overrides that reorder what a line appears to say.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def shown(text: str) -> str:
    """``text`` as one printable run: every character that is not printable escaped."""
    return one_line(text, limit=None)


def defused(text: str) -> str:
    """``text`` with every control character but newline and tab escaped (lines stay lines)."""
    return _UNSAFE.sub(_escape, text)


class TerminalSafeWriter:
    """A text stream that writes :func:`defused` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` defused; returns the length of ``text`` (as a stream does)."""
        self._stream.write(defused(text))
        return len(text)

    def __getattr__(self, name: str) -> object:
        # flush, isatty, fileno, encoding ...: the wrapped stream's own.
        return getattr(self._stream, name)


@contextmanager
def terminal_safe_output() -> Iterator[None]:
    """While it lasts, ``sys.stdout`` and ``sys.stderr`` write defused text."""
    saved = sys.stdout, sys.stderr
    sys.stdout = TerminalSafeWriter(saved[0])
    sys.stderr = TerminalSafeWriter(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
