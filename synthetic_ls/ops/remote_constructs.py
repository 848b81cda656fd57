"""Constructs on other machines (``new --host``, and their ``ls``, ``show``, ``rm``).

The construct is the host's: its own Synthetic makes the worktree, ports,
services and session under its own journal and lock. This side keeps a
``remotes/<id>.toml`` record of where it lives (state_format/README.md) and
reads its state over SSH, as JSON.

Creation and removal are journalled on the record, like a construct's:
creation writes the record (journal ``create``), pushes the start point to
``refs/synthetic/incoming/<id>`` in the host's clone (step ``push``), runs the
host's ``new`` (step ``remote-new``) and records the remote id. Its recovery
(:func:`recover_remote`, run on a failure and by ``doctor --fix`` after a
``kill -9``) undoes both sides: the remote construct made from that ref, the
ref, the record. Removal (journal ``remove``, step ``remote-rm``) is finished
by its recovery.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from state_format.errors import CodedError, RecordNotFoundError
from state_format.journal import Journal
from state_format.owner import Liveness
from state_format.protocol import StateStore
from state_format.records import RemoteConstruct, format_timestamp, utc_now
from state_format.text import one_line
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.consent.items import RunItem, opencode_items
from synthetic_ls.consent.sources import CommitFiles
from synthetic_ls.errors import SyntheticError
from synthetic_ls.git import review as gitr
from synthetic_ls.ops.views import ConstructViewJson, HostListingJson, journal_dict
from synthetic_ls.provision.consent_items import of_template
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.recoveries import settle_landing
from synthetic_ls.remote import host_store
from synthetic_ls.remote.host_url import HostUrl, parse_url
from synthetic_ls.remote.remote_synthetic import (
    INCOMING_PREFIX,
    delete_ref,
    push_start,
    run_json,
    run_text,
    run_tied,
)
from synthetic_ls.runtime.groups import end_group

#: Seconds ``ls`` waits for each host (they are asked in parallel).
LIST_TIMEOUT = 8.0
#: Seconds recovery waits for the host's own creation to stop after its connection went.
SETTLE_WAIT = 20.0
#: The remote's error codes meaning the construct is not there (gone already).
_GONE = frozenset({"record-not-found", "not-found"})

class RemoteCreatedJson(TypedDict):
    """``synthetic new --host``: the local record (``id``), where the construct lives, and
    the host's own answer to ``new --json`` (``construct``)."""

    id: str
    name: str
    host: str
    url: str
    remote_id: str
    construct: dict[str, Any]


class RemoteRemovedJson(TypedDict):
    """``synthetic rm`` of a remote construct: the local id removed, and the host's answer."""

    removed: str
    host: str
    remote_id: str | None
    remote: dict[str, Any]


@dataclass(frozen=True)
class RemoteCreated:
    """A construct just made on a host."""

    record: RemoteConstruct
    construct: dict[str, Any]

    def to_dict(self) -> RemoteCreatedJson:
        """The JSON form."""
        return {"id": self.record.id, "name": self.record.name, "host": self.record.host,
                "url": self.record.url, "remote_id": self.record.remote_id or "",
                "construct": self.construct}


@dataclass(frozen=True)
class RemoteRemoved:
    """A remote construct removed on its host and here."""

    record: RemoteConstruct
    remote: dict[str, Any]

    def to_dict(self) -> RemoteRemovedJson:
        """The JSON form."""
        return {"removed": self.record.id, "host": self.record.host,
                "remote_id": self.record.remote_id, "remote": self.remote}


@dataclass(frozen=True)
class RemoteShown:
    """A remote construct as its host shows it (``show --json`` there)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The host's JSON, with this side's ``id``, ``host`` and ``remote_id``."""
        return self.data


@dataclass
class RemoteListing:
    """Every remote construct as its host lists it, and how each host answered."""

    rows: list[ConstructViewJson] = field(default_factory=list)
    hosts: list[HostListingJson] = field(default_factory=list)


def _url(record: RemoteConstruct) -> HostUrl:
    return parse_url(record.url)


def find_remote(store: StateStore, ref: str) -> RemoteConstruct | None:
    """The remote record ``ref`` names (id, name or unique id prefix), or None."""
    try:
        return store.resolve(RemoteConstruct, ref)
    except RecordNotFoundError:
        return None


# -- creation -----------------------------------------------------------------


@dataclass(frozen=True)
class RemoteCreateOptions:
    """Inputs of :func:`create_remote_construct`."""

    name: str
    host: str
    template_id: str | None = None
    from_ref: str | None = None


def consent_items(ctx: Context, template_id: str | None, commit: str) -> list[RunItem]:
    """What the host's creation would run: the template's commands (as this checkout's
    config has them) and what OpenCode would load from the start commit."""
    tid, template, _config = ctx.choose_template(template_id)
    return of_template(tid, template) + opencode_items(CommitFiles(ctx.git.repo, commit))


def create_remote_construct(store: StateStore, options: RemoteCreateOptions, *,
                            consent: Consent = NOBODY,
                            progress: Callable[[str], None] | None = None) -> RemoteCreated:
    """Create a construct on host ``options.host``; journalled on both machines.

    The person consents here (to what the template runs and what OpenCode
    would load from the start commit); the host's ``new`` is then allowed
    exactly those items (``--trust-items``, by digest), so a host whose clone
    has other commands refuses (``consent-required``) and runs nothing. A
    failure or cancel undoes both sides before the error goes on; a
    ``kill -9`` leaves the journal for ``doctor --fix``.
    """
    from synthetic_ls.ops.names import normalize_name

    host = host_store.find_host(options.host)
    name = normalize_name(options.name)
    ctx = Context(store, consent=consent)
    resolved = ctx.git.resolve(options.from_ref) if options.from_ref else ctx.git.head()
    commit = resolved[0]
    base_ref = resolved[1] if resolved[1].startswith("refs/heads/") else None
    items = consent_items(ctx, options.template_id, commit)
    ctx.require_consent(items, doing=f"creating {name} on host {host.name}")
    # The host runs exactly what was allowed here: a host whose clone says otherwise refuses.
    pinned = "--trust-items=" + ",".join(sorted({i.digest for i in items}))
    tell = progress or (lambda _what: None)
    with store.lock():
        record_id = store.new_id(RemoteConstruct, name)
        now = utc_now()
        record = store.create(RemoteConstruct(
            id=record_id, name=name, host=host.name, url=str(host.url),
            template_id=options.template_id, start_commit=commit, base_ref=base_ref,
            incoming_ref=INCOMING_PREFIX + record_id, created_at=now, updated_at=now,
            journal=Journal.begin("create")))
    ref = INCOMING_PREFIX + record_id
    try:
        record = _step(store, record, "push")
        tell(f"pushing {commit[:12]} to {host.name}")
        push_start(host.name, host.url, str(ctx.root), commit, ref)
        record = _step(store, record, "remote-new")
        tell(f"creating the construct on {host.name}")
        args = ["new", "--from", ref, pinned, "--no-progress"]
        if options.template_id:
            args += ["--template", options.template_id]
        args += ["--", name]
        made = run_tied(host.name, host.url, *args)
        remote_id = str(made.get("id") or "")
        if not remote_id:
            raise SyntheticError(f"host {host.name} made a construct without an id",
                                 code="remote-failed",
                                 fields={"host": host.name, "remote_code": "bad-json"})
        record = store.update(RemoteConstruct, record_id,
                              lambda _r: {"remote_id": remote_id, "journal": None})
    except BaseException as exc:
        try:
            recover_remote(store, store.get(RemoteConstruct, record_id))
        except Exception as failure:
            # Left for `doctor --fix`, which runs the same recovery again.
            with contextlib.suppress(Exception):
                store.update(RemoteConstruct, record_id,
                             lambda r: {"journal": r.journal.stop() if r.journal else None})
            exc.add_note(f"undoing the creation on host {host.name} failed too: {failure}")
        raise
    return RemoteCreated(record, made)


def _step(store: StateStore, record: RemoteConstruct, step: str) -> RemoteConstruct:
    """Journal that ``step`` begins (before it does anything)."""
    journal = record.journal
    assert journal is not None, "a step runs inside a journalled change"
    return store.update(RemoteConstruct, record.id, lambda _r: {"journal": journal.step(step)})


# -- recovery -------------------------------------------------------------------


def _made_from(host: str, url: HostUrl, record: RemoteConstruct) -> list[dict[str, Any]]:
    """The host's constructs this record's creation made: by remote id, else by start ref."""
    listed = run_json(host, url, "ls")
    ref = record.incoming_ref or INCOMING_PREFIX + record.id
    out = []
    for c in listed.get("constructs", []):
        if not isinstance(c, dict):
            continue
        if (record.remote_id and c.get("id") == record.remote_id) or \
                c.get("base_ref") in (ref, ref.removeprefix("refs/")):
            out.append(c)
    return out


def _remote_rm(host: str, url: HostUrl, remote_id: str, *extra: str) -> dict[str, Any]:
    """The host's ``rm --yes``; a construct already gone there is not an error."""
    try:
        return run_tied(host, url, "rm", "--yes", *extra, "--", remote_id)
    except SyntheticError as exc:
        if exc.code == "remote-failed" and exc.fields.get("remote_code") in _GONE:
            return {"removed": remote_id, "notes": ["it was gone already"], "kept": []}
        raise


def _undo_on_host(host: str, url: HostUrl, record: RemoteConstruct) -> list[str]:
    """Remove what the creation made on the host; waits a little for its own creation
    to stop first (it ends when its connection goes)."""
    notes: list[str] = []
    deadline = time.monotonic() + SETTLE_WAIT
    while True:
        made = _made_from(host, url, record)
        running = [c for c in made if (c.get("operation") or {}).get("state") == "running"]
        if not running or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for c in made:
        rid = str(c["id"])
        _remote_rm(host, url, rid, "--force", "--trust")
        notes.append(f"removed {rid} on host {host}")
    return notes


def recover_remote(store: StateStore, record: RemoteConstruct) -> list[str]:
    """Settle a remote record's interrupted journal: undo a creation on both machines,
    finish a removal, settle a landing (:func:`recover_remote_land`, the record kept).
    Returns notes; a host that cannot be reached raises (the journal
    stays for the next try)."""
    journal = record.journal
    if journal is None:
        return []
    if journal.op == "land":  # the record stays: only the landing is settled
        return recover_remote_land(store, record)
    url = _url(record)
    notes: list[str] = []
    ref = record.incoming_ref or INCOMING_PREFIX + record.id
    if journal.op == "create":
        if "remote-new" in journal.started:
            notes += _undo_on_host(record.host, url, record)
        if "push" in journal.started:
            delete_ref(record.host, url, ref)
            notes.append(f"deleted {ref} on host {record.host}")
    elif journal.op == "remove":
        if record.remote_id:
            _remote_rm(record.host, url, record.remote_id, "--force", "--trust")
            notes.append(f"removed {record.remote_id} on host {record.host}")
        delete_ref(record.host, url, ref)
    with contextlib.suppress(RecordNotFoundError):
        store.delete(RemoteConstruct, record.id)
    notes.append(f"removed the record {record.id}")
    return notes + release_forwards(store, record)


def release_forwards(store: StateStore, record: RemoteConstruct) -> list[str]:
    """Close the forwards a removed remote construct leaves unneeded (see
    :func:`synthetic_ls.ops.remote_reach.release_forwards`)."""
    from synthetic_ls.ops.remote_reach import release_forwards as release

    return release(store, record)


def interrupted(record: RemoteConstruct) -> bool:
    """Whether the record's operation stopped (its process is gone, or it failed)."""
    journal = record.journal
    return journal is not None and (journal.stopped or
                                    journal.owner.liveness() is Liveness.DEAD)


# -- removal ---------------------------------------------------------------------


def remove_remote_construct(store: StateStore, ref: str, *, force: bool = False,
                            trust: bool = False) -> RemoteRemoved:
    """Remove a remote construct on its host (``rm --yes``, with ``--force``/``--trust`` as
    given), then its record here; journalled (``remove``), finished by recovery."""
    record = store.resolve(RemoteConstruct, ref)
    if record.journal is not None:
        if not interrupted(record):
            raise SyntheticError(f"{record.id} is being changed by "
                                 f"{record.journal.owner.where()}; try again when it is done",
                                 code="operation-in-progress", fields={"construct": record.id})
        recover_remote(store, record)
        if record.journal.op != "land":  # a landing settled leaves the construct to remove
            return RemoteRemoved(record, {"notes": ["an interrupted operation was settled"]})
        record = store.get(RemoteConstruct, record.id)
    url = _url(record)
    record = store.update(RemoteConstruct, record.id,
                          lambda _r: {"journal": Journal.begin("remove").step("remote-rm")})
    extra = [*(["--force"] if force else []), *(["--trust"] if trust else [])]
    try:
        answer = (_remote_rm(record.host, url, record.remote_id, *extra)
                  if record.remote_id else {})
    except BaseException:
        # Nothing was removed for sure: the record stays as it was (the host said no).
        with contextlib.suppress(Exception):
            store.update(RemoteConstruct, record.id, lambda _r: {"journal": None})
        raise
    delete_ref(record.host, url, record.incoming_ref or INCOMING_PREFIX + record.id)
    store.delete(RemoteConstruct, record.id)
    release_forwards(store, record)
    return RemoteRemoved(record, answer)


# -- reading ------------------------------------------------------------------------


def _base_row(store: StateStore, record: RemoteConstruct, status: str) -> ConstructViewJson:
    """A row made from the record alone (the host did not say, or has no construct)."""
    return {
        "id": record.id, "name": record.name, "description": "",
        "template_id": record.template_id or "", "status": status,
        "workspace_path": None, "opencode_session_id": None, "branch": None,
        "base_ref": record.incoming_ref, "base_commit": record.start_commit,
        "isolation": None, "error": None,
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
        "extra": {}, "file": store.location(RemoteConstruct, record.id),
        "operation": journal_dict(record.journal),
        "host": record.host, "remote_id": record.remote_id, "group_id": None, "model": None,
        "worktree": None, "agent": None,
    }


def _row(store: StateStore, record: RemoteConstruct, remote: dict[str, Any]) -> ConstructViewJson:
    """The host's view of the construct, in this side's shape (``id`` is the local record's)."""
    row = _base_row(store, record, str(remote.get("status") or "unknown"))
    shaped: dict[str, Any] = dict(row)
    for key in row:
        if key in remote and key not in ("id", "host", "remote_id", "file"):
            shaped[key] = remote[key]
    shaped["file"] = remote.get("file")
    return shaped  # type: ignore[return-value]


def _ask_host(url: HostUrl, host: str) -> dict[str, Any]:
    return run_json(host, url, "ls", timeout=LIST_TIMEOUT)


def list_remote(store: StateStore) -> RemoteListing:
    """Every remote construct, each host asked once, in parallel, each within its bound.

    A host that does not answer gives its constructs the status ``unreachable``
    (and a ``hosts`` entry saying why); it never holds the others up. Reads only:
    nothing is written and nothing but ``ssh`` is started.
    """
    records = list(store.list(RemoteConstruct).records)
    if not records:
        return RemoteListing()
    by_host: dict[tuple[str, str], list[RemoteConstruct]] = {}
    for r in records:
        by_host.setdefault((r.host, r.url), []).append(r)
    answers: dict[tuple[str, str], dict[str, Any] | CodedError] = {}
    with ThreadPoolExecutor(max_workers=min(8, len(by_host))) as pool:
        futures = {key: pool.submit(_ask_host, parse_url(key[1]), key[0]) for key in by_host}
        for key, future in futures.items():
            try:
                answers[key] = future.result()
            except CodedError as exc:
                answers[key] = exc
    listing = RemoteListing()
    for key, members in by_host.items():
        answer = answers[key]
        if isinstance(answer, CodedError):
            unreachable = answer.code.startswith("host-")
            listing.hosts.append({"host": key[0], "state": "unreachable" if unreachable
                                  else "failed", "error": str(answer), "code": answer.code})
            listing.rows += [_base_row(store, r, "unreachable") for r in members]
            continue
        listing.hosts.append({"host": key[0], "state": "ok", "error": None, "code": None})
        remote = {str(c.get("id")): c for c in answer.get("constructs", []) if isinstance(c, dict)}
        for r in members:
            if r.journal is not None:
                status = {"create": "spawning", "land": "landing"}.get(r.journal.op,
                                                                         "deleting")
                listing.rows.append(_base_row(store, r, status))
            elif r.remote_id in remote:
                listing.rows.append(_row(store, r, remote[r.remote_id]))
            else:
                listing.rows.append(_base_row(store, r, "missing"))
    listing.rows.sort(key=lambda row: row["created_at"])
    return listing


def show_remote(store: StateStore, record: RemoteConstruct) -> RemoteShown:
    """The host's ``show --json`` of the construct, with this side's ``id`` and ``host``."""
    if record.remote_id is None:  # in the form of a shown construct, nothing known yet
        return RemoteShown({**_base_row(store, record, "spawning"), "services": [],
                            "ports": []})
    data = run_json(record.host, _url(record), "show", "--", record.remote_id)
    data.update({"id": record.id, "host": record.host, "remote_id": record.remote_id})
    return RemoteShown(data)



#: The reviews a remote construct answers through its host's Synthetic (``diff`` and ``log``).
REVIEWS = ("diff", "log")


def review_remote(store: StateStore, ref: str, what: str, *, stat: bool = False,
                  as_json: bool = True) -> dict[str, Any] | str:
    """The host's own ``diff`` or ``log`` of a remote construct: its JSON (the host's ids),
    or with ``as_json`` false the text it prints. A read on both machines: the host
    inspects its worktree (uncommitted changes too); nothing is fetched or written here."""
    if what not in REVIEWS:
        raise ValueError(f"not a review: {what}")
    record = store.resolve(RemoteConstruct, ref)
    if record.remote_id is None:
        raise SyntheticError(f"{record.id} is still being created on host {record.host}",
                             code="operation-in-progress", fields={"construct": record.id})
    args = [what, *(["--stat"] if stat and what == "diff" else []), "--", record.remote_id]
    if as_json:
        return run_json(record.host, _url(record), *args)
    return run_text(record.host, _url(record), *args)


# -- landing (synthetic_ls.ops.remote_landing): what its recovery needs -----------

#: Where a remote construct's branch is fetched to: ``<prefix><host>/<local record id>``.
FETCHED_PREFIX = "refs/synthetic/remote/"
#: Where a rebase replays a remote construct's commits: ``<git dir>/<this>/<local id>``.
SCRATCH_DIR = "synthetic-land"


def fetched_ref(record: RemoteConstruct) -> str:
    """The local ref a remote construct's branch is fetched to."""
    return f"{FETCHED_PREFIX}{record.host}/{record.id}"


def mark_completed(record: RemoteConstruct) -> tuple[bool, list[str]]:
    """The host's ``edit --status completed``; a failure is a note (the work landed)."""
    try:
        run_tied(record.host, parse_url(record.url), "edit", "--status", "completed",
                 "--", record.remote_id or "")
    except SyntheticError as exc:
        return False, [f"the construct on host {record.host} was not marked completed: "
                       f"{one_line(str(exc), 400)}"]
    return True, []


def _delete_fetched(root: Path, ref: str) -> None:
    if ref.startswith(FETCHED_PREFIX):
        gitr.run_git(root, "update-ref", "-d", ref, step="deleting the fetched ref",
                     check=False)


def end_landing(store: StateStore, record: RemoteConstruct, ref: str) -> None:
    """Delete the fetched ref, the scratch worktree a rebase replayed in, and the journal:
    the landing is over."""
    root = store.repo.worktree
    current = store.get(RemoteConstruct, record.id)
    scratch = current.journal.facts.get("scratch") if current.journal else None
    if scratch and Path(scratch).name == record.id and SCRATCH_DIR in scratch:
        gitr.run_git(root, "worktree", "remove", "--force", "--force", scratch,
                     step="removing the scratch worktree", check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        gitr.run_git(root, "worktree", "prune", step="pruning worktrees", check=False)
    _delete_fetched(root, ref)
    store.update(RemoteConstruct, record.id,
                 lambda _r: {"journal": None, "updated_at": utc_now()})


def recover_remote_land(store: StateStore, record: RemoteConstruct) -> list[str]:
    """Settle an interrupted landing of a remote construct: the git side as a local
    landing's recovery does (finished or rolled back), the fetched ref deleted, the host's
    construct marked ``completed`` when the landing had finished; the journal goes."""
    journal = record.journal
    if journal is None:
        return []
    for group in journal.groups:
        end_group(group)
    notes: list[str] = []
    finished = False
    if "checkout" in journal.facts:
        finished, notes = settle_landing(journal)
    if finished:
        marked, more = mark_completed(record)
        notes += more
        if marked:
            notes.append(f"marked {record.remote_id} completed on host {record.host}")
    ref = journal.facts.get("fetched") or fetched_ref(record)
    end_landing(store, record, ref)
    notes.append(f"deleted {ref}")
    return notes
