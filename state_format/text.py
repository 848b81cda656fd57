"""Text helpers for messages (stdlib only)."""

from __future__ import annotations


def one_line(text: str, limit: int | None = 60) -> str:
    """``text`` made safe for a one-line message: characters that are not printable
    (controls, newlines, bidirectional overrides) escaped, shortened to ``limit``
    characters unless it is None."""
    if text.isprintable():  # the usual case, checked in C
        out = text
    else:
        out = "".join(
            ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
        )
    return out if limit is None or len(out) <= limit else out[: limit - 1] + "…"
