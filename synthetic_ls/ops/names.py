"""The checks a construct's name and description pass before they are stored."""

from __future__ import annotations

from state_format.records import NAME_MAX
from synthetic_ls.errors import InvalidInputError

#: Longest description accepted (characters).
DESCRIPTION_MAX = 10_000


def check_unicode(value: str, what: str) -> None:
    """Refuse text that cannot be written as UTF-8 (``what`` names it in the message)."""
    # Lone surrogates (from undecodable bytes in argv) cannot be written as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid Unicode text") from None


def normalize_name(name: str) -> str:
    """A construct name as stored: trimmed, non-empty, at most NAME_MAX characters."""
    check_unicode(name, "name")
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInputError("a construct name cannot be empty")
    if len(cleaned) > NAME_MAX:
        raise InvalidInputError(
            f"a construct name can have at most {NAME_MAX} characters (got {len(cleaned)})"
        )
    return cleaned


def normalize_description(description: str) -> str:
    """A description as stored: trimmed, at most DESCRIPTION_MAX characters."""
    check_unicode(description, "description")
    cleaned = description.strip()
    if len(cleaned) > DESCRIPTION_MAX:
        raise InvalidInputError(
            f"a description can have at most {DESCRIPTION_MAX} characters (got {len(cleaned)})"
        )
    return cleaned


