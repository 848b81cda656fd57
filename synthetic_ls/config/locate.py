"""From a position in a config to what is there: its key path and its schema field.

What an editor needs for hover, completion and code actions. A checked
config (:class:`~synthetic_ls.config.loader.ConfigResult`) keeps its evaluated
value tree with byte spans; :func:`locate` walks that tree alongside the
schema (the same plans the validator uses, :mod:`synthetic_ls.config.plans`)
and returns a :class:`Location`::

    result = check_config_text(text, path, repo_root)
    where = locate(result, line, character)        # 0-based, UTF-16 column
    where.path    # ("templates", "web-api", "services", "api", "readyPattern")
    where.kind    # "key", "value", "object" (between keys) or "array"
    where.field   # FieldDoc: description, type, enum values, required
    where.fields  # every field of the object around the cursor

A position inside a top-level ``const`` that is spread or referenced is
mapped through the place where it is used (its first use), so a key of
``const nodeService = {...}`` spread into a service is a service field.

:func:`schema_field` answers the same for a key path without a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from synthetic_ls.config.diagnostics import Range
from synthetic_ls.config.markers import RepoPath
from synthetic_ls.config.plans import (
    DICT,
    LIST,
    LITERAL,
    MODEL,
    UNION,
    FieldPlan,
    TypePlan,
    model_plan,
    type_plan,
)
from synthetic_ls.config.schema import SyntheticConfig
from synthetic_ls.config.source import Span
from synthetic_ls.config.values import Arr, Entry, Obj, Str, Value

if TYPE_CHECKING:
    from pydantic import BaseModel

    from synthetic_ls.config.loader import ConfigResult

#: A key path: object keys (str) and array indexes (int), from the top of the config.
KeyPath = tuple[str | int, ...]

LocationKind = Literal["key", "value", "object", "array"]


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One schema field, as an editor shows it."""

    #: The key as written in the file (camelCase).
    name: str
    description: str
    #: The type as people say it: "a string", "an array", '"process" or "docker"'.
    type: str
    #: The allowed values of an enumeration (empty for other types).
    enum: tuple[str, ...] = ()
    required: bool = False
    #: The model the field belongs to ("Template", "ProcessService" ...).
    owner: str = ""
    #: For a path relative to the repository (a prompt, ``cwd``, an include
    #: pattern), or a list of them: what kind of path; None for other fields.
    repo_path: RepoPath | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """What is at a position of a config file."""

    #: The key path of the key or value under the cursor; for ``object`` and
    #: ``array``, of the object or array the cursor is in (between members).
    path: KeyPath
    kind: LocationKind
    #: The byte span of the key or value (of the container for object/array).
    span: Span
    range: Range
    #: The value at ``path`` (the entry's value for a key).
    value: Value | None
    #: The schema field named by the last key of ``path`` (for an item of an
    #: array, the array's field); None for an unknown key or a record key
    #: (a template or service id).
    field: FieldDoc | None
    #: Every field of the object the cursor is in (or whose key it is on),
    #: for completion; empty outside a schema object.
    fields: tuple[FieldDoc, ...] = ()
    #: The keys already written in that object.
    present: tuple[str, ...] = ()
    #: "template" or "service" when the last key of ``path`` is a record key
    #: (an id) of that collection, or the cursor is between such keys.
    collection: str | None = None


def locate(result: ConfigResult, line: int, character: int) -> Location | None:
    """What is at the LSP position (0-based line, UTF-16 column); None outside the config."""
    source, root = result.source, result.value
    if source is None or root is None:
        return None
    offset = source.offset(line, character)
    finder = _Finder(offset, prune=_contains(root.span, offset))
    finder.visit(root, type_plan(SyntheticConfig), (), None)
    found = finder.best
    if found is None:
        return None
    return Location(
        path=found.path,
        kind=found.kind,
        span=found.span,
        range=source.range(found.span),
        value=found.value,
        field=found.field,
        fields=found.fields,
        present=found.present,
        collection=found.collection,
    )


def schema_field(path: KeyPath, root: Value | None = None) -> FieldDoc | None:
    """The schema field a key path names (None when it names none).

    Record keys and array indexes are stepped over; a service's kind comes
    from its ``type`` in ``root`` (the evaluated config) when given, else it
    is a process service.
    """
    plan: TypePlan | None = type_plan(SyntheticConfig)
    value: Value | None = root
    doc: FieldDoc | None = None
    for step in path:
        if plan is None:
            return None
        resolved = _resolve(plan, value)
        if resolved is None:
            return None
        model, item, tags = resolved
        child = _child(value, step)
        if model is not None:
            if not isinstance(step, str):
                return None
            found = model_plan(model).fields.get(step)
            if found is None:
                return None
            doc = _doc(model, found, tags)
            plan = found.plan
        elif item is not None:
            doc = None
            plan = item
        else:
            return None
        value = child
    return doc


# -- the walk -------------------------------------------------------------------


@dataclass(slots=True)
class _Hit:
    path: KeyPath
    kind: LocationKind
    span: Span
    value: Value | None
    field: FieldDoc | None
    fields: tuple[FieldDoc, ...] = ()
    present: tuple[str, ...] = ()
    collection: str | None = None


@dataclass(slots=True)
class _Finder:
    """Finds the smallest key or value around ``offset``, walking values and schema together."""

    offset: int
    #: True when the offset is inside the default export: only the values
    #: around it are visited. Otherwise it may be in a ``const`` used
    #: anywhere, and the whole tree is searched.
    prune: bool
    best: _Hit | None = None
    _seen: set[int] = field(default_factory=set)

    def _offer(self, hit: _Hit) -> None:
        best = self.best
        if best is None or hit.span.end - hit.span.start < best.span.end - best.span.start:
            self.best = hit

    def visit(
        self, value: Value, plan: TypePlan | None, path: KeyPath, doc: FieldDoc | None
    ) -> None:
        inside = _contains(value.span, self.offset)
        if self.prune and not inside:
            return
        if not self.prune:
            # A const used in many places is searched through its first use only.
            ident = id(value)
            if isinstance(value, Obj | Arr) and ident in self._seen:
                return
            self._seen.add(ident)
        resolved = _resolve(plan, value) if plan is not None else None
        model, item, tags = resolved if resolved is not None else (None, None, {})
        collection = plan.collection.what if plan is not None and plan.collection else None
        if isinstance(value, Obj):
            fields = _docs(model, tags) if model is not None else ()
            present = tuple(value.entries)
            if inside:
                self._offer(
                    _Hit(path, "object", value.span, value, doc, fields, present, collection)
                )
            for key, entry in value.entries.items():
                self._entry(entry, key, path, model, item, tags, fields, present, collection)
        elif isinstance(value, Arr):
            if inside:
                self._offer(_Hit(path, "array", value.span, value, doc))
            for index, member in enumerate(value.items):
                self.visit(member, item, (*path, index), doc)
        elif inside:
            self._offer(_Hit(path, "value", value.span, value, doc))

    def _entry(
        self,
        entry: Entry,
        key: str,
        path: KeyPath,
        model: type[BaseModel] | None,
        item: TypePlan | None,
        tags: dict[str, type[BaseModel]],
        fields: tuple[FieldDoc, ...],
        present: tuple[str, ...],
        collection: str | None,
    ) -> None:
        child_path = (*path, key)
        if model is not None:
            found = model_plan(model).fields.get(key)
            doc = _doc(model, found, tags) if found is not None else None
            child_plan = found.plan if found is not None else None
        else:
            doc, child_plan = None, item
        if _contains(entry.key_span, self.offset):
            self._offer(
                _Hit(
                    child_path, "key", entry.key_span, entry.value, doc, fields, present, collection
                )
            )
        self.visit(entry.value, child_plan, child_path, doc)


def _contains(span: Span, offset: int) -> bool:
    # The end counts: a cursor right after a key or a value is on it.
    return span.start <= offset <= span.end


def _resolve(
    plan: TypePlan | None, value: Value | None
) -> tuple[type[BaseModel] | None, TypePlan | None, dict[str, type[BaseModel]]] | None:
    """For a value of type ``plan``: (its model, or the plan of its items, discriminator tags)."""
    if plan is None:
        return None
    if plan.or_string is not None and isinstance(value, Str):
        return None  # the string form of a shape: a scalar here
    if plan.collection is not None or plan.kind in (LIST, DICT):
        return None, plan.item, {}
    if plan.kind == MODEL:
        return plan.tp, None, {}
    if plan.kind == UNION:
        if plan.discriminator is not None:
            disc = plan.discriminator
            tag = value.get(disc.field) if isinstance(value, Obj) else None
            chosen = tag.value if isinstance(tag, Str) and tag.value in plan.by_tag else None
            return plan.by_tag[chosen or disc.default], None, plan.by_tag
        for member in plan.members:
            if value is not None and type(value) in member.accepts:
                return _resolve(member, value)
        return None
    return None


def _child(value: Value | None, step: str | int) -> Value | None:
    if isinstance(value, Obj) and isinstance(step, str):
        return value.get(step)
    if isinstance(value, Arr) and isinstance(step, int) and 0 <= step < len(value.items):
        return value.items[step]
    return None


def _doc(model: type[BaseModel], found: FieldPlan, tags: dict[str, type[BaseModel]]) -> FieldDoc:
    from synthetic_ls.config.validate import describe_type

    info = model.model_fields[found.name]
    plan = found.plan
    if found.alias == "type" and tags:
        enum: tuple[str, ...] = tuple(tags)
        kind = " or ".join(f'"{tag}"' for tag in tags)
    else:
        enum = plan.choices if plan.kind == LITERAL else ()
        kind = describe_type(plan.source)
    if plan.collection is not None:
        kind = f"an object keyed by {plan.collection.what} id, or an array"
    return FieldDoc(
        name=found.alias,
        description=info.description or "",
        type=kind,
        enum=enum,
        required=found.required,
        owner=model.__name__,
        repo_path=_repo_path(plan),
    )


def _repo_path(plan: TypePlan) -> RepoPath | None:
    """The path marker of a field, of its items, or of the string form of its items."""
    if plan.repo_path is not None:
        return plan.repo_path
    item = plan.item
    if item is None:
        return None
    if item.repo_path is not None:
        return item.repo_path
    if item.or_string is not None and item.kind == MODEL:
        # `promptSources`: "docs/*.md" or {path, order}.
        path = model_plan(item.tp).fields.get("path")
        if path is not None:
            return path.plan.repo_path
    return None


def _docs(model: type[BaseModel], tags: dict[str, type[BaseModel]]) -> tuple[FieldDoc, ...]:
    return tuple(_doc(model, f, tags) for f in model_plan(model).fields.values())
