"""Precomputed "plans" of the schema types, so that validation does no type introspection.

The validator is driven by the pydantic models (their annotations, metadata
and markers). Working that out from ``typing`` objects (``get_origin``,
``get_args``, scanning ``Annotated`` metadata for markers) costs far more
than checking a value, and a config has thousands of values of a few dozen
types. So each type is analysed once into a :class:`TypePlan` and each model
into a :class:`ModelPlan`; both are cached for the life of the process (the
schema never changes while it runs).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from synthetic_ls.config.markers import (
    BranchPrefix,
    DefaultFrom,
    Discriminator,
    OrString,
    PortNumber,
    RecordOrArray,
    RegexPattern,
    RepoPath,
    RequiredCode,
)
from synthetic_ls.config.schema import EnvRef
from synthetic_ls.config.values import Arr, Bool, EnvRefValue, Num, Obj, Str, Value

# What a plan checks, in the order ``Validator.convert`` tries them.
UNION = "union"
LITERAL = "literal"
STRING = "string"
NUMBER = "number"
BOOLEAN = "boolean"
ENV_REF = "env-ref"
LIST = "list"
DICT = "dict"
MODEL = "model"


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers; return the bare type and its flattened metadata."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        meta.extend(args[1:])
    flat: list[Any] = []
    for item in meta:
        if isinstance(item, FieldInfo):
            flat.extend(item.metadata)
        else:
            flat.append(item)
    return tp, flat


def find(meta: list[Any] | tuple[Any, ...], kind: type) -> Any:
    """The first metadata item of class ``kind``, or None."""
    return next((m for m in meta if isinstance(m, kind)), None)


def is_model(tp: Any) -> bool:
    """True for a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def is_union(tp: Any) -> bool:
    """True for ``X | Y`` and ``Union[X, Y]``."""
    return get_origin(tp) in (Union, types.UnionType)


@dataclass(slots=True)
class TypePlan:
    """Everything the validator needs to know about one schema type."""

    # The type as written (possibly Annotated); error messages describe it.
    source: Any
    # The bare type and its flattened ``Annotated`` metadata.
    tp: Any
    meta: tuple[Any, ...]
    kind: str
    # Markers for alternative written shapes, checked before ``kind``.
    or_string: OrString | None = None
    collection: RecordOrArray | None = None
    # LIST / DICT items, RecordOrArray items.
    item: TypePlan | None = None
    # LITERAL: the allowed strings.
    choices: tuple[str, ...] = ()
    # STRING checks.
    repo_path: RepoPath | None = None
    regex: bool = False
    branch_prefix: bool = False
    # NUMBER checks.
    integer: bool = False
    low: Any = None
    high: Any = None
    port: bool = False
    # UNION: the non-None members (``X | None`` is planned as X, see ``_build_plan``).
    members: list[TypePlan] = field(default_factory=list)
    discriminator: Discriminator | None = None
    # Discriminated unions: tag -> model class, and the plan of the tag's Literal.
    by_tag: dict[str, type[BaseModel]] = field(default_factory=dict)
    tag_plan: TypePlan | None = None
    # Which located value classes a union member accepts (see ``accepts``).
    accepts: tuple[type[Value], ...] = ()


# id(type) -> plan. Types are long-lived typing objects; the plan keeps its
# ``source`` alive, so an id is never reused for another type.
_PLANS: dict[int, TypePlan] = {}


def type_plan(tp: Any) -> TypePlan:
    """The (cached) plan of a schema type."""
    plan = _PLANS.get(id(tp))
    if plan is None or plan.source is not tp:
        plan = _build_plan(tp)
        _PLANS[id(tp)] = plan
    return plan


def _build_plan(source: Any) -> TypePlan:
    tp, meta = unwrap(source)
    optional = _optional_member(tp)
    if optional is not None:
        # ``X | None`` checks exactly like X with the field's metadata (null and
        # undefined are handled before any plan is looked at), so share X's plan
        # rather than going through a one-member union on every value.
        single = type_plan(Annotated[optional, *meta] if meta else optional)
        return replace(single, source=source)
    origin = get_origin(tp)
    plan = TypePlan(source=source, tp=tp, meta=tuple(meta), kind=_kind(tp, origin))
    plan.or_string = find(meta, OrString)
    plan.collection = find(meta, RecordOrArray)
    plan.accepts = _accepted_values(tp, origin)
    if plan.collection is not None or origin in (list, dict):
        plan.item = type_plan(get_args(tp)[-1])
    if plan.kind == LITERAL:
        plan.choices = tuple(str(c) for c in get_args(tp))
    elif plan.kind == STRING:
        plan.repo_path = find(meta, RepoPath)
        plan.regex = find(meta, RegexPattern) is not None
        plan.branch_prefix = find(meta, BranchPrefix) is not None
    elif plan.kind == NUMBER:
        plan.integer = tp is int
        plan.low = next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), None)
        plan.high = next((m.le for m in meta if isinstance(m, annotated_types.Le)), None)
        plan.port = find(meta, PortNumber) is not None
    elif plan.kind == UNION:
        _plan_union(plan)
    return plan


def _kind(tp: Any, origin: Any) -> str:
    if is_union(tp):
        return UNION
    if origin is Literal:
        return LITERAL
    if tp is str:
        return STRING
    if tp is int or tp is float:
        return NUMBER
    if tp is bool:
        return BOOLEAN
    if tp is EnvRef:
        return ENV_REF
    if origin is list:
        return LIST
    if origin is dict:
        return DICT
    if is_model(tp):
        return MODEL
    raise TypeError(f"schema type not supported by the validator: {tp!r}")  # pragma: no cover


def _accepted_values(tp: Any, origin: Any) -> tuple[type[Value], ...]:
    """The located value classes this type can take, when it is a member of a plain union."""
    if tp is str or origin is Literal:
        return (Str,)
    if tp in (int, float):
        return (Num,)
    if tp is bool:
        return (Bool,)
    if origin is list:
        return (Arr,)
    if origin is dict or is_model(tp):
        return (Obj,)
    if tp is EnvRef:
        return (EnvRefValue,)
    return ()


def _optional_member(tp: Any) -> Any:
    """X when ``tp`` is ``X | None`` (a union with one member besides None), else None."""
    if not is_union(tp):
        return None
    members = [a for a in get_args(tp) if a is not type(None)]
    return members[0] if len(members) == 1 else None


def _plan_union(plan: TypePlan) -> None:
    members = [a for a in get_args(plan.tp) if a is not type(None)]
    plan.members = [type_plan(m) for m in members]
    plan.discriminator = find(plan.meta, Discriminator)
    if plan.discriminator is not None:
        for member in plan.members:
            tag_type = member.tp.model_fields[plan.discriminator.field].annotation
            plan.by_tag[get_args(tag_type)[0]] = member.tp
        plan.tag_plan = type_plan(Literal[tuple(plan.by_tag)])


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One model field: its Python name and the plan of its type."""

    alias: str
    name: str
    plan: TypePlan
    required: bool
    default_from: DefaultFrom | None
    required_code: RequiredCode | None


@dataclass(frozen=True, slots=True)
class ModelPlan:
    """A model's fields by alias (as written in the file), and the ones needing a fill-in step."""

    fields: dict[str, FieldPlan]
    # Fields that are required or default to another field, in declaration
    # order: the only ones the validator looks at after reading the object.
    fill_in: tuple[FieldPlan, ...]


@cache
def model_plan(cls: type[BaseModel]) -> ModelPlan:
    """The (cached) plan of a model class."""
    fields: dict[str, FieldPlan] = {}
    for name, info in cls.model_fields.items():
        tp = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        alias = info.alias or name
        fields[alias] = FieldPlan(
            alias=alias,
            name=name,
            plan=type_plan(tp),
            required=info.is_required(),
            default_from=find(info.metadata, DefaultFrom),
            required_code=find(info.metadata, RequiredCode),
        )
    fill_in = tuple(f for f in fields.values() if f.required or f.default_from is not None)
    return ModelPlan(fields=fields, fill_in=fill_in)
