"""Adapters of the review commands (``synthetic.construct.diff``, ``.file``, ``.log``,
``.commit``, ``.land``, ``.landPlan``, ``.landQueue``, ``.resolve``, ``.discard``,
``.discardPreview``, ``.review``, ``.check``).

Registered in :data:`synthetic_ls.lsp.commands.COMMANDS`; each takes the JSON
arguments and returns the operation's result (the CLI's ``--json``). Each goes
through :mod:`synthetic_ls.ops.anywhere`, so a construct on another machine is
reviewed, landed and discarded as a local one (``synthetic.construct.file`` is
local only: the host's files are read there).
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.lsp.command_spec import parse


def diff(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import diff_any

    return diff_any(store, **parse(args, diff_any))


def file(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.file_versions import file_version

    return file_version(store, **parse(args, file_version))


def log(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import log_any

    return log_any(store, **parse(args, log_any))


def land(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import land_any
    from synthetic_ls.ops.landing import LandOptions

    return land_any(store, LandOptions(**parse(args, LandOptions)))


def land_queue(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.land_queue import LandQueueOptions, land_queue

    return land_queue(store, LandQueueOptions(**parse(args, LandQueueOptions)))


def resolve(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.resolve import ResolveOptions, resolve_construct

    # The agent's lines are not streamed to the editor: its session view follows them.
    return resolve_construct(store, ResolveOptions(**parse(args, ResolveOptions)))


def commit(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import commit_any

    return commit_any(store, **parse(args, commit_any))


def land_plan(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import land_plan_any
    from synthetic_ls.ops.landing import LandOptions

    return land_plan_any(store, LandOptions(**parse(args, LandOptions)))


def discard_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import discard_preview_any

    return discard_preview_any(store, **parse(args, discard_preview_any))


def discard(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.anywhere import discard_any

    return discard_any(store, **parse(args, discard_any))


def review(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import review_construct

    return review_construct(store, **parse(args, review_construct))


def check(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    """``{"ref", "names"}``: run the template's checks (all when ``names`` is absent or
    empty). Without the person's consent the operation refuses (``consent-required``,
    nothing ran) and the client asks, allows the items and runs it again."""
    from synthetic_ls.ops.checks import run_checks

    values = parse(args, run_checks)
    if progress is None:
        return run_checks(store, **values)
    return run_checks(store, **values, cancelled=progress.cancelled,
                      on_start=lambda name: progress.step(0, 0, f"check {name}"))
