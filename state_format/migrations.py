"""Bring older state layouts forward to :data:`~state_format.marker.CURRENT_VERSION`.

Everything version-specific lives here: :func:`detect_version` says what is on
disk and :func:`migrate` runs one step per version until the current one.
Each step is all or nothing and can run again after a crash at any point; it
is the only code that writes a marker with a new version.

Known versions (see README.md, "Older formats"):

* **0**, the seed era, had no marker: one file ``synthetic/constructs.toml``
  with an array of ``[[constructs]]`` tables holding the seed's columns, SQLite
  style timestamps (``"2024-05-01 09:30:00"``, UTC), empty strings for NULL and
  ids of any shape (often UUIDs).
* **1**: ``format.toml`` plus one file per record; a construct's journal
  knew four operations (create, add-worktree, remove, remove-worktree), and a
  ``spawning`` record from before journals could carry ``spawn_pid`` instead.
* **2**, the current one: the same layout; a journal records every change of
  a construct (services, prompt rebuilds, commits, landings too) and may
  carry ``facts``; ``spawn_pid`` is gone (the step to 2 turns a legacy
  ``spawn_pid`` into the ``create`` journal it always stood for). A tool
  that knows only version 1 refuses the state instead of misreading a
  journal it does not know.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from state_format.atomic import atomic_write, ensure_dir, fsync_dir
from state_format.errors import BrokenRecordError
from state_format.files import MAX_V0_BYTES, UnsafeFileError, access_error, read_regular
from state_format.ids import SUFFIX_ALPHABET, is_valid_id, slugify
from state_format.journal import LEGACY_CREATE_STEPS, Journal
from state_format.marker import CURRENT_VERSION, read_marker, write_marker
from state_format.records import Construct, format_timestamp
from state_format.statuses import Status
from state_format.text import one_line
from state_format.tomlio import parse, read_text, render_new, render_update

V0_FILE = "constructs.toml"
#: The version-0 file after migration (``.1``, ``.2``... appended if taken).
V0_BACKUP = "constructs.v0.toml.bak"
#: What the migration did, row by row, for a person to read.
V0_REPORT = "constructs.v0.migration.txt"
#: Where a ``constructs/`` folder found beside a version-0 file is moved.
V0_ASIDE = "constructs.before-v0-migration"
#: The records are assembled here, then renamed into place in one step.
_STAGING = ".constructs.v0-migration.tmp"
#: In the staged folder: the SHA-256 of the version-0 file it came from (then
#: the report's and the backup's names), so a run interrupted after the switch
#: knows the folder is its own work.
_STAMP = ".migrated-from-v0"


def detect_version(state_dir: Path) -> int | None:
    """Format version of ``state_dir``; None when there is no state at all yet."""
    version = read_marker(state_dir)
    if version is not None:
        return version
    if os.path.lexists(state_dir / V0_FILE):
        return 0
    if (state_dir / Construct.folder).is_dir():
        # Records but no marker: the marker was lost. Versions 1 and 2 have
        # this layout; assume the older, whose step to 2 changes only what
        # version 1 could hold (and then writes the marker back).
        return 1
    return None


# -- the report -----------------------------------------------------------------------


@dataclass
class RowNote:
    """Something said about one row of the old file: 1-based ``index``, its ``line``."""

    index: int
    line: int | None
    message: str

    def where(self) -> str:
        """``row 3 (line 17)``, or ``row 3`` when the line is unknown."""
        return f"row {self.index}" + (f" (line {self.line})" if self.line else "")


@dataclass
class MigrationReport:
    """What one migration step did, for the caller to show and the report file.

    ``records`` are the ids written; ``renamed`` the rows whose id was taken
    (a duplicate) or invalid and got a new one; ``repaired`` the values that
    could not be used as they were (the originals are kept in the record as
    ``legacy_<key>``); ``skipped`` the rows that could not become a record at
    all (they remain in ``backup``). ``moved_aside`` is a ``constructs``
    folder found in the way, moved rather than overwritten.
    """

    from_version: int
    source: Path
    backup: Path | None = None
    records: list[str] = field(default_factory=list)
    renamed: list[RowNote] = field(default_factory=list)
    repaired: list[RowNote] = field(default_factory=list)
    skipped: list[RowNote] = field(default_factory=list)
    moved_aside: Path | None = None
    report_path: Path | None = None
    #: Top-level keys of the old file other than ``constructs`` (kept in the backup).
    other_tables: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person: counts, and where the details and the original are."""
        if self.from_version >= 1:
            return (
                f"brought the state from format {self.from_version} to "
                f"{self.from_version + 1}; records changed: {len(self.records)}"
                + (f" ({', '.join(self.records[:10])})" if self.records else "")
            )
        rows = len(self.records) + len(self.skipped)
        parts = [
            f"migrated {len(self.records)} of {rows} construct rows from "
            f"{self.source.name} (state format {self.from_version})"
        ]
        if self.renamed:
            parts.append(f"{len(self.renamed)} given a new id")
        if self.repaired:
            parts.append(f"{len(self.repaired)} value(s) repaired")
        if self.skipped:
            parts.append(f"{len(self.skipped)} row(s) could not be read and were not migrated")
        if self.other_tables:
            parts.append(f"not migrated: {', '.join(self.other_tables)} (kept in the original)")
        if self.moved_aside:
            parts.append(f"an existing folder was moved to {self.moved_aside}")
        text = "; ".join(parts)
        if self.report_path:
            text += f"; details in {self.report_path}"
        if self.backup:
            text += f"; the original is kept as {self.backup}"
        return text

    def text(self) -> str:
        """The report file's content."""
        out = [self.summary(), ""]
        for title, notes in (
            ("Rows given a new id:", self.renamed),
            ("Values repaired (the original is kept in the record as legacy_<key>):",
             self.repaired),
            ("Rows not migrated (still in the original file):", self.skipped),
        ):  # fmt: skip
            if notes:
                out.append(title)
                out += [f"  {n.where()}: {n.message}" for n in notes]
                out.append("")
        return "\n".join(out).rstrip() + "\n"


# -- version 0 -> 1 ---------------------------------------------------------------


def _deterministic_id(old_id: str, name: str) -> str:
    """Stable new id for a seed id that is not a valid id (re-running gives the same)."""
    import hashlib  # only a migration needs it; every command imports this module

    digest = int.from_bytes(hashlib.sha256(old_id.encode("utf-8")).digest()[:8], "big")
    suffix = ""
    for _ in range(6):
        digest, rem = divmod(digest, len(SUFFIX_ALPHABET))
        suffix += SUFFIX_ALPHABET[rem]
    return f"{slugify(name)}-{suffix}"


class _BadValue(ValueError):
    """A version-0 value that cannot be used as the column demands."""


def _v0_timestamp(value: Any) -> str | None:
    """The column's timestamp in the current form; None when empty (SQL NULL).

    Raises _BadValue for anything that is not a date-time (e.g. "yesterday").
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):  # a TOML local date: midnight
            dt = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            dt = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        else:
            raise _BadValue(value)
        return format_timestamp(dt if dt.tzinfo else dt.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # not ISO 8601, or out of range in UTC
        raise _BadValue(value) from None


def _v0_text(value: Any) -> str | None:
    """A text column's value; None when empty. Numbers become their text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _BadValue(value)


#: The seed's columns; any other column is kept as it is.
_V0_COLUMNS = (
    "id", "name", "description", "template_id", "workspace_path", "opencode_session_id",
    "status", "created_at", "updated_at",
)  # fmt: skip


def _reserved(key: str) -> bool:
    """Whether ``key`` is of the kind the migration adds (``legacy_*``, ``migration_notes``)."""
    return key.startswith(("legacy_", "v0_")) or key == "migration_notes"


def _shown(value: Any) -> str:
    return one_line(repr(value), 60)


def _row_lines(text: str, count: int) -> list[int | None]:
    """Line of each ``[[constructs]]`` header, when the file uses them for every row."""
    header = re.compile(r"""^[ \t]*\[\[[ \t]*(?:constructs|"constructs"|'constructs')[ \t]*\]\]""",
                        re.MULTILINE)  # fmt: skip
    lines = [text.count("\n", 0, m.start()) + 1 for m in header.finditer(text)]
    return list(lines) if len(lines) == count else [None] * count


class _Converter:
    """Turns version-0 rows into construct values, deciding ids across all rows."""

    def __init__(self, now: str) -> None:
        self.now = now
        self.used: set[str] = set()
        self.first_row_of: dict[str, int] = {}

    def new_id_for(self, old_id: str, name: str, index: int) -> tuple[str, str | None]:
        """``(id, why it is not old_id)`` for row ``index``; the first row keeps an id."""
        first = self.first_row_of.get(old_id)
        if not old_id:
            why, seed = "no id", f"\0row {index}"
        elif first is not None or (is_valid_id(old_id) and old_id in self.used):
            taken = f"first used by row {first}" if first else "taken by an earlier row's new id"
            why, seed = f"duplicate id {_shown(old_id)} ({taken})", f"{old_id}\0row {index}"
        elif is_valid_id(old_id):
            self.first_row_of[old_id] = index
            return old_id, None
        else:
            self.first_row_of[old_id] = index
            # The seed is the old id alone, as before duplicates were handled,
            # so records migrated by an earlier version keep their ids.
            why, seed = f"id {_shown(old_id)} is not a valid id", old_id
        candidate = _deterministic_id(seed, name)
        n = 1
        while candidate in self.used:  # a hash clash with an earlier row: vanishingly rare
            n += 1
            candidate = _deterministic_id(f"{seed}\0{n}", name)
        return candidate, why

    def convert(self, row: dict[str, Any], index: int, line: int | None) -> tuple[
        dict[str, Any], RowNote | None, list[RowNote]
    ]:
        """Values of the record for ``row``, a note if its id changed, and repairs."""
        notes: list[str] = []
        repairs: list[RowNote] = []
        legacy: dict[str, Any] = {}

        def text(key: str) -> str | None:
            try:
                return _v0_text(row.get(key))
            except _BadValue:
                legacy[f"legacy_{key}"] = row[key]
                message = f"`{key}` = {_shown(row[key])} is not text; left unset"
                repairs.append(RowNote(index, line, message))
                notes.append(message)
                return None

        raw_id = row.get("id")
        old_id = text("id") or ""
        name = (text("name") or "").strip() or old_id or "construct"
        new_id, why = self.new_id_for(old_id, name, index)
        self.used.add(new_id)
        values: dict[str, Any] = {"id": new_id, "name": name}
        values["description"] = text("description") or ""
        values["template_id"] = text("template_id") or "default"
        for key in ("workspace_path", "opencode_session_id"):
            if (value := text(key)) is not None:
                values[key] = value
        status = text("status") or ""
        known = status in {s.value for s in Status} and status != Status.SPAWNING
        # A version-0 creation cannot still be running: "spawning" (without the
        # creating process's id) would never be recovered, so it becomes pending.
        values["status"] = status if known else "pending"
        times: dict[str, str | None] = {}
        for key in ("created_at", "updated_at"):
            try:
                times[key] = _v0_timestamp(row.get(key))
            except _BadValue:
                times[key] = None
                legacy[f"legacy_{key}"] = row[key]
        created = times["created_at"] or times["updated_at"] or self.now
        updated = times["updated_at"] or created
        for key, used in (("created_at", created), ("updated_at", updated)):
            if f"legacy_{key}" in legacy:
                message = f"`{key}` = {_shown(row[key])} is not a timestamp; set to {used}"
                repairs.append(RowNote(index, line, message))
                notes.append(message)
        values["created_at"], values["updated_at"] = created, updated
        renamed = None
        if why is not None:
            if raw_id is not None and "legacy_id" not in legacy:
                legacy["legacy_id"] = raw_id
            renamed = RowNote(index, line, f"{why}; now {new_id}")
            notes.append(f"{why}; given the id {new_id} by the migration")
        if status and values["status"] != status:
            legacy["legacy_status"] = status
            if status == Status.SPAWNING:
                message = "status 'spawning' (a creation that cannot still run) set to pending"
            else:
                message = f"status {_shown(status)} is not a status any more; set to pending"
            repairs.append(RowNote(index, line, message))
            notes.append(message)
        values.update(legacy)
        for key, value in row.items():
            if key in _V0_COLUMNS or value == "":
                continue  # handled above; "" was SQL NULL
            if key in Construct.model_fields:
                # A key of today's format that version 0 never had (a hand edit):
                # kept, but not given today's meaning.
                key = f"legacy_{key}"
            elif _reserved(key):
                # Named like a key the migration adds: prefixed, so the two
                # never mix (and it stays apart from a real legacy_* value).
                key = f"v0_{key}"
                while key in values or key in row:
                    key = f"v0_{key}"
            values[key] = value
        if notes:
            values["migration_notes"] = notes
        return values, renamed, repairs


def _plan_0_to_1(
    state_dir: Path, text: str, now: str
) -> tuple[MigrationReport, list[dict[str, Any]]]:
    """Read every row; returns the report so far and the records' values."""
    src = state_dir / V0_FILE
    data = parse(text, src)
    rows = data.get("constructs", [])
    if not isinstance(rows, list):
        raise BrokenRecordError(str(src), None, "`constructs` must be an array of tables")
    report = MigrationReport(from_version=0, source=src)
    converter = _Converter(now)
    out: list[dict[str, Any]] = []
    for index, (row, line) in enumerate(zip(rows, _row_lines(text, len(rows)), strict=True), 1):
        if not isinstance(row, dict):
            report.skipped.append(RowNote(index, line, f"not a table: {_shown(row)}"))
            continue
        values, renamed, repairs = converter.convert(row, index, line)
        try:
            Construct.model_validate(values)
        except ValidationError as exc:  # not expected: every column was made valid
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            report.skipped.append(RowNote(index, line, f"`{where}`: {err.get('msg')}"))
            continue
        if renamed:
            report.renamed.append(renamed)
        report.repaired += repairs
        report.records.append(values["id"])
        out.append(values)
    report.other_tables = sorted(k for k in data if k != "constructs")
    return report, out


def _free_name(state_dir: Path, name: str) -> Path:
    """``name`` in ``state_dir``, or ``name.1``, ``name.2``... if taken (never overwrite)."""
    path = state_dir / name
    n = 0
    while os.path.lexists(path):
        n += 1
        path = state_dir / f"{name}.{n}"
    return path


def _finish_0_to_1(state_dir: Path, report: MigrationReport) -> None:
    """After the records went live: retire the old file, write the marker."""
    src = state_dir / V0_FILE
    backup = report.backup or _free_name(state_dir, V0_BACKUP)
    if os.path.lexists(backup):  # taken since the report was written: never overwrite
        backup = _free_name(state_dir, V0_BACKUP)
    try:
        # Renamed, so detection no longer sees version 0; kept, so nothing is lost.
        os.replace(src, backup)
        fsync_dir(state_dir)
    except OSError as exc:
        raise access_error(src, exc, "rename", changed=True) from None
    report.backup = backup
    write_marker(state_dir, 1)
    with contextlib.suppress(OSError):  # only a hidden marker of our own work
        os.unlink(state_dir / Construct.folder / _STAMP)


def _migrate_0_to_1(state_dir: Path) -> MigrationReport:
    """Split ``constructs.toml`` into one file per construct, all rows or none.

    The records are written to a hidden staging folder, which is then renamed
    to ``constructs/`` in one step; a failure before that removes the staging
    folder and leaves the old file alone. Rows are never dropped: a duplicate
    id gets a new id, an unusable value is repaired with the original kept
    beside it, and a row that cannot become a record is reported and stays in
    the original file, which is kept as a backup.
    """
    src = state_dir / V0_FILE
    text = read_text(src, MAX_V0_BYTES)
    folder = state_dir / Construct.folder
    staging = state_dir / _STAGING
    import hashlib  # only a migration needs it; every command imports this module

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    now = format_timestamp(datetime.now(UTC))
    stamp = _read_stamp(folder)
    if stamp is not None and stamp[0] == digest:
        # A previous run was killed after the switch: its records are complete.
        report, _ = _plan_0_to_1(state_dir, text, now)
        report.report_path = state_dir / stamp[1] if len(stamp) > 1 else None
        report.backup = state_dir / stamp[2] if len(stamp) > 2 else None
        _finish_0_to_1(state_dir, report)
        return report
    report, planned = _plan_0_to_1(state_dir, text, now)
    try:
        if os.path.islink(staging):
            os.unlink(staging)
        elif os.path.lexists(staging):
            import shutil  # only a migration needs it (see hashlib)

            shutil.rmtree(staging)  # left by a run killed before the switch: ours alone
    except OSError as exc:
        raise access_error(staging, exc, "remove") from None
    if os.path.lexists(folder):
        # Not made by this migration (no matching stamp): never merged into or
        # overwritten, moved aside whole and reported.
        aside = _free_name(state_dir, V0_ASIDE)
        try:
            os.rename(folder, aside)
        except OSError as exc:
            raise access_error(folder, exc, "move aside") from None
        report.moved_aside = aside
    # Both named before anything is written, so the report can name them; a
    # report or backup left by an earlier migration is never overwritten.
    report.report_path = report_path = _free_name(state_dir, V0_REPORT)
    report.backup = _free_name(state_dir, V0_BACKUP)
    stamp_text = f"{digest}\n{report_path.name}\n{report.backup.name}\n"
    try:
        ensure_dir(staging)
        for values in planned:
            out = render_new(values, ("Migrated from format version 0.",))
            atomic_write(staging / f"{values['id']}.toml", out.encode("utf-8"))
        atomic_write(staging / _STAMP, stamp_text.encode("utf-8"))
        atomic_write(report_path, report.text().encode("utf-8"))
        try:
            os.rename(staging, folder)  # the switch: every record appears at once
        except OSError as exc:
            raise access_error(folder, exc, "create") from None
    except BaseException:
        import shutil  # only a migration needs it (see hashlib)

        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(report_path)
        if report.moved_aside is not None:
            with contextlib.suppress(OSError):
                os.rename(report.moved_aside, folder)
        raise
    try:
        fsync_dir(state_dir)
    except OSError as exc:
        raise access_error(folder, exc, "flush the folder of", changed=True) from None
    _finish_0_to_1(state_dir, report)
    return report


def _read_stamp(folder: Path) -> list[str] | None:
    """The stamp's lines (digest, report name, backup name), or None without one."""
    try:
        return read_regular(folder / _STAMP, 4096).decode("utf-8").splitlines() or None
    except (OSError, UnsafeFileError, UnicodeDecodeError):
        return None


# -- version 1 -> 2 ---------------------------------------------------------------


def _migrate_1_to_2(state_dir: Path) -> MigrationReport:
    """Turn each legacy ``spawn_pid`` into the journal it stands for, then mark version 2.

    A ``spawning`` record with ``spawn_pid`` and no journal was being created
    by a Synthetic from before journals: it gets the ``create`` journal owned
    by that pid (:meth:`Journal.legacy_create`), which recovery undoes once
    that process is gone; with a value no process can have, a stopped one
    (nobody works on it: recovery undoes it at once). Elsewhere ``spawn_pid``
    meant nothing and goes.
    Each record is rewritten in place (comments and order kept); a broken
    file is left for a person. Running it again changes nothing more.
    """
    folder = state_dir / Construct.folder
    report = MigrationReport(1, folder)
    names = sorted(os.listdir(folder)) if folder.is_dir() else []
    for name in names:
        path = folder / name
        if not name.endswith(".toml") or name.startswith(".") or not path.is_file():
            continue
        try:
            text = read_text(path)
            data = parse(text, path)
        except (BrokenRecordError, OSError, UnicodeDecodeError):
            continue  # reported as broken when read; never rewritten here
        if "spawn_pid" not in data:
            continue
        pid = data.get("spawn_pid")
        values: dict[str, Any] = {}
        if data.get("status") == Status.SPAWNING.value and "journal" not in data:
            if type(pid) is int and 1 < pid < 2**31:
                journal = Journal.legacy_create(pid, LEGACY_CREATE_STEPS)
            else:
                # No process can have that id: nobody works on the creation any
                # more, so its journal is stopped (recovery rolls it back).
                journal = Journal.begin("create").stop()
                journal = replace(journal, started=LEGACY_CREATE_STEPS)
            values["journal"] = journal.to_toml()
        atomic_write(path, render_update(text, values, ["spawn_pid"]).encode("utf-8"))
        report.records.append(name.removesuffix(".toml"))
    write_marker(state_dir, 2)
    return report


#: ``MIGRATIONS[n]`` upgrades version ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Callable[[Path], MigrationReport]] = {
    0: _migrate_0_to_1,
    1: _migrate_1_to_2,
}


def migrate(state_dir: Path, from_version: int) -> list[MigrationReport]:
    """Run every step from ``from_version`` to the current version; one report per step.

    The caller holds the state lock.
    """
    reports = []
    version = from_version
    while version < CURRENT_VERSION:
        reports.append(MIGRATIONS[version](state_dir))
        version += 1
    return reports
