"""Commit a construct's uncommitted work in its worktree, so that it can land.

An agent edits files and often leaves them uncommitted; landing refuses
them (``construct-dirty``). This commits exactly what ``synthetic diff``
shows as uncommitted: never an include file copied in (``.env`` ...). The
real ``git commit`` runs in the worktree, so its hooks run; when it fails,
the index is put back as it was and nothing is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.errors import InvalidInputError, SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.review import git_refusal, worktree_changes
from synthetic_ls.ops.review_errors import NoBranchError

#: Hooks ``git commit`` runs, in order.
_COMMIT_HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg")


class NothingToCommitError(SyntheticError):
    """The construct's worktree has no uncommitted change (include files never count)."""

    code = "nothing-to-commit"


class CommitFailedError(SyntheticError):
    """``git commit`` failed for a reason other than a hook; the index was put back."""

    code = "commit-failed"


@dataclass(frozen=True)
class CommitResult:
    """What was committed in the construct's worktree."""

    construct: Construct
    commit: str
    files: list[gitr.FileChange]

    def to_dict(self) -> dict[str, Any]:
        """``{"construct", "commit", "files": [{"path", "status", ...}]}``."""
        return {
            "construct": self.construct.id,
            "commit": self.commit,
            "files": [f.to_dict() for f in self.files],
        }


def commit_construct(store: Store, ref: str, message: str) -> CommitResult:
    """Commit the construct's uncommitted changes (include files never) with ``message``."""
    if not message.strip():
        raise InvalidInputError("the commit message is empty; nothing was committed")
    construct = store.resolve_construct(ref)
    path = construct.workspace_path
    if not construct.branch or not path or not (Path(path) / ".git").exists():
        raise NoBranchError(
            f"construct {construct.id} has no worktree to commit in",
            fields={"construct": construct.id},
        )
    worktree = Path(path)
    changes = worktree_changes(store, construct)
    if not changes:
        raise NothingToCommitError(
            f"construct {construct.id} has no uncommitted change to commit",
            fields={"construct": construct.id},
        )
    index = gitr.run_git(worktree, "write-tree", step="saving the index").stdout.strip()
    # Exactly these paths, literally (a file named "*" is not a pattern).
    paths = "".join(f":(literal){c.path}\0" for c in changes)
    proc = gitr.run_step(
        worktree, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", input=paths
    )
    if proc.returncode == 0:
        proc = gitr.run_step(worktree, "commit", "-q", "-m", message)
    if proc.returncode != 0:
        gitr.run_git(worktree, "read-tree", index, step="putting the index back")
        raise _failed(construct, worktree, proc)
    commit = gitr.rev(worktree, "HEAD") or ""
    return CommitResult(construct, commit, changes)


def _failed(construct: Construct, worktree: Path, proc: Any) -> SyntheticError:
    return git_refusal(
        worktree, proc, _COMMIT_HOOKS,
        f"committing in {construct.id}'s worktree failed and nothing was committed",
        {"construct": construct.id, "step": "committing"}, CommitFailedError,
    )
