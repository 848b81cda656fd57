"""Where construct worktrees go and how their branches are named."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthetic_ls.git import branches
from synthetic_ls.git.repo import GitRepo

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig


#: Environment variable that overrides where worktrees are created.
WORKTREES_ENV = "SYNTHETIC_WORKTREES_DIR"


@dataclass(frozen=True)
class WorktreeSettings:
    """Where construct worktrees go and how their branches are named."""

    root: Path
    branch_prefix: str


def default_root(git: GitRepo) -> Path:
    """``<parent>/<repo>.worktrees``: beside the checkout, never inside it.

    Nested checkouts confuse file watchers, test runners and tools that walk
    the tree, so the default keeps worktrees out of the main checkout. For a
    submodule, ``<parent>`` is the parent of the outermost superproject's
    working tree: beside the submodule they would land inside the
    superproject, where ``git add -A`` would take them for embedded
    repositories.
    """
    outermost = git.outermost_working_tree()
    return outermost.parent / f"{git.main_root.name}.worktrees"


def worktree_settings(git: GitRepo, config: SyntheticConfig | None) -> WorktreeSettings:
    """Settings from, in order: $SYNTHETIC_WORKTREES_DIR, the config, the defaults."""
    prefix = branches.DEFAULT_BRANCH_PREFIX
    root: Path | None = None
    if config is not None:
        prefix = config.worktrees.branch_prefix or prefix
        if config.worktrees.root:
            root = Path(os.path.expanduser(config.worktrees.root))
    env = os.environ.get(WORKTREES_ENV, "").strip()
    if env:
        root = Path(os.path.expanduser(env))
    if root is None:
        root = default_root(git)
    elif not root.is_absolute():
        root = git.main_root / root
    return WorktreeSettings(root=Path(os.path.abspath(root)), branch_prefix=prefix)
