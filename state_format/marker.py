"""The format marker ``synthetic/format.toml``, checked before any record is read."""

from __future__ import annotations

from pathlib import Path

from state_format.atomic import atomic_write
from state_format.errors import FormatTooNewError
from state_format.records import FormatMarker
from state_format.tomlio import parse, read_text, render_new, render_update, validate

#: The format version this code reads and writes.
CURRENT_VERSION = 1
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
    marker = validate(FormatMarker, parse(text, path), text, path)
    return marker.version


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
