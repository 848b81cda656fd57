"""Commit a construct's uncommitted work in its worktree, so that it can land.

An agent edits files and often leaves them uncommitted; landing refuses
them (``construct-dirty``). This commits exactly what ``synthetic diff``
shows as uncommitted: never an include file copied in (``.env`` ...). The
real ``git commit`` runs in the worktree, so its hooks run; when it fails,
the index is put back as it was and nothing is committed. It is a
journalled change: a ``kill -9`` at any step is settled by ``doctor --fix``
(:func:`recover_commit`).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.errors import InvalidInputError, NotFoundError, SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.recovery import settle
from synthetic_ls.ops.review import worktree_changes
from synthetic_ls.ops.review_errors import NoWorktreeError, git_refusal
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import Steps, journalled
from synthetic_ls.provision.recoveries import recover_commit
from synthetic_ls.provision.work import Work

#: Hooks ``git commit`` runs, in order.
_COMMIT_HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg")


class NothingToCommitError(SyntheticError):
    """The construct's worktree has no uncommitted change (include files never count)."""

    code = "nothing-to-commit"


class CommitFailedError(SyntheticError):
    """``git commit`` failed for a reason other than a hook; the index was put back."""

    code = "commit-failed"


class CommitResultJson(TypedDict):
    """``synthetic.construct.commit``: the commit made in the construct's worktree, and
    its files."""

    construct: str
    commit: str
    files: list[gitr.FileChangeJson]


@dataclass(frozen=True)
class CommitResult:
    """What was committed in the construct's worktree."""

    construct: Construct
    commit: str
    files: list[gitr.FileChange]

    def to_dict(self) -> CommitResultJson:
        """``{"construct", "commit", "files": [{"path", "status", ...}]}``."""
        return {
            "construct": self.construct.id,
            "commit": self.commit,
            "files": [f.to_dict() for f in self.files],
        }


def commit_construct(store: StateStore, ref: str, message: str) -> CommitResult:
    """Commit the construct's uncommitted changes (include files never) with ``message``.

    A journalled change: the index before and HEAD before are written to
    the journal first, so that after a ``kill -9`` recovery
    (:func:`recover_commit`) keeps a commit git made or puts the index back.
    """
    if not message.strip():
        raise InvalidInputError("the commit message is empty; nothing was committed")
    ctx = Context(store)
    construct, recovery = settle(ctx, store.resolve_construct(ref))
    if construct is None:
        raise NotFoundError(
            f"no construct {ref!r} any more: {recovery.message() if recovery else 'it is gone'}",
            code="record-not-found",
        )
    path = construct.workspace_path
    if not construct.branch or not path or not (Path(path) / ".git").exists():
        raise NoWorktreeError(
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
    head = gitr.rev(worktree, "HEAD") or ""
    work = Work(ctx, construct, ctx.template_of(construct.template_id))
    facts = {"worktree": str(worktree), "index": index, "head": head}
    with (
        journalled(work, "commit", facts=facts, recover=recover_commit) as steps,
        tempfile.NamedTemporaryFile("w", encoding="utf-8", errors="surrogateescape") as listed,
    ):
        # Exactly these paths, literally (a file named "*" is not a pattern); from
        # a file, since a step in its own process group reads nothing on stdin.
        listed.write("".join(f":(literal){c.path}\0" for c in changes))
        listed.flush()
        steps.begin("stage")
        proc = _git(steps, worktree, "add", "-A", f"--pathspec-from-file={listed.name}",
                    "--pathspec-file-nul")
        if proc.returncode == 0:
            steps.begin("commit")
            proc = _git(steps, worktree, "commit", "-q", "-m", message)
        if proc.returncode != 0:
            gitr.run_git(worktree, "read-tree", index, step="putting the index back")
            raise _failed(construct, worktree, proc)
    commit = gitr.rev(worktree, "HEAD") or ""
    return CommitResult(work.construct, commit, changes)


def _git(steps: Steps, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A git step of the commit, in its own process group recorded in the journal."""
    return gitr.run_git(cwd, *args, step=f"git {args[0]}", check=False, on_start=steps.record_group)


def _failed(construct: Construct, worktree: Path, proc: Any) -> SyntheticError:
    return git_refusal(
        worktree, proc, _COMMIT_HOOKS,
        f"committing in {construct.id}'s worktree failed and nothing was committed",
        {"construct": construct.id, "step": "committing"}, CommitFailedError,
    )
