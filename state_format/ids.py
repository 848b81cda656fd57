"""Record ids: readable, short, unique, safe as file names and git ref components.

A construct id is a slug of its name plus ``-`` and a random suffix, e.g.
``fix-login-bug-k3x9q2``. Only ``[a-z0-9-]`` ever appears, it starts and ends
with a letter or digit and contains no ``..``, so it can be a file name, a URL
path segment and a git ref component without quoting.
"""

from __future__ import annotations

import re
import unicodedata

#: Every record id matches this (the JSON Schemas say the same).
ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)

#: Longest slug kept from a name, so ids stay short in tables and branch names.
SLUG_MAX = 40
#: Slug used when a name has no ASCII letters or digits at all (e.g. only emoji).
FALLBACK_SLUG = "c"
SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
SUFFIX_LEN = 6

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str, max_len: int = SLUG_MAX) -> str:
    """Lowercase ASCII slug of ``name``: accents folded, other characters become ``-``.

    Returns :data:`FALLBACK_SLUG` when nothing usable is left.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", folded.lower()).strip("-")
    slug = slug[:max_len].rstrip("-")
    return slug or FALLBACK_SLUG


def random_suffix(length: int = SUFFIX_LEN) -> str:
    """A random ``[a-z0-9]`` string (cryptographic RNG: no collisions across forks)."""
    # secrets brings hmac and hashlib: only a new record needs it, not every read.
    import secrets

    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(length))


def new_id(name: str) -> str:
    """A fresh id for a record named ``name``; the caller checks it is unused."""
    return f"{slugify(name)}-{random_suffix()}"


def is_valid_id(value: str) -> bool:
    """Whether ``value`` is a well-formed record id."""
    return bool(_ID_RE.match(value))
