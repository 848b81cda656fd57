"""``synthetic.group.diffAttempts``: the diff from one attempt's work to another's.

Each attempt's worktree, as it is now (commits and uncommitted work, untracked
files but the include files copied in), is snapshot into a tree through a
throw-away index and object folder, and the two trees are diffed: a read, the
repository's objects are read and never written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.errors import NotFoundError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.review import DiffStatJson


class AttemptsDiffJson(TypedDict):
    """``synthetic.group.diffAttempts``: what attempt ``b``'s worktree has that ``a``'s does
    not (committed and uncommitted work both), file by file, with the patch text."""

    a: str
    b: str
    files: list[gitr.FileChangeJson]
    stat: DiffStatJson
    patch: str


@dataclass(frozen=True)
class AttemptsDiff:
    """The diff from one attempt's work to another's."""

    a: str
    b: str
    files: list[gitr.FileChange]
    patch: str

    def to_dict(self) -> AttemptsDiffJson:
        """See :class:`AttemptsDiffJson`."""
        return {"a": self.a, "b": self.b, "files": [f.to_dict() for f in self.files],
                "stat": {"files": len(self.files),
                         "additions": sum(f.additions or 0 for f in self.files),
                         "deletions": sum(f.deletions or 0 for f in self.files)},
                "patch": self.patch}


def diff_attempts(store: StateStore, a: str, b: str) -> AttemptsDiff:
    """The diff from attempt ``a``'s worktree to ``b``'s (each as it is now, uncommitted work
    included). A read: each worktree is snapshot into a tree through a throw-away index and
    object folder (the repository's objects are read, never written; no ref or index moves).
    """
    first = store.resolve_construct(a)
    second = store.resolve_construct(b)
    for c in (first, second):
        if not c.workspace_path or not (Path(c.workspace_path) / ".git").exists():
            raise NotFoundError(f"construct {c.id} has no worktree to compare",
                                code="no-worktree", fields={"construct": c.id})
    root = store.repo.worktree
    objects = gitr.run_git(root, "rev-parse", "--path-format=absolute", "--git-common-dir",
                           step="finding the objects").stdout.strip() + "/objects"
    with tempfile.TemporaryDirectory(prefix="synthetic-compare-") as tmp:
        env = {"GIT_OBJECT_DIRECTORY": str(Path(tmp) / "objects"),
               "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects}
        os.makedirs(Path(tmp) / "objects")
        trees = [_snapshot(store, c, {**env, "GIT_INDEX_FILE": str(Path(tmp) / f"index{n}")})
                 for n, c in enumerate((first, second))]
        files = gitr._parse_raw_numstat(gitr.run_git(
            root, "diff", "--raw", "--numstat", "-z", "--no-renames", "--no-ext-diff", *trees,
            "--", step="diffing the attempts", env=env).stdout)
        text = gitr.run_git(root, "diff", "--no-ext-diff", "--no-color", *trees, "--",
                            step="diffing the attempts", env=env).stdout
    return AttemptsDiff(first.id, second.id, files, text)


def _snapshot(store: StateStore, construct: Construct, env: dict[str, str]) -> str:
    """A tree of the construct's worktree as it is (untracked files in, include copies out),
    through the index and object folder ``env`` names."""
    from synthetic_ls.ops.review import _hidden_untracked

    worktree = Path(construct.workspace_path or "")
    untracked = [c.path for c in gitr.uncommitted_changes(worktree) if c.status == "?"]
    hidden = _hidden_untracked(store, construct, untracked)
    gitr.run_git(worktree, "read-tree", "HEAD", step="reading the attempt", env=env)
    gitr.run_git(worktree, "add", "-A", "--", ".",
                 *[f":(exclude,literal){p}" for p in sorted(hidden)],
                 step="snapshotting the attempt", env=env)
    return gitr.run_git(worktree, "write-tree", step="snapshotting the attempt",
                        env=env).stdout.strip()
