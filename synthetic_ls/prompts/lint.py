"""The editor's check of prompt files: variables no construct could fill.

Run while a config is typed, so it is bounded: at most :data:`FILES_CHECKED`
files per entry, each read as at creation (regular files inside the
repository, at most 256 KiB). Services' names are not known per file here,
so :func:`unknown_in_files` lets any ``services.NAME.port|url`` and
``ports.NAME`` pass; :func:`services_in_files` lists them, for the config
check to hold against each template that uses the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from synthetic_ls.prompts.sources import PromptError, expand, read_fragment
from synthetic_ls.prompts.variables import NAMES, environment_names, unknown_variables

FILES_CHECKED = 20
_SERVICE_NAME = re.compile(r"^(?:services\.([^.\s]+)\.(?:port|url)|ports\.([^.\s]+))$")


def unknown_in_files(root: Path, entry: str) -> list[tuple[str, int, int, str]]:
    """``(file, line, column, name)`` for each unknown variable in the files ``entry`` names."""
    out: list[tuple[str, int, int, str]] = []
    known = dict.fromkeys(NAMES, "")
    for rel in expand(root, entry)[:FILES_CHECKED]:
        try:
            text = read_fragment(root, rel)
        except PromptError:
            continue  # unreadable files are reported by the creation that needs them
        for line, column, name in unknown_variables(text, known):
            if not _SERVICE_NAME.match(name):
                out.append((rel, line, column, name))
    return out


def services_in_files(root: Path, entry: str) -> list[tuple[str, int, int, str, str]]:
    """``(file, line, column, variable, service)`` for each service a file ``entry`` names uses."""
    out: list[tuple[str, int, int, str, str]] = []
    known = dict.fromkeys(NAMES, "")
    for rel in expand(root, entry)[:FILES_CHECKED]:
        try:
            text = read_fragment(root, rel)
        except PromptError:
            continue
        for line, column, name in unknown_variables(text, known):
            match = _SERVICE_NAME.match(name)
            if match:
                out.append((rel, line, column, name, match.group(1) or match.group(2)))
    return out


def environment_in_files(root: Path, entry: str) -> list[tuple[str, int, int, str]]:
    """``(file, line, column, NAME)`` for each ``${env.NAME}`` the files ``entry`` names read."""
    out: list[tuple[str, int, int, str]] = []
    for rel in expand(root, entry)[:FILES_CHECKED]:
        try:
            text = read_fragment(root, rel)
        except PromptError:
            continue
        out.extend((rel, line, column, name) for line, column, name in environment_names(text))
    return out
