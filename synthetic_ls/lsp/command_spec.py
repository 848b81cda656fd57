"""What a server command is, and how its JSON arguments are checked.

Kept apart from :mod:`synthetic_ls.lsp.commands` (the table and the runner),
so that the modules holding groups of commands (review, services) use it
without importing the table that imports them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synthetic_ls.errors import InvalidInputError


@dataclass(frozen=True)
class Command:
    """One command: the operation adapter, and the progress title if it is long."""

    name: str
    run: Callable[[Any, dict[str, Any]], Any]
    progress: str | None = None
    #: False for the commands that take no state store (config check).
    store: bool = True
    #: The client may cancel it from its progress report (creations only:
    #: they undo what was begun; a removal half done is not a state to stop in).
    cancellable: bool = False


# -- arguments -------------------------------------------------------------------


def _take(args: dict[str, Any], allowed: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The known keys of ``args``, type-checked; an unknown key or a wrong type is refused."""
    unknown = sorted(set(args) - set(allowed) - {"root"})
    if unknown:
        raise InvalidInputError(
            f"unknown argument(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}",
            fields={"unknown": unknown},
        )
    out: dict[str, Any] = {}
    for key, kind in allowed.items():
        if key not in args or args[key] is None:
            continue
        value = args[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise InvalidInputError(f"argument {key!r} has the wrong type", fields={"key": key})
        out[key] = value
    return out


def _options(cls: type, args: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    """An ops options dataclass from the JSON arguments (its own field names)."""
    kinds: dict[str, type | tuple[type, ...]] = {}
    for f in dataclasses.fields(cls):
        annotation = str(f.type)
        kinds[f.name] = bool if annotation in ("bool", "bool | None") else str
    kinds.update(extra or {})
    values = _take(args, kinds)
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    ]
    if required:
        raise InvalidInputError(
            f"missing argument(s) {', '.join(required)}", fields={"missing": required}
        )
    return values


def _need(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"missing argument {key!r}", fields={"missing": [key]})
    return value


