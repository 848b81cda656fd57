"""The include-files resource: untracked files (``.env``) copied into a new worktree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthetic_ls.git import include_copy
from synthetic_ls.provision.lifecycle import PlanItem, Resource

if TYPE_CHECKING:
    from synthetic_ls.provision.job import Job


def _patterns(job: Job) -> list[str]:
    return list(job.template.include_patterns) if job.template is not None else []


class IncludeFilesResource(Resource):
    """The template's ``includePatterns``, copied from the main checkout.

    The copies live inside the worktree, so undoing or releasing the
    worktree takes them away; this resource's own undo and release have
    nothing left to do. Removal's check for unsaved work (in the worktree
    resource) lets unchanged copies go and stops on edited ones.
    """

    name = "include-files"
    title = "copying include files"
    with_worktree = True

    def wanted(self, job: Job) -> bool:
        """Only with a worktree and a template that selects files."""
        return job.worktree and bool(_patterns(job))

    def plan(self, job: Job) -> PlanItem:
        """The patterns that select the files."""
        patterns = _patterns(job)
        return PlanItem(
            self.name,
            f"copy untracked files matching {', '.join(patterns)} from the main checkout",
            {"patterns": patterns},
        )

    def provision(self, job: Job) -> dict[str, Any]:
        """Copy the files; what was copied and skipped goes to ``job.outputs``."""
        path = Path(job.construct.workspace_path or "")
        report = include_copy.copy_included(job.git, path, _patterns(job), exclude=[path.parent])
        job.outputs["copied"] = report.copied
        job.outputs["skipped"] = report.skipped
        return {}

    def undo(self, job: Job) -> list[str]:
        """Nothing of its own: the copies go with the worktree."""
        return []

    def release(self, job: Job) -> list[str]:
        """Nothing of its own: the copies go with the worktree."""
        return []
