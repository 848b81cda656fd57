"""What each operation would run of the repository's code, for the consent check.

An operation lists these before it changes anything, so that the person is
asked once, up front, and a refusal leaves nothing behind; the steps that
run the code check again just before (nothing runs that was not allowed).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthetic_ls.consent.items import RunItem, folder_items, opencode_items, template_items
from synthetic_ls.consent.sources import CommitFiles

if TYPE_CHECKING:
    from synthetic_ls.config import Template
    from synthetic_ls.provision.work import Creation, Release


def of_template(template_id: str, template: Template | None, *,
                kinds: Iterable[str] = ("setup", "service", "teardown")) -> list[RunItem]:
    """The template's items of the given kinds."""
    if template is None:
        return []
    wanted = set(kinds)
    return [i for i in template_items(template_id, template) if i.kind in wanted]


def of_checks(template_id: str, template: Template | None, names: Iterable[str]) -> list[RunItem]:
    """The items of the template's checks called ``names``."""
    wanted = {f"check {n} of template {template_id}" for n in names}
    return [i for i in of_template(template_id, template, kinds=("check",)) if i.where in wanted]


def of_services(
    template_id: str, template: Template | None, services: Iterable[Any]
) -> list[RunItem]:
    """The items of some of the template's services."""
    names = {f"service {s.id} of template {template_id}" for s in services}
    return [i for i in of_template(template_id, template, kinds=("service",)) if i.where in names]


def of_agent_folder(folder: str | Path | None) -> list[RunItem]:
    """What OpenCode would load when it serves a worktree that exists."""
    return folder_items(folder)


def of_creation(work: Creation) -> list[RunItem]:
    """What creating a construct (or adding its worktree) would run.

    The template's commands when it gets a worktree; with an agent, what
    OpenCode would load from the commit the worktree starts from (it does not
    exist yet). A branch that exists already (``worktree add`` again) is read
    at its tip.
    """
    if not work.settings.worktree:
        return []
    items = of_template(work.template.id, work.template) if work.template else []
    if work.wants_agent:
        commit = start_commit(work)
        if commit is not None:
            items += opencode_items(CommitFiles(work.git.repo, commit))
    return items


def start_commit(work: Creation) -> str | None:
    """The commit a creation's worktree will hold (None: the worktree step will say why)."""
    from synthetic_ls.errors import SyntheticError

    git = work.git
    branch = work.settings.branch or work.construct.branch
    try:
        if branch and work.settings.from_ref is None:
            try:
                return git.resolve(f"refs/heads/{branch}")[0]
            except SyntheticError:
                pass
        return (git.resolve(work.settings.from_ref) if work.settings.from_ref else git.head())[0]
    except SyntheticError:
        return None  # the worktree step reports it


def of_release(work: Release) -> list[RunItem]:
    """What removing would run: the teardown (with a worktree), and the stop commands of
    the services that have a record."""
    from state_format.records import Service

    template = work.template
    if template is None:
        return []
    tid = template.id
    cid = work.construct.id
    recorded = {r.name for r in work.store.list(Service).records if r.construct_id == cid}
    stopping = [s for s in template.services if getattr(s, "stop", None) and s.id in recorded]
    teardown = (of_template(tid, template, kinds=("teardown",))
                if work.construct.workspace_path else [])
    return teardown + of_services(tid, template, stopping)
