"""``${...}`` in prompt fragments: the construct's values, its services' ports, the environment.

Known names: ``constructId``, ``constructName``, ``workspacePath``,
``branch``, ``services.<name>.port`` and ``services.<name>.url`` (also
``ports.<name>``), and ``env.<NAME>`` for a variable the person allowed
(:mod:`~synthetic_ls.prompts.allowed_env`). ``$${`` writes a literal ``${``.
Any other name, or an unset or not allowed variable, is an error at its
line and column.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from synthetic_ls.prompts.allowed_env import ALLOW_ENV, allowed_names, settings_path
from synthetic_ls.prompts.sources import PromptError

_VARIABLE = re.compile(r"\$\$\{|\$\{([^}\n]*)\}")
NAMES = ("constructId", "constructName", "workspacePath", "branch")


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def substitute(
    text: str, values: Mapping[str, str], *, file: str, env: Mapping[str, str] | None = None
) -> str:
    """``text`` with every ``${name}`` replaced; PromptError (with line and column) otherwise.

    ``env.NAME`` reads ``env`` (by default the process environment), and only
    a name the person allowed (:mod:`synthetic_ls.prompts.allowed_env`).
    """
    environ = os.environ if env is None else env
    allowed = allowed_names()

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1).strip()
        if name.startswith("env."):
            value = environ.get(name[4:])
            if name[4:] not in allowed:
                why = (f"environment variable {name[4:]} is not one you allowed prompts to "
                       f"read (set {ALLOW_ENV}={name[4:]}, or list it under [prompts] env in "
                       f"{settings_path()})")
            elif value is not None:
                return value
            else:
                why = f"environment variable {name[4:]} is not set"
        elif name in values:
            return values[name]
        else:
            known = ", ".join([*NAMES, *sorted(k for k in values if k not in NAMES)])
            why = f"${{{name}}} is not a prompt variable (known: {known}, env.NAME)"
        line, column = _position(text, match.start())
        raise PromptError(
            f"{file}:{line}:{column}: {why}",
            fields={"file": file, "line": line, "column": column, "variable": name},
        )

    return _VARIABLE.sub(replace, text)


def unknown_variables(text: str, values: Mapping[str, str]) -> list[tuple[int, int, str]]:
    """``(line, column, name)`` of each variable ``substitute`` would refuse (env not checked)."""
    out: list[tuple[int, int, str]] = []
    for match in _VARIABLE.finditer(text):
        if match.group(0) == "$${":
            continue
        name = match.group(1).strip()
        if not name.startswith("env.") and name not in values:
            out.append((*_position(text, match.start()), name))
    return out


def environment_names(text: str) -> list[tuple[int, int, str]]:
    """``(line, column, NAME)`` of each ``${env.NAME}`` in ``text``."""
    return [
        (*_position(text, match.start()), match.group(1).strip()[4:])
        for match in _VARIABLE.finditer(text)
        if match.group(0) != "$${" and match.group(1).strip().startswith("env.")
    ]
