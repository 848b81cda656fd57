"""One entry per construct operation, wherever the construct lives.

A reference names a construct of this repository or one on another machine
(``new --host``: a ``RemoteConstruct`` record here). The faces (the CLI,
the language server) call these functions and never decide which it is: a
local construct of that reference comes first, then a remote record; the
remote answer is the host's own (read or changed by its Synthetic over SSH,
:mod:`synthetic_ls.ops.remote_constructs` and
:mod:`synthetic_ls.ops.remote_landing`), in the form of the local result
where the two have one, with this machine's id in place of the host's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from state_format.errors import RecordNotFoundError
from state_format.protocol import StateStore
from state_format.records import RemoteConstruct
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.ops.constructs import RemoveOptions
from synthetic_ls.ops.landing import LandOptions
from synthetic_ls.ops.remote_constructs import find_remote
from synthetic_ls.remote.host_url import parse_url
from synthetic_ls.remote.remote_synthetic import run_json


def remote_of(store: StateStore, ref: str) -> RemoteConstruct | None:
    """The remote record ``ref`` names when no local construct does (local ones come
    first), else None. A read: nothing is contacted."""
    try:
        store.resolve_construct(ref)
        return None
    except RecordNotFoundError:
        return find_remote(store, ref)


@dataclass(frozen=True)
class HostAnswer:
    """The host's JSON answer, with this machine's id put in (its ``id_key``)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The host's JSON: the form of the local result of the same operation."""
        return self.data


def _ask(record: RemoteConstruct, *args: str, id_key: str) -> HostAnswer:
    """A read of the host's (``synthetic ARGS --json -- REMOTE_ID`` there), ids swapped."""
    from synthetic_ls.errors import SyntheticError

    if record.remote_id is None:
        raise SyntheticError(f"{record.id} is still being created on host {record.host}",
                             code="operation-in-progress", fields={"construct": record.id})
    data = run_json(record.host, parse_url(record.url), *args, "--", record.remote_id)
    data[id_key] = record.id
    return HostAnswer(data)


# -- reads ---------------------------------------------------------------------------


def show_any(store: StateStore, ref: str, *, with_size: bool = False) -> Any:
    """``show``: the construct with its worktree, services and ports (the host's own
    ``show`` for a remote one)."""
    from synthetic_ls.ops.remote_constructs import show_remote
    from synthetic_ls.ops.show import show_construct

    far = remote_of(store, ref)
    if far is None:
        return show_construct(store, ref, with_size=with_size)
    return show_remote(store, far)


def diff_any(store: StateStore, ref: str, *, patch: bool = False) -> Any:
    """``diff``: the construct's changes against its base (the host's ``diff`` of its
    worktree for a remote one; without the patch texts, which only its text form has)."""
    from synthetic_ls.ops.review import diff_construct

    far = remote_of(store, ref)
    if far is None:
        return diff_construct(store, ref, patch=patch)
    return _ask(far, "diff", id_key="construct")


def log_any(store: StateStore, ref: str) -> Any:
    """``log``: commits beside the agent's turns (the host's for a remote one)."""
    from synthetic_ls.ops.review import log_construct

    far = remote_of(store, ref)
    if far is None:
        return log_construct(store, ref)
    return _ask(far, "log", id_key="construct")


def removal_preview_any(store: StateStore, ref: str) -> Any:
    """What ``rm`` would remove, keep and lose (the host's ``rm --dry-run`` for a remote
    construct: what is there is the host's to say)."""
    from synthetic_ls.ops.removal_preview import removal_preview

    far = remote_of(store, ref)
    if far is None:
        return removal_preview(store, ref)
    return _ask(far, "rm", "--dry-run", id_key="construct")


def discard_preview_any(store: StateStore, ref: str) -> Any:
    """What ``discard`` would delete (the host's ``discard --dry-run`` for a remote one)."""
    from synthetic_ls.ops.discard import discard_preview

    far = remote_of(store, ref)
    if far is None:
        return discard_preview(store, ref)
    return _ask(far, "discard", "--dry-run", id_key="construct")


# -- changes -------------------------------------------------------------------------


def remove_any(store: StateStore, options: RemoveOptions, *, consent: Consent = NOBODY) -> Any:
    """``rm``: the construct and what it holds (for a remote one, the host's ``rm``, then
    the record here: :func:`~synthetic_ls.ops.remote_constructs.remove_remote_construct`)."""
    from synthetic_ls.ops.constructs import remove_construct
    from synthetic_ls.ops.remote_constructs import remove_remote_construct

    far = remote_of(store, options.ref)
    if far is None:
        return remove_construct(store, options, consent=consent)
    return remove_remote_construct(store, far.id, force=options.force, trust=consent.trust)


def commit_any(store: StateStore, ref: str, message: str) -> Any:
    """``commit``: the worktree's uncommitted changes (on the host for a remote one)."""
    from synthetic_ls.ops.commit_work import commit_construct
    from synthetic_ls.ops.remote_landing import commit_remote

    far = remote_of(store, ref)
    if far is None:
        return commit_construct(store, ref, message)
    return commit_remote(store, far.id, message)


def land_plan_any(store: StateStore, options: LandOptions) -> Any:
    """``land --check``: every check, nothing landed (a remote construct's branch is
    fetched and checked here, then the fetched ref deleted)."""
    from synthetic_ls.ops.landing import check_land
    from synthetic_ls.ops.remote_landing import land_remote

    far = remote_of(store, options.ref)
    if far is None:
        return check_land(store, options)
    return land_remote(store, _for(options, far), check=True)


def land_any(store: StateStore, options: LandOptions, *, consent: Consent = NOBODY) -> Any:
    """``land``: into the base branch (a remote construct's branch is fetched and landed
    here, where the person reviews it)."""
    from synthetic_ls.ops.landing import land_construct
    from synthetic_ls.ops.remote_landing import land_remote

    far = remote_of(store, options.ref)
    if far is None:
        return land_construct(store, options, consent=consent)
    return land_remote(store, _for(options, far), consent=consent)


def discard_any(store: StateStore, ref: str, *, keep_session: bool = False,
                consent: Consent = NOBODY) -> Any:
    """``discard``: the construct, its branch and its work (the host's ``discard`` for a
    remote one, then the record here)."""
    from synthetic_ls.ops.discard import discard_construct
    from synthetic_ls.ops.remote_landing import discard_remote

    far = remote_of(store, ref)
    if far is None:
        return discard_construct(store, ref, keep_session=keep_session, consent=consent)
    return discard_remote(store, far.id, trust=consent.trust)


def _for(options: LandOptions, record: RemoteConstruct) -> LandOptions:
    """The options with the reference resolved to the remote record's id."""
    return LandOptions(**{**options.__dict__, "ref": record.id})
