"""What a lifecycle step receives: one construct under one operation.

:class:`Work` is the construct as last written, its template, and the
operation's :class:`~synthetic_ls.provision.context.Context`; an undo or a
recovery gets just that. A creation (:class:`Creation`) adds its own
settings, the typed results of the steps done so far and the work begun
ahead of its step; a removal (:class:`Release`) adds its own settings.
Options of one operation never reach the steps of another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from state_format.journal import Journal
from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.provision.context import Context

if TYPE_CHECKING:
    from synthetic_ls.config import SyntheticConfig, Template
    from synthetic_ls.git.repo import GitRepo
    from synthetic_ls.git.worktree_admin import WorktreeEntry
    from synthetic_ls.opencode.server import ServerInfo
    from synthetic_ls.provision.lifecycle import Resource
    from synthetic_ls.runtime.runner import Runner

R = TypeVar("R")


@dataclass
class InContext:
    """Something that works within one operation's :class:`Context`."""

    ctx: Context

    @property
    def store(self) -> StateStore:
        """The repository's state."""
        return self.ctx.store

    @property
    def config(self) -> SyntheticConfig | None:
        """The config, read once per operation (None when missing or with errors)."""
        return self.ctx.config

    @property
    def git(self) -> GitRepo:
        """The repository (pygit2), opened on first use."""
        return self.ctx.git


@dataclass
class Work(InContext):
    """One construct under one operation: what every lifecycle step receives.

    ``construct`` is the record as last written; :meth:`update` writes
    fields (under the state lock) and refreshes it. ``template`` is the
    construct's template (None when the config no longer has it).
    """

    construct: Construct
    template: Template | None

    @property
    def journal(self) -> Journal | None:
        """The journal of the operation in progress, if any."""
        return self.construct.journal

    def cancelled(self) -> bool:
        """Whether the person asked the operation to stop."""
        return self.ctx.is_cancelled()

    def update(self, **fields: Any) -> Construct:
        """Write ``fields`` to the record (None removes a key) and refresh :attr:`construct`."""
        self.construct = self.store.update(Construct, self.construct.id, lambda _c: fields)
        return self.construct

    @property
    def runner(self) -> Runner:
        """Where this construct's commands run: its sandbox when isolated, else the context's.

        A ``bubblewrap`` construct's run through ``bwrap``
        (:class:`~synthetic_ls.sandbox.runner.SandboxRunner`), a ``container``
        one's each in a container of its image
        (:class:`~synthetic_ls.sandbox.container.ContainerRunner`).
        """
        if self.construct.isolation == "bubblewrap" and self.construct.workspace_path:
            from synthetic_ls.sandbox.agent_server import plan_of
            from synthetic_ls.sandbox.runner import SandboxRunner

            return SandboxRunner(plan_of(self.store, self.ctx.root, self.construct))
        if self.construct.isolation == "container" and self.construct.workspace_path:
            from synthetic_ls.sandbox.agent_server import plan_of
            from synthetic_ls.sandbox.container import ContainerRunner, image_of

            return ContainerRunner(plan_of(self.store, self.ctx.root, self.construct),
                                   image_of(self.construct, self.ctx.root))
        return self.ctx.runner

    @property
    def opencode(self) -> ServerInfo:
        """The OpenCode server of this construct's agent (it may start one).

        An isolated construct has its own, in its sandbox
        (:mod:`synthetic_ls.sandbox.agent_server`); the others share the
        repository's (:attr:`Context.opencode`).
        """
        if self.construct.isolation and self.construct.workspace_path:
            from synthetic_ls.opencode.server import START_TIMEOUT
            from synthetic_ls.sandbox.agent_server import ensure

            with self.ctx.waiting("the sandboxed OpenCode server to start", START_TIMEOUT):
                return ensure(self.store, self.ctx.root, self.construct)
        return self.ctx.opencode

    def record_group(self, pgid: int) -> None:
        """Journal a child process group, so recovery can end it before undoing its work."""
        journal = self.store.get_construct(self.construct.id).journal
        if journal is not None:
            self.update(journal=journal.with_group(pgid))


@dataclass(frozen=True)
class CreateSettings:
    """What a creation (or ``worktree add``) was asked for, beyond the record itself."""

    #: Start point of a new branch (None: HEAD of the checkout the command runs in).
    from_ref: str | None = None
    #: Exact branch name requested (None: the prefix plus the id).
    branch: str | None = None
    #: The construct gets a worktree; False for a record-only construct.
    worktree: bool = True
    #: An agent session: None follows the template (it has an ``agent``).
    agent: bool | None = None
    #: A failed creation keeps the record, in status ``error`` with what failed,
    #: instead of deleting it (what its steps made is undone either way).
    keep_failed: bool = False


class Results:
    """What each step of a creation made, under its resource's name, typed by the resource.

    ``results.of(PORTS)`` is what the ports resource returned (its own result
    type), or None when it did not run.
    """

    def __init__(self) -> None:
        self._made: dict[str, object] = {}

    def put(self, resource: Resource[R], value: R) -> None:
        """Keep what ``resource`` made."""
        self._made[resource.name] = value

    def of(self, resource: Resource[R]) -> R | None:
        """What ``resource`` made in this creation, or None when it did not run."""
        return cast("R | None", self._made.get(resource.name))


class Ahead:
    """Work a resource began ahead of its step (:meth:`Resource.warm`), by resource name."""

    def __init__(self) -> None:
        self._futures: dict[str, Future[Any]] = {}

    def begin(self, name: str, work: Callable[[], Any]) -> None:
        """Run ``work`` in the background for resource ``name``, once per creation.

        Its result (or error) waits for :meth:`take`. A daemon thread, not a
        pool: a creation that fails before the step never waits for it, nor
        does the interpreter's exit.
        """
        if name in self._futures:
            return
        future: Future[Any] = Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work())
                except BaseException as exc:  # handed to the step that waits for it
                    future.set_exception(exc)

        self._futures[name] = future
        threading.Thread(target=run, name=f"synthetic-ahead-{name}", daemon=True).start()

    def take(self, name: str) -> Future[Any] | None:
        """The future begun for ``name`` (removed from here), or None."""
        return self._futures.pop(name, None)


@dataclass
class Creation(Work):
    """A construct being made (``new``), or given a worktree (``worktree add``)."""

    settings: CreateSettings = field(default_factory=CreateSettings)
    results: Results = field(default_factory=Results)
    ahead: Ahead = field(default_factory=Ahead)

    @property
    def wants_agent(self) -> bool:
        """Whether the construct gets a session: asked for, or its template has an agent."""
        if not self.settings.worktree:
            return False
        if self.settings.agent is not None:
            return self.settings.agent
        return self.template is not None and self.template.agent is not None


@dataclass(frozen=True)
class ReleaseSettings:
    """What a removal (``rm``, ``worktree rm``, a landing's clean-up) was asked for."""

    #: Lose uncommitted or unmerged work rather than refuse.
    force: bool = False
    #: Keep the agent session in OpenCode instead of deleting it.
    keep_session: bool = False
    #: The construct's work landed as one squash commit from this branch tip:
    #: a branch still at this tip holds nothing else, so it is deleted too.
    landed_tip: str | None = None

    def to_facts(self) -> dict[str, str]:
        """These settings as a removal journal's ``facts``, so recovery finishes it as asked."""
        facts = {"force": str(self.force).lower(), "keep_session": str(self.keep_session).lower()}
        if self.landed_tip:
            facts["landed_tip"] = self.landed_tip
        return facts

    @classmethod
    def from_facts(cls, facts: dict[str, str]) -> ReleaseSettings:
        """The settings a removal journal recorded (none recorded: nothing forced)."""
        return cls(
            force=facts.get("force") == "true",
            keep_session=facts.get("keep_session") == "true",
            landed_tip=facts.get("landed_tip") or None,
        )


@dataclass
class Release(Work):
    """A construct (or its worktree) being removed."""

    settings: ReleaseSettings = field(default_factory=ReleaseSettings)


@dataclass
class Survey(InContext):
    """What the doctor looks at once, shared by every resource's ``check``."""

    constructs: list[Construct]
    worktrees: list[WorktreeEntry]

    def construct_for_path(self, path: str) -> Construct | None:
        """The construct whose recorded worktree is ``path``, if any."""
        for c in self.constructs:
            if c.workspace_path == path:
                return c
        return None
