"""Read TOML fast with :mod:`tomllib`; write with :mod:`tomlkit`, editing in place.

Errors carry the file path and, when it can be found, the 1-based line, so a
person can jump straight to what they broke.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from state_format.errors import BrokenRecordError, StateError
from state_format.files import (
    MAX_RECORD_BYTES,
    UnsafeFileError,
    not_a_folder_error,
    read_regular,
)
from state_format.records import Record
from state_format.text import one_line

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=Record)

_LINE_RE = re.compile(r"\(at line (\d+), column \d+\)")


def read_bytes(path: Path, limit: int = MAX_RECORD_BYTES) -> bytes:
    """The bytes of the state file ``path``: a regular file of at most ``limit`` bytes.

    FileNotFoundError when there is none. Anything else at that path (a
    folder, a FIFO, a symbolic link, a device, an unreadable or oversized
    file) is a :class:`BrokenRecordError` saying what it is, or a
    :class:`~state_format.errors.StateLayoutError` when a folder on the way
    is a file. Never blocks, never reads more than ``limit + 1`` bytes.
    """
    try:
        return read_regular(path, limit)
    except UnsafeFileError as exc:
        raise unsafe_file_error(path, exc) from None


def unsafe_file_error(path: Path, exc: UnsafeFileError) -> StateError:
    """The StateError to raise (or report) for a state file that cannot be read."""
    if exc.not_a_folder is not None:
        return not_a_folder_error(exc.not_a_folder)
    return BrokenRecordError(str(path), None, exc.reason)


def read_text(path: Path, limit: int = MAX_RECORD_BYTES) -> str:
    """Read a state file as UTF-8 (see :func:`read_bytes`); undecodable bytes are a
    broken record."""
    return decode_text(read_bytes(path, limit), path)


def decode_text(data: bytes, path: Path) -> str:
    """Decode a state file's bytes; undecodable bytes are a broken record."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BrokenRecordError(str(path), line, "file is not valid UTF-8") from None


def parse(text: str, path: Path) -> dict[str, Any]:
    """Parse TOML text with tomllib, turning syntax errors into BrokenRecordError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        found = _LINE_RE.search(msg)
        if found:
            line: int | None = int(found.group(1))
            msg = msg[: found.start()].strip()
        elif "end of document" in msg:
            line = text.count("\n") + (0 if text.endswith("\n") else 1)
            msg = msg.replace("(at end of document)", "").strip()
        else:
            line = None
        raise BrokenRecordError(str(path), line, f"invalid TOML: {msg}") from None


def find_key_line(text: str, key: str) -> int | None:
    """1-based line where top-level ``key`` is assigned, or None if absent."""
    pattern = re.compile(
        r"^[ \t]*(?:"
        + re.escape(key)
        + r"|\""
        + re.escape(key)
        + r"\"|'"
        + re.escape(key)
        + r"')[ \t]*=",
        re.MULTILINE,
    )
    found = pattern.search(text)
    if found is None:
        return None
    return text.count("\n", 0, found.start()) + 1


def validate(model: type[M], data: Mapping[str, Any], text: str, path: Path) -> M:
    """Validate parsed data against ``model``; errors name the key and its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # Point at a value the person wrote when there is one: it has a line.
        present = [e for e in errors if e.get("type") != "missing"]
        first = (present or errors)[0]
        loc = first.get("loc") or ()
        key = str(loc[0]) if loc else ""
        line = find_key_line(text, key) if key else None
        if first.get("type") == "missing":
            detail = f"required key `{key}` is missing"
        else:
            detail = f"`{'.'.join(str(p) for p in loc)}`: {first.get('msg', 'invalid value')}"
        more = len(errors) - 1
        if more:
            detail += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise BrokenRecordError(str(path), line, detail) from None


def record_from_bytes(kind: type[R], path: Path, record_id: str, data: bytes) -> R:
    """Decode, parse and validate the content of record file ``path``.

    Raises BrokenRecordError (with path and line) for anything wrong, including
    an ``id`` that does not match the file name.
    """
    text = decode_text(data, path)
    record = validate(kind, parse(text, path), text, path)
    if record.id != record_id:
        raise BrokenRecordError(
            str(path),
            find_key_line(text, "id"),
            f"id {one_line(record.id)!r} does not match the file name {path.name!r}",
        )
    return record


def _item(value: Any) -> Any:
    """tomlkit item for ``value``; tables become inline so key order stays flat."""
    import tomlkit  # writes only: see render_new

    if isinstance(value, Mapping):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _item(v)
        return table
    return value


def render_new(values: Mapping[str, Any], header: Iterable[str] = ()) -> str:
    """A new TOML document with ``values`` in order, preceded by comment lines."""
    # tomlkit is imported by the writers only: a command that just reads
    # records (``show``, ``ls``) parses them with tomllib and never loads it.
    import tomlkit

    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line))
    for key, value in values.items():
        doc.add(key, _item(value))
    return tomlkit.dumps(doc)


def render_update(text: str, set_values: Mapping[str, Any], remove: Iterable[str] = ()) -> str:
    """Apply changes to an existing document, keeping comments, order and unknown keys.

    Keys already present keep their place; new keys go at the end.
    """
    import tomlkit  # writes only: see render_new

    doc = tomlkit.parse(text)
    for key in remove:
        if key in doc:
            del doc[key]
    for key, value in set_values.items():
        doc[key] = _item(value)
    return tomlkit.dumps(doc)
