"""Errors of reviewing and landing; each has a stable ``code`` and structured fields.

Every one of them is raised before anything changed, or after what was
begun was rolled back (``rolled_back`` in the fields then).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from state_format.text import one_line
from synthetic_ls.errors import ConflictError, NotFoundError, SyntheticError
from synthetic_ls.git import review as gitr


class NoBranchError(NotFoundError):
    """The construct has no branch (made without a worktree)."""

    code = "no-branch"


class NoWorktreeError(NotFoundError):
    """The construct has no worktree (made without one, or it was removed)."""

    code = "no-worktree"


class BranchGoneError(NotFoundError):
    """The construct's branch was deleted (by hand: Synthetic never does while it exists)."""

    code = "branch-gone"


class TargetMissingError(NotFoundError):
    """The branch to land into does not exist, or none is known."""

    code = "target-missing"


class TargetNotCheckedOutError(ConflictError):
    """The branch to land into is checked out in no worktree."""

    code = "target-not-checked-out"


class TargetDirtyError(ConflictError):
    """The checkout of the branch to land into has local changes, or an operation in progress."""

    code = "target-dirty"


class TargetFilesInTheWayError(ConflictError):
    """Untracked or ignored files of the target checkout that landing would overwrite."""

    code = "target-files-in-the-way"


class ConstructDirtyError(ConflictError):
    """The construct's worktree has uncommitted changes, which landing would leave behind."""

    code = "construct-dirty"


class MergeConflictError(ConflictError):
    """The construct's branch and the target branch conflict."""

    code = "merge-conflict"


class BaseRewrittenError(ConflictError):
    """The base branch was rewritten (force-pushed, reset): the recorded base is not in it."""

    code = "base-rewritten"


class NothingToLandError(SyntheticError):
    """The branch holds no commit the target does not have."""

    code = "nothing-to-land"


class HookFailedError(SyntheticError):
    """A git hook refused the landing; what was begun is rolled back."""

    code = "hook-failed"


class LandFailedError(SyntheticError):
    """A git step of the landing failed for another reason; what was begun is rolled back."""

    code = "land-failed"


def git_refusal(
    cwd: Path, proc: Any, hooks: tuple[str, ...], what: str, fields: dict[str, Any],
    otherwise: type[SyntheticError],
) -> SyntheticError:
    """The error for a git step that failed and was rolled back.

    :class:`HookFailedError` when one of ``hooks`` is installed (a hook is the
    likely refuser), else ``otherwise``; ``what`` begins the message
    ("merging x failed and was rolled back; nothing was landed").
    """
    detail = one_line((proc.stderr or "") + (proc.stdout or ""), 2000)
    fields = {**fields, "detail": detail, "rolled_back": True}
    installed = [h for h in hooks if gitr.hook_path(cwd, h) is not None]
    if installed:
        return HookFailedError(
            f"{what}. A hook refused it ({', '.join(installed)}): {detail}",
            fields={**fields, "hooks": installed},
        )
    return otherwise(f"{what}: {detail}", fields=fields)
