"""The include-files resource: untracked files (``.env``) copied into a new worktree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthetic_ls.git import include_copy
from synthetic_ls.provision.lifecycle import Made, PlanItem, Resource

if TYPE_CHECKING:
    from synthetic_ls.provision.work import Creation, Release, Work


def _patterns(work: Creation) -> list[str]:
    return list(work.template.include_patterns) if work.template is not None else []


@dataclass(frozen=True)
class IncludeFilesMade:
    """The files copied (repository-relative), and those passed over with the reason."""

    copied: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]


class IncludeFilesResource(Resource[IncludeFilesMade]):
    """The template's ``includePatterns``, copied from the main checkout.

    The copies live inside the worktree, so undoing or releasing the
    worktree takes them away; this resource's own undo and release have
    nothing left to do. Removal's check for unsaved work (in the worktree
    resource) lets unchanged copies go and stops on edited ones.
    """

    name = "include-files"
    title = "copying include files"
    with_worktree = True

    def wanted(self, work: Creation) -> bool:
        """Only with a worktree and a template that selects files."""
        return work.settings.worktree and bool(_patterns(work))

    def plan(self, work: Creation) -> PlanItem:
        """The patterns that select the files."""
        patterns = _patterns(work)
        return PlanItem(
            self.name,
            f"copy untracked files matching {', '.join(patterns)} from the main checkout",
            {"patterns": patterns},
        )

    def provision(self, work: Creation) -> Made[IncludeFilesMade]:
        """Copy the files; what was copied and what was passed over is the result."""
        path = Path(work.construct.workspace_path or "")
        report = include_copy.copy_included(
            work.git, path, _patterns(work), exclude=[path.parent]
        )
        return Made(IncludeFilesMade(tuple(report.copied), tuple(report.skipped)))

    def undo(self, work: Work) -> list[str]:
        """Nothing of its own: the copies go with the worktree."""
        return []

    def release(self, work: Release) -> list[str]:
        """Nothing of its own: the copies go with the worktree."""
        return []
