"""``prompts build`` and ``prompts preview``: a construct's prompt bundle, or a template's."""

from __future__ import annotations

from dataclasses import dataclass

from state_format.protocol import StateStore
from synthetic_ls.errors import NotFoundError
from synthetic_ls.ops.recovery import settle
from synthetic_ls.prompts.bundle import Bundle, BundleJson, assemble
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import journalled
from synthetic_ls.provision.prompt_bundle import (
    construct_facts,
    prompt_entries,
    record_bundle,
)
from synthetic_ls.provision.recoveries import recover_build
from synthetic_ls.provision.work import Work


class PromptBuildJson(BundleJson):
    """``synthetic.prompts.build``: the construct's new bundle, its record's id, and
    whether its agent session got it."""

    construct: str
    bundle_id: str
    delivered: bool


class PromptPreviewJson(BundleJson):
    """``synthetic.prompts.preview``: what a new construct of the template would get
    (values not known yet as placeholders)."""

    template_id: str


@dataclass(frozen=True)
class BuildResult:
    """The bundle made for a construct, its record, and whether its session got it."""

    construct: str
    bundle_id: str
    bundle: Bundle
    delivered: bool

    def to_dict(self) -> PromptBuildJson:
        """``{"construct", "bundle_id", "delivered", ...the bundle}``."""
        return {"construct": self.construct, "bundle_id": self.bundle_id,
                "delivered": self.delivered, **self.bundle.to_dict()}


@dataclass(frozen=True)
class PreviewResult:
    """What a new construct of a template would get (values not known yet as placeholders)."""

    template_id: str
    bundle: Bundle

    def to_dict(self) -> PromptPreviewJson:
        """``{"template_id", ...the bundle}``."""
        return {"template_id": self.template_id, **self.bundle.to_dict()}


def build_prompts(store: StateStore, ref: str) -> BuildResult:
    """Assemble the construct's bundle again from the files as they are now, and record it.

    A construct with an agent session gets it as a new context message, so
    that the agent works with the update. Journalled: the new record is
    written before the old one goes, and a crash between the two leaves
    recovery the newest to keep.
    """
    ctx = Context(store)
    construct, _recovery = settle(ctx, store.resolve_construct(ref))
    if construct is None:
        raise NotFoundError(f"construct {ref!r} is gone", code="record-not-found")
    if not construct.workspace_path:
        raise NotFoundError(
            f"construct {construct.id} has no worktree; a bundle describes one",
            code="no-worktree", fields={"construct": construct.id},
        )
    template = ctx.template_of(construct.template_id)
    work = Work(ctx, construct, template)
    facts = construct_facts(store, template, construct)
    bundle = assemble(ctx.root, prompt_entries(ctx.config, template), facts)
    delivered = False
    with journalled(work, "prompts-build", recover=recover_build) as steps:
        steps.begin("bundle")
        record = record_bundle(store, construct.id, bundle)
        if construct.opencode_session_id:
            from synthetic_ls.ops.session import session_target

            steps.begin("deliver")
            target = session_target(store, construct.id)
            with target.client() as client:
                client.add_context(target.session_id, bundle.content, directory=target.directory)
            delivered = True
    return BuildResult(construct.id, record.id, bundle, delivered)


def preview_prompts(store: StateStore, template_id: str | None = None) -> PreviewResult:
    """The bundle a new construct of ``template_id`` would get; nothing is written."""
    chosen, template, config = Context(store).choose_template(template_id)
    facts = construct_facts(store, template, None, placeholders=True)
    entries = prompt_entries(config, template)
    return PreviewResult(chosen, assemble(store.repo.worktree, entries, facts))
