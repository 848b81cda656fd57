"""``workspace/executeCommand``: every operation of the CLI, as ``synthetic.<noun>.<verb>``.

Each command takes one JSON object (the operation's options, snake_case like
the ops dataclasses, plus ``root``: a folder of the repository, needed only
when several repositories are open) and returns the operation result's
``to_dict()``, the CLI's ``--json``. Operations run on pygls' thread pool,
never on the message loop; the long ones report ``$/progress`` (when the
client supports it). A failed operation answers with a JSON-RPC error
(code -32803, RequestFailed) whose ``data`` is ``error_payload(exc)``:
``{"code", "kind", "message", ...fields}``; bad arguments answer with
-32602 (InvalidParams) and the same ``data`` (code ``invalid-input``).

The table of commands is :data:`COMMANDS`; the README lists them with their
arguments.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from state_format.errors import StateError
from synthetic_ls.errors import (
    InvalidInputError,
    OperationCancelledError,
    SyntheticError,
    error_payload,
)
from synthetic_ls.lsp import group_commands, review_commands, service_commands
from synthetic_ls.lsp.command_spec import Command, parse
from synthetic_ls.lsp.server import SyntheticServer

log = logging.getLogger(__name__)

#: LSP's RequestFailed: the request was well formed, the operation failed.
REQUEST_FAILED = -32803
INVALID_PARAMS = -32602


# -- the operations ----------------------------------------------------------------
# Each adapter takes the JSON arguments the operation's own signature (or its
# options dataclass) declares (command_spec.parse), and returns its result.


def _create(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    from synthetic_ls.ops.constructs import CreateOptions, create_construct, plan_construct

    values = parse(args, CreateOptions, dry_run=bool)
    dry_run = values.pop("dry_run", False)
    options = CreateOptions(**values)
    if dry_run:
        return plan_construct(store, options)
    if progress is None:
        return create_construct(store, options)
    return create_construct(
        store, options, cancelled=progress.cancelled, progress=progress.step
    )


def _create_remote(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    """``new --host``: a command of its own, so each command answers one result form."""
    from synthetic_ls.ops.remote_constructs import RemoteCreateOptions, create_remote_construct

    options = RemoteCreateOptions(**parse(args, RemoteCreateOptions))
    # Consent as for a local create: none given here, so items not allowed before
    # answer `consent-required`; the client allows exactly those and asks again.
    if progress is None:
        return create_remote_construct(store, options)
    steps = iter(range(1, 3))  # its two steps: the push, then the host's `new`

    def tell(what: str) -> None:
        # A cancel is seen as the next step begins; the creation undoes both sides.
        if progress.cancelled():
            raise OperationCancelledError("cancelled by the person")
        progress.step(next(steps, 2), 2, what)

    return create_remote_construct(store, options, progress=tell)


def _list(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.listing import list_constructs

    return list_constructs(store, **parse(args, list_constructs))


def _show(store: Any, args: dict[str, Any]) -> Any:
    # Local or on another machine: ops.anywhere decides (so do the review commands).
    from synthetic_ls.ops.anywhere import show_any

    return show_any(store, **parse(args, show_any))


def _update(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.constructs import EditOptions, edit_construct

    return edit_construct(store, EditOptions(**parse(args, EditOptions)))


def _delete(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import remove_any
    from synthetic_ls.ops.constructs import RemoveOptions

    return remove_any(store, RemoveOptions(**parse(args, RemoveOptions)))


def _removal_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import removal_preview_any

    return removal_preview_any(store, **parse(args, removal_preview_any))


def _worktree_add(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.worktree import add_worktree

    return add_worktree(store, **parse(args, add_worktree))


def _worktree_remove(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.worktree import remove_worktree

    return remove_worktree(store, **parse(args, remove_worktree))


def _doctor_run(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.doctor import run_doctor

    return run_doctor(store, **parse(args, run_doctor))


def _doctor_fix(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.doctor import apply_fix

    return apply_fix(store, **parse(args, apply_fix))


def _import(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.import_worktree import import_worktree

    # A path arrives as text, relative to the repository (not the server's cwd).
    values = parse(args, import_worktree, path=str)
    values["path"] = _in_repository(store.repo.worktree, values["path"])
    return import_worktree(store, **values)


def _config_check(root: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.config import check_config

    given = parse(args, check_config, path=str).get("path")
    return check_config(_in_repository(root, given) if given else None, cwd=root)


def _in_repository(root: Path, path: str) -> Path:
    """A path argument: relative ones are relative to the repository, not the server's cwd."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else Path(root) / given


def _config_templates(root: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.templates import list_templates

    parse(args, list_templates)
    return list_templates(root)


def _config_init(root: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.config import write_starter

    parse(args, write_starter)
    return write_starter(cwd=root)


def _session_open(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import open_session

    return open_session(store, **parse(args, open_session))


def _session_send(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    from synthetic_ls.ops.session import send_prompt

    return send_prompt(
        store, **parse(args, send_prompt),
        cancelled=progress.cancelled if progress is not None else None,
    )


def _session_watch(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    from synthetic_ls.ops.session import watch_session

    lines: list[str] = []
    result = watch_session(
        store, emit=lines.append, **parse(args, watch_session),
        cancelled=progress.cancelled if progress is not None else None,
    )
    return _Extended(result, {"lines": lines})


def _session_abort(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import abort_session

    return abort_session(store, **parse(args, abort_session))


def _session_log(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import session_log

    return session_log(store, **parse(args, session_log))


def _session_permissions(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import list_permissions

    return list_permissions(store, **parse(args, list_permissions))


def _session_approve(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import approve_permission

    return approve_permission(store, **parse(args, approve_permission))


def _session_deny(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.session import deny_permission

    return deny_permission(store, **parse(args, deny_permission))


def _prompts_build(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.prompts import build_prompts

    return build_prompts(store, **parse(args, build_prompts))


def _prompts_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.prompts import preview_prompts

    return preview_prompts(store, **parse(args, preview_prompts))


def _trust_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.trust import trust_preview

    return trust_preview(store, **parse(args, trust_preview))


def _trust_allow(store: Any, args: dict[str, Any]) -> Any:
    """``{"items": [...]}``: the items of a ``consent-required`` error (or of a preview)
    the person was shown and said yes to; each is checked, none is taken on trust."""
    from synthetic_ls.consent.items import RunItem
    from synthetic_ls.ops.trust import allow_trust

    raw = args.get("items")
    unknown = sorted(set(args) - {"items", "root"})
    if unknown:
        raise InvalidInputError(f"unknown argument(s) {', '.join(unknown)}; expected items",
                                fields={"unknown": unknown})
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError("`items` must be a list of the items shown to the person",
                                fields={"key": "items"})
    items = [RunItem.from_dict(i) for i in raw[:5000]]
    if any(i is None for i in items):
        raise InvalidInputError("an item is not {kind, where, text, digest}",
                                fields={"key": "items"})
    return allow_trust(store, [i for i in items if i is not None])


def _trust_revoke(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.trust import revoke_trust

    return revoke_trust(store, **parse(args, revoke_trust))


def _host_list(root: Path, args: dict[str, Any]) -> Any:
    """The person's hosts (their own file, not the repository's); contacts none."""
    from synthetic_ls.ops.hosts import list_hosts

    parse(args, list_hosts)
    return list_hosts()


def _host_check(root: Path, args: dict[str, Any]) -> Any:
    """``{"host": NAME}``: ``host check``, the repository compared being the workspace's."""
    from synthetic_ls.ops.hosts import check_host

    return check_host(**parse(args, check_host), repo_root=root)


def _opencode_status(store: Any, args: dict[str, Any]) -> Any:
    """``opencode status``, with the ``opencode`` that would be run (a PATH lookup,
    nothing started): what ``:checkhealth`` and the editors' notices need."""
    from synthetic_ls.opencode.client import OpenCodeError
    from synthetic_ls.opencode.server import PINNED_VERSION, find_binary
    from synthetic_ls.ops.opencode import opencode_status

    status = opencode_status(store, **parse(args, opencode_status))
    try:
        binary, problem = find_binary(), None
    except OpenCodeError as exc:
        binary, problem = None, str(exc)
    return _Extended(status, {"binary": binary, "binary_problem": problem,
                              "pinned_version": PINNED_VERSION})


@dataclass(frozen=True)
class _Extended:
    """An operation's result with keys only this face adds (the lines a watch saw)."""

    result: Any
    extra: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), **self.extra}


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("synthetic.construct.create", _create, "Creating the construct", cancellable=True),
        Command("synthetic.construct.createRemote", _create_remote,
                "Creating the construct on the host", cancellable=True),
        Command("synthetic.construct.list", _list),
        Command("synthetic.construct.show", _show),
        Command("synthetic.construct.update", _update),
        Command("synthetic.construct.delete", _delete, "Removing the construct"),
        Command("synthetic.construct.removalPreview", _removal_preview),
        Command("synthetic.worktree.add", _worktree_add, "Making the worktree"),
        Command("synthetic.worktree.remove", _worktree_remove, "Removing the worktree"),
        Command("synthetic.doctor.run", _doctor_run, "Checking the constructs"),
        Command("synthetic.doctor.fix", _doctor_fix, "Fixing"),
        Command("synthetic.config.check", _config_check, store=False),
        Command("synthetic.config.init", _config_init, store=False),
        Command("synthetic.config.templates", _config_templates, store=False),
        Command("synthetic.construct.import", _import, "Importing the worktree"),
        Command("synthetic.session.open", _session_open),
        Command("synthetic.session.send", _session_send, "Waiting for the agent",
                cancellable=True),
        Command("synthetic.session.watch", _session_watch, "Following the agent",
                cancellable=True),
        Command("synthetic.session.abort", _session_abort),
        Command("synthetic.session.log", _session_log),
        Command("synthetic.session.permissions", _session_permissions),
        Command("synthetic.session.approve", _session_approve),
        Command("synthetic.session.deny", _session_deny),
        Command("synthetic.prompts.build", _prompts_build, "Assembling the prompt bundle"),
        Command("synthetic.prompts.preview", _prompts_preview),
        Command("synthetic.construct.diff", review_commands.diff),
        Command("synthetic.construct.file", review_commands.file),
        Command("synthetic.construct.log", review_commands.log),
        Command("synthetic.construct.commit", review_commands.commit, "Committing"),
        Command("synthetic.construct.landPlan", review_commands.land_plan),
        Command("synthetic.construct.land", review_commands.land, "Landing the construct"),
        Command("synthetic.construct.landQueue", review_commands.land_queue,
                "Landing the constructs in order"),
        Command("synthetic.construct.resolve", review_commands.resolve,
                "Rebasing the construct onto its target"),
        Command("synthetic.construct.discardPreview", review_commands.discard_preview),
        Command("synthetic.construct.discard", review_commands.discard, "Discarding"),
        Command("synthetic.construct.review", review_commands.review),
        # Cancellable: the person's cancel stops the check running (ops.checks).
        Command("synthetic.construct.check", review_commands.check, "Running the checks",
                cancellable=True),
        Command("synthetic.opencode.status", _opencode_status),
        Command("synthetic.trust.preview", _trust_preview),
        Command("synthetic.trust.allow", _trust_allow),
        Command("synthetic.trust.revoke", _trust_revoke),
        Command("synthetic.host.list", _host_list, store=False),
        Command("synthetic.host.check", _host_check, "Checking the host", store=False),
    )
}

# Services and ports (issue 12) live in their own module.
COMMANDS.update((c.name, c) for c in service_commands.commands())
# Groups of attempts (issue 25).
COMMANDS.update((c.name, c) for c in group_commands.commands())


# -- running them ----------------------------------------------------------------


def repository_for(server: SyntheticServer, args: dict[str, Any]) -> Path:
    """The folder to run in: ``root`` if given, else the one repository of the workspace."""
    given = args.get("root")
    if given is not None:
        if not isinstance(given, str) or not Path(given).is_dir():
            raise InvalidInputError(f"root {given!r} is not a folder", fields={"key": "root"})
        return Path(given)
    roots = server.workspace_roots()
    if len(roots) == 1:
        return roots[0]
    if not roots:
        raise SyntheticError(
            "no repository is open in the workspace; pass `root`", code="not-a-repository"
        )
    raise InvalidInputError(
        "several repositories are open; pass `root` to say which",
        fields={"roots": [str(r) for r in roots]},
    )


def execute(server: SyntheticServer, command: Command, raw: tuple[Any, ...]) -> Any:
    """Run one command (on a worker thread) and return its JSON result."""
    if len(raw) > 1 or (raw and not isinstance(raw[0], dict)):
        raise JsonRpcException(
            message="a synthetic command takes one JSON object as its argument",
            code=INVALID_PARAMS,
            data={"code": "invalid-input", "message": "expected one JSON object"},
        )
    args: dict[str, Any] = dict(raw[0]) if raw else {}
    try:
        root = repository_for(server, args)
        with _progress(server, command) as progress:
            if command.store:
                from state_format.store import Store

                target: Any = Store.open(root)
            else:
                target = root
            if command.cancellable:
                result = command.run(target, args, progress)  # type: ignore[call-arg]
            else:
                result = command.run(target, args)
        return result.to_dict()
    except InvalidInputError as exc:
        raise JsonRpcException(
            message=str(exc),
            code=INVALID_PARAMS if _is_argument_error(exc) else REQUEST_FAILED,
            data=error_payload(exc),
        ) from None
    except (SyntheticError, StateError) as exc:
        raise JsonRpcException(
            message=str(exc), code=REQUEST_FAILED, data=error_payload(exc)
        ) from None


def _is_argument_error(exc: InvalidInputError) -> bool:
    return bool({"unknown", "missing", "key"} & set(exc.fields))


class _progress:
    """``$/progress`` begin/end around a long command, when the client supports it."""

    def __init__(self, server: SyntheticServer, command: Command) -> None:
        self.server = server
        self.title = command.progress
        self.cancellable = command.cancellable
        self.token: str | None = None

    def __enter__(self) -> _progress:
        capabilities = self.server.client_capabilities
        window = capabilities.window if capabilities is not None else None
        if self.title is None or window is None or not window.work_done_progress:
            return self
        token = f"synthetic-{uuid.uuid4()}"
        try:
            self.server.work_done_progress.create(token).result(timeout=5)
        except Exception:  # the client refused or did not answer: go on without
            log.info("no progress token from the client", exc_info=True)
            return self
        self.token = token
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title=self.title, cancellable=self.cancellable),
        )
        return self

    def cancelled(self) -> bool:
        """True once the client cancelled this progress (``window/workDoneProgress/cancel``).

        pygls cancels the token's future when that notification arrives.
        """
        if self.token is None:
            return False
        future = self.server.work_done_progress.tokens.get(self.token)
        return future is not None and future.cancelled()

    def step(self, number: int, total: int, title: str) -> None:
        """Report a step of the work (``[2/5] creating the worktree``) as it starts."""
        if self.token is None:
            return
        self.server.work_done_progress.report(
            self.token,
            types.WorkDoneProgressReport(
                message=f"[{number}/{total}] {title}" if total else title,
                # (0, 0, ...): a wait before the first step.
                percentage=int(100 * (number - 1) / total) if total else None,
                cancellable=self.cancellable,
            ),
        )

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            message = "cancelled" if self.cancelled() else "failed" if exc[0] else "done"
            self.server.work_done_progress.end(
                self.token, types.WorkDoneProgressEnd(message=message)
            )


def register(server: SyntheticServer) -> None:
    """Register every command of :data:`COMMANDS`, each run on a worker thread."""
    for command in COMMANDS.values():
        _register(server, command)


def _register(server: SyntheticServer, command: Command) -> None:
    def handler(ls: SyntheticServer, *args: Any) -> Any:
        return execute(ls, command, args)

    handler.__name__ = command.name.replace(".", "_")
    server.command(command.name)(server.thread()(handler))
