"""The command line's side of consent: ``--trust``, the question on a terminal, the list.

Without a terminal to ask on (a script, a pipe) and without ``--trust``, a
command that would run something not yet allowed refuses and lists it
(``consent-required``, exit status 8); ``synthetic trust`` allows it ahead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from state_format.text import one_line

if TYPE_CHECKING:  # register() must stay light: the parser is built on every start
    from synthetic_ls.consent.gate import Consent
    from synthetic_ls.consent.items import RunItem

TRUST_HELP = ("run the repository's commands and OpenCode plugins this needs without asking, "
              "and remember that you allowed them (for scripts; see `synthetic trust`)")

_KIND = {
    "setup": "setup command", "service": "service", "teardown": "teardown command",
    "check": "check",
    "opencode-code": "OpenCode code", "opencode-config": "OpenCode config",
}


def add_trust_flag(parser: argparse.ArgumentParser) -> None:
    """``--trust`` on a command that runs the repository's code."""
    parser.add_argument("--trust", action="store_true", help=TRUST_HELP)
    # Plumbing for `new --host`: the host runs exactly what the person allowed on the
    # machine that asked (by digest), never what its own files might say instead.
    parser.add_argument("--trust-items", metavar="DIGESTS", help=argparse.SUPPRESS)


def parse_digests(text: str) -> frozenset[str]:
    """``--trust-items``: comma-separated SHA-256 digests of run items; each checked."""
    from synthetic_ls.errors import InvalidInputError

    digests = frozenset(d for d in text.split(",") if d)
    for d in digests:
        if len(d) != 64 or any(c not in "0123456789abcdef" for c in d):
            raise InvalidInputError(f"--trust-items takes SHA-256 digests, not {one_line(d, 80)!r}")
    return digests


def write_items(items: Sequence[RunItem | Mapping[str, Any]], out: IO[str]) -> None:
    """One line per item: what kind, where it is declared, what it runs."""
    for item in items:
        data = item if isinstance(item, Mapping) else item.to_dict()
        kind = _KIND.get(str(data.get("kind")), str(data.get("kind")))
        out.write(f"  {kind} ({one_line(str(data.get('where')), 200)}): "
                  f"{one_line(str(data.get('text')), 500)}\n")


def ask_on_terminal(items: Sequence[RunItem]) -> bool:
    """List ``items`` and ask whether to run them; only a plain ``y`` or ``yes`` says yes."""
    sys.stderr.write("This repository asks to run code you have not allowed yet:\n")
    write_items(items, sys.stderr)
    sys.stderr.write("Allow and run it (remembered until it changes)? [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def consent_of(args: argparse.Namespace) -> Consent:
    """The person's answer for this command: ``--trust``, or a question on a terminal."""
    from synthetic_ls.consent.gate import Consent

    pinned = getattr(args, "trust_items", None)
    if pinned is not None:
        return Consent(only=parse_digests(pinned))
    if getattr(args, "trust", False):
        return Consent(trust=True)
    interactive = sys.stdin.isatty() and sys.stderr.isatty() and not getattr(args, "json", False)
    return Consent(ask=ask_on_terminal if interactive else None)
