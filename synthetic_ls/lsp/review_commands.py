"""Adapters of the review commands (``synthetic.construct.diff``, ``.file``, ``.log``,
``.commit``, ``.land``, ``.landPlan``, ``.landQueue``, ``.resolve``, ``.discard``,
``.discardPreview``, ``.review``).

Registered in :data:`synthetic_ls.lsp.commands.COMMANDS`; each takes the JSON
arguments and returns the operation's result (the CLI's ``--json``).
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.lsp.command_spec import parse


def diff(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import diff_construct

    return diff_construct(store, **parse(args, diff_construct))


def file(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.file_versions import file_version

    return file_version(store, **parse(args, file_version))


def log(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import log_construct

    return log_construct(store, **parse(args, log_construct))


def land(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.landing import LandOptions, land_construct

    return land_construct(store, LandOptions(**parse(args, LandOptions)))


def land_queue(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.land_queue import LandQueueOptions, land_queue

    return land_queue(store, LandQueueOptions(**parse(args, LandQueueOptions)))


def resolve(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.resolve import ResolveOptions, resolve_construct

    # The agent's lines are not streamed to the editor: its session view follows them.
    return resolve_construct(store, ResolveOptions(**parse(args, ResolveOptions)))


def commit(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.commit_work import commit_construct

    return commit_construct(store, **parse(args, commit_construct))


def land_plan(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.landing import LandOptions, check_land

    return check_land(store, LandOptions(**parse(args, LandOptions)))


def discard_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.discard import discard_preview as preview

    return preview(store, **parse(args, preview))


def discard(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.discard import discard_construct

    return discard_construct(store, **parse(args, discard_construct))


def review(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import review_construct

    return review_construct(store, **parse(args, review_construct))
