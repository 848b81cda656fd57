"""What the repository would run, and the person's consent to it (``synthetic trust``).

:func:`trust_preview` lists everything the repository asks to run (every
template's commands, and what OpenCode would load from the main checkout and
from each construct's worktree), each marked allowed or not; it reads only.
:func:`allow_trust` records the person's yes to items a face showed them,
:func:`revoke_trust` forgets every answer. The answers live outside the
repository (:mod:`synthetic_ls.consent.trust_store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from synthetic_ls.consent import trust_store
from synthetic_ls.consent.gate import not_allowed
from synthetic_ls.consent.items import RunItem, RunItemJson
from synthetic_ls.errors import InvalidInputError
from synthetic_ls.provision.consent_items import of_agent_folder, of_template
from synthetic_ls.provision.context import Context


class TrustItemJson(RunItemJson):
    """One thing the repository would run, and whether the person allowed it."""

    allowed: bool


class TrustJson(TypedDict):
    """``synthetic.trust.preview|allow|revoke``: what the repository would run (each
    allowed or not), where the answers are kept, and how many answers changed."""

    items: list[TrustItemJson]
    file: str
    changed: int


@dataclass(frozen=True)
class TrustView:
    """What the repository would run, each with whether it was allowed."""

    items: list[tuple[RunItem, bool]]
    file: str
    changed: int = 0

    def to_dict(self) -> TrustJson:
        """The JSON form."""
        return {
            "items": [{**item.to_dict(), "allowed": ok} for item, ok in self.items],
            "file": self.file, "changed": self.changed,
        }


def _everything(ctx: Context) -> list[RunItem]:
    items: list[RunItem] = []
    config = ctx.config
    if config is not None:
        for template in config.templates.values():
            # Its checks too: `synthetic check` runs them (creation does not).
            items += of_template(template.id, template,
                                 kinds=("setup", "service", "teardown", "check"))
    items += of_agent_folder(ctx.root)
    for construct in ctx.store.list_constructs().records:
        items += of_agent_folder(construct.workspace_path)
    return list(dict.fromkeys(items))


def _view(ctx: Context, changed: int = 0) -> TrustView:
    items = _everything(ctx)
    missing = set(not_allowed(ctx.root, items))
    return TrustView([(i, i not in missing) for i in items],
                     str(trust_store.trust_file(ctx.root)), changed)


def trust_preview(store: StateStore) -> TrustView:
    """What the repository would run, each marked allowed or not; changes nothing.

    The config's templates count only when it has no errors (a broken config
    runs nothing).
    """
    return _view(Context(store))


def allow_trust(store: StateStore, items: Sequence[RunItem] | None = None) -> TrustView:
    """Allow ``items`` (as a face showed them to the person), or, with None, all of
    :func:`trust_preview`'s; returns the view after."""
    ctx = Context(store)
    if items is None:
        items = _everything(ctx)
    elif not items:
        raise InvalidInputError("no items to allow were given", fields={"option": "items"})
    new = trust_store.allow(ctx.root, items)
    return _view(ctx, len(new))


def revoke_trust(store: StateStore) -> TrustView:
    """Forget every answer given in the repository; everything will be asked again."""
    ctx = Context(store)
    return _view(ctx, trust_store.revoke(ctx.root))
