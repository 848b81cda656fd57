"""The state of construct worktrees, for ``ls`` and ``show``.

Kept apart from :mod:`synthetic_ls.ops.worktrees` so that listing imports only
pygit2 and the git layer, not the record models or the config reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from synthetic_ls.git import worktree_status
from synthetic_ls.git.repo import GitRepo


class HasWorktree(Protocol):
    """What worktree inspection needs of a construct (a record or a listing row)."""

    @property
    def id(self) -> str: ...
    @property
    def workspace_path(self) -> str | None: ...
    @property
    def base_ref(self) -> str | None: ...
    @property
    def base_commit(self) -> str | None: ...


def base_target(git: GitRepo, construct: HasWorktree) -> str | None:
    """The commit a construct's branch is compared with: its base ref now, else its base."""
    if construct.base_ref:
        ref = git.repo.references.get(construct.base_ref)
        if ref is not None:
            return str(ref.resolve().target)
    return construct.base_commit


def worktree_info(
    git: GitRepo, construct: HasWorktree, *, with_size: bool = False
) -> dict[str, Any] | None:
    """The ``worktree`` part of ``--json``: exists, branch, ahead, behind, dirty, size."""
    if not construct.workspace_path:
        return None
    state = worktree_status.worktree_state(
        git, Path(construct.workspace_path), base_target(git, construct), with_size=with_size
    )
    return {
        "exists": state.exists,
        "branch": state.branch or None,
        "head": state.head or None,
        "ahead": state.ahead,
        "behind": state.behind,
        "dirty": bool(state.dirty),
        "changes": state.dirty,
        "size_bytes": state.size_bytes,
    }


def worktree_infos(
    checkout: Path, constructs: Sequence[HasWorktree], *, with_size: bool = False
) -> dict[str, dict[str, Any]]:
    """:func:`worktree_info` for every construct that has a worktree, keyed by id.

    ``checkout`` is any checkout of the repository (to find it).
    """
    with_tree = [c for c in constructs if c.workspace_path]
    if not with_tree:
        return {}
    git = GitRepo.discover(checkout)
    out: dict[str, dict[str, Any]] = {}
    for construct in with_tree:
        info = worktree_info(git, construct, with_size=with_size)
        if info is not None:
            out[construct.id] = info
    return out
