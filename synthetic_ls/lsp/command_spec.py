"""What a server command is, and how its JSON arguments are checked.

A command's arguments are the operation's own parameters (or its options
dataclass's fields): :func:`parse` reads their names and types from the
signature, so the server cannot accept what the operation does not take,
nor take it as another type. Kept apart from :mod:`synthetic_ls.lsp.commands`
(the table and the runner), so that the modules holding groups of commands
(review, services) use it without importing the table that imports them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, create_model

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

#: Parameters of an operation that are not JSON arguments: the face supplies them.
NOT_ARGUMENTS = frozenset(
    {"store", "cancelled", "progress", "on_line", "emit", "root", "env", "cwd", "repo_root",
     # Told of each check as it begins and ends (ops.checks): the face's callbacks.
     "on_start", "on_result",
     # An editor asks in its own prompt, then allows the items (synthetic.trust.allow).
     "consent"}
)


@functools.cache
def arguments_of(*sources: Any, extra: tuple[tuple[str, Any], ...] = ()) -> type[BaseModel]:
    """The JSON arguments an operation takes, as a strict pydantic model.

    ``sources`` are the operation's function (its keyword and positional
    parameters, but :data:`NOT_ARGUMENTS`) and options dataclasses (their
    fields); the names and types are theirs, so an argument's type cannot
    drift from the operation's. ``extra`` adds what only this face takes
    (``dry_run``). A required text is refused when empty.
    """
    fields: dict[str, Any] = {}
    for source in sources:
        if dataclasses.is_dataclass(source):
            hints = typing.get_type_hints(source)
            for f in dataclasses.fields(source):
                has_default = (
                    f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING
                )
                fields[f.name] = _field(hints[f.name], None if has_default else ...)
            continue
        for name, param in inspect.signature(source).parameters.items():
            if name in NOT_ARGUMENTS or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            required = param.default is inspect.Parameter.empty
            fields[name] = _field(_hint(source, name), ... if required else None)
    for name, kind in extra:
        fields[name] = _field(kind, None)
    model: type[BaseModel] = create_model(
        "Arguments", __config__=ConfigDict(extra="forbid", strict=True), **fields
    )
    return model


def _hint(function: Callable[..., Any], name: str) -> Any:
    """The type of one parameter (evaluated alone: others may name types imported only
    for the type checker)."""
    annotation = function.__annotations__[name]
    if isinstance(annotation, str):
        module = sys.modules[function.__module__]
        annotation = eval(annotation, vars(module))  # the module's own annotation text
    return annotation


def _field(kind: Any, default: Any) -> tuple[Any, Any]:
    if default is ... and kind is str:
        return Annotated[str, StringConstraints(min_length=1)], ...
    # Optional in JSON (null or absent is "the operation's default").
    return (kind if default is ... else kind | None), default


def parse(args: dict[str, Any], *sources: Any, **extra: Any) -> dict[str, Any]:
    """The arguments of ``args`` that ``sources`` take, checked; absent and null are left out.

    An unknown key, a missing one or a wrong type is an ``invalid-input``
    error whose fields say which (``unknown``, ``missing``, ``key``).
    """
    model = arguments_of(*sources, extra=tuple(extra.items()))
    given = {k: v for k, v in args.items() if k != "root" and v is not None}
    try:
        checked = model.model_validate(given)
    except ValidationError as exc:
        raise _invalid(exc, model) from None
    return checked.model_dump(exclude_unset=True)


def _invalid(exc: ValidationError, model: type[BaseModel]) -> InvalidInputError:
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    missing = sorted(str(e["loc"][0]) for e in errors if e["type"] == "missing")
    expected = ", ".join(sorted(model.model_fields))
    if unknown:
        return InvalidInputError(
            f"unknown argument(s) {', '.join(unknown)}; expected {expected}",
            fields={"unknown": unknown},
        )
    if missing:
        return InvalidInputError(
            f"missing argument(s) {', '.join(missing)}", fields={"missing": missing}
        )
    key = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else "?"
    if errors and errors[0]["type"] == "string_too_short":
        return InvalidInputError(f"missing argument {key!r}", fields={"missing": [key]})
    return InvalidInputError(f"argument {key!r} has the wrong type", fields={"key": key})
