"""Reading LSP messages from a client that may send anything: bounded, and never out of step.

pygls reads ``Content-Length: N`` headers with one exact pattern and then
``N`` bytes. A client (or anything else writing to the server's stdin) that
gets the framing wrong used to leave the server dead or deaf:
``Content-Length: 99999999999`` ended it with ``MemoryError``; a header that
is not a number, negative, colon-less or ended by a bare LF made it skip the
blank line, read the body as a header and lose every message after.

:class:`FramedInput` sits between stdin and pygls (``start_io(stdin=...)``).
It parses the framing itself, tolerantly (header names in any case, LF or
CRLF line ends, other headers ignored), and hands pygls only well-formed
frames of at most :data:`MAX_BODY` bytes, re-written in the one form pygls
reads. A message it cannot frame is logged and skipped: it looks for the
next line that starts a header (``Content-Length:``) and goes on from there.
Memory stays bounded: header lines are read :data:`MAX_HEADER_LINE` bytes at
a time and a skipped body is never kept.
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO

#: The largest message body accepted (bytes): a whole config file's text is far less.
MAX_BODY = 64 << 20
#: Longest header line kept (bytes); a longer one is not a header.
MAX_HEADER_LINE = 8 << 10
#: At most this many header lines before the blank line.
MAX_HEADERS = 32

_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d{1,20})[ \t]*", re.IGNORECASE)
_HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)

log = logging.getLogger(__name__)


class FramedInput:
    """A binary stream of well-formed LSP frames, read from one that may hold anything.

    Offers what pygls's reader calls: :meth:`readline` and :meth:`read`.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._pending = b""  # the next well-formed frame, as pygls reads it
        self._held: bytes | None = None  # a header line read while skipping
        self._eof = False

    # -- what pygls calls ---------------------------------------------------------

    def readline(self) -> bytes:
        """The next header line of a well-formed frame (b"" at the end of input)."""
        if not self._fill():
            return b""
        end = self._pending.find(b"\n") + 1 or len(self._pending)
        line, self._pending = self._pending[:end], self._pending[end:]
        return line

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current frame (its body, once the headers are read)."""
        if not self._fill():
            return b""
        if size < 0:
            size = len(self._pending)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    # -- framing ------------------------------------------------------------------

    def _fill(self) -> bool:
        while not self._pending:
            if self._eof:
                return False
            frame = self._next_frame()
            if frame is not None:
                self._pending = b"Content-Length: %d\r\n\r\n" % len(frame) + frame
        return True

    def _line(self) -> bytes | None:
        """One input line, at most MAX_HEADER_LINE bytes of it (the rest dropped); None at EOF."""
        if self._held is not None:
            line, self._held = self._held, None
            return line
        line = self._raw.readline(MAX_HEADER_LINE)
        if not line:
            self._eof = True
            return None
        if not line.endswith(b"\n"):  # too long for a header: drop the rest of it
            while True:
                rest = self._raw.readline(MAX_HEADER_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
        return line

    def _next_frame(self) -> bytes | None:
        """The next message's body, or None when one was skipped (or the input ended).

        A line that is not a header starts the block afresh: the next
        ``Content-Length`` line is a new message's.
        """
        length: int | None = None
        problem = f"more than {MAX_HEADERS} header lines"
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line is None:
                return None
            text = line.rstrip(b"\r\n")
            if not text:  # the end of the headers
                problem = "" if length is not None else "no usable Content-Length header"
                break
            start = _HEADER_START.search(text)
            if start is not None and start.start() > 0:
                # The rest of a body longer than its Content-Length said, run
                # into the next header (bodies end without a newline): from here.
                log.error("LSP input: skipped %d bytes before a header", start.start())
                text, length = text[start.start():], None
            match = _LENGTH.fullmatch(text)
            if match is not None:
                length = int(match.group(1))
            elif start is not None or b":" not in text:
                log.error("LSP input: skipped a line that is not a header: %r", text[:80])
                length = None
        if not problem and length is not None and length > MAX_BODY:
            problem = f"a body of {length} bytes, more than the {MAX_BODY} accepted"
        if problem or length is None:
            log.error("LSP input: skipped a message with %s", problem)
            self._resync()
            return None
        body = self._read_exactly(length)
        if body is None:
            log.error("LSP input: the input ended inside a message body")
        return body

    def _read_exactly(self, size: int) -> bytes | None:
        chunks: list[bytes] = []
        left = size
        while left:
            chunk = self._raw.read(left)
            if not chunk:
                self._eof = True
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _resync(self) -> None:
        """Skip input up to the next ``Content-Length:``; keep the rest of its line.

        Anywhere in a line: a body ends without a newline, so the next
        message's header often follows the skipped body on the same line.
        """
        while True:
            line = self._line()
            if line is None:
                return
            start = _HEADER_START.search(line)
            if start is not None:
                self._held = line[start.start():]
                return
