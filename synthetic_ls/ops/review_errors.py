"""Errors of reviewing and landing; each has a stable ``code`` and structured fields.

Every one of them is raised before anything changed, or after what was
begun was rolled back (``rolled_back`` in the fields then).
"""

from __future__ import annotations

from synthetic_ls.errors import ConflictError, NotFoundError, SyntheticError


class NoBranchError(NotFoundError):
    """The construct has no branch (made without a worktree)."""

    code = "no-branch"


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
