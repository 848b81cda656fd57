"""The worktree resource: a construct's branch and linked worktree.

What removing one would lose (:func:`check_removable`) is checked here;
where worktrees go is :mod:`.worktree_settings`, and the doctor's checks
are :mod:`.worktree_checks`.
"""

from __future__ import annotations

import filecmp
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

from state_format.records import Construct
from state_format.text import one_line
from synthetic_ls.errors import ConflictError, InvalidInputError, SyntheticError
from synthetic_ls.git import branches, include_copy, unsaved_work, worktree_admin, worktree_status
from synthetic_ls.git.repo import GitRepo
from synthetic_ls.provision.lifecycle import Finding, Made, PlanItem, Resource
from synthetic_ls.provision.worktree_checks import worktree_findings
from synthetic_ls.provision.worktree_settings import worktree_settings
from synthetic_ls.repo_files import utf8_path_problem

if TYPE_CHECKING:
    from synthetic_ls.provision.work import Creation, Release, Survey, Work


@dataclass(frozen=True)
class WorktreeMade:
    """What the worktree step made: the folder, the branch, and whether the branch was kept."""

    path: str
    branch: str
    #: True when the construct's branch, kept from an earlier worktree, was checked out again.
    reused_branch: bool


class WorktreeResource(Resource[WorktreeMade]):
    """A branch (new, or one kept from an earlier worktree) checked out in its own folder."""

    name = "worktree"
    title = "creating the worktree"
    with_worktree = True

    def wanted(self, work: Creation) -> bool:
        """Every construct created with a worktree (``--no-worktree`` skips it)."""
        return work.settings.worktree

    @staticmethod
    def _reuses(work: Creation) -> bool:
        """Whether the construct's own branch, kept from an earlier worktree, is checked out.

        Before ``prepare`` the record names only a kept branch; after it, a
        new branch is named but does not exist until ``git worktree add``
        makes it, so the answer is the same before and after.
        """
        c = work.construct
        return (
            work.settings.branch is None
            and work.settings.from_ref is None
            and c.branch is not None
            and branches.branch_exists(work.git, c.branch)
        )

    def _names(self, work: Creation) -> dict[str, Any]:
        """The folder, branch and start point; ``reused`` when a kept branch is checked out."""
        settings = worktree_settings(work.git, work.config)
        c = work.construct
        reuse = self._reuses(work)
        # The folder comes from the id (ASCII slug + suffix), never from user text.
        path = settings.root / c.id
        if reuse:
            assert c.branch is not None
            return {
                "workspace_path": str(path),
                "branch": c.branch,
                "base_ref": c.base_ref,
                "base_commit": c.base_commit,
                "reused": True,
            }
        from_ref = work.settings.from_ref
        commit, ref = work.git.head() if from_ref is None else work.git.resolve(from_ref)
        branch = branches.branch_for_construct(
            work.git, c.id, settings.branch_prefix, work.settings.branch
        )
        return {
            "workspace_path": str(path),
            "branch": branch,
            "base_ref": ref or None,
            "base_commit": commit,
            "branch_owned": True,  # `git worktree add -b` makes it: ours to delete
            "reused": False,
        }

    def plan(self, work: Creation) -> PlanItem:
        """The folder, the branch and where it starts."""
        names = self._names(work)
        how = "check out kept branch" if names["reused"] else "create branch"
        return PlanItem(
            self.name,
            f"{how} {names['branch']} in {names['workspace_path']}",
            {k: v for k, v in names.items()},
        )

    def prepare(self, work: Creation) -> dict[str, Any]:
        """Choose the names and refuse a folder that is already there."""
        names = self._names(work)
        path = Path(names["workspace_path"])
        problem = utf8_path_problem(path, "the worktree folder")
        if problem is not None:
            raise InvalidInputError(problem, fields={"path": str(path)})
        if os.path.lexists(path):
            raise ConflictError(
                f"worktree folder {path} already exists; remove it or run `synthetic doctor`"
            )
        names.pop("reused")
        return names

    def provision(self, work: Creation) -> Made[WorktreeMade]:
        """``git worktree add``, in its own process group, journalled."""
        c = work.construct
        assert c.workspace_path and c.branch
        reused = self._reuses(work)
        worktree_admin.add_worktree(
            work.git,
            Path(c.workspace_path),
            c.branch,
            None if reused else c.base_commit,
            on_start=work.record_group,
        )
        return Made(WorktreeMade(c.workspace_path, c.branch, reused))

    def undo(self, work: Work) -> list[str]:
        """Remove the folder (locked, half checked out, or unregistered) and a new branch."""
        c = work.construct
        notes = _end_sandbox(work)
        if c.workspace_path:
            path = Path(c.workspace_path)
            existed = os.path.lexists(path)
            worktree_admin.discard_partial(work.git, path)
            if existed:
                notes.append(f"removed worktree {path}")
        journal = work.journal
        kept_branch = journal is not None and journal.restore.get("branch") == c.branch
        if c.branch and not kept_branch:
            tip = branches.branch_tip(work.git, c.branch)
            # Only a branch that still points at its start can be ours alone.
            if tip is not None and (not c.base_commit or tip == c.base_commit):
                branches.delete_branch(work.git, c.branch)
                notes.append(f"deleted branch {c.branch}")
            elif tip is not None:
                notes.append(f"kept branch {c.branch}: it has commits")
        return notes

    def preflight(self, work: Creation) -> None:
        """An isolated construct needs its sandbox's tool: refuse before anything is made.

        A ``container`` one also needs a Docker engine and its image (its
        devcontainer read, the image pulled when the engine lacks it).
        """
        if work.construct.isolation == "bubblewrap":
            from synthetic_ls.sandbox.bubblewrap import find_bwrap

            find_bwrap()
        elif work.construct.isolation == "container":
            from synthetic_ls.runtime.docker import RUN_TIMEOUT, require_engine
            from synthetic_ls.sandbox.container import ensure_image, image_of

            require_engine()
            image = image_of(work.construct, work.ctx.root).image
            with work.ctx.waiting(f"the container image {image}", RUN_TIMEOUT):
                ensure_image(image)

    def preflight_release(self, work: Release) -> None:
        """Refuse to lose work (see :func:`check_removable`) or to fight a lock."""
        c = work.construct
        force = work.settings.force
        if not c.workspace_path:
            return
        path = Path(c.workspace_path)
        for entry in worktree_admin.list_worktrees(work.git):
            if entry.path == path and entry.locked and not force:
                why = one_line(entry.lock_reason, 200)
                reason = f" (reason: {why})" if why else ""
                raise ConflictError(
                    f"worktree {path} is locked{reason}; whoever locked it may still need "
                    f"it. Release it with `git worktree unlock {path}`, then retry",
                    fields={"path": str(path), "lock_reason": entry.lock_reason},
                )
        patterns = list(work.template.include_patterns) if work.template is not None else None
        check_removable(c, force=force, main_root=work.git.main_root, include_patterns=patterns)

    def release(self, work: Release) -> list[str]:
        """Remove the folder and git's entry; delete the branch unless it holds unmerged work."""
        journal = work.journal
        kept = journal is not None and journal.op == "remove-worktree"
        c = work.construct
        if not c.workspace_path and not c.branch:
            # A record-only construct: nothing of git's to release, so git is
            # not even opened (it may be one libgit2 cannot open: SHA-256).
            return []
        notes = _end_sandbox(work) + release_worktree(
            work.git, c, force=work.settings.force, record_kept=kept,
            landed_tip=work.settings.landed_tip,
        )
        if kept:
            # The record stays: it forgets the folder, and the branch if that went too.
            fields: dict[str, Any] = {"workspace_path": None}
            if c.branch is None or branches.branch_tip(work.git, c.branch) is None:
                fields.update(branch=None, base_ref=None, base_commit=None)
            work.update(**fields)
        return notes

    def check(self, survey: Survey) -> list[Finding]:
        """Moved, missing and locked worktrees, unregistered ones and orphan branches.

        None in a repository git's library cannot open (SHA-256): no construct
        there has a worktree (``new`` refuses one), and the other checks go on.
        """
        try:
            return worktree_findings(survey)
        except SyntheticError as err:
            if err.code == "sha256-repository":
                return []
            raise


# -- removal ----------------------------------------------------------------------


#: The kinds of work removal would lose (a face may act on ``kind``; ``what`` is for people).
WorkKind = Literal[
    "unopenable", "operation", "head-only-commits", "uncommitted", "hidden-edits",
    "include-files",
]


class WorkAtRiskJson(TypedDict):
    """One kind of work removal would lose: its ``kind``, a sentence for a person
    (``what``) and its lines: files as ``git status --short`` shows them, or commits."""

    kind: WorkKind
    what: str
    items: list[str]


@dataclass(frozen=True)
class WorkAtRisk:
    """Work that removing a worktree would lose: its kind, what it is, and its lines."""

    kind: WorkKind
    title: str
    lines: tuple[str, ...] = ()

    def to_dict(self) -> WorkAtRiskJson:
        """``{"kind", "what", "items"}``."""
        return {"kind": self.kind, "what": self.title, "items": list(self.lines)}


def work_at_risk(
    construct: Construct,
    *,
    main_root: Path | None = None,
    include_patterns: list[str] | None = None,
) -> list[WorkAtRisk]:
    """What removing the construct's worktree would lose, that git could not give back.

    Each kind of work is one :class:`WorkAtRisk`:

    * a git operation stopped half-way (rebase, merge, cherry-pick, revert,
      bisect, am): its state lives in the worktree's git dir;
    * commits only the worktree's HEAD reaches (a detached HEAD, a rebase
      not finished): no branch or tag keeps them once the worktree is gone;
    * uncommitted changes, untracked files included;
    * edits ``git status`` hides: assume-unchanged and skip-worktree files
      whose content differs from the index;
    * ignored files the template's ``include_patterns`` select (``.env``)
      that are not an unchanged copy of the main checkout's file: an edited
      copy, or a new one. With ``include_patterns`` None (the config has
      errors, or the template is gone) every ignored file that differs from
      the same file in the main checkout counts instead;
    * a worktree git can no longer open: its files may be work, and git
      cannot tell.

    What does not count: untracked files identical to the same path in the
    main checkout (the include files copied at creation), and other ignored
    files (build output, caches, ``node_modules``), which ``git worktree
    remove`` deletes as well: git treats ignored files as disposable, and
    refusing on every cache would teach people to pass ``--force``.
    """
    if not construct.workspace_path:
        return []
    path = Path(construct.workspace_path)
    if not (path / ".git").exists():
        return []
    broken = unsaved_work.unopenable_reason(path)
    if broken is not None:
        return [WorkAtRisk(
            "unopenable",
            f"files in a worktree git can no longer open ({one_line(broken, 300)}); try "
            f"`git worktree repair {path}` from the main checkout first"
        )]
    sections: list[WorkAtRisk] = []
    operation = unsaved_work.operation_in_progress(path)
    if operation:
        sections.append(WorkAtRisk("operation", operation))
    lost = unsaved_work.commits_only_head_reaches(path, limit=10)
    if lost.total:
        where = "its detached HEAD" if lost.detached else "its HEAD"
        lines = [f"{cid[:12]} {subject}" for cid, subject in lost.shown]
        if lost.total > len(lost.shown):
            lines.append(f"... and {lost.total - len(lost.shown)} more")
        sections.append(WorkAtRisk(
            "head-only-commits",
            f"{lost.total} commit(s) that only {where} reaches, on no branch or tag "
            "(keep them with `git branch NAME HEAD` in the worktree)",
            tuple(lines),
        ))
    flags = unsaved_work.hidden_flags(path)
    dirty = [
        line
        for line in worktree_status.git_dirty_files(path)
        # A skip-worktree file is git's to leave out (sparse checkout); its
        # edits are judged by hidden_edits below, like git itself would.
        if line[3:] not in flags.skip_worktree
        and not (
            main_root is not None
            and line.startswith("?? ")
            and same_as_main(path, main_root, line[3:])
        )
    ]
    if dirty:
        sections.append(
            WorkAtRisk("uncommitted", "uncommitted changes (commit or stash them)", tuple(dirty))
        )
    hidden = unsaved_work.hidden_edits(path, flags)
    if hidden:
        sections.append(WorkAtRisk(
            "hidden-edits",
            "edits git status does not show (flagged in the index)",
            tuple(f" M {rel} ({flag})" for rel, flag in hidden),
        ))
    if main_root is not None:
        changed = _changed_ignored_files(path, main_root, include_patterns)
        if changed:
            sections.append(WorkAtRisk(
                "include-files",
                "ignored include files that are not unchanged copies of the main checkout's",
                tuple(changed),
            ))
    return sections


def check_removable(
    construct: Construct,
    *,
    force: bool,
    main_root: Path | None = None,
    include_patterns: list[str] | None = None,
) -> None:
    """Refuse (``unsaved-work``) to remove a worktree that holds work, unless forced.

    The work is :func:`work_at_risk`'s, each kind listed in the message.
    """
    if force:
        return
    sections = work_at_risk(construct, main_root=main_root, include_patterns=include_patterns)
    if sections:
        path = construct.workspace_path
        raise ConflictError(
            f"worktree {path} holds work that removal would lose; nothing was removed:"
            + _render_sections(sections),
            code="unsaved-work",
            fields={"path": str(path), "work": [s.title for s in sections]},
        )


def _changed_ignored_files(
    path: Path, main_root: Path, include_patterns: list[str] | None
) -> list[str]:
    """``!! path (why)`` lines for the ignored files :func:`check_removable` counts."""
    out: list[str] = []
    for rel in include_copy.ignored_files(path, include_patterns):
        in_main = os.path.lexists(main_root / rel)
        if include_patterns is None and not in_main:
            continue  # patterns unknown: only a differing counterpart shows it was copied
        if same_as_main(path, main_root, rel):
            continue
        why = "differs from the main checkout's copy" if in_main else "not in the main checkout"
        out.append(f"!! {rel} (ignored; {why})")
    return out


def _render_sections(sections: list[WorkAtRisk], limit: int = 20) -> str:
    text = ""
    for section in sections:
        lines = section.lines
        text += f"\n  {section.title}" + (":" if lines else "")
        for line in lines[:limit]:
            text += f"\n    {one_line(line, 200)}"
        if len(lines) > limit:
            text += f"\n    ... and {len(lines) - limit} more"
    return text


def same_as_main(worktree: Path, main_root: Path, rel: str) -> bool:
    """True if ``rel`` in the worktree is a copy of the same file in the main checkout."""
    ours, theirs = worktree / rel, main_root / rel
    if ours.is_symlink() or theirs.is_symlink():
        return (
            ours.is_symlink() and theirs.is_symlink() and os.readlink(ours) == os.readlink(theirs)
        )
    try:
        return ours.is_file() and theirs.is_file() and filecmp.cmp(ours, theirs, shallow=False)
    except OSError:
        return False


#: Why a branch Synthetic did not create is kept (force or not).
NOT_OURS = "Synthetic did not create it"


def owns_branch(construct: Construct) -> bool:
    """Whether Synthetic created the construct's branch, so that removal may delete it.

    The record says so (``branch_owned``); a record written before it did
    counts a branch as Synthetic's only when its name ends in the construct's
    id (``prefix + id``, or ``-2``, ``-3`` ... after it), as only Synthetic
    names branches. A person's own branch (an imported worktree's) is never
    deleted, with or without ``force``.
    """
    if construct.branch_owned is not None:
        return construct.branch_owned
    return synthetic_branch_name(construct.branch or "", construct.id)


def synthetic_branch_name(branch: str, construct_id: str) -> bool:
    """Whether ``branch`` is a name Synthetic gives a construct's branch (id, then -N)."""
    return re.fullmatch(rf".*{re.escape(construct_id)}(?:-[0-9]+)?", branch) is not None


def release_worktree(
    git: GitRepo,
    construct: Construct,
    *,
    force: bool,
    record_kept: bool = False,
    landed_tip: str | None = None,
) -> list[str]:
    """Remove the worktree and git's entry; delete the branch unless it holds unmerged work.

    Call :func:`check_removable` first: git is told to remove the folder even
    with untracked files, because the check already let only copies of the
    main checkout's include files through. ``record_kept`` says the construct
    stays (``worktree rm``), which changes the advice about a kept branch.
    ``landed_tip``: the branch's work landed as a squash commit from that tip,
    so a branch still there holds nothing else and goes too.
    """
    notes: list[str] = []
    if construct.workspace_path:
        path = Path(construct.workspace_path)
        existed = path.exists()
        worktree_admin.remove_worktree(git, path, force=True, unlock=force)
        notes.append(f"removed worktree {path}" if existed else f"worktree {path} was already gone")
    if construct.branch and branches.branch_tip(git, construct.branch) is not None:
        base = construct.base_ref or ""
        unmerged = branches.unmerged_count(git, construct.branch, base, construct.base_commit or "")
        tip = branches.branch_tip(git, construct.branch)
        landed_tip = landed_tip or construct.landed_tip
        squashed = landed_tip is not None and tip == landed_tip
        if not owns_branch(construct):
            notes.append(f"kept branch {construct.branch}: {NOT_OURS}")
        elif unmerged and not force and not squashed:
            where = base.removeprefix("refs/heads/") or (construct.base_commit or "")[:12]
            # Advice that still works afterwards: once `rm` has deleted the
            # construct, `rm --force` can no longer reach this branch.
            how = f"delete it with `git branch -D {construct.branch}`"
            if record_kept:
                how = f"`synthetic worktree add {construct.id}` checks it out again; " + how
            notes.append(
                f"kept branch {construct.branch}: {unmerged} commit(s) not merged into {where} "
                f"({how})"
            )
        elif any(e.branch == construct.branch for e in worktree_admin.list_worktrees(git)):
            notes.append(f"kept branch {construct.branch}: it is checked out in another worktree")
        else:
            branches.delete_branch(git, construct.branch)
            if squashed:
                suffix = f" (landed as one squash commit from {tip[:12] if tip else ''})"
            elif unmerged:
                suffix = f" with {unmerged} unmerged commit(s)"
            else:
                suffix = ""
            notes.append(f"deleted branch {construct.branch}{suffix}")
    return notes


def _end_sandbox(work: Work) -> list[str]:
    """An isolated construct's sandbox goes with its worktree: its server, its home.

    Also what a creation killed after the server started (and before its
    session step) left: the worktree's undo is the one step sure to run.
    """
    if not work.construct.isolation:
        return []
    from synthetic_ls.sandbox.agent_server import remove

    return remove(work.store, work.construct.id)
