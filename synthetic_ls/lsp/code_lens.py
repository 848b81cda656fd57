"""Code lens above each template: "New construct", with how many live constructs use it.

The count comes from ``ops.listing.list_constructs`` (reading only, without
inspecting worktrees). The lens's command, ``synthetic.newConstruct`` with
``{"root", "template_id"}``, is the client's to implement: it asks for a name,
then calls ``synthetic.construct.create``. The server asks the client to
refresh its lenses when construct records change on disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

from lsprotocol import types

from state_format.statuses import Status
from synthetic_ls.lsp.navigation import symbols
from synthetic_ls.lsp.server import SyntheticServer

log = logging.getLogger(__name__)

#: The client-side command a lens runs (see the module docstring).
NEW_CONSTRUCT_COMMAND = "synthetic.newConstruct"

#: Statuses of constructs that are over; the others count as live.
FINISHED = frozenset({Status.COMPLETED, Status.ARCHIVED, Status.DELETING})


def live_counts(root: Path) -> Counter[str] | None:
    """Live constructs per template id in the repository at ``root`` (None if unreadable)."""
    from state_format.errors import StateError
    from state_format.store import Store
    from synthetic_ls.errors import SyntheticError
    from synthetic_ls.ops.listing import list_constructs

    try:
        # Local counts only: a lens must not wait on other machines.
        listing = list_constructs(Store.open(root), inspect=False, remote=False)
    except (SyntheticError, StateError, OSError) as exc:
        log.info("no construct counts for %s: %s", root, exc)
        return None
    return Counter(
        v.construct.template_id for v in listing.views if v.construct.status not in FINISHED
    )


def lens_title(count: int | None) -> str:
    """``New construct`` and the count, as shown above a template."""
    if count is None:
        return "New construct"
    return f"New construct ({count} live)"


def register(server: SyntheticServer) -> None:
    """Register textDocument/codeLens (computed on a worker thread, answered on the loop)."""

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(
        ls: SyntheticServer, params: types.CodeLensParams
    ) -> list[types.CodeLens] | None:
        # A coroutine rather than a threaded handler: pygls would answer a
        # threaded one from the worker thread.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(ls.thread_pool, lenses, ls, params.text_document.uri)


def lenses(ls: SyntheticServer, uri: str) -> list[types.CodeLens] | None:
    """The code lenses of the config at ``uri``: one per template, with its live count."""
    analysis = ls.analyze(uri)
    if analysis is None:
        return None
    templates = symbols(analysis)
    if not templates:
        return []
    counts = live_counts(analysis.root) if analysis.root is not None else None
    root = str(analysis.root) if analysis.root is not None else None
    return [
        types.CodeLens(
            range=symbol.selection_range,
            command=types.Command(
                title=lens_title(counts.get(symbol.name, 0) if counts is not None else None),
                command=NEW_CONSTRUCT_COMMAND,
                arguments=[{"root": root, "template_id": symbol.name}],
            ),
        )
        for symbol in templates
    ]
