"""A host's name and address: ``ssh://[user@]host[:port]/absolute/path/to/clone``.

Both are checked before anything is written or sent: a name is a short slug;
the address has the ``ssh`` scheme, a host (an alias of the person's SSH
config, a name or an address), an optional user and port, and an absolute
path with no shell metacharacters (the path is also quoted whenever it is
sent, so this is a second fence, not the only one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from synthetic_ls.errors import InvalidInputError

#: A host's name: lowercase letters, digits and dashes, starting with a letter or digit.
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
#: The host part: an SSH config alias, a DNS name or an IPv4 address (no option-like ``-``).
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,252}")
#: A user name as ssh takes it.
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
#: What a path may hold: no shell metacharacters, no spaces, no control characters.
_PATH = re.compile(r"/[A-Za-z0-9._/+@%,=~-]*")


@dataclass(frozen=True)
class HostUrl:
    """A parsed host address."""

    host: str
    path: str
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        """What ssh is given as the destination: ``[user@]host``."""
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"ssh://{self.destination}{port}{self.path}"


def check_name(name: str) -> str:
    """``name`` if it is a valid host name; else :class:`InvalidInputError`."""
    if not NAME.fullmatch(name):
        raise InvalidInputError(
            f"invalid host name {name!r}: use up to 32 lowercase letters, digits and dashes, "
            "starting with a letter or digit", fields={"key": "name"})
    return name


def parse_url(text: str) -> HostUrl:
    """Parse and check ``ssh://[user@]host[:port]/absolute/path``; :class:`InvalidInputError`
    names what is wrong."""

    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(
            f"invalid host address {text!r}: {why} (expected "
            "ssh://[user@]host[:port]/absolute/path/to/clone)", fields={"key": "url"})

    if any(ord(c) < 32 or c.isspace() for c in text):
        raise bad("it holds spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise bad(str(exc)) from None
    if parts.scheme != "ssh":
        raise bad("the scheme must be ssh://")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise bad("it has a query or fragment")
    if parts.password is not None:
        raise bad("a password does not belong in the address; ssh keys do the work")
    # The host's case as typed: an SSH config alias is matched as written.
    at = parts.netloc.rsplit("@", 1)[-1]
    host = at.rsplit(":", 1)[0] if ":" in at else at
    if not _HOST.fullmatch(host):
        raise bad("the host must be an SSH config alias, a name or an IPv4 address")
    user = parts.username
    if user is not None and not _USER.fullmatch(user):
        raise bad("the user name has characters ssh does not take")
    if port is not None and not 0 < port < 65536:
        raise bad("the port must be between 1 and 65535")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise bad("the path must be absolute")
    if not _PATH.fullmatch(path) or "/../" in path + "/" or path.endswith("/.."):
        raise bad("the path may hold only letters, digits and ._/+@%,=~- and no `..`")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return HostUrl(host=host, path=path, user=user, port=port)
