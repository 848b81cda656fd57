"""What a resource step sees: the construct it works on, and the repository around it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from state_format.journal import Journal
from state_format.records import Construct
from state_format.store import Store

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig, Template
    from synthetic_ls.git.repo import GitRepo
    from synthetic_ls.git.worktree_admin import WorktreeEntry
    from synthetic_ls.opencode.server import ServerInfo


@dataclass
class Job:
    """One operation on one construct, shared by the steps of every resource.

    ``construct`` is the record as last written; :meth:`update` writes fields
    (under the state lock) and refreshes it. ``outputs`` collects what each
    resource reports to the user (files copied, ports allocated ...), keyed by
    the resource name.
    """

    store: Store
    construct: Construct
    config: SyntheticConfig | None = None
    template: Template | None = None
    #: Start point of a new branch (None: HEAD of the checkout the command runs in).
    from_ref: str | None = None
    #: Exact branch name requested (None: the prefix plus the id).
    branch: str | None = None
    #: The user accepts losing uncommitted or unmerged work on release.
    force: bool = False
    #: The construct gets (or has) a worktree; False for a record-only construct.
    worktree: bool = True
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Asked between steps of a creation: True stops it, and the steps begun
    #: are undone (an editor's cancel button). None: never cancelled.
    cancelled: Callable[[], bool] | None = None
    #: The repository, opened on first use (a record-only construct never needs it).
    repo: GitRepo | None = None
    #: Give the construct an agent session: None follows the template (it has
    #: an ``agent``), True or False overrides it.
    agent: bool | None = None
    #: On removal, keep the agent session in OpenCode instead of deleting it.
    keep_session: bool = False
    #: The OpenCode server, found (or started) on first use.
    server: ServerInfo | None = None
    #: Told before each step of a creation: (step number from 1, steps in all, title).
    progress: Callable[[int, int, str], None] | None = None
    #: A failed creation keeps the record, in status ``error`` with what failed,
    #: instead of deleting it (what its steps made is undone either way).
    keep_failed: bool = False
    #: Work a resource began ahead of its step (:meth:`Resource.warm`), by resource name.
    ahead: dict[str, Future[Any]] = field(default_factory=dict)

    def begin_ahead(self, name: str, work: Callable[[], Any]) -> None:
        """Run ``work`` in the background for resource ``name``, once per job.

        Its result (or error) waits in :attr:`ahead`. A daemon thread, not a
        pool: a creation that fails before the step never waits for it, nor
        does the interpreter's exit.
        """
        if name in self.ahead:
            return
        future: Future[Any] = Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work())
                except BaseException as exc:  # handed to the step that waits for it
                    future.set_exception(exc)

        self.ahead[name] = future
        threading.Thread(target=run, name=f"synthetic-ahead-{name}", daemon=True).start()

    def opencode(self) -> ServerInfo:
        """The repository's OpenCode server: the named one, the running one, or a new one."""
        if self.server is None:
            from synthetic_ls.opencode.server import ensure_server

            self.server = ensure_server(self.store, self.config)
        return self.server

    @property
    def git(self) -> GitRepo:
        """The repository (pygit2), opened on first use."""
        if self.repo is None:
            from synthetic_ls.git.repo import GitRepo

            self.repo = GitRepo.discover(self.store.repo.worktree)
        return self.repo

    @property
    def journal(self) -> Journal | None:
        """The journal of the operation in progress, if any."""
        return self.construct.effective_journal()

    def update(self, **fields: Any) -> Construct:
        """Write ``fields`` to the record (None removes a key) and refresh :attr:`construct`."""
        self.construct = self.store.update(Construct, self.construct.id, lambda _c: fields)
        return self.construct

    def record_group(self, pgid: int) -> None:
        """Journal a child process group, so recovery can end it before undoing its work."""
        journal = self.store.get_construct(self.construct.id).journal
        if journal is not None:
            self.update(journal=journal.with_group(pgid))


@dataclass
class Survey:
    """What the doctor looks at once, shared by every resource's ``check``."""

    store: Store
    git: GitRepo
    constructs: list[Construct]
    config: SyntheticConfig | None
    worktrees: list[WorktreeEntry]

    def construct_for_path(self, path: str) -> Construct | None:
        """The construct whose recorded worktree is ``path``, if any."""
        for c in self.constructs:
            if c.workspace_path == path:
                return c
        return None
