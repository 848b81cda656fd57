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

import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
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


# -- colour ------------------------------------------------------------------------
# Our own colours travel as private-use marks, never as escape sequences: the
# guard escapes every ESC it sees (a branch's, an agent's), then turns the marks
# into colour codes for a terminal that wants them, or drops them. A mark in
# untrusted text can at worst colour it: only SGR colour codes are ever made.

_START, _END, _RESET = "\ue000", "\ue001", "\ue002"
_MARK = re.compile(f"{_START}([0-9;]+){_END}")
#: What each role looks like (SGR parameters).
ROLES = {"ok": "32", "busy": "36", "wait": "33", "bad": "31", "dim": "2", "head": "1"}
#: The role of each construct, agent or service state shown in a table.
STATE_ROLES = {
    "ready": "ok", "completed": "ok", "idle": "ok", "running": "ok",
    "active": "busy", "busy": "busy", "spawning": "busy", "starting": "busy",
    "deleting": "busy",
    "awaiting_input": "wait", "reviewing": "wait", "pending": "wait", "parked": "wait",
    "needs_resume": "wait",
    "error": "bad", "failed": "bad", "dead": "bad",
    "archived": "dim", "stopped": "dim",
}


def paint(text: str, role: str) -> str:
    """``text`` in the colour of ``role`` (see :data:`ROLES`), when the output shows colour."""
    code = ROLES.get(role)
    return f"{_START}{code}{_END}{text}{_RESET}" if code else text


def paint_state(text: str, state: str) -> str:
    """``text`` (a state, padded or not) in the colour of the state ``state``."""
    return paint(text, STATE_ROLES.get(state, ""))


def painted(text: str, colour: bool) -> str:
    """``text`` with its colour marks made colour codes (``colour``), or dropped."""
    if _START not in text and _RESET not in text:
        return text
    if colour:
        return _MARK.sub(lambda m: f"\x1b[{m.group(1)}m", text).replace(_RESET, "\x1b[0m")
    return _MARK.sub("", text).replace(_RESET, "")


def wants_colour(stream: TextIO, mode: str) -> bool:
    """``--color``: ``always``, ``never``, or ``auto``: a terminal, unless ``NO_COLOR`` is set
    (https://no-color.org) or ``TERM`` is ``dumb``."""
    if mode in ("always", "never"):
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width(text: str) -> int:
    """Terminal columns ``text`` takes (wide East Asian characters count twice)."""
    if text.isascii():
        return len(text)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def table(columns: list[list[str]], states: dict[int, list[str]] | None = None) -> str:
    """Columns (each its header, then its cells) as aligned rows, the header bold and
    the cells of ``states``'s columns in the colour of their row's state."""
    padded = []
    for column in columns[:-1]:  # the last one is not padded: no trailing spaces
        widths = [width(cell) for cell in column]
        widest = max(widths)
        padded.append([cell + " " * (widest - w) for cell, w in zip(column, widths, strict=True)])
    padded.append(columns[-1])
    rows = [list(row) for row in zip(*padded, strict=True)]
    # Coloured after the padding: the marks take no columns.
    rows[0] = [paint(cell, "head") for cell in rows[0]]
    for index, values in (states or {}).items():
        for row, state in zip(rows[1:], values, strict=True):
            row[index] = paint_state(row[index], state)
    return "".join("  ".join(row).rstrip() + "\n" for row in rows)


class TerminalSafeWriter:
    """A text stream that writes :func:`defused` text to the stream it wraps, with our
    colour marks made colour (``colour``) or dropped."""

    def __init__(self, stream: TextIO, colour: bool = False) -> None:
        self._stream = stream
        self._colour = colour

    def write(self, text: str) -> int:
        """Write ``text`` defused; returns the length of ``text`` (as a stream does)."""
        self._stream.write(painted(defused(text), self._colour))
        return len(text)

    def __getattr__(self, name: str) -> object:
        # flush, isatty, fileno, encoding ...: the wrapped stream's own.
        return getattr(self._stream, name)


@contextmanager
def terminal_safe_output(colour: str = "never") -> Iterator[None]:
    """While it lasts, ``sys.stdout`` and ``sys.stderr`` write defused text; ``colour``
    is the ``--color`` mode (each stream decides for itself under ``auto``)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = TerminalSafeWriter(saved[0], wants_colour(saved[0], colour))
    sys.stderr = TerminalSafeWriter(saved[1], wants_colour(saved[1], colour))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def step_printer(quiet: bool) -> Callable[[int, int, str], None] | None:
    """Each creation step as a line on stderr (``[2/5] creating the worktree``), unless quiet."""
    if quiet:
        return None

    def show(number: int, total: int, title: str) -> None:
        sys.stderr.write(f"[{number}/{total}] {title}\n" if total else f"      {title}\n")
        sys.stderr.flush()

    return show
