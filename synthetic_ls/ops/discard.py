"""Discard a construct: remove it with its branch, its unmerged commits and uncommitted work.

What it would throw away is asked first (:func:`discard_preview`), so that a
face lists it before the person confirms; the discard itself is the usual
removal (journalled, resumed or finished by recovery), forced.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.review import span_for, worktree_changes
from synthetic_ls.ops.review_errors import (
    BranchGoneError,
    LandFailedError,
    NoBranchError,
    TargetMissingError,
)
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.work import ReleaseSettings
from synthetic_ls.provision.worktree import WorkAtRisk, WorkAtRiskJson


class DiscardPreviewJson(TypedDict):
    """``synthetic.construct.discardPreview``: what discarding would delete: the branch
    (null: none), its commits no other branch has, the uncommitted files, and every
    kind of work the forced removal loses (``loses``, as in the removal preview: edited
    include files, commits only a detached HEAD reaches, an operation half done ...)."""

    construct: str
    branch: str | None
    unmerged: list[gitr.CommitJson]
    uncommitted: list[gitr.FileChangeJson]
    loses: list[WorkAtRiskJson]


class DiscardResultJson(TypedDict):
    """``synthetic.construct.discard``: what was deleted, and notes for a person."""

    removed: str
    branch: str | None
    unmerged: list[gitr.CommitJson]
    uncommitted: list[gitr.FileChangeJson]
    loses: list[WorkAtRiskJson]
    notes: list[str]


@dataclass(frozen=True)
class DiscardPreview:
    """What discarding would throw away: the commits no other branch has."""

    construct: Construct
    commits: list[gitr.Commit]
    uncommitted: list[gitr.FileChange]
    loses: list[WorkAtRisk]

    def to_dict(self) -> DiscardPreviewJson:
        """``{"construct", "branch", "unmerged", "uncommitted", "loses"}``."""
        return {
            "construct": self.construct.id,
            "branch": self.construct.branch,
            "unmerged": [c.to_dict() for c in self.commits],
            "uncommitted": [f.to_dict() for f in self.uncommitted],
            "loses": [w.to_dict() for w in self.loses],
        }


def discard_preview(store: StateStore, ref: str) -> DiscardPreview:
    """The unmerged commits and uncommitted changes :func:`discard_construct` would delete."""
    from synthetic_ls.ops.removal_preview import preview_of

    construct = store.resolve_construct(ref)
    commits: list[gitr.Commit] = []
    with contextlib.suppress(NoBranchError, BranchGoneError, TargetMissingError, LandFailedError):
        span = span_for(store, construct)
        commits = gitr.commits_between(span.root, span.target_tip, span.head)
    loses = preview_of(Context(store), construct).loses
    return DiscardPreview(construct, commits, worktree_changes(store, construct), loses)


@dataclass(frozen=True)
class DiscardResult:
    """``synthetic discard``: what was removed, with the commits deleted."""

    preview: DiscardPreview
    notes: list[str]

    def to_dict(self) -> DiscardResultJson:
        """``{"removed", "branch", "unmerged": [commits], "uncommitted", "notes"}``."""
        preview = self.preview.to_dict()
        return {
            "branch": preview["branch"],
            "unmerged": preview["unmerged"],
            "uncommitted": preview["uncommitted"],
            "loses": preview["loses"],
            "removed": preview["construct"],
            "notes": list(self.notes),
        }


def discard_construct(
    store: StateStore, ref: str, *, keep_session: bool = False, consent: Consent = NOBODY
) -> DiscardResult:
    """Remove the construct and its branch, unmerged commits and uncommitted changes included."""
    from synthetic_ls.ops.constructs import remove

    preview = discard_preview(store, ref)
    settings = ReleaseSettings(force=True, keep_session=keep_session)
    result = remove(Context(store, consent=consent), preview.construct.id, settings)
    return DiscardResult(preview, result.notes)
