"""``prompts build`` and ``prompts preview``: a construct's prompt bundle, or a template's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from state_format.store import Store
from synthetic_ls.errors import InvalidInputError
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.templates import choose_template, construct_template_or_none
from synthetic_ls.prompts.bundle import Bundle, assemble
from synthetic_ls.provision.prompt_bundle import construct_facts, prompt_entries, record_bundle


@dataclass(frozen=True)
class BuildResult:
    """The bundle made for a construct, its record, and whether its session got it."""

    construct: str
    bundle_id: str
    bundle: Bundle
    delivered: bool

    def to_dict(self) -> dict[str, Any]:
        """``{"construct", "bundle_id", "delivered", ...the bundle}``."""
        return {"construct": self.construct, "bundle_id": self.bundle_id,
                "delivered": self.delivered, **self.bundle.to_dict()}


@dataclass(frozen=True)
class PreviewResult:
    """What a new construct of a template would get (values not known yet as placeholders)."""

    template_id: str
    bundle: Bundle

    def to_dict(self) -> dict[str, Any]:
        """``{"template_id", ...the bundle}``."""
        return {"template_id": self.template_id, **self.bundle.to_dict()}


def build_prompts(store: Store, ref: str) -> BuildResult:
    """Assemble the construct's bundle again from the files as they are now, and record it.

    A construct with an agent session gets it as a new context message, so
    that the agent works with the update.
    """
    construct, _recovery = settle(store, store.resolve_construct(ref))
    if construct is None:
        raise InvalidInputError(f"construct {ref!r} is gone")
    if not construct.workspace_path:
        raise InvalidInputError(
            f"construct {construct.id} has no worktree; a bundle describes one",
            code="needs-worktree",
        )
    template, config = construct_template_or_none(store.repo.worktree, construct.template_id)
    facts = construct_facts(store, template, construct)
    bundle = assemble(store.repo.worktree, prompt_entries(config, template), facts)
    record = record_bundle(store, construct.id, bundle)
    delivered = False
    if construct.opencode_session_id:
        from synthetic_ls.ops.session import session_target

        target = session_target(store, construct.id)
        with target.client() as client:
            client.add_context(target.session_id, bundle.content, directory=target.directory)
        delivered = True
    return BuildResult(construct.id, record.id, bundle, delivered)


def preview_prompts(store: Store, template_id: str | None) -> PreviewResult:
    """The bundle a new construct of ``template_id`` would get; nothing is written."""
    chosen, template, config = choose_template(store.repo.worktree, template_id)
    facts = construct_facts(store, template, None, placeholders=True)
    entries = prompt_entries(config, template)
    return PreviewResult(chosen, assemble(store.repo.worktree, entries, facts))
