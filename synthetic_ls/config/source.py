"""Source text and conversion from byte offsets to LSP positions.

Located values keep plain byte offsets (cheap to carry around); only when a
diagnostic is produced are they turned into 0-based line / UTF-16 character
positions, which is what LSP clients and ``tsc`` use.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import NamedTuple

from synthetic_ls.config.diagnostics import Position, Range


class Span(NamedTuple):
    """A byte range ``[start, end)`` in the UTF-8 encoded source.

    A named tuple rather than a dataclass: the evaluator makes one for every
    key and value in the file, and building one straight from tree-sitter's
    ``byte_range`` tuple (see ``syntax.span_of``) is far cheaper.
    """

    start: int
    end: int


class SourceText:
    """The UTF-8 bytes of a config file plus a lazily built line index."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._line_starts: list[int] | None = None
        # The last position computed on a non-ASCII line: (offset, UTF-16
        # column). Diagnostics come roughly in source order, so the next one
        # on that line only needs the text in between, not the whole prefix.
        self._last: tuple[int, int] = (0, 0)

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            find = self.data.find
            i = find(b"\n")
            while i != -1:
                starts.append(i + 1)
                i = find(b"\n", i + 1)
            self._line_starts = starts
        return self._line_starts

    def line(self, offset: int) -> int:
        """The 0-based line of a byte offset (cheaper than :meth:`position`)."""
        offset = max(0, min(offset, len(self.data)))
        return bisect.bisect_right(self._starts(), offset) - 1

    def position(self, offset: int) -> Position:
        """The LSP position (line, UTF-16 column) of a byte offset."""
        offset = max(0, min(offset, len(self.data)))
        starts = self._starts()
        line = bisect.bisect_right(starts, offset) - 1
        start = starts[line]
        prefix = self.data[start:offset]
        if prefix.isascii():
            return Position(line, len(prefix))
        last, column = self._last
        if start <= last <= offset:
            # Count from the last position on this line (never inside a
            # character: both offsets start a token).
            column += _utf16_length(self.data[last:offset])
        else:
            column = _utf16_length(prefix)
        self._last = (offset, column)
        return Position(line, column)

    def offset(self, line: int, character: int) -> int:
        """The byte offset of an LSP position (line, UTF-16 column); clamped to the text.

        A column past the end of its line gives the end of the line; one in
        the middle of a character (half a surrogate pair) gives its start.
        """
        starts = self._starts()
        if line < 0:
            return 0
        if line >= len(starts):
            return len(self.data)
        start = starts[line]
        end = starts[line + 1] - 1 if line + 1 < len(starts) else len(self.data)
        text = self.data[start:end]
        if text.isascii():
            return start + min(max(character, 0), len(text))
        units = 0
        offset = start
        for char in text.decode("utf-8", errors="replace"):
            width = 2 if ord(char) > 0xFFFF else 1
            if units + width > character:
                break
            units += width
            offset += len(char.encode("utf-8"))
        return min(offset, end)

    def range(self, span: Span) -> Range:
        """The LSP range of a byte span."""
        return Range(self.position(span.start), self.position(span.end))

    def text(self, span: Span) -> str:
        """The source text covered by a span."""
        return self.data[span.start : span.end].decode("utf-8", errors="replace")


def _utf16_length(data: bytes) -> int:
    """How many UTF-16 code units the UTF-8 ``data`` decodes to."""
    return len(data.decode("utf-8", errors="replace").encode("utf-16-le")) // 2


def excerpt(text: str, limit: int = 40) -> str:
    """A short, printable, one-line excerpt of ``text`` to quote in a message.

    Every piece of the config's text that a message quotes goes through here:
    a file can hold anything (a pasted private key, terminal escape
    sequences, bidi overrides), and a message must show only enough to find
    the place. Text already short and printable is quoted as it is;
    otherwise whitespace runs become one space, characters that are not
    printable are shown escaped (``\\x1b``, ``\\u202e``), and past ``limit``
    characters the excerpt ends with ``…``.
    """
    if len(text) <= limit and text.isprintable():
        return text  # the usual case, and the cheapest: names, keys, ids
    # Only the start can be shown: never scan a megabyte to show 40 characters.
    window = limit * 8
    head = " ".join(text[:window].split())
    cut = len(text) > window
    if len(head) <= limit and not cut and head.isprintable():
        return head
    pieces = [char if char.isprintable() else _escaped(char) for char in head]
    if not cut and sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    out: list[str] = []
    size = 0
    for piece in pieces:  # whole pieces only: an escape is never cut in half
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out).rstrip() + "…"


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def excerpt_list(items: Iterable[str], most: int = 8) -> str:
    """``"a", "b" and 3 more`` for a message: quoted excerpts of at most ``most`` items.

    ``none`` when there are none. A config may define thousands of ids; a
    message lists enough of them to jog the memory.
    """
    names = list(items)
    shown = ", ".join(f'"{excerpt(name)}"' for name in names[:most])
    if len(names) > most:
        shown += f" and {len(names) - most} more"
    return shown or "none"
