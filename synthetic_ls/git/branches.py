"""Branch names for constructs and the branch operations worktrees need."""

from __future__ import annotations

import pygit2

from synthetic_ls.errors import InvalidInputError
from synthetic_ls.git.repo import GitRepo

DEFAULT_BRANCH_PREFIX = "synthetic/"


def is_valid_branch_name(name: str) -> bool:
    """True if ``name`` is a legal local branch name (``refs/heads/<name>``)."""
    if not name or name.startswith("-") or name == "HEAD":
        return False
    return bool(pygit2.reference_is_valid_name(f"refs/heads/{name}"))


def branch_exists(repo: GitRepo, name: str) -> bool:
    """True if a local branch ``name`` exists."""
    return repo.repo.references.get(f"refs/heads/{name}") is not None


def _blocked_by_existing(repo: GitRepo, name: str) -> bool:
    """True if ``name`` exists or clashes with an existing ref as a file/folder (a/b vs a)."""
    if branch_exists(repo, name):
        return True
    full = f"refs/heads/{name}"
    for ref in repo.repo.references:
        if ref.startswith(full + "/") or full.startswith(ref + "/"):
            return True
    return False


def branch_for_construct(
    repo: GitRepo, construct_id: str, prefix: str, explicit: str | None
) -> str:
    """Choose the branch for a new construct.

    An explicit name must be valid and free (the user asked for exactly that
    one). Otherwise ``prefix + id`` is used, with ``-2``, ``-3`` ... appended
    until it collides with no existing branch.
    """
    if explicit is not None:
        if not is_valid_branch_name(explicit):
            raise InvalidInputError(f"{explicit!r} is not a valid git branch name")
        if _blocked_by_existing(repo, explicit):
            raise InvalidInputError(
                f"branch {explicit!r} already exists; choose another name"
            )
        return explicit
    base = f"{prefix}{construct_id}"
    if not is_valid_branch_name(base):
        raise InvalidInputError(
            f"branch prefix {prefix!r} gives the invalid branch name {base!r}; "
            "fix worktrees.branchPrefix"
        )
    # A branch named like a folder of the prefix (``synthetic`` for ``synthetic/``)
    # blocks every name below it; suffixes cannot help, so say so.
    parts = base.split("/")
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if branch_exists(repo, folder):
            raise InvalidInputError(
                f"a branch named {folder!r} exists, so no branch can be created under "
                f"{folder + '/'!r}; rename it or change worktrees.branchPrefix"
            )
    candidate, n = base, 1
    while _blocked_by_existing(repo, candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def branch_tip(repo: GitRepo, name: str) -> str | None:
    """Commit id the local branch points at, or None if it does not exist."""
    ref = repo.repo.references.get(f"refs/heads/{name}")
    if ref is None:
        return None
    return str(ref.peel(pygit2.Commit).id)


def unmerged_count(repo: GitRepo, branch: str, base_ref: str, base_commit: str) -> int:
    """Number of commits on ``branch`` that its base does not contain.

    The base is the current tip of ``base_ref`` when that ref still exists (so
    work merged into it since counts as merged), else the recorded base commit.
    """
    tip = branch_tip(repo, branch)
    if tip is None:
        return 0
    target: str | None = None
    if base_ref:
        ref = repo.repo.references.get(base_ref)
        if ref is not None:
            target = str(ref.peel(pygit2.Commit).id)
    if target is None:
        target = base_commit or None
    if target is None:
        # Without any base we cannot prove the work is merged: assume it is not.
        return 1
    ahead, _behind = repo.repo.ahead_behind(tip, target)
    return int(ahead)


def delete_branch(repo: GitRepo, name: str) -> bool:
    """Delete local branch ``name``; return False if it did not exist."""
    branch = repo.repo.branches.local.get(name)
    if branch is None:
        return False
    branch.delete()
    return True


def reachable_from_other_branches(repo: GitRepo, name: str) -> bool:
    """True if the tip of ``name`` is contained in some other local branch or tag."""
    tip = branch_tip(repo, name)
    if tip is None:
        return True
    for ref_name in repo.repo.references:
        if ref_name == f"refs/heads/{name}" or not ref_name.startswith(
            ("refs/heads/", "refs/tags/")
        ):
            continue
        try:
            other = str(repo.repo.references[ref_name].peel(pygit2.Commit).id)
        except (pygit2.InvalidSpecError, ValueError, KeyError):
            continue
        if other == tip or repo.repo.descendant_of(other, tip):
            return True
    return False
