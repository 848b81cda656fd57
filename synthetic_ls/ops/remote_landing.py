"""Commit, land and discard a construct that lives on another machine.

``commit`` and ``discard`` are the host's own (``synthetic -C PATH commit|discard``
over ssh, tied to the connection): the worktree is there.

Landing happens here, where the person reviews the work: the construct's
branch is fetched from the host's clone into this repository
(``git fetch ssh://... +refs/heads/<branch>:refs/synthetic/remote/<host>/<id>``,
with the person's ssh and SSH config), then that commit is landed with the
checks and git steps of a local landing (:mod:`synthetic_ls.ops.landing`); a
rebase replays the commits in a scratch worktree here (``.git/synthetic-land/<id>``,
detached at the fetched commit), since the construct's worktree is on the host.
Uncommitted work on the host is refused first, as a local landing refuses a
dirty worktree (the host's ``diff --json`` says what is uncommitted, include
files left out, by the same rule).

It is journalled on the remote record (journal ``land``): the steps
``fetch``, then the local landing's git steps with their facts, then
``remote-status``. Its recovery (:func:`recover_remote_land`, run on a
failure and by ``doctor --fix`` after a ``kill -9``) settles the git side as
a local landing's recovery does (finished, or rolled back), deletes the
fetched ref, and, when the landing had finished, marks the host's construct
``completed``. The landing's status is the host's: after landing, the host's
construct is moved to ``completed`` with its own ``edit --status completed``
(``ls`` and ``show`` read it there); the local record keeps only where the
construct lives.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from state_format.journal import Journal
from state_format.protocol import StateStore
from state_format.records import Construct, RemoteConstruct, utc_now
from state_format.statuses import Status
from state_format.text import one_line
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import InvalidInputError, SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.landing import (
    STRATEGIES,
    ErrorJson,
    LandOptions,
    LandPlanJson,
    LandRemovalJson,
    land_git,
    preflight,
)
from synthetic_ls.ops.remote_constructs import (
    SCRATCH_DIR,
    end_landing,
    fetched_ref,
    interrupted,
    mark_completed,
    recover_remote,
    recover_remote_land,
    release_forwards,
    remove_remote_construct,
)
from synthetic_ls.ops.review import Span
from synthetic_ls.ops.review_errors import ConstructDirtyError
from synthetic_ls.remote.host_url import parse_url
from synthetic_ls.remote.remote_synthetic import (
    INCOMING_PREFIX,
    delete_ref,
    git_env,
    run_json,
    run_tied,
)

#: Seconds a fetch from the host may take.
FETCH_TIMEOUT = 600.0


class RemoteLandResultJson(TypedDict):
    """``synthetic land`` of a remote construct: what landing the fetched branch did here
    (as a local landing's result), which construct of which host it was, whether the
    host's construct was marked ``completed`` (``marked``; when not, ``notes`` say why),
    and, with ``--remove``, how removing it on the host went."""

    id: str
    host: str
    remote_id: str
    branch: str
    head: str
    strategy: str
    target: str
    checkout: str
    before: str
    after: str
    fast_forward: bool
    commits: int
    staged: list[str]
    marked: bool
    notes: list[str]
    removal: LandRemovalJson | None


@dataclass(frozen=True)
class RemoteLandResult:
    """What landing a remote construct did."""

    record: RemoteConstruct
    branch: str
    head: str
    strategy: str
    target: str
    checkout: str
    before: str
    after: str
    fast_forward: bool
    commits: int
    staged: list[str]
    marked: bool
    notes: list[str]
    removal: LandRemovalJson | None = None

    def to_dict(self) -> RemoteLandResultJson:
        """The JSON form (docs/guide/hosts.md)."""
        return {"id": self.record.id, "host": self.record.host,
                "remote_id": self.record.remote_id or "", "branch": self.branch,
                "head": self.head, "strategy": self.strategy, "target": self.target,
                "checkout": self.checkout, "before": self.before, "after": self.after,
                "fast_forward": self.fast_forward, "commits": self.commits,
                "staged": list(self.staged), "marked": self.marked,
                "notes": list(self.notes), "removal": self.removal}


@dataclass(frozen=True)
class RemoteLandPlan:
    """What landing a remote construct would do (``land --check``), every check passed."""

    plan: LandPlanJson

    def to_dict(self) -> LandPlanJson:
        """The form of a local landing's plan (``land-plan``), with this side's id."""
        return self.plan


@dataclass(frozen=True)
class RemotePassed:
    """The host's own answer, with this side's id in place of the host's."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The host's JSON (the same form as the local command's)."""
        return self.data


def _ready(store: StateStore, ref: str) -> RemoteConstruct:
    """The remote record ``ref`` names, made on its host and with no operation going on."""
    record = store.resolve(RemoteConstruct, ref)
    if record.journal is not None:
        if not interrupted(record) or record.journal.op != "land":
            raise SyntheticError(f"{record.id} is being changed ({record.journal.op}); try "
                                 "again when it is done, or run `synthetic doctor --fix`",
                                 code="operation-in-progress", fields={"construct": record.id})
        recover_remote(store, record)
        record = store.get(RemoteConstruct, record.id)
    if record.remote_id is None:
        raise SyntheticError(f"{record.id} is still being created on host {record.host}",
                             code="operation-in-progress", fields={"construct": record.id})
    return record


def _begin(store: StateStore, record: RemoteConstruct, journal: Journal) -> RemoteConstruct:
    """Write ``journal`` to the record, under the store's lock; refused while another
    operation holds it (one began since :func:`_ready` looked)."""
    with store.lock():
        current = store.get(RemoteConstruct, record.id)
        if current.journal is not None:
            raise SyntheticError(f"{record.id} is being changed ({current.journal.op})",
                                 code="operation-in-progress", fields={"construct": record.id})
        return store.update(RemoteConstruct, record.id,
                            lambda _r: {"journal": journal, "updated_at": utc_now()})


# -- commit ----------------------------------------------------------------------------


def commit_remote(store: StateStore, ref: str, message: str) -> RemotePassed:
    """The host's ``commit`` of the construct's uncommitted work (its hooks run there).

    The answer is the host's commit JSON (``construct``, ``commit``, ``files``) with
    ``construct`` this side's id: the same form as a local commit's.
    """
    if not message.strip():
        raise InvalidInputError("the commit message is empty; nothing was committed")
    record = _ready(store, ref)
    # `--message=TEXT` in one word: a message that starts with a dash stays a message.
    data = run_tied(record.host, parse_url(record.url), "commit", f"--message={message}",
                    "--", record.remote_id or "")
    data["construct"] = record.id
    return RemotePassed(data)


# -- discard ----------------------------------------------------------------------------


def discard_remote(store: StateStore, ref: str, *, trust: bool = False) -> RemotePassed:
    """The host's ``discard --yes`` (its branch, unmerged commits and uncommitted work go),
    then the record here. Journalled as a removal: ``doctor --fix`` finishes it (the
    host's forced ``rm``) after a ``kill -9``. The answer is the host's discard JSON
    with ``removed`` this side's id."""
    record = _ready(store, ref)
    url = parse_url(record.url)
    record = _begin(store, record, Journal.begin("remove").step("remote-rm"))
    try:
        data = run_tied(record.host, url, "discard", "--yes", *(["--trust"] if trust else []),
                        "--", record.remote_id or "")
    except BaseException:
        # The host said no (or could not be asked): nothing was removed for sure.
        with contextlib.suppress(Exception):
            store.update(RemoteConstruct, record.id, lambda _r: {"journal": None})
        raise
    delete_ref(record.host, url, record.incoming_ref or INCOMING_PREFIX + record.id)
    store.delete(RemoteConstruct, record.id)
    release_forwards(store, record)
    data["removed"] = record.id
    return RemotePassed(data)


# -- landing --------------------------------------------------------------------------


class _RecordSteps:
    """A landing's steps journalled on a remote record (see :class:`LandingSteps`)."""

    def __init__(self, store: StateStore, record_id: str) -> None:
        self.store, self.record_id = store, record_id

    def _change(self, change: Any) -> None:
        def fields(r: RemoteConstruct) -> dict[str, Any]:
            assert r.journal is not None, "a step runs inside a journalled change"
            return {"journal": change(r.journal), "updated_at": utc_now()}

        self.store.update(RemoteConstruct, self.record_id, fields)

    def begin(self, name: str, **facts: str) -> None:
        """Journal that step ``name`` begins, with more ``facts``."""
        self._change(lambda j: j.step(name).with_facts(**facts) if facts else j.step(name))

    def know(self, **facts: str) -> None:
        """Journal facts learnt on the way."""
        self._change(lambda j: j.with_facts(**facts))

    def record_group(self, pgid: int) -> None:
        """Journal a child process group, so recovery ends it first."""
        self._change(lambda j: j.with_group(pgid))


def _fetch(root: Path, record: RemoteConstruct, branch: str, ref: str) -> str:
    """Fetch the host's ``branch`` into ``ref`` here; the commit fetched."""
    argv = ["git", "-C", str(root), "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
            "--", str(parse_url(record.url)), f"+refs/heads/{branch}:{ref}"]
    try:
        done = subprocess.run(argv, env=git_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=FETCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SyntheticError(f"host {record.host} did not give its branch within "
                             f"{FETCH_TIMEOUT:g} s", code="host-unreachable",
                             fields={"host": record.host,
                                     "detail": "git fetch timed out"}) from None
    if done.returncode != 0:
        detail = one_line(done.stderr.strip() or f"exit status {done.returncode}", 400)
        raise SyntheticError(f"fetching {branch} from host {record.host} failed: {detail}",
                             code="remote-fetch-failed", fields={"host": record.host,
                                                                 "detail": detail})
    head = gitr.rev(root, ref)
    if head is None:
        raise SyntheticError(f"fetching {branch} from host {record.host} left no {ref}",
                             code="remote-fetch-failed", fields={"host": record.host,
                                                                 "detail": "no ref"})
    return head


def _valid_branch(root: Path, host: str, branch: str) -> str:
    """The host's branch name, refused unless git takes it for a branch name."""
    proc = gitr.run_git(root, "check-ref-format", f"refs/heads/{branch}",
                        step="checking a branch name", check=False)
    if not branch or branch.startswith("-") or proc.returncode != 0:
        raise SyntheticError(f"host {host} named the construct's branch {branch!r}, "
                             "which is no branch name", code="remote-failed",
                             fields={"host": host, "remote_code": "bad-json"})
    return branch


def _default_target(root: Path, record: RemoteConstruct) -> str:
    """The branch the construct started from when the record says so and it is still
    here; else (older records, a start from a tag or commit) the one checked out."""
    if record.base_ref and gitr.rev(root, record.base_ref):
        return record.base_ref.removeprefix("refs/heads/")
    proc = gitr.run_git(root, "symbolic-ref", "--quiet", "--short", "HEAD",
                        step="reading the current branch", check=False)
    return proc.stdout.strip()


def _view(record: RemoteConstruct, status: str, branch: str,
          scratch: Path | None) -> Construct:
    """An in-memory construct standing for the remote one in the local landing's checks:
    its id is the local record's, its status the host's, its base the pushed start
    commit, its worktree here the scratch one a rebase replays in, else none (never
    stored)."""
    now = utc_now()
    return Construct(id=record.id, name=record.name, template_id=record.template_id or "remote",
                     status=Status(status), created_at=record.created_at, updated_at=now,
                     branch=branch, base_commit=record.start_commit,
                     workspace_path=str(scratch) if scratch else None)


def _host_state(record: RemoteConstruct) -> tuple[str, str, list[str]]:
    """The host's status, branch and uncommitted files of the construct."""
    url = parse_url(record.url)
    shown = run_json(record.host, url, "show", "--", record.remote_id or "")
    diff = run_json(record.host, url, "diff", "--", record.remote_id or "")
    uncommitted = [f"{f.get('status')} {f.get('path')}" for f in diff.get("uncommitted", [])
                   if isinstance(f, dict)]
    return str(shown.get("status") or ""), str(shown.get("branch") or ""), uncommitted


def land_remote(store: StateStore, options: LandOptions, *, check: bool = False,
                consent: Consent = NOBODY) -> RemoteLandResult | RemoteLandPlan:
    """Land a remote construct's branch here (see the module docstring).

    With ``check`` every check is made (the branch fetched, then the fetched
    ref deleted again) and what would land is returned as a ``landPlan``-shaped
    dict, nothing landed. ``options.remove`` removes the construct on its host
    afterwards (forced only when the host's branch is still at the commit that
    landed and its worktree clean: that work is here now).
    """
    if options.strategy not in STRATEGIES:
        raise InvalidInputError(
            f"unknown strategy {options.strategy!r} (one of {', '.join(STRATEGIES)})")
    if options.message is not None and not options.message.strip():
        raise InvalidInputError("the commit message is empty; nothing was landed")
    record = _ready(store, options.ref)
    root = store.repo.worktree
    status, branch, uncommitted = _host_state(record)
    branch = _valid_branch(root, record.host, branch)
    if uncommitted:
        raise ConstructDirtyError(
            f"the worktree of construct {record.id} on host {record.host} has uncommitted "
            "changes, which landing would leave behind; nothing was landed. Commit them "
            f"(`synthetic commit {record.id} -m MESSAGE`), or discard them, first:"
            + "".join(f"\n  {one_line(x, 200)}" for x in uncommitted[:20]),
            fields={"construct": record.id, "host": record.host, "files": uncommitted})
    target = options.into or _default_target(root, record)
    ref = fetched_ref(record)
    record = _begin(store, record, Journal.begin("land", facts={"fetched": ref}))
    steps = _RecordSteps(store, record.id)
    try:
        steps.begin("fetch")
        head = _fetch(root, record, branch, ref)
        scratch = None
        if options.strategy == "rebase":
            # The construct's worktree is on the host: the commits are replayed in a
            # scratch worktree here, detached at the fetched commit (journalled first,
            # so that the landing's end or its recovery removes it).
            scratch = gitr.git_dir_file(root, f"{SCRATCH_DIR}/{record.id}")
            steps.know(scratch=str(scratch))
            gitr.run_git(root, "worktree", "add", "--quiet", "--detach", str(scratch), head,
                         step="adding a scratch worktree to rebase in")
        view = _view(record, status, branch, scratch)
        tip = gitr.rev(root, f"refs/heads/{target}") if target else None
        base = gitr.merge_base(root, tip, head) if tip else None
        # No branch name for a rebase: its scratch worktree is detached, and a failed
        # rebase's undo must not put HEAD on a local branch that happens to share the
        # host's branch's name.
        named = "" if scratch else branch
        span = Span(view, root, named, head, target if tip else "", tip or "", base or "")
        if tip is None:
            from synthetic_ls.ops.review_errors import TargetMissingError

            raise TargetMissingError(
                f"there is no branch {target!r} here to land construct {record.id} into; "
                "name one with --into" if target else
                "this repository has no branch checked out: name the branch with --into",
                fields={"construct": record.id, "target": target or None})
        checkout = preflight(store, span, options.strategy)
        commits = gitr.commits_between(root, tip, head)
        message = options.message
        if options.strategy == "squash" and message is None:
            message = _draft(record, branch, commits)
        if options.strategy == "merge" and message is None:
            message = f"Merge branch '{branch}' of host {record.host} into {target}\n"
        if check:
            plan: LandPlanJson = {
                "construct": record.id, "branch": branch, "strategy": options.strategy,
                "target": target, "checkout": str(checkout), "head": head, "target_tip": tip,
                "commits": [c.to_dict() for c in commits],
                "message": message if options.strategy == "squash" else None}
            end_landing(store, record, ref)
            return RemoteLandPlan(plan)
        steps.know(strategy=options.strategy, target=target, checkout=str(checkout),
                   before=tip, head=head, branch=branch, worktree="")
        fast_forward, staged = land_git(steps, span, options.strategy, checkout, message)
    except BaseException as exc:
        try:
            recover_remote_land(store, store.get(RemoteConstruct, record.id))
        except Exception as failure:
            # Left for `doctor --fix`, which runs the same recovery again.
            with contextlib.suppress(Exception):
                store.update(RemoteConstruct, record.id,
                             lambda r: {"journal": r.journal.stop() if r.journal else None})
            exc.add_note(f"settling the interrupted landing failed too: {failure}")
        raise
    after = gitr.rev(checkout, "HEAD") or tip
    steps.begin("remote-status")
    marked, notes = mark_completed(record)
    end_landing(store, record, ref)
    removal = None
    if options.remove:
        removal, more = _remove_after(store, record, head, consent)
        notes += more
    return RemoteLandResult(record, branch, head, options.strategy, target, str(checkout),
                            tip, after, fast_forward, len(commits), staged, marked, notes,
                            removal)


def _draft(record: RemoteConstruct, branch: str, commits: list[gitr.Commit]) -> str:
    """A squash message from the construct's name and its commits."""
    parts = [record.name.strip()]
    if commits:
        parts.append("Commits:\n" + "\n".join(f"* {c.subject}" for c in commits))
    parts.append(f"Construct: {record.id} (host {record.host}, {record.remote_id})\n"
                 f"Branch: {branch}")
    return "\n\n".join(parts) + "\n"


def _remove_after(store: StateStore, record: RemoteConstruct, head: str,
                  consent: Consent) -> tuple[LandRemovalJson, list[str]]:
    """Remove the landed construct on its host; refused: a note (the work landed)."""
    from state_format.errors import CodedError
    try:
        diff = run_json(record.host, parse_url(record.url), "diff", "--",
                        record.remote_id or "")
        # Its work is here now, unless the host's branch moved on or has new work.
        safe = diff.get("head") == head and not diff.get("uncommitted")
        remove_remote_construct(store, record.id, force=safe, trust=consent.trust)
    except CodedError as exc:
        message = one_line(str(exc), 2000)
        error: ErrorJson = {"code": exc.code, "message": message}
        return {"removed": False, "kept": [], "error": error}, [f"not removed: {message}"]
    return {"removed": True, "kept": [], "error": None}, [
        f"removed {record.remote_id} on host {record.host}"]
