"""The prompt-bundle resource: the construct's assembled prompt, recorded in ``prompt_bundles/``.

It is made after the worktree (and the ports, whose numbers it names) and
before the agent session, which receives it as its first, context-only
message (see :mod:`synthetic_ls.provision.session`). Delivering it to the
session, not as a file in the worktree, keeps it out of the person's commits
and puts it in the session's history, where every later turn sees it, from
Synthetic, the terminal UI or any other client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from state_format.errors import RecordNotFoundError
from state_format.records import PortAllocation, PromptBundle, utc_now
from synthetic_ls.prompts.bundle import TOKEN_METHOD, ConstructFacts, ServiceFacts, assemble
from synthetic_ls.prompts.sources import Source
from synthetic_ls.provision.lifecycle import Finding, Made, PlanItem, Resource, Subject

if TYPE_CHECKING:
    from state_format.protocol import StateStore
    from synthetic_ls.config import SyntheticConfig, Template
    from synthetic_ls.prompts.bundle import Bundle
    from synthetic_ls.provision.work import Creation, Release, Survey, Work


def _has_sources(work: Creation) -> bool:
    config_sources = work.config.prompt_sources if work.config is not None else []
    return bool(config_sources) or bool(work.template is not None and work.template.prompts)


def prompt_entries(config: SyntheticConfig | None, template: Template | None) -> list[Source]:
    """The config's prompt entries as written: ``promptSources`` first, then the template's."""
    out: list[Source] = []
    if config is not None:
        for source in config.prompt_sources:
            explicit = "order" in source.model_fields_set
            out.append(Source("", source.path, "promptSources", source.order if explicit else None))
    if template is not None:
        for pattern in template.prompts:
            out.append(Source("", pattern, f"templates.{template.id}.prompts", None))
    return out


def construct_facts(
    store: StateStore, template: Template | None, construct: Any, *, placeholders: bool = False
) -> ConstructFacts:
    """What the bundle says about ``construct``: its values and its services' ports.

    With ``placeholders`` (a preview, or a check before the construct
    exists), values not known yet read ``<construct id>``, ``<worktree>``...
    """
    names = [s.id for s in template.services] if template is not None else []
    ports: dict[str, int] = {}
    if not placeholders:
        for allocation in store.list(PortAllocation).records:
            if allocation.construct_id == construct.id:
                ports.setdefault(allocation.service_name, allocation.port)
    names += [n for n in ports if n not in names]
    services = tuple(ServiceFacts(n, ports.get(n)) for n in names)
    if placeholders:
        return ConstructFacts(
            "<construct id>", construct.name if construct is not None else "<construct name>",
            "<worktree>", "<branch>", str(store.repo.worktree),
            construct.description if construct is not None else "", services,
        )
    return ConstructFacts(
        construct.id, construct.name, construct.workspace_path or "", construct.branch or "",
        str(store.repo.worktree), construct.description, services,
    )


def bundles_of(store: StateStore, construct_id: str) -> list[PromptBundle]:
    """The bundle records of a construct (one, or none)."""
    return [b for b in store.list(PromptBundle).records if b.construct_id == construct_id]


def record_bundle(store: StateStore, construct_id: str, bundle: Bundle) -> PromptBundle:
    """Replace the construct's bundle record with ``bundle``.

    The new record is written before the old ones go: a crash in between
    leaves two, never none, and :func:`keep_newest` settles them.
    """
    with store.lock():
        older = bundles_of(store, construct_id)
        record = store.create(PromptBundle(
            id=store.new_id(PromptBundle, construct_id),
            construct_id=construct_id,
            content=bundle.content,
            token_count=bundle.token_count,
            token_method=TOKEN_METHOD,
            created_at=utc_now(),
        ))
        for old in older:
            store.delete(PromptBundle, old.id)
        return record


def keep_newest(store: StateStore, construct_id: str) -> list[str]:
    """Delete every bundle record of the construct but the newest; notes name what went."""
    with store.lock():
        bundles = sorted(bundles_of(store, construct_id), key=lambda b: (b.created_at, b.id))
        return _delete(store, bundles[:-1], "deleted the older prompt bundle")


def _delete_bundles(store: StateStore, construct_id: str) -> list[str]:
    return _delete(store, bundles_of(store, construct_id), "deleted prompt bundle")


def _delete(store: StateStore, bundles: list[PromptBundle], said: str) -> list[str]:
    """Delete ``bundles`` (one already gone is fine); a note each, ``said`` and its id."""
    notes = []
    for bundle in bundles:
        try:
            store.delete(PromptBundle, bundle.id)
        except RecordNotFoundError:
            continue
        notes.append(f"{said} {bundle.id}")
    return notes


@dataclass(frozen=True)
class BundleMade:
    """The bundle recorded for the construct: its record's id and size."""

    record_id: str
    token_count: int


class PromptBundleResource(Resource[BundleMade]):
    """The construct's prompt bundle (``prompt_bundles/<id>.toml``)."""

    name = "prompt-bundle"
    title = "assembling the prompt bundle"
    with_worktree = True

    def wanted(self, work: Creation) -> bool:
        """With a worktree, when the config names prompt files or the construct has an agent."""
        return work.settings.worktree and (_has_sources(work) or work.wants_agent)

    def _preview(self, work: Creation) -> Bundle:
        facts = construct_facts(work.store, work.template, work.construct, placeholders=True)
        return assemble(work.ctx.root, prompt_entries(work.config, work.template), facts)

    def plan(self, work: Creation) -> PlanItem:
        """The fragments, in order, with their token estimates."""
        bundle = self._preview(work)
        files = ", ".join(f.source.path for f in bundle.fragments) or "no prompt files"
        return PlanItem(
            self.name,
            f"assemble the prompt bundle ({files}; about {bundle.token_count} tokens)",
            {"fragments": [f.to_dict() for f in bundle.fragments],
             "token_count": bundle.token_count, "token_method": bundle.token_method},
        )

    def preflight(self, work: Creation) -> None:
        """A missing file or an unknown variable refuses the creation before anything is made."""
        self._preview(work)

    def provision(self, work: Creation) -> Made[BundleMade]:
        """Assemble it with the construct's values and ports, and record it."""
        facts = construct_facts(work.store, work.template, work.construct)
        bundle = assemble(work.ctx.root, prompt_entries(work.config, work.template), facts)
        record = record_bundle(work.store, work.construct.id, bundle)
        return Made(BundleMade(record.id, bundle.token_count))

    def undo(self, work: Work) -> list[str]:
        """Delete the construct's bundle records."""
        return _delete_bundles(work.store, work.construct.id)

    def release(self, work: Release) -> list[str]:
        """Delete the construct's bundle records."""
        return _delete_bundles(work.store, work.construct.id)

    def check(self, survey: Survey) -> list[Finding]:
        """Bundles whose construct is gone, each with a fix that deletes it."""
        known = {c.id for c in survey.constructs}
        findings = []
        for bundle in survey.store.list(PromptBundle).records:
            if bundle.construct_id in known:
                continue
            findings.append(Finding(
                kind="orphan-prompt-bundle",
                subject=Subject("file", survey.store.location(PromptBundle, bundle.id)),
                message=f"prompt bundle {bundle.id} belongs to construct {bundle.construct_id}, "
                "which no longer exists",
                advice="`synthetic doctor --fix` deletes it",
                fix=_deleter(survey.store, bundle.id),
            ))
        return findings


def _deleter(store: StateStore, bundle_id: str) -> Any:
    def fix() -> list[str]:
        store.delete(PromptBundle, bundle_id)
        return [f"deleted prompt bundle {bundle_id}"]

    return fix
