"""The lifecycle every per-construct resource implements (see the package docstring).

A :class:`Resource` is one kind of thing a construct owns: its worktree and
branch, the include files copied into it, later its ports, services, prompt
bundle and agent session. The flow (:mod:`synthetic_ls.provision.flow`) calls
each step on an ordered list of resources and knows none of them by name.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from synthetic_ls.provision.work import Creation, Release, Survey, Work

#: What a resource's step reports it made (each resource has its own type).
R = TypeVar("R")


@dataclass(frozen=True)
class Made(Generic[R]):
    """What :meth:`Resource.provision` made: its typed ``result``, and record ``fields``.

    ``result`` is collected under the resource's name for the operation
    (``work.results.of(resource)``); ``fields`` are written to the construct's
    record with the next journal entry.
    """

    result: R
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanItem:
    """What a resource would do for a construct: a summary line and its details."""

    resource: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    #: More lines for a person (a face prints them under the summary; JSON has ``details``).
    lines: tuple[str, ...] = ()
    #: What would make the step fail (a missing variable): a dry run shows it,
    #: a creation raises it before anything is written.
    error: Exception | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"resource", "summary", "details"}``."""
        return {"resource": self.resource, "summary": self.summary, "details": self.details}


class SubjectJson(TypedDict):
    """What a finding is about: ``type`` (construct, group, worktree, branch, file, config,
    process) and ``ref`` (its id or path)."""

    type: str
    ref: str


class FindingJson(TypedDict):
    """One thing the doctor found (README, "doctor"): ``id`` applies its fix on its own
    (``synthetic.doctor.fix``); ``fixable`` says a safe fix exists."""

    id: str
    kind: str
    subject: SubjectJson
    message: str
    advice: str | None
    fixable: bool
    fixed: bool
    fix_notes: list[str]


@dataclass(frozen=True)
class Subject:
    """What a finding is about: a construct, group, worktree, branch, file, config or process."""

    type: str
    ref: str

    def to_dict(self) -> SubjectJson:
        """JSON form: ``{"type", "ref"}``."""
        return {"type": self.type, "ref": self.ref}


@dataclass
class Finding:
    """One thing the doctor found: what, about what, and a safe fix if one exists.

    ``fix`` repairs only this finding and returns notes on what it did; it is
    None when no fix is safe (the ``advice`` then says what to do by hand).
    """

    kind: str
    subject: Subject
    message: str
    advice: str = ""
    fix: Callable[[], list[str]] | None = None
    fixed: bool = False
    fix_notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """A stable handle for this finding, to apply its fix on its own."""
        return f"{self.kind}:{self.subject.type}:{self.subject.ref}"

    @property
    def fixable(self) -> bool:
        """True when a safe fix exists and has not been applied yet."""
        return self.fix is not None and not self.fixed

    def apply(self) -> None:
        """Run the fix and mark the finding fixed."""
        if self.fix is None:
            raise ValueError(f"finding {self.id} has no safe fix")
        self.fix_notes = list(self.fix())
        self.fixed = True

    def to_dict(self) -> FindingJson:
        """JSON form (documented in README.md, "doctor")."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject.to_dict(),
            "message": self.message,
            "advice": self.advice or None,
            "fixable": self.fix is not None,
            "fixed": self.fixed,
            "fix_notes": self.fix_notes,
        }


class Resource(abc.ABC, Generic[R]):
    """One kind of thing a construct owns, with its lifecycle steps (and their checks).

    Creation's steps receive a :class:`~synthetic_ls.provision.work.Creation`
    (the construct, its template, the creation's settings and what earlier
    steps made), removal's a :class:`~synthetic_ls.provision.work.Release`,
    undo and recovery a plain :class:`~synthetic_ls.provision.work.Work`.
    The flow writes the step to the construct's journal before it runs, so
    ``undo`` and ``recover`` must cope with a step that stopped anywhere in
    the middle: they look at what exists, not at what should. ``R`` is the
    type of what :meth:`provision` reports it made.
    """

    #: Stable step name written to journals (never rename: old journals use it).
    name: ClassVar[str]
    #: What the step is called in messages ("creating the worktree").
    title: ClassVar[str]
    #: Part of a construct's worktree: provisioned by ``worktree add`` too.
    with_worktree: ClassVar[bool] = False

    def wanted(self, work: Creation) -> bool:
        """Whether this construct gets this resource at all (default: yes)."""
        return True

    @abc.abstractmethod
    def plan(self, work: Creation) -> PlanItem:
        """What :meth:`provision` would do; no side effect (``--dry-run``, previews)."""

    def preflight(self, work: Creation) -> None:
        """Refuse (raise) before anything is created when :meth:`provision` cannot work.

        Runs before the record is written and outside the state lock, so it
        may take time (reach a server); it makes nothing a rollback would undo.
        """
        return None

    def prepare(self, work: Creation) -> dict[str, Any]:
        """Record fields to write, with the journal entry, before provisioning.

        Names chosen here (a folder, a branch) are on disk before anything is
        made, so recovery after a crash knows what to look for.
        """
        return {}

    def warm(self, work: Creation) -> None:
        """Begin slow work :meth:`provision` will need, in the background, as soon as it can.

        The flow calls it after each step before this one, so the resource
        sees what they made (a worktree) and begins once it has what it
        needs (:meth:`~synthetic_ls.provision.work.Ahead.begin`). The work
        must make nothing an undo would have to remove: a read, a server
        loading a folder.
        """
        return None

    @abc.abstractmethod
    def provision(self, work: Creation) -> Made[R]:
        """Make the resource; what it made, and record fields to write once it is made."""

    @abc.abstractmethod
    def undo(self, work: Work) -> list[str]:
        """Remove what :meth:`provision` made, even half-made; notes on what was removed."""

    def preflight_release(self, work: Release) -> None:
        """Refuse (raise) before anything changes when :meth:`release` would lose work.

        ``work.settings.force`` lets the user accept that loss.
        """
        return None

    @abc.abstractmethod
    def release(self, work: Release) -> list[str]:
        """Remove the resource when the construct (or its worktree) goes; notes."""

    def check(self, survey: Survey) -> list[Finding]:
        """Findings about this resource across all constructs, each with its own fix."""
        return []
