"""Bring older state layouts forward to :data:`~state_format.marker.CURRENT_VERSION`.

Everything version-specific lives here: :func:`detect_version` says what is on
disk and :func:`migrate` runs one step per version until the current one.
Each step is idempotent (a step interrupted by a crash can simply run again),
and it is the only code that writes a marker with a new version.

Known versions (see README.md, "Older formats"):

* **0**, the seed era, had no marker: one file ``synthetic/constructs.toml``
  with an array of ``[[constructs]]`` tables holding the seed's columns, SQLite
  style timestamps (``"2024-05-01 09:30:00"``, UTC), empty strings for NULL and
  ids of any shape (often UUIDs).
* **1**, the current layout: ``format.toml`` plus one file per record.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from state_format.atomic import atomic_write, ensure_dir, fsync_dir
from state_format.errors import BrokenRecordError
from state_format.ids import SUFFIX_ALPHABET, is_valid_id, slugify
from state_format.marker import CURRENT_VERSION, read_marker, write_marker
from state_format.records import Construct, format_timestamp
from state_format.statuses import Status
from state_format.tomlio import parse, read_text, render_new

V0_FILE = "constructs.toml"
V0_BACKUP = "constructs.v0.toml.bak"


def detect_version(state_dir: Path) -> int | None:
    """Format version of ``state_dir``; None when there is no state at all yet."""
    version = read_marker(state_dir)
    if version is not None:
        return version
    if (state_dir / V0_FILE).exists():
        return 0
    if (state_dir / Construct.folder).is_dir():
        # Records but no marker: the marker was lost. Only version 1 has this
        # layout, so assume it; the next write puts the marker back.
        return CURRENT_VERSION
    return None


def _deterministic_id(old_id: str, name: str) -> str:
    """Stable new id for a seed id that is not a valid id (re-running gives the same)."""
    digest = int.from_bytes(hashlib.sha256(old_id.encode("utf-8")).digest()[:8], "big")
    suffix = ""
    for _ in range(6):
        digest, rem = divmod(digest, len(SUFFIX_ALPHABET))
        suffix += SUFFIX_ALPHABET[rem]
    return f"{slugify(name)}-{suffix}"


def _v0_timestamp(value: Any) -> str | None:
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_timestamp(dt)
    if isinstance(value, str) and value.strip():
        dt = datetime.fromisoformat(value.strip().replace(" ", "T"))
        return format_timestamp(dt if dt.tzinfo else dt.replace(tzinfo=UTC))
    return None


def _migrate_0_to_1(state_dir: Path) -> None:
    """Split ``constructs.toml`` into one file per construct; keep the old file as a backup."""
    src = state_dir / V0_FILE
    text = read_text(src)
    data = parse(text, src)
    rows = data.get("constructs", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise BrokenRecordError(str(src), None, "`constructs` must be an array of tables")
    folder = state_dir / Construct.folder
    ensure_dir(folder)
    now = format_timestamp(datetime.now(UTC))
    for row in rows:
        old_id = str(row.get("id", ""))
        name = str(row.get("name") or "").strip() or old_id or "construct"
        values: dict[str, Any] = {}
        new_id = old_id if is_valid_id(old_id) else _deterministic_id(old_id, name)
        values["id"] = new_id
        values["name"] = name
        values["description"] = str(row.get("description") or "")
        values["template_id"] = str(row.get("template_id") or "") or "default"
        for key in ("workspace_path", "opencode_session_id"):
            if row.get(key):
                values[key] = str(row[key])
        status = str(row.get("status") or "")
        values["status"] = status if status in {s.value for s in Status} else "pending"
        values["created_at"] = _v0_timestamp(row.get("created_at")) or now
        values["updated_at"] = _v0_timestamp(row.get("updated_at")) or values["created_at"]
        if new_id != old_id:
            values["legacy_id"] = old_id
        if status and values["status"] != status:
            values["legacy_status"] = status
        for key, value in row.items():  # columns we do not know: keep them
            if key not in values and key not in Construct.model_fields and value != "":
                values[key] = value
        Construct.model_validate(values)  # fail before writing anything odd
        out = render_new(values, ("Migrated from format version 0.",))
        atomic_write(folder / f"{new_id}.toml", out.encode("utf-8"))
    write_marker(state_dir, 1)
    # Keep the original (renamed, so detection no longer sees version 0).
    os.replace(src, state_dir / V0_BACKUP)
    fsync_dir(state_dir)


#: ``MIGRATIONS[n]`` upgrades version ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Callable[[Path], None]] = {0: _migrate_0_to_1}


def migrate(state_dir: Path, from_version: int) -> int:
    """Run every step from ``from_version`` to the current version; returns steps run.

    The caller holds the state lock.
    """
    steps = 0
    version = from_version
    while version < CURRENT_VERSION:
        MIGRATIONS[version](state_dir)
        version += 1
        steps += 1
    return steps
