"""The light construct listing both faces use (``ls``, and the editor's views).

Constructs come from :mod:`state_format.listing` (through the parse cache).
Interrupted creations are rolled back first; only then, and only for
constructs with a worktree, are the heavier modules imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from state_format.records import Construct
from state_format.statuses import Status
from state_format.store import Store

if TYPE_CHECKING:
    from state_format.errors import BrokenRecordError
    from state_format.paths import RepoPaths


@dataclass
class RowList:
    """Rows that matched (oldest first), every broken file, and what was recovered."""

    repo: RepoPaths
    rows: list[Construct]
    broken: list[BrokenRecordError]
    total: int  # readable constructs before filtering
    recovered: list[str] = field(default_factory=list)

    def file_of(self, row: Construct) -> str:
        """Path of the record file behind ``row``."""
        return str(self.repo.state_dir / "constructs" / f"{row.id}.toml")

    def files(self) -> list[str]:
        """:meth:`file_of` every row, in order (one Path operation, not one per row)."""
        folder = os.path.join(self.repo.state_dir, "constructs")
        return [os.path.join(folder, f"{row.id}.toml") for row in self.rows]


def list_rows(
    *,
    status: Status | None = None,
    template_id: str | None = None,
    start: Path | str | None = None,
) -> RowList:
    """Every readable construct matching the filters, plus broken files."""
    store = Store.open(start)
    repo = store.repo
    listing = store.list_constructs()
    recovered: list[str] = []
    if any(r.status == Status.SPAWNING and r.spawn_pid is not None for r in listing.records):
        from synthetic_ls.ops.worktrees import recover_interrupted

        recovered = recover_interrupted(
            store, [r for r in listing.records if r.status == Status.SPAWNING]
        )
        if recovered:
            listing = store.list_constructs()
    rows = listing.records
    if status is not None or template_id is not None:
        rows = [
            r
            for r in rows
            if (status is None or r.status == status)
            and (template_id is None or r.template_id == template_id)
        ]
    return RowList(repo, rows, listing.broken, len(listing.records), recovered)


def worktree_states(
    repo: RepoPaths, rows: list[Construct], *, with_size: bool = False
) -> dict[str, dict[str, Any]]:
    """Worktree state per construct id, for rows that have a worktree (else ``{}``)."""
    with_tree = [r for r in rows if r.workspace_path]
    if not with_tree:
        return {}  # no pygit2 import for a listing without worktrees
    from synthetic_ls.ops.worktree_state import worktree_infos

    return worktree_infos(repo.worktree, with_tree, with_size=with_size)
