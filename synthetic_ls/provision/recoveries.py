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
import os
from pathlib import Path

from state_format.journal import Journal
from state_format.statuses import Status, can_transition
from synthetic_ls.git import review as gitr
from synthetic_ls.provision import services as svc
from synthetic_ls.provision.journalled import Recoverer
from synthetic_ls.provision.prompt_bundle import keep_newest
from synthetic_ls.provision.work import Work

# -- landing -------------------------------------------------------------------------


def _entries(checkout: Path, treeish: str | None, paths: list[str]) -> dict[str, str]:
    """``mode blob`` of each of ``paths`` in ``treeish`` (None: the index); absent: missing."""
    if not paths:
        return {}
    args = (
        ["ls-files", "-s", "-z"] if treeish is None else ["ls-tree", "-r", "-z", treeish]
    )
    proc = gitr.run_git(
        checkout, *args, "--", *[f":(literal){p}" for p in paths], step="reading entries",
        check=False,
    )
    found: dict[str, str] = {}
    for item in proc.stdout.split("\0"):
        info, _, path = item.partition("\t")
        if not path:
            continue
        fields = info.split()
        # ls-files -s: mode blob stage; ls-tree: mode type blob.
        mode, blob = (fields[0], fields[1]) if treeish is None else (fields[0], fields[2])
        found[path] = f"{mode} {blob}"
    return found


def _landing_paths(checkout: Path, before: str, merged: str) -> list[str]:
    """The paths the landing changes: those that differ between ``before`` and ``merged``."""
    proc = gitr.run_git(
        checkout, "diff-tree", "-r", "--name-only", "-z", "--no-renames", before, merged,
        step="listing the landing's paths",
    )
    return [p for p in proc.stdout.split("\0") if p]


def _file_blob(checkout: Path, path: str) -> str | None:
    """The blob id of the file at ``path`` in the checkout (None: no such regular file)."""
    full = checkout / path
    if full.is_symlink() or not full.is_file():
        return None
    proc = gitr.run_git(
        checkout, "hash-object", "--no-filters", "--", path, step="hashing a file", check=False
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def roll_back_target(checkout: Path, before: str, head: str) -> list[str]:
    """Put back, in the target checkout at ``before``, exactly what the landing wrote.

    A merge git began is forgotten (``merge --quit``, which leaves the index
    and the files); then each path the landing changes (between ``before``
    and the merged tree) has its index entry and its file put back as
    ``before`` has them, where they are what the landing wrote. What the
    person staged or edited meanwhile, in those paths or any other, is left
    as it is (a note names such a path). Never ``reset --merge``/``--hard``.
    """
    notes: list[str] = []
    if gitr.git_dir_file(checkout, "MERGE_HEAD").exists():
        gitr.run_git(checkout, "merge", "--quit", step="forgetting the merge")
    with contextlib.suppress(FileNotFoundError):
        gitr.git_dir_file(checkout, "SQUASH_MSG").unlink()
    check = gitr.merge_check(checkout, before, head)
    if not check.clean:
        return notes
    paths = _landing_paths(checkout, before, check.tree)
    merged = _entries(checkout, check.tree, paths)
    old = _entries(checkout, before, paths)
    index = _entries(checkout, None, paths)
    for path in paths:
        staged = index.get(path)
        if staged is not None and staged != merged.get(path) and staged != old.get(path):
            notes.append(f"{path} has changes staged since the landing began; left as it is")
            continue
        if staged != old.get(path):
            gitr.run_git(checkout, "reset", "-q", before, "--", f":(literal){path}",
                         step="putting the index back")
        wrote = merged.get(path, " ").split(" ")[1]
        now = _file_blob(checkout, path)
        if now is None and (checkout / path).exists():
            notes.append(f"{path} is not a plain file now; left as it is")
            continue
        if now == (old.get(path, " ").split(" ")[1] or None):
            continue
        if now is not None and now != wrote:
            notes.append(f"{path} was edited since the landing began; left as it is")
            continue
        if path in old:
            gitr.run_git(checkout, "checkout", "-q", before, "--", f":(literal){path}",
                         step="putting a file back")
        else:
            with contextlib.suppress(FileNotFoundError):
                (checkout / path).unlink()
            _prune_empty_dirs(checkout, (checkout / path).parent)
    return notes


def _prune_empty_dirs(checkout: Path, folder: Path) -> None:
    """Remove ``folder`` and its parents up to ``checkout`` while they are empty."""
    while folder != checkout and checkout in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def undo_rebase(
    worktree: Path, head: str, branch: str, rebased: str | None, onto: str
) -> list[str]:
    """Put the construct's worktree back on ``branch`` at ``head``: a landing's rebase undone.

    A rebase stopped half-way is aborted (git puts the branch back itself);
    one that ``--abort`` cannot end (its state half written by a killed git)
    is forgotten with ``--quit``, which may leave HEAD detached: it is put
    back on ``branch`` and reset to ``head`` (the worktree was clean when the
    landing began, so what differs is the rebase's). A finished rebase is
    undone only while the branch is still what the landing's rebase made:
    ``rebased`` when the journal learnt it, else the branch's last reflog
    entry being that rebase onto ``onto``. Commits made on the branch since
    (an agent goes on working) are never reset away; the note says the
    branch was left as it is.
    """
    if gitr.git_dir_file(worktree, "rebase-merge").exists() or gitr.git_dir_file(
        worktree, "rebase-apply"
    ).exists():
        aborted = gitr.run_step(worktree, "rebase", "--abort")
        if aborted.returncode != 0:
            gitr.run_git(worktree, "rebase", "--quit", step="forgetting the rebase")
        on = gitr.run_step(worktree, "symbolic-ref", "-q", "HEAD").stdout.strip()
        if branch and on != f"refs/heads/{branch}":
            gitr.run_git(worktree, "symbolic-ref", "HEAD", f"refs/heads/{branch}",
                         step="putting HEAD back on the branch")
        _reset_to(worktree, head)
        return []
    now = gitr.rev(worktree, "HEAD")
    if now is None or now == head:
        return []
    ours = rebased is not None and now == rebased
    if rebased is None:
        on = gitr.run_git(
            worktree, "symbolic-ref", "-q", "HEAD", step="reading the branch", check=False
        ).stdout.strip()
        last = gitr.run_git(
            worktree, "reflog", "-1", "--format=%gs", on or "HEAD",
            step="reading the branch's reflog", check=False,
        ).stdout.strip()
        ours = bool(on) and last == f"rebase (finish): {on} onto {onto}"
    if not ours:
        return [f"the branch in {worktree} moved on since the landing's rebase (now "
                f"{now[:12]}); left as it is"]
    _reset_to(worktree, head)
    return []


def _reset_to(worktree: Path, head: str) -> None:
    """The worktree's branch back at ``head``, keeping what git can keep."""
    kept = gitr.run_step(worktree, "reset", "-q", "--keep", head)
    if kept.returncode != 0:
        # The worktree was clean when the landing began: what differs is the rebase's.
        gitr.run_git(worktree, "reset", "-q", "--merge", head, step="rolling back")


def _finished(facts: dict[str, str], checkout: Path, now: str | None) -> bool:
    """Whether git completed the landing the journal describes (the record did not learn it)."""
    strategy, before, head = facts["strategy"], facts["before"], facts["head"]
    if now is None:
        return False
    if strategy == "apply":
        # The changes staged on the unchanged target: finished if every path
        # the landing changes is staged as the merged tree has it (what the
        # person staged meanwhile in other paths does not matter).
        if now != before:
            return False
        merged = gitr.merge_check(checkout, before, head)
        if not merged.clean:
            return False
        paths = _landing_paths(checkout, before, merged.tree)
        return _entries(checkout, None, paths) == _entries(checkout, merged.tree, paths)
    if now == before:
        return False
    if strategy == "merge":
        return gitr.is_ancestor(checkout, head, now) and gitr.is_ancestor(checkout, before, now)
    if strategy == "squash":
        return gitr.rev(checkout, f"{now}^") == before
    # rebase: the target fast-forwarded to the replayed commits.
    rebased = facts.get("rebased")
    return rebased is not None and now == rebased


#: Lock files a killed git step may leave in a checkout's git dir (refs: see below).
_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "MERGE_HEAD.lock", "AUTO_MERGE.lock")


def _git_running_in(cwd: Path) -> bool:
    """Whether a ``git`` process (not one we ended) works in the checkout at ``cwd`` now."""
    real = cwd.resolve()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "git":
                continue
            if Path(os.readlink(proc / "cwd")).resolve() == real:
                return True
        except OSError:
            continue
    return False


def _clear_stale_locks(cwd: Path, journal: Journal, branches: list[str]) -> list[str]:
    """Remove the lock files a killed git step of this operation left for ``cwd``.

    ``index.lock``, ``HEAD.lock``, ``ORIG_HEAD.lock`` ... in its git dir and
    the locks of ``branches``' refs. Only when the journal recorded git's
    process groups (ended before recovery runs) and no other git works in
    that checkout now: the preflight found it without an operation in
    progress, so such a lock is the killed step's.
    """
    if not journal.groups:
        return []
    locks = [gitr.git_dir_file(cwd, name) for name in _LOCKS]
    locks += [gitr.git_dir_file(cwd, f"refs/heads/{b}.lock") for b in branches if b]
    present = [lock for lock in locks if lock.exists()]
    if not present or _git_running_in(cwd):
        return []
    notes = []
    for lock in present:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
            notes.append(f"removed {lock}, left by a git step that was stopped")
    return notes


def recover_land(work: Work, journal: Journal) -> list[str]:
    """Finish or undo an interrupted landing, by what the repository shows.

    If git completed it (the target holds the work as the strategy makes
    it), the construct becomes ``completed`` (a ``MERGE_HEAD`` or
    ``SQUASH_MSG`` git had no time to remove goes); if the target is still
    at its tip from before, what a stopped step wrote (a merge begun, files
    staged or written, a rebase half done in the worktree) is put back,
    path by path, leaving what the person staged or edited meanwhile; if
    the target moved on otherwise (a person committed since), it is left as
    it is and the note says so. Running it again changes nothing more.
    """
    finished, notes = settle_landing(journal)
    if finished and can_transition(work.construct.status, Status.COMPLETED):
        work.update(status=Status.COMPLETED, landed_tip=(
            journal.facts["head"] if journal.facts["strategy"] == "squash" else None))
    return notes


def settle_landing(journal: Journal) -> tuple[bool, list[str]]:
    """The repository's side of :func:`recover_land`: whether git had finished the
    landing (its left-overs cleared), else what was rolled back; and notes.

    It reads only the journal's facts, so a landing of a branch fetched from
    another machine (:mod:`synthetic_ls.ops.remote_landing`) is settled by it too.
    """
    facts = journal.facts
    checkout = Path(facts["checkout"])
    worktree = Path(facts["worktree"]) if facts.get("worktree") else None
    before, head, target = facts["before"], facts["head"], facts["target"]
    branch = facts.get("branch", "")
    notes = _clear_stale_locks(checkout, journal, [target])
    if worktree is not None and worktree.is_dir():
        notes += _clear_stale_locks(worktree, journal, [branch])
    now = gitr.rev(checkout, "HEAD")
    if _finished(facts, checkout, now):
        if now != before and gitr.git_dir_file(checkout, "MERGE_HEAD").exists():
            # The merge commit was made; git was stopped before it forgot the merge.
            gitr.run_git(checkout, "merge", "--quit", step="forgetting the finished merge")
        if facts["strategy"] == "squash":
            with contextlib.suppress(FileNotFoundError):
                gitr.git_dir_file(checkout, "SQUASH_MSG").unlink()
        if gitr.operation_in_progress(checkout) is None:
            return True, [*notes, f"the landing into {target} had finished; "
                          "the construct is completed"]
    if now == before:
        rebased = facts.get("rebased")
        notes += roll_back_target(checkout, before, rebased or head)
        if facts["strategy"] == "rebase" and worktree is not None and worktree.is_dir():
            notes += undo_rebase(worktree, head, branch, rebased, before)
        return False, [*notes, f"rolled back the interrupted landing: {target} is at {before[:12]}"]
    return False, [*notes, f"{target} moved on since the landing began (now {(now or '?')[:12]}); "
                   "left as it is: check it, then land again if the work is not there"]


# -- resolving ------------------------------------------------------------------------


def recover_resolve(work: Work, journal: Journal) -> list[str]:
    """Put the construct's branch and worktree back as they were before an interrupted resolve.

    A rebase still in progress is aborted (or, when git cannot abort it,
    forgotten and the branch reset to ``facts.before``); a rebase that
    finished is undone while the branch is still what it made (its reflog's
    last entry is that rebase onto ``facts.onto``); commits made on the
    branch since are never reset away. What an agent was writing into the
    conflicted files goes with the rebase: it was not committed.
    """
    facts = journal.facts
    worktree = Path(facts["worktree"])
    if not worktree.is_dir():
        return [f"the worktree {worktree} is gone; nothing to settle"]
    branch = facts.get("branch", "")
    notes = _clear_stale_locks(worktree, journal, [branch])
    notes += undo_rebase(worktree, facts["before"], branch, None, facts.get("onto", ""))
    now = gitr.rev(worktree, "HEAD") or "?"
    if now == facts["before"]:
        notes.append(f"the interrupted resolve was undone: {branch} is at {now[:12]} again")
    return notes


# -- committing ----------------------------------------------------------------------


def recover_commit(work: Work, journal: Journal) -> list[str]:
    """Keep a commit git made, or put the index back as it was; by what the worktree shows."""
    facts = journal.facts
    worktree = Path(facts["worktree"])
    if not worktree.is_dir():
        return [f"the worktree {worktree} is gone; nothing to settle"]
    branch = work.construct.branch or ""
    notes = _clear_stale_locks(worktree, journal, [branch])
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
            notes.extend(svc.stop_record(work.store, record, work.template, grace=1.0,
                                         on_start=work.record_group))
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
def recover_check(work: Work, journal: Journal) -> list[str]:
    """Settle an interrupted ``check``: its process groups were ended already, and nothing
    was recorded (results are written when the run ends), so there is nothing to undo."""
    return [f"ended the interrupted checks of {work.construct.id}; they were not recorded"]


RECOVERIES: dict[str, Recoverer] = {
    "services-start": recover_services,
    "services-stop": recover_services,
    "services-restart": recover_services,
    "services-resume": recover_services,
    "prompts-build": recover_build,
    "commit": recover_commit,
    "land": recover_land,
    "resolve": recover_resolve,
    "check": recover_check,
}
