"""How each journalled change that is not the resource flow's is settled after a crash.

The journal of an interrupted change (its ``op``, steps, ``facts``) is
handed to the function :data:`RECOVERIES` names for its ``op``, after the
journal's process groups were ended. Each looks at what exists (the
repository, the processes, the records), never at what should, and finishes
or undoes the change; each is idempotent, and each is also what the change
itself runs when it fails in-process (:func:`~synthetic_ls.provision.journalled.journalled`).
The changes live in :mod:`synthetic_ls.ops` (landing, committing, services,
prompt rebuilds); their recoveries live here, below them, so that the
operations and the recovery that settles any construct before a change do
not import each other.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from state_format.journal import Journal
from state_format.statuses import Status, can_transition
from synthetic_ls.git import review as gitr
from synthetic_ls.provision import services as svc
from synthetic_ls.provision.journalled import Recoverer
from synthetic_ls.provision.prompt_bundle import keep_newest
from synthetic_ls.provision.work import Work

# -- landing -------------------------------------------------------------------------


def _names(cwd: Path, *args: str) -> set[str]:
    """The paths a ``git ... --name-only -z`` command lists."""
    out = gitr.run_git(cwd, *args, step="listing changed paths").stdout
    return {p for p in out.split("\0") if p}


def roll_back_target(checkout: Path, before: str, landed: str) -> list[str]:
    """Undo what landing ``landed`` left in the target checkout, and nothing else.

    The target's HEAD is still ``before`` (nothing was committed). A merge or
    squash that stopped left the merged files in the index and the files;
    only those paths are put back as ``before`` has them, and only where the
    index and the file still hold exactly what the landing put there: work a
    person staged or edited meanwhile (even in one of those paths) stays, and
    the notes say which paths were left. A merge in progress is forgotten
    (``git merge --quit``), never aborted (``git merge --abort`` resets every
    staged path).
    """
    notes: list[str] = []
    merged = gitr.merge_check(checkout, before, landed).tree if landed else ""
    if merged:
        changed = _names(checkout, "diff", "--name-only", "-z", "--no-renames", before, merged)
        if changed:
            diff = ("diff", "--name-only", "-z", "--no-renames")
            not_merged = _names(checkout, *diff, "--cached", merged)  # index vs the merge
            not_before = _names(checkout, *diff, "--cached", before)  # index vs before
            edited = _names(checkout, *diff)  # files vs the index
            ours = sorted(changed - not_merged - edited)
            theirs = sorted((changed - set(ours)) & (not_before | edited))
            if ours:
                listed = "".join(f":(literal){p}\0" for p in ours)
                gitr.run_git(
                    checkout, "restore", f"--source={before}", "--staged", "--worktree",
                    "--pathspec-from-file=-", "--pathspec-file-nul",
                    step="rolling back", input=listed,
                )
            if theirs:
                notes.append(
                    "left as they are, changed since the landing began: " + ", ".join(theirs[:20])
                )
    if gitr.git_dir_file(checkout, "MERGE_HEAD").exists():
        gitr.run_step(checkout, "merge", "--quit")
    squash_msg = gitr.git_dir_file(checkout, "SQUASH_MSG")
    with contextlib.suppress(FileNotFoundError):
        squash_msg.unlink()
    return notes


def undo_rebase(worktree: Path, head: str, rebased: str | None, onto: str) -> list[str]:
    """Put the construct's branch back at ``head``, only while it is as the landing left it.

    A rebase stopped half-way is aborted (git puts the branch back itself).
    A finished one is undone only when the branch is still at what the
    landing's rebase made: ``rebased`` when the journal learnt it, else the
    branch's last reflog entry being that rebase onto ``onto``. Commits made
    on the branch since (an agent goes on working) are never reset away;
    the note says the branch was left as it is.
    """
    if gitr.git_dir_file(worktree, "rebase-merge").exists() or gitr.git_dir_file(
        worktree, "rebase-apply"
    ).exists():
        gitr.run_step(worktree, "rebase", "--abort")
    now = gitr.rev(worktree, "HEAD")
    if now is None or now == head:
        return []
    ours = rebased is not None and now == rebased
    if rebased is None:
        branch = gitr.run_git(
            worktree, "symbolic-ref", "-q", "HEAD", step="reading the branch", check=False
        ).stdout.strip()
        last = gitr.run_git(
            worktree, "reflog", "-1", "--format=%gs", branch or "HEAD",
            step="reading the branch's reflog", check=False,
        ).stdout.strip()
        ours = bool(branch) and last == f"rebase (finish): {branch} onto {onto}"
    if not ours:
        return [f"the branch in {worktree} moved on since the landing's rebase (now "
                f"{now[:12]}); left as it is"]
    gitr.run_git(worktree, "reset", "-q", "--keep", head, step="rolling back")
    return []


def _finished(facts: dict[str, str], checkout: Path, now: str | None) -> bool:
    """Whether git completed the landing the journal describes (the record did not learn it)."""
    strategy, before, head = facts["strategy"], facts["before"], facts["head"]
    if now is None:
        return False
    if strategy == "apply":
        # The changes staged on the unchanged target: finished if the index is
        # exactly the merged tree (``git write-tree`` only adds objects).
        if now != before:
            return False
        index = gitr.run_git(checkout, "write-tree", step="reading the index", check=False)
        merged = gitr.merge_check(checkout, before, head)
        return index.returncode == 0 and merged.clean and index.stdout.strip() == merged.tree
    if now == before:
        return False
    if strategy == "merge":
        return gitr.is_ancestor(checkout, head, now) and gitr.is_ancestor(checkout, before, now)
    if strategy == "squash":
        return gitr.rev(checkout, f"{now}^") == before
    # rebase: the target fast-forwarded to the replayed commits.
    rebased = facts.get("rebased")
    return rebased is not None and now == rebased


def _clear_stale_index_lock(cwd: Path, journal: Journal) -> list[str]:
    """Remove the ``index.lock`` a killed git step of this operation left in ``cwd``.

    Only when the journal recorded git's process groups (ended before
    recovery runs): the preflight found that checkout without an operation
    in progress, so a lock now is the killed step's.
    """
    lock = gitr.git_dir_file(cwd, "index.lock")
    if not journal.groups or not lock.exists():
        return []
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
    return [f"removed {lock}, left by a git step that was stopped"]


def recover_land(work: Work, journal: Journal) -> list[str]:
    """Finish or undo an interrupted landing, by what the repository shows.

    If git completed it (the target holds the work as the strategy makes
    it), the construct becomes ``completed``; if the target is still at its
    tip from before, whatever a stopped step left (a merge in progress,
    staged changes, a rebase half done in the worktree) is rolled back; if
    the target moved on otherwise (a person committed since), it is left as
    it is and the note says so. Running it again changes nothing more.
    """
    facts = journal.facts
    checkout = Path(facts["checkout"])
    worktree = Path(facts["worktree"]) if facts.get("worktree") else None
    before, head, target = facts["before"], facts["head"], facts["target"]
    notes = _clear_stale_index_lock(checkout, journal)
    if worktree is not None and worktree.is_dir():
        notes += _clear_stale_index_lock(worktree, journal)
    now = gitr.rev(checkout, "HEAD")
    if gitr.operation_in_progress(checkout) is None and _finished(facts, checkout, now):
        if can_transition(work.construct.status, Status.COMPLETED):
            work.update(status=Status.COMPLETED)
        return [*notes, f"the landing into {target} had finished; the construct is completed"]
    if now == before:
        rebased = facts.get("rebased")
        notes += roll_back_target(checkout, before, rebased or head)
        if facts["strategy"] == "rebase" and worktree is not None and worktree.is_dir():
            notes += undo_rebase(worktree, head, rebased, before)
        return [*notes, f"rolled back the interrupted landing: {target} is at {before[:12]}"]
    return [*notes, f"{target} moved on since the landing began (now {(now or '?')[:12]}); "
            "left as it is: check it, then land again if the work is not there"]


# -- committing ----------------------------------------------------------------------


def recover_commit(work: Work, journal: Journal) -> list[str]:
    """Keep a commit git made, or put the index back as it was; by what the worktree shows."""
    facts = journal.facts
    worktree = Path(facts["worktree"])
    if not worktree.is_dir():
        return [f"the worktree {worktree} is gone; nothing to settle"]
    notes = _clear_stale_index_lock(worktree, journal)
    now = gitr.rev(worktree, "HEAD") or ""
    if now != facts["head"] and gitr.rev(worktree, "HEAD^") == facts["head"]:
        return [*notes, f"the commit had been made ({now[:12]}); kept"]
    if now == facts["head"]:
        gitr.run_git(worktree, "read-tree", facts["index"], step="putting the index back")
        return [*notes, "nothing was committed; the index is as it was before"]
    return [*notes, f"HEAD moved on since the commit began (now {now[:12]}); left as it is"]


# -- services --------------------------------------------------------------------------


#: The step of a journalled services change that works on one service.
SERVICE_STEP = "service:"
#: Operations that stop every service they name (the others stop only what they began).
_STOPPING = frozenset({"services-stop", "services-restart"})


def recover_services(work: Work, journal: Journal) -> list[str]:
    """Settle an interrupted services change: stop what it left running; never start anything.

    A start or a resume is undone (the services it began are stopped; the
    journal's process groups were ended first, so nothing it launched still
    runs); a stop or a restart is finished (every service it named ends
    stopped). Idempotent: stopping a stopped service only marks it so.
    """
    named = [n for n in journal.facts.get("services", "").split(",") if n]
    begun = [s.removeprefix(SERVICE_STEP) for s in journal.started if s.startswith(SERVICE_STEP)]
    wanted = set(named if journal.op in _STOPPING else begun)
    notes: list[str] = []
    for record in svc.services_of(work.store, work.construct.id):
        if record.name in wanted:
            notes.extend(svc.stop_record(work.store, record, work.template, grace=1.0))
    return notes


# -- prompt rebuilds ----------------------------------------------------------------------


def recover_build(work: Work, journal: Journal) -> list[str]:
    """Finish an interrupted rebuild: one bundle record stays, the newest.

    Whether the session got it cannot be known; the note says how to send it again.
    """
    notes = keep_newest(work.store, work.construct.id)
    if "deliver" in journal.started and "deliver" not in journal.done:
        notes.append(
            "the rebuilt bundle may not have reached the agent; `synthetic prompts build "
            f"{work.construct.id}` sends it again"
        )
    return notes


#: The recovery of each journalled change that is not the resource flow's, by ``op``.
RECOVERIES: dict[str, Recoverer] = {
    "services-start": recover_services,
    "services-stop": recover_services,
    "services-restart": recover_services,
    "services-resume": recover_services,
    "prompts-build": recover_build,
    "commit": recover_commit,
    "land": recover_land,
}
