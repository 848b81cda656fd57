"""``synthetic.group.*``: groups of attempts (``new --attempts``), picking one of them.

Adapters like those of :mod:`synthetic_ls.lsp.commands`: each takes the JSON
arguments its operation declares and returns the operation's result.
"""

from __future__ import annotations

from typing import Any

from synthetic_ls.lsp.command_spec import Command, parse


def _create(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    from synthetic_ls.ops.groups import GroupOptions, create_group

    options = GroupOptions(**parse(args, GroupOptions))
    if progress is None:
        return create_group(store, options)
    return create_group(store, options, cancelled=progress.cancelled, progress=progress.step)


def _list(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.groups import list_groups

    return list_groups(store, **parse(args, list_groups))


def _show(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.groups import show_group

    return show_group(store, **parse(args, show_group))


def _delete(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.groups import remove_group

    return remove_group(store, **parse(args, remove_group))


def _pick_preview(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.pick import pick_preview

    return pick_preview(store, **parse(args, pick_preview))


def _pick(store: Any, args: dict[str, Any]) -> Any:
    """The chosen attempt's landing options (``ref``, ``strategy`` ...), as
    ``synthetic.construct.land`` takes them."""
    from synthetic_ls.ops.landing import LandOptions
    from synthetic_ls.ops.pick import pick_attempt

    return pick_attempt(store, LandOptions(**parse(args, LandOptions)))


def _compare(store: Any, args: dict[str, Any], progress: Any = None) -> Any:
    """``ref`` (the group) and ``run_checks``; the checks' commands must have been allowed
    (``synthetic.trust.allow``): the server does not ask."""
    from synthetic_ls.ops.compare import compare_group

    cancelled = progress.cancelled if progress is not None else None
    return compare_group(store, **parse(args, compare_group), cancelled=cancelled)


def _diff_attempts(store: Any, args: dict[str, Any]) -> Any:
    from synthetic_ls.ops.attempts_diff import diff_attempts

    return diff_attempts(store, **parse(args, diff_attempts))


def commands() -> list[Command]:
    """The group commands, for :data:`synthetic_ls.lsp.commands.COMMANDS`."""
    return [
        Command("synthetic.group.create", _create, "Creating the attempts", cancellable=True),
        Command("synthetic.group.list", _list),
        Command("synthetic.group.show", _show),
        Command("synthetic.group.delete", _delete, "Removing the group"),
        Command("synthetic.group.pickPreview", _pick_preview),
        Command("synthetic.group.pick", _pick, "Landing the attempt, discarding the others"),
        Command("synthetic.group.compare", _compare, "Comparing the attempts"),
        Command("synthetic.group.diffAttempts", _diff_attempts),
    ]
