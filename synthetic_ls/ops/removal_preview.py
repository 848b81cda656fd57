"""What removing a construct would do, asked before the person confirms: reads only.

:func:`removal_preview` lists what goes (the worktree folder, the agent
session, the services and ports, the prompt bundle), what happens to the
branch, and the work that would be lost, which removal refuses to lose
unless forced. The server decides: ``force_required`` says whether the
removal needs ``force`` (so a face never works it out), and each face lists
``loses`` before it asks for that. The same checks run again when the
removal itself runs, so work that appears in between is still refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.git import branches, worktree_admin
from synthetic_ls.git import review as gitr
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.ports import allocations
from synthetic_ls.provision.services import services_of
from synthetic_ls.provision.worktree import (
    NOT_OURS,
    WorkAtRisk,
    WorkAtRiskJson,
    owns_branch,
    work_at_risk,
)

Fate = Literal["deleted", "kept"]


class BranchFateJson(TypedDict):
    """What removal does with the branch without ``force`` and with it, and why it keeps
    it (null: it deletes it either way)."""

    name: str
    unmerged: list[gitr.CommitJson]
    without_force: Fate
    with_force: Fate
    reason: str | None


class RemovalPreviewJson(TypedDict):
    """``synthetic.construct.removalPreview``: what removing the construct would delete
    (``worktree``, ``session``, ``services``, ``ports``), do with its branch, and lose
    (``loses``); ``force_required``: removal refuses without ``force``."""

    construct: str
    name: str
    worktree: str | None
    loses: list[WorkAtRiskJson]
    locked: str | None
    branch: BranchFateJson | None
    session: str | None
    services: list[str]
    ports: list[int]
    force_required: bool


@dataclass(frozen=True)
class BranchFate:
    """What removal does with the construct's branch, without and with ``force``."""

    name: str
    #: Commits on the branch that its base does not have.
    unmerged: list[gitr.Commit]
    #: ``deleted`` or ``kept`` (unmerged commits, or checked out elsewhere).
    without_force: Fate
    with_force: Fate
    reason: str = ""

    def to_dict(self) -> BranchFateJson:
        """``{"name", "unmerged": [commits], "without_force", "with_force", "reason"}``."""
        return {
            "name": self.name,
            "unmerged": [c.to_dict() for c in self.unmerged],
            "without_force": self.without_force,
            "with_force": self.with_force,
            "reason": self.reason or None,
        }


@dataclass(frozen=True)
class RemovalPreview:
    """What ``rm`` would remove, keep and lose; nothing has changed."""

    construct: Construct
    #: The worktree folder that is deleted (None: the construct has none).
    worktree: str | None
    #: Work removal would lose, refused unless forced (empty: nothing is lost).
    loses: list[WorkAtRisk]
    branch: BranchFate | None
    session: str | None
    services: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    #: The worktree is locked (``git worktree lock``): removal refuses unless forced.
    locked: str | None = None

    @property
    def force_required(self) -> bool:
        """Whether removal refuses without ``force`` (work would be lost, or a lock)."""
        return bool(self.loses) or self.locked is not None

    def to_dict(self) -> RemovalPreviewJson:
        """See README, "Removing a construct"."""
        return {
            "construct": self.construct.id,
            "name": self.construct.name,
            "worktree": self.worktree,
            "loses": [w.to_dict() for w in self.loses],
            "locked": self.locked,
            "branch": self.branch.to_dict() if self.branch is not None else None,
            "session": self.session,
            "services": list(self.services),
            "ports": list(self.ports),
            "force_required": self.force_required,
        }


def _branch_fate(ctx: Context, construct: Construct) -> BranchFate | None:
    name = construct.branch
    if not name or branches.branch_tip(ctx.git, name) is None:
        return None
    base = construct.base_ref or ""
    count = branches.unmerged_count(ctx.git, name, base, construct.base_commit or "")
    commits: list[gitr.Commit] = []
    if count:
        target = gitr.rev(ctx.root, base) if base else None
        target = target or construct.base_commit
        if target:
            commits = gitr.commits_between(ctx.root, target, f"refs/heads/{name}")
    elsewhere = [
        e for e in worktree_admin.list_worktrees(ctx.git)
        if e.branch == name and str(e.path) != construct.workspace_path
    ]
    if not owns_branch(construct):
        return BranchFate(name, commits, "kept", "kept", NOT_OURS)
    if elsewhere:
        reason = f"checked out in {elsewhere[0].path}"
        return BranchFate(name, commits, "kept", "kept", reason)
    if count and construct.landed_tip and branches.branch_tip(ctx.git, name) == \
            construct.landed_tip:
        return BranchFate(name, commits, "deleted", "deleted", "landed as one squash commit")
    if count:
        return BranchFate(
            name, commits, "kept", "deleted", f"{count} commit(s) not merged into its base"
        )
    return BranchFate(name, commits, "deleted", "deleted")


def preview_of(ctx: Context, construct: Construct) -> RemovalPreview:
    """:func:`removal_preview` for a construct already read."""
    store = ctx.store
    loses: list[WorkAtRisk] = []
    locked: str | None = None
    if construct.workspace_path:
        template = ctx.template_of(construct.template_id)
        patterns = list(template.include_patterns) if template is not None else None
        loses = work_at_risk(construct, main_root=ctx.git.main_root, include_patterns=patterns)
        for entry in worktree_admin.list_worktrees(ctx.git):
            if str(entry.path) == construct.workspace_path and entry.locked:
                locked = entry.lock_reason or "locked"
    return RemovalPreview(
        construct=construct,
        worktree=construct.workspace_path,
        loses=loses,
        branch=_branch_fate(ctx, construct),
        session=construct.opencode_session_id,
        services=[s.name for s in services_of(store, construct.id)],
        ports=[p.port for p in allocations(store, construct.id)],
        locked=locked,
    )


def removal_preview(store: StateStore, ref: str) -> RemovalPreview:
    """What removing construct ``ref`` would remove, keep and lose; changes nothing."""
    return preview_of(Context(store), store.resolve_construct(ref))
