"""The check an operation makes before it runs a repository's code.

An operation is given the person's :class:`Consent`: ``trust`` (the
``--trust`` flag, or an editor whose own trust prompt was answered for
exactly these items) or a way to ``ask`` (a terminal's question). Items
already allowed pass at once; the others are asked about, and a yes is
remembered. With neither, :class:`ConsentRequiredError` lists what would
run, and nothing ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthetic_ls.errors import SyntheticError

if TYPE_CHECKING:
    from synthetic_ls.consent.items import RunItem

#: Asks the person about items not yet allowed; True means run them (and remember).
Ask = Callable[[Sequence["RunItem"]], bool]


@dataclass(frozen=True)
class Consent:
    """The person's answer for one operation, given by the face that started it."""

    #: Allow (and remember) whatever the operation lists: ``--trust``.
    trust: bool = False
    #: Ask the person; None when nobody can be asked (no terminal, an editor).
    ask: Ask | None = None
    #: Allow (and remember) exactly the items with these digests, nothing else: what a
    #: person consented to on another machine (``new --host`` passes ``--trust-items``),
    #: so that a host whose own files differ runs nothing they were not shown.
    only: frozenset[str] | None = None


#: Nobody to ask and no flag: anything not yet allowed is refused.
NOBODY = Consent()
TRUST = Consent(trust=True)


class ConsentRequiredError(SyntheticError):
    """The operation would run a repository's code the person has not allowed."""

    code = "consent-required"


def not_allowed(root: Path, items: Sequence[RunItem]) -> list[RunItem]:
    """The items the person has not allowed in the repository at ``root``; reads only."""
    if not items:
        return []
    from synthetic_ls.consent import trust_store  # only when something would run

    known = trust_store.trusted_digests(root)
    return [i for i in dict.fromkeys(items) if i.digest not in known]


def require(root: Path, consent: Consent, items: Sequence[RunItem], *, doing: str) -> None:
    """Return when every item may run; ask, or refuse listing them, when some may not.

    ``doing`` says what the operation is (``creating fix-login``) for the message.
    """
    missing = not_allowed(root, items)
    if not missing:
        return
    if consent.only is not None:
        if all(i.digest in consent.only for i in missing):
            from synthetic_ls.consent import trust_store

            trust_store.allow(root, missing)
            return
        raise ConsentRequiredError(
            f"{doing} would run code from this repository that is not what you allowed on the "
            f"machine that asked ({_count(missing)} not among it); nothing ran. The files here "
            "differ from the ones you were shown there",
            fields={"items": [i.to_dict() for i in missing if i.digest not in consent.only]},
        )
    if consent.trust or (consent.ask is not None and consent.ask(missing)):
        from synthetic_ls.consent import trust_store

        trust_store.allow(root, missing)
        return
    raise ConsentRequiredError(
        f"{doing} would run code from this repository that you have not allowed "
        f"({_count(missing)}); nothing ran. Review it, then allow it with `synthetic trust`, "
        "or pass --trust",
        fields={"items": [i.to_dict() for i in missing]},
    )


def checker(root: Path) -> Callable[[Sequence[RunItem]], bool]:
    """Whether items were allowed, the answers read once (for a read over many folders)."""
    from synthetic_ls.consent import trust_store

    known = trust_store.trusted_digests(root)
    return lambda items: all(i.digest in known for i in items)


def allowed(root: Path, items: Sequence[RunItem]) -> bool:
    """Whether every item was allowed (for steps that skip, not ask: a recovery)."""
    return not not_allowed(root, items)


def _count(items: Sequence[RunItem]) -> str:
    n = len(items)
    return "1 item" if n == 1 else f"{n} items"
