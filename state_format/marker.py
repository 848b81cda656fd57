"""The format marker ``synthetic/format.toml``, checked before any record is read."""

from __future__ import annotations

from pathlib import Path

from state_format.atomic import atomic_write
from state_format.errors import BrokenRecordError, FormatTooNewError
from state_format.records import FormatMarker
from state_format.text import one_line
from state_format.tomlio import (
    find_key_line,
    parse,
    read_text,
    render_new,
    render_update,
    validate,
)

#: The format version this code reads and writes.
CURRENT_VERSION = 2
MARKER_NAME = "format.toml"

_HEADER = (
    "Synthetic state format marker. Do not edit: tools refuse versions they do not know.",
    "Spec: state_format/README.md in the Synthetic sources.",
)


def marker_path(state_dir: Path) -> Path:
    """Path of the marker file in ``state_dir``."""
    return state_dir / MARKER_NAME


def read_marker(state_dir: Path) -> int | None:
    """The version in the marker, or None when there is no marker file.

    A marker that is not valid TOML or has no integer ``version`` is a
    :class:`~state_format.errors.BrokenRecordError`.
    """
    path = marker_path(state_dir)
    try:
        text = read_text(path)
    except FileNotFoundError:
        return None
    data = parse(text, path)
    if "version" in data:
        value = data["version"]
        # Exactly an integer: pydantic's lax mode would take "1", true or 1.0,
        # and a tool reading the spec would not.
        if type(value) is not int or value < 0:
            raise BrokenRecordError(
                str(path),
                find_key_line(text, "version"),
                "`version` must be a whole number written without quotes, such as "
                f"`version = {CURRENT_VERSION}`; found {_describe(value)} (fix or restore "
                "the file; nothing was read)",
            )
    marker = validate(FormatMarker, data, text, path)
    return marker.version


def _describe(value: object) -> str:
    """What a TOML value is, for a message (with a short rendering of it)."""
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "a negative number"
    elif isinstance(value, float):
        kind = "a decimal number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    elif isinstance(value, dict):
        kind = "a table"
    else:
        kind = "a date or time"
    return f"{kind}, {one_line(repr(value), 40)}"


def check_not_too_new(version: int | None, state_dir: Path) -> None:
    """Refuse state written by a newer Synthetic, saying which side to upgrade."""
    if version is not None and version > CURRENT_VERSION:
        raise FormatTooNewError(
            f"{state_dir} uses state format version {version}, but this Synthetic only "
            f"understands up to version {CURRENT_VERSION}; upgrade Synthetic to use this "
            "repository (nothing was read or changed)"
        )


def write_marker(state_dir: Path, version: int = CURRENT_VERSION) -> None:
    """Write the marker, keeping any comments or extra keys already in it."""
    path = marker_path(state_dir)
    try:
        old = read_text(path)
    except FileNotFoundError:
        text = render_new({"version": version}, _HEADER)
    else:
        text = render_update(old, {"version": version})
    atomic_write(path, text.encode("utf-8"))
