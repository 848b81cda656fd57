"""Adapters of the review commands (``synthetic.construct.diff``, ``.file``, ``.log``,
``.commit``, ``.land``, ``.landPlan``, ``.discard``, ``.discardPreview``, ``.review``).

Registered in :data:`synthetic_ls.lsp.commands.COMMANDS`; each takes the JSON
arguments and returns the operation's result (the CLI's ``--json``).
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.errors import InvalidInputError


def _args(args: dict[str, Any], allowed: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    from synthetic_ls.lsp.command_spec import _take

    values = _take(args, allowed)
    if not isinstance(values.get("ref"), str) or not values["ref"]:
        raise InvalidInputError("missing argument 'ref'", fields={"missing": ["ref"]})
    return values


def diff(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import diff_construct

    values = _args(args, {"ref": str, "patch": bool})
    return diff_construct(store, values["ref"], patch=values.get("patch", False))


def file(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.file_versions import file_version

    values = _args(args, {"ref": str, "path": str, "at": str})
    if "path" not in values:
        raise InvalidInputError("missing argument 'path'", fields={"missing": ["path"]})
    return file_version(store, values["ref"], values["path"], at=values.get("at", "base"))


def log(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import log_construct

    return log_construct(store, _args(args, {"ref": str})["ref"])


def land(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.landing import LandOptions, land_construct

    values = _args(
        args, {"ref": str, "strategy": str, "message": str, "into": str, "remove": bool}
    )
    return land_construct(store, LandOptions(**values))


def commit(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.commit_work import commit_construct

    values = _args(args, {"ref": str, "message": str})
    if "message" not in values:
        raise InvalidInputError("missing argument 'message'", fields={"missing": ["message"]})
    return commit_construct(store, values["ref"], values["message"])


def land_plan(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.landing import LandOptions, check_land

    values = _args(args, {"ref": str, "strategy": str, "message": str, "into": str})
    return check_land(store, LandOptions(**values))


def discard_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.discard import discard_preview as preview

    return preview(store, _args(args, {"ref": str})["ref"])


def discard(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.discard import discard_construct

    values = _args(args, {"ref": str, "keep_session": bool})
    return discard_construct(store, values["ref"], keep_session=values.get("keep_session", False))


def review(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.review import review_construct

    return review_construct(store, _args(args, {"ref": str})["ref"])
