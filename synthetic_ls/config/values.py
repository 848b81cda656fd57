"""Located values: the data of a config file, each piece knowing where it came from.

The evaluator turns the syntax tree into these; the validator checks them
against the schema. Every value carries the byte :class:`Span` of the source
text it was read from so that each diagnostic points at the exact place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synthetic_ls.config.source import Span, excerpt


@dataclass(slots=True)
class Value:
    """Base of all located values."""

    span: Span

    def describe(self) -> str:
        """What kind of value this is, for messages ("a string", "an array")."""
        return "a value"


@dataclass(slots=True)
class Str(Value):
    """A string literal (or a template string without substitutions)."""

    value: str

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "a string"


@dataclass(slots=True)
class Num(Value):
    """A number literal, possibly with a unary minus."""

    value: int | float

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "a number"


@dataclass(slots=True)
class Bool(Value):
    """``true`` or ``false``."""

    value: bool

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "a boolean"


@dataclass(slots=True)
class Null(Value):
    """``null``: treated as "not set" by the validator."""

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "null"


@dataclass(slots=True)
class Undefined(Value):
    """``undefined``: the key is treated as absent, as in TypeScript."""

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "undefined"


@dataclass(slots=True)
class EnvRefValue(Value):
    """``process.env.NAME`` or ``process.env.NAME ?? "default"``, kept unresolved."""

    name: str
    default: str | None = None

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return f"process.env.{excerpt(self.name)}"


@dataclass(slots=True)
class Entry:
    """One property of an object literal."""

    key: str
    key_span: Span
    value: Value
    # True when the entry came from a spread (``...base``): overriding it with
    # a literal key is deliberate, not a duplicate.
    from_spread: bool = False


@dataclass(slots=True)
class Obj(Value):
    """An object literal; entries keep source order (later duplicates win, as in JS)."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "an object"

    @property
    def open_span(self) -> Span:
        """The span of the opening ``{``; where object-level problems are shown."""
        return Span(self.span.start, min(self.span.start + 1, self.span.end))

    def get(self, key: str) -> Value | None:
        """The value of ``key``, or None when absent."""
        entry = self.entries.get(key)
        return entry.value if entry is not None else None


@dataclass(slots=True)
class Arr(Value):
    """An array literal."""

    items: list[Value] = field(default_factory=list)

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return "an array"


@dataclass(slots=True)
class Broken(Value):
    """Something that could not be read as data; a diagnostic was already given."""

    what: str = "an unsupported expression"

    def describe(self) -> str:
        """See :meth:`Value.describe`."""
        return self.what
