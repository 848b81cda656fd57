"""The journal of an operation in progress on a construct.

While an operation changes a construct (creating it, giving it a worktree,
removing it, starting or stopping its services, rebuilding its prompt
bundle, committing in its worktree, landing its branch), its record carries a
``journal`` table: which operation, which process runs it (an
:class:`~state_format.owner.Owner`), the steps begun and the steps finished,
the process groups of child processes it started, and what recovery needs
to know (``restore``: record fields to put back; ``facts``: anything else,
such as the target branch's tip before a landing). Each step is written to
the journal *before* it starts, so that after a crash recovery knows exactly
what may have been done: the steps begun are undone (a creation) or the
remaining steps are carried out (a removal); a landing or a commit is
finished or undone by what the repository shows. The journal is removed
when the operation completes.

```toml
journal = { op = "create", owner = { pid = 4242, start = 998877, host = "3d12...",
            boot = "f7dd...", pidns = "pid:[4026531836]" },
            started = ["worktree", "include-files"], done = ["worktree"], groups = [4250],
            restore = {}, facts = {} }
```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from state_format.owner import Owner, host_id, pid_namespace

#: Operations a journal can record (state format 2 added those after
#: ``remove-worktree``). See :data:`FORWARD_OPERATIONS` for which are carried
#: on after a crash; ``land`` and ``commit`` are finished or undone by what
#: the repository shows; the rest are undone.
OPERATIONS = (
    "create", "add-worktree", "remove", "remove-worktree",
    "services-start", "services-stop", "services-restart", "services-resume",
    "prompts-build", "commit", "land", "resolve", "pick", "check",
)

#: The steps a creation by an older Synthetic (before journals) may have made:
#: its branch and worktree, then the include files copied into it.
LEGACY_CREATE_STEPS = ("worktree", "include-files")

#: Operations that recovery completes rather than undoes.
FORWARD_OPERATIONS = frozenset({
    "remove", "remove-worktree", "services-stop", "prompts-build", "pick",
})


@dataclass(frozen=True)
class Journal:
    """An operation in progress: what, by whom, and how far it got."""

    op: str
    owner: Owner
    started: tuple[str, ...] = ()
    done: tuple[str, ...] = ()
    groups: tuple[int, ...] = field(default=())
    #: Record fields to put back when the operation is undone ("" = unset).
    restore: dict[str, str] = field(default_factory=dict)
    #: What recovery needs to know that is not a record field (the target
    #: branch's tip before a landing, the index before a commit ...).
    facts: dict[str, str] = field(default_factory=dict)
    #: The operation failed and stopped: nobody works on it any more, so
    #: recovery may take it over even while its owner still runs (a
    #: long-running language server whose removal step failed).
    stopped: bool = False

    @classmethod
    def begin(
        cls,
        op: str,
        restore: dict[str, str | None] | None = None,
        facts: dict[str, str] | None = None,
    ) -> Journal:
        """A journal for ``op`` run by this process, no step begun yet."""
        if op not in OPERATIONS:
            raise ValueError(f"unknown operation {op!r}")
        kept = {k: v or "" for k, v in (restore or {}).items()}
        return cls(op=op, owner=Owner.current(), restore=kept, facts=dict(facts or {}))

    @classmethod
    def legacy_create(cls, pid: int, started: Iterable[str] = ()) -> Journal:
        """The journal an older Synthetic's creation stands for.

        Before journals, a creation wrote ``status = "spawning"`` and its pid as
        ``spawn_pid``, and nothing about its steps. Such a record is read as a
        ``create`` journal whose owner is known by pid only: assumed to be on
        this host and in this PID namespace (where the older tool ran), no start
        time and no boot id, so it is judged alive exactly while that pid runs.
        ``started`` names the steps it may have begun: all the steps an older
        creation had (the caller knows them; recovery undoes each if present).
        """
        owner = Owner(pid, None, host_id(), "", pid_namespace())
        return cls(op="create", owner=owner, started=tuple(started))

    def taken_over(self) -> Journal:
        """This journal, owned by this process from now on (resuming a dead one's work)."""
        return replace(self, owner=Owner.current(), groups=(), stopped=False)

    def stop(self) -> Journal:
        """This journal, marked as stopped after a failure (see :attr:`stopped`)."""
        return replace(self, stopped=True)

    @property
    def rolls_forward(self) -> bool:
        """True when recovery finishes this operation instead of undoing it."""
        return self.op in FORWARD_OPERATIONS

    def start(self, step: str) -> Journal:
        """This journal with ``step`` begun."""
        return replace(self, started=(*self.started, step))

    def finish(self, step: str) -> Journal:
        """This journal with ``step`` finished."""
        return replace(self, done=(*self.done, step))

    def with_group(self, pgid: int) -> Journal:
        """This journal with a child process group to end before recovery."""
        return replace(self, groups=(*self.groups, pgid))

    def with_facts(self, **facts: str) -> Journal:
        """This journal knowing more (a commit made, a tip moved)."""
        return replace(self, facts={**self.facts, **facts})

    def step(self, name: str) -> Journal:
        """This journal with the step begun last finished and ``name`` begun."""
        journal = self
        if self.started and self.started[-1] not in self.done:
            journal = journal.finish(self.started[-1])
        return journal.start(name)

    def to_toml(self) -> dict[str, Any]:
        """The inline-table form stored in the record."""
        return {
            "op": self.op,
            "owner": self.owner.to_toml(),
            "started": list(self.started),
            "done": list(self.done),
            "groups": list(self.groups),
            "restore": dict(self.restore),
            **({"facts": dict(self.facts)} if self.facts else {}),
            **({"stopped": True} if self.stopped else {}),
        }

    @classmethod
    def from_toml(cls, value: Any) -> Journal:
        """Read the table back; ValueError naming the bad part."""
        if not isinstance(value, dict):
            raise ValueError("journal must be a table")
        op = value.get("op")
        if op not in OPERATIONS:
            raise ValueError(f"journal.op must be one of {', '.join(OPERATIONS)}")
        owner = Owner.from_toml(value.get("owner"))
        lists: list[tuple[Any, ...]] = []
        for key, kind in (("started", str), ("done", str), ("groups", int)):
            items = value.get(key, [])
            if not isinstance(items, list) or not all(
                isinstance(i, kind) and not isinstance(i, bool) for i in items
            ):
                raise ValueError(f"journal.{key} must be a list of {kind.__name__}s")
            lists.append(tuple(items))
        if any(not 1 < g < 2**31 for g in lists[2]):
            raise ValueError("journal.groups must hold process group ids")
        restore = value.get("restore", {})
        if not isinstance(restore, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in restore.items()
        ):
            raise ValueError("journal.restore must be a table of strings")
        facts = value.get("facts", {})
        if not isinstance(facts, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in facts.items()
        ):
            raise ValueError("journal.facts must be a table of strings")
        stopped = value.get("stopped", False)
        if not isinstance(stopped, bool):
            raise ValueError("journal.stopped must be true or false")
        return cls(op, owner, lists[0], lists[1], lists[2], dict(restore), dict(facts), stopped)
