"""Check located values against the schema and build the typed model.

The walk is driven by the pydantic models themselves (field aliases, types,
defaults, constraints and the markers of :mod:`synthetic_ls.config.markers`),
so the schema has a single source. Every problem is reported at the exact
span of the offending key or value; a bad field is dropped (its default is
used) and an object missing a required field is dropped from its parent,
so one mistake never hides the rest of the file. What each schema type
requires is worked out once (:mod:`synthetic_ls.config.plans`), so the walk
itself only looks at values.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.markers import OrString, RepoPath, SpecError
from synthetic_ls.config.plans import (
    BOOLEAN,
    DICT,
    ENV_REF,
    LIST,
    LITERAL,
    MODEL,
    NUMBER,
    STRING,
    UNION,
    ModelPlan,
    TypePlan,
    is_model,
    is_union,
    model_plan,
    type_plan,
    unwrap,
)
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.schema import (
    Agent,
    ComposeService,
    Defaults,
    DockerService,
    EnvRef,
    OpenCode,
    PortRequest,
    ProcessService,
    PromptSource,
    SyntheticConfig,
    Template,
    TemplatePort,
    Worktrees,
)
from synthetic_ls.config.source import Span, excerpt
from synthetic_ls.config.values import (
    Arr,
    Bool,
    Broken,
    EnvRefValue,
    Null,
    Num,
    Obj,
    Str,
    Undefined,
    Value,
)
from synthetic_ls.ready_pattern import pattern_error as ready_pattern_error
from synthetic_ls.repo_files import (
    WalkBudget,
    escapes_repo,
    matches_any,
    names_git_dir,
    split_anchor,
)


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# The value was null/undefined/absent: the field keeps its default.
ABSENT: Any = _Sentinel("ABSENT")
# The value was wrong and a diagnostic was given: drop it.
INVALID: Any = _Sentinel("INVALID")

_MODEL_NAMES: dict[type[BaseModel], str] = {
    SyntheticConfig: "the config",
    Template: "a template",
    ProcessService: "a process service",
    DockerService: "a docker service",
    ComposeService: "a compose service",
    PortRequest: "a port request",
    TemplatePort: "a template port",
    Agent: "`agent`",
    OpenCode: "`opencode`",
    PromptSource: "a prompt source",
    Defaults: "`defaults`",
    Worktrees: "`worktrees`",
}

_BAD_REF_CHARS = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]")


def describe_type(tp: Any) -> str:
    """A type as people say it, for messages: "a string", "an array", "an object"."""
    tp, _ = unwrap(tp)
    if tp is str:
        return "a string"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "a boolean"
    if tp is EnvRef:
        return "process.env.NAME"
    origin = get_origin(tp)
    if origin is list:
        return "an array"
    if origin is dict or is_model(tp):
        return "an object"
    if origin is Literal:
        return " or ".join(f'"{v}"' for v in get_args(tp))
    if is_union(tp):
        names = [describe_type(a) for a in get_args(tp) if a is not type(None)]
        return " or ".join(dict.fromkeys(names))
    return str(tp)


def did_you_mean(key: str, candidates: list[str]) -> str | None:
    """The candidate ``key`` was probably meant to be, if any is close enough."""
    folded = {c.lower().replace("_", "").replace("-", ""): c for c in candidates}
    exact = folded.get(key.lower().replace("_", "").replace("-", ""))
    if exact is not None:
        return exact
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def js_regex_to_python(pattern: str) -> str:
    """Approximate a JavaScript regex in Python syntax (named groups, back-references)."""
    pattern = re.sub(r"\(\?<([A-Za-z_$][\w$]*)>", r"(?P<\1>", pattern)
    return re.sub(r"\\k<([A-Za-z_$][\w$]*)>", r"(?P=\1)", pattern)


# Python's regex parser recurses once per group: 5,000 nested groups in a
# readyPattern raised RecursionError. No real pattern nests past a handful.
MAX_REGEX_NESTING = 64


@lru_cache(maxsize=256)
def regex_error(pattern: str) -> re.error | None:
    """Why the JavaScript regex ``pattern`` does not compile, or None when it does.

    Cached: a config repeats the same few ``readyPattern`` values many times.
    """
    if _group_nesting(pattern) > MAX_REGEX_NESTING:
        return re.error(f"groups nested more than {MAX_REGEX_NESTING} deep")
    try:
        re.compile(js_regex_to_python(pattern))
    except re.error as exc:
        return exc
    except OverflowError as exc:  # a repeat count past the C limit: a{4294967296}
        return re.error(str(exc))
    # Valid, but services match it with RE2 (linear time), which refuses a few things.
    refused = ready_pattern_error(pattern)
    return None if refused is None else re.error(f"{refused} (readyPattern is matched by RE2)")


def _group_nesting(pattern: str) -> int:
    """How deep the groups of a regex nest (escapes and character classes skipped)."""
    deepest = depth = 0
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def branch_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot start a git branch name, or None when it can."""
    if not prefix:
        return None
    if prefix.startswith(("/", "-")):
        return "must not start with `/` or `-`"
    if ".." in prefix:
        return "must not contain `..`"
    bad = _BAD_REF_CHARS.search(prefix)
    if bad is not None:
        char = bad.group()
        shown = "a space" if char == " " else ("a control character" if char < " " else f"`{char}`")
        return f"must not contain {shown} (no spaces or any of ~^:?*[\\)"
    if "@{" in prefix:
        return "must not contain `@{`"
    if "//" in prefix:
        return "must not contain `//`"
    if any(part.startswith(".") or part.endswith(".lock") for part in prefix.split("/")[:-1]):
        return "no folder part may start with `.` or end with `.lock`"
    if prefix.startswith("."):
        return "must not start with `.`"
    return None


class Validator:
    """Walks located values along the schema; builds models and reports problems."""

    def __init__(self, reporter: Reporter, repo_root: Path | None) -> None:
        self.rep = reporter
        self.repo_root = repo_root
        # id(model) -> (model, the located value it was built from); the model
        # is kept to pin its id for the lifetime of the validator.
        self._located: dict[int, tuple[BaseModel, Value]] = {}
        # Whether a path or glob matches a file, per (text, anywhere): a spread
        # const can repeat one pattern thousands of times. The budget bounds
        # the walks of all the others together.
        self._matched: dict[tuple[str, bool], bool] = {}
        self._walk_budget = WalkBudget()

    # ------------------------------------------------------------ public helpers
    def located(self, model: BaseModel) -> Value | None:
        """The located value a model was built from (None if built elsewhere)."""
        hit = self._located.get(id(model))
        return hit[1] if hit is not None and hit[0] is model else None

    def field_span(self, model: BaseModel, alias: str) -> Span | None:
        """The span of a field's value in the file (the whole value for string forms)."""
        value = self.located(model)
        if isinstance(value, Obj):
            entry = value.entries.get(alias)
            return entry.value.span if entry is not None else None
        return value.span if value is not None else None

    def key_span(self, model: BaseModel, alias: str) -> Span | None:
        """The span of a field's key in the file, if it was written as a key."""
        value = self.located(model)
        if isinstance(value, Obj):
            entry = value.entries.get(alias)
            return entry.key_span if entry is not None else None
        return None

    # ---------------------------------------------------------------- the root
    def config(self, value: Value | None) -> SyntheticConfig | None:
        """Validate the default-exported value and build the config model."""
        if value is None or isinstance(value, Broken):
            return None
        if not isinstance(value, Obj):
            self.rep.error(
                Code.WRONG_TYPE,
                value.span,
                f"The default export must be an object literal, found {value.describe()}.",
            )
            return None
        result = self._model(value, SyntheticConfig, value.open_span, {})
        return result if isinstance(result, SyntheticConfig) else None

    # ---------------------------------------------------------------- dispatch
    def convert(
        self, value: Value, tp: Any, label: str, anchor: Span, preset: dict[str, Any] | None = None
    ) -> Any:
        """Check ``value`` against type ``tp``; return the Python value, ABSENT or INVALID."""
        return self._convert(value, type_plan(tp), label, anchor, preset)

    def _convert(
        self,
        value: Value,
        plan: TypePlan,
        label: str,
        anchor: Span,
        preset: dict[str, Any] | None = None,
    ) -> Any:
        # The hot path of validation: everything known about the type comes
        # precomputed in ``plan``; only the value is inspected here.
        value_class = type(value)
        if value_class is Broken:
            return INVALID
        if value_class is Null or value_class is Undefined:
            return ABSENT
        or_string = plan.or_string
        if or_string is not None and (
            value_class is Str or (or_string.numbers and value_class is Num)
        ):
            return self._from_string(value, plan.tp, or_string, label, anchor)
        if plan.collection is not None:
            return self._collection(value, plan, label)
        kind = plan.kind
        if kind == UNION:
            return self._union(value, plan, label, anchor, preset)
        if value_class is EnvRefValue and kind != ENV_REF:
            self.rep.error(
                Code.WRONG_TYPE,
                value.span,
                f"`{label}` must be {describe_type(plan.tp)}; environment references "
                "(process.env.X) are only allowed in `env` values and `opencode.token`.",
            )
            return INVALID
        if kind == STRING:
            return self._string(value, plan, label)
        if kind == MODEL:
            if not isinstance(value, Obj):
                return self._wrong(value, plan.tp, label)
            return self._model(value, plan.tp, anchor, preset or {})
        if kind == LITERAL:
            return self._literal(value, plan, label)
        if kind == NUMBER:
            return self._number(value, plan, label)
        if kind == LIST:
            return self._list(value, plan, label)
        if kind == DICT:
            return self._dict(value, plan, label)
        if kind == BOOLEAN:
            if isinstance(value, Bool):
                return value.value
            return self._wrong(value, plan.tp, label)
        # ENV_REF
        if isinstance(value, EnvRefValue):
            return EnvRef(name=value.name, default=value.default)
        return self._wrong(value, plan.tp, label)

    def _wrong(self, value: Value, tp: Any, label: str) -> Any:
        self.rep.error(
            Code.WRONG_TYPE,
            value.span,
            f"`{label}` must be {describe_type(tp)}, found {value.describe()}.",
            expected=describe_type(tp),
        )
        return INVALID

    def _list(self, value: Value, plan: TypePlan, label: str) -> Any:
        if not isinstance(value, Arr):
            return self._wrong(value, plan.tp, label)
        item_plan = plan.item
        assert item_plan is not None
        items = []
        for index, item in enumerate(value.items):
            anchor = item.open_span if isinstance(item, Obj) else item.span
            converted = self._convert(item, item_plan, f"{label}[{index}]", anchor)
            if converted is not ABSENT and converted is not INVALID:
                items.append(converted)
        return items

    def _dict(self, value: Value, plan: TypePlan, label: str) -> Any:
        if not isinstance(value, Obj):
            return self._wrong(value, plan.tp, label)
        item_plan = plan.item
        assert item_plan is not None
        out = {}
        for key, entry in value.entries.items():
            converted = self._convert(entry.value, item_plan, excerpt(key), entry.key_span)
            if converted is not ABSENT and converted is not INVALID:
                out[key] = converted
        return out

    # ----------------------------------------------------------------- scalars
    def _literal(self, value: Value, plan: TypePlan, label: str) -> Any:
        choices = plan.choices
        if not isinstance(value, Str):
            return self._wrong(value, plan.tp, label)
        if value.value in choices:
            return value.value
        suggestion = did_you_mean(value.value, list(choices))
        hint = f' Did you mean "{suggestion}"?' if suggestion else ""
        self.rep.error(
            Code.BAD_ENUM,
            value.span,
            f"`{label}` must be one of {', '.join(chr(34) + c + chr(34) for c in choices)}; "
            f'found "{excerpt(value.value)}".{hint}',
            allowed=list(choices),
            **({"suggestion": suggestion} if suggestion else {}),
        )
        return INVALID

    def _string(self, value: Value, plan: TypePlan, label: str) -> Any:
        if not isinstance(value, Str):
            return self._wrong(value, str, label)
        text = value.value
        repo_path = plan.repo_path
        if repo_path is not None and not self._check_path(value, repo_path, label):
            return INVALID
        if plan.regex and not self._check_regex(value, label):
            return INVALID
        if plan.branch_prefix:
            problem = branch_prefix_problem(text)
            if problem is not None:
                self.rep.error(
                    Code.BAD_BRANCH_PREFIX,
                    value.span,
                    f'Branch prefix "{excerpt(text)}" {problem}.',
                )
                return INVALID
        return text

    def _check_path(self, value: Str, marker: RepoPath, label: str) -> bool:
        text = value.value
        # A .gitignore-style pattern's leading `/` anchors it at the root.
        if escapes_repo(split_anchor(text)[0] if marker.anywhere else text):
            self.rep.error(
                Code.PATH_ESCAPES_REPO,
                value.span,
                f'`{label}` "{excerpt(text)}" points outside the repository; use a path relative '
                "to the repository root that stays inside it.",
            )
            return False
        if marker.prompt and self.repo_root is not None and names_git_dir(self.repo_root, text):
            self.rep.error(
                Code.PROMPT_READS_GIT_DIR,
                value.span,
                f'`{label}` "{excerpt(text)}" is in the git directory, which holds credentials '
                "and Synthetic's state; a prompt may not read it.",
            )
            return False
        if (
            marker.must_match
            and self.repo_root is not None
            and text
            and not self._matches(text, marker.anywhere)
        ):
            kind = "file matches" if marker.glob else "file exists at"
            self.rep.warning(
                Code.NO_MATCH,
                value.span,
                f'No {kind} "{excerpt(text)}" in the repository (relative to {self.repo_root}).',
            )
        elif marker.prompt and self.repo_root is not None and text:
            self._check_prompt_variables(value)
        return True

    def _check_prompt_variables(self, value: Str) -> None:
        """A warning at the entry for each ``${...}`` its files use that no construct can fill,
        and a word on each environment variable they read (a warning unless allowed)."""
        from synthetic_ls.prompts.allowed_env import ALLOW_ENV, allowed_names
        from synthetic_ls.prompts.lint import environment_in_files, unknown_in_files

        assert self.repo_root is not None
        allowed = allowed_names()
        for file, line, column, name in environment_in_files(self.repo_root, value.value):
            where = f"{excerpt(file)}:{line}:{column}"
            if name in allowed:
                self.rep.add(
                    "information", Code.PROMPT_READS_ENV, value.span,
                    f"{where} reads environment variable {excerpt(name)} (you allowed it).",
                    variable=name, file=file,
                )
            else:
                self.rep.warning(
                    Code.PROMPT_READS_ENV, value.span,
                    f"{where} reads environment variable {excerpt(name)}, which you have not "
                    f"allowed prompts to read: creation refuses it until you do, outside the "
                    f"repository ({ALLOW_ENV}={excerpt(name)}, or [prompts] env in your "
                    "synthetic/settings.toml).",
                    variable=name, file=file,
                )
        for file, line, column, name in unknown_in_files(self.repo_root, value.value):
            self.rep.warning(
                Code.UNKNOWN_PROMPT_VARIABLE,
                value.span,
                f"{excerpt(file)}:{line}:{column} uses ${{{excerpt(name)}}}, which is not a "
                "prompt variable (constructId, constructName, workspacePath, branch, "
                "services.NAME.port, services.NAME.url, ports.NAME, env.NAME).",
            )

    def matches(self, text: str) -> bool:
        """Whether the repository path or glob ``text`` names a file (remembered, budgeted)."""
        return self.repo_root is not None and self._matches(text, False)

    def _matches(self, text: str, anywhere: bool) -> bool:
        """Whether ``text`` names or matches a file in the repository (remembered)."""
        key = (text, anywhere)
        found = self._matched.get(key)
        if found is None:
            assert self.repo_root is not None
            found = matches_any(self.repo_root, text, anywhere=anywhere, budget=self._walk_budget)
            self._matched[key] = found
        return found

    def _check_regex(self, value: Str, label: str) -> bool:
        exc = regex_error(value.value)
        if exc is not None:
            span = value.span
            raw = self.rep.source.data[span.start + 1 : span.end - 1]
            # Without escapes in the source, string offsets equal byte offsets
            # (ASCII), so the squiggle can point at the exact character.
            if exc.pos is not None and raw.isascii() and raw.decode() == value.value:
                start = span.start + 1 + exc.pos
                span = Span(start, min(start + 1, span.end - 1))
            self.rep.error(
                Code.INVALID_REGEX,
                span,
                f"`{label}` is not a valid regular expression: {excerpt(exc.msg, 80)}.",
            )
            return False
        return True

    def _number(self, value: Value, plan: TypePlan, label: str) -> Any:
        if not isinstance(value, Num):
            return self._wrong(value, plan.tp, label)
        number = value.value
        if plan.integer and not isinstance(number, int):
            self.rep.error(
                Code.WRONG_TYPE, value.span, f"`{label}` must be an integer, found {number}."
            )
            return INVALID
        low, high = plan.low, plan.high
        if (low is not None and number < low) or (high is not None and number > high):
            if plan.port:
                self.rep.error(
                    Code.PORT_OUT_OF_RANGE,
                    value.span,
                    f"Port {number} is out of range; ports are 1-65535.",
                )
            else:
                bounds = f"at least {low}" if high is None else f"between {low} and {high}"
                self.rep.error(
                    Code.INVALID_VALUE, value.span, f"`{label}` must be {bounds}, found {number}."
                )
            return INVALID
        return number

    # --------------------------------------------------------- compound shapes
    def _from_string(
        self, value: Value, tp: Any, marker: OrString, label: str, anchor: Span
    ) -> Any:
        text = (
            value.value
            if isinstance(value, Str)
            else str(value.value)
            if isinstance(value, Num)
            else ""
        )
        try:
            data = marker.parse(text)
        except SpecError as exc:
            self.rep.error(exc.code, value.span, exc.message)
            return INVALID
        if is_model(tp):
            try:
                model = tp.model_validate(data)
            except ValidationError as exc:  # pragma: no cover - parsers return valid data
                self.rep.error(Code.INVALID_VALUE, value.span, _first_error(exc))
                return INVALID
            self._located[id(model)] = (model, value)
            self._check_model_strings(model, value)
            return model
        return data

    def _check_model_strings(self, model: BaseModel, value: Value) -> None:
        # A model read from a string (a prompt source "docs/*.md") still gets
        # its path checks, pointed at the string.
        if isinstance(model, PromptSource) and isinstance(value, Str):
            self._check_path(
                value, RepoPath(glob=True, must_match=True, prompt=True), "promptSources"
            )

    def _union(
        self,
        value: Value,
        plan: TypePlan,
        label: str,
        anchor: Span,
        preset: dict[str, Any] | None,
    ) -> Any:
        if plan.discriminator is not None:
            return self._discriminated(value, plan, label, anchor, preset)
        if isinstance(value, EnvRefValue) and any(m.kind == ENV_REF for m in plan.members):
            return EnvRef(name=value.name, default=value.default)
        value_class = type(value)
        for member in plan.members:
            if value_class in member.accepts:
                return self._convert(value, member, label, anchor, preset)
        return self._wrong(value, plan.tp, label)

    def _discriminated(
        self,
        value: Value,
        plan: TypePlan,
        label: str,
        anchor: Span,
        preset: dict[str, Any] | None,
    ) -> Any:
        disc = plan.discriminator
        assert disc is not None and plan.tag_plan is not None
        if not isinstance(value, Obj):
            return self._wrong(value, plan.members[0].source, label)
        tag_value = value.get(disc.field)
        if tag_value is None or isinstance(tag_value, Null | Undefined):
            tag = disc.default
        else:
            tag = self._literal(tag_value, plan.tag_plan, disc.field)
            if tag is INVALID:
                return INVALID
        return self._model(value, plan.by_tag[tag], anchor, preset or {}, siblings=plan.by_tag)

    def _collection(self, value: Value, plan: TypePlan, label: str) -> Any:
        marker = plan.collection
        item_plan = plan.item
        assert marker is not None and item_plan is not None
        items: list[Any] = []
        if isinstance(value, Obj):
            for key, entry in value.entries.items():
                item = entry.value
                written_id = item.get(marker.id_field) if isinstance(item, Obj) else None
                if isinstance(written_id, Str) and written_id.value != key:
                    self.rep.error(
                        Code.ID_MISMATCH,
                        written_id.span,
                        f'The {marker.what} is keyed "{excerpt(key)}" but its id is '
                        f'"{excerpt(written_id.value)}"; '
                        f"make them the same or remove `{marker.id_field}` (the key is used).",
                        key=key,
                    )
                converted = self._convert(
                    item,
                    item_plan,
                    f"{label}.{excerpt(key)}",
                    entry.key_span,
                    {marker.id_field: key},
                )
                if converted is not INVALID and converted is not ABSENT:
                    items.append(converted)
        elif isinstance(value, Arr):
            seen: dict[str, Span] = {}
            for index, item in enumerate(value.items):
                anchor = item.open_span if isinstance(item, Obj) else item.span
                converted = self._convert(item, item_plan, f"{label}[{index}]", anchor)
                if converted is INVALID or converted is ABSENT:
                    continue
                item_id = getattr(converted, marker.id_field)
                id_span = self.field_span(converted, marker.id_field) or anchor
                if item_id in seen:
                    line = self.rep.source.line(seen[item_id].start) + 1
                    self.rep.error(
                        Code.DUPLICATE_ID,
                        id_span,
                        f'Duplicate {marker.what} id "{excerpt(item_id)}" (first used on line '
                        f"{line}); {marker.what} ids must be unique.",
                    )
                    continue
                seen[item_id] = id_span
                items.append(converted)
        else:
            self.rep.error(
                Code.WRONG_TYPE,
                value.span,
                f"`{label}` must be an object keyed by {marker.what} id or an array of "
                f"{marker.what}s, found {value.describe()}.",
            )
            return INVALID
        if plan.kind == DICT:
            return {getattr(item, marker.id_field): item for item in items}
        return items

    # ------------------------------------------------------------------ models
    def _model(
        self,
        value: Obj,
        cls: type[BaseModel],
        anchor: Span,
        preset: dict[str, Any],
        siblings: dict[str, type[BaseModel]] | None = None,
    ) -> Any:
        plan = model_plan(cls)
        fields = plan.fields
        data: dict[str, Any] = {}
        failed: set[str] = set()
        for key, entry in value.entries.items():
            found = fields.get(key)
            if found is None:
                self._unknown_key(key, entry.key_span, cls, siblings)
                continue
            name = found.name
            if name in preset:
                continue  # the record key decides (a mismatch was reported)
            converted = self._convert(entry.value, found.plan, key, entry.key_span)
            if converted is INVALID:
                failed.add(name)
            elif converted is not ABSENT:
                data[name] = converted
        data.update(preset)
        if not self._fill_in(plan, cls, data, failed, anchor):
            return INVALID
        try:
            model = cls.model_validate(data)
        except ValidationError as exc:  # a schema rule the walk does not mirror
            self.rep.error(Code.INVALID_VALUE, anchor, _first_error(exc))
            return INVALID
        self._located[id(model)] = (model, value)
        return model

    def _fill_in(
        self,
        plan: ModelPlan,
        cls: type[BaseModel],
        data: dict[str, Any],
        failed: set[str],
        anchor: Span,
    ) -> bool:
        """Apply ``DefaultFrom`` and report missing required fields; False if any is missing."""
        complete = True
        for field in plan.fill_in:
            name = field.name
            if name in data:
                continue
            default_from = field.default_from
            if default_from is not None and default_from.field in data:
                data[name] = data[default_from.field]
                continue
            if not field.required:
                continue
            complete = False
            if name in failed:
                continue
            required = field.required_code
            if required is not None:
                self.rep.error(required.code, anchor, required.message)
            else:
                where = _MODEL_NAMES.get(cls, cls.__name__)
                ident = data.get("id")
                if ident is not None:
                    where += f' "{excerpt(str(ident))}"'
                self.rep.error(
                    Code.MISSING_REQUIRED,
                    anchor,
                    f"Missing required `{field.alias}` in {where}.",
                    field=field.alias,
                )
        return complete

    def _unknown_key(
        self,
        key: str,
        span: Span,
        cls: type[BaseModel],
        siblings: dict[str, type[BaseModel]] | None,
    ) -> None:
        where = _MODEL_NAMES.get(cls, cls.__name__)
        for tag, other in (siblings or {}).items():
            if other is not cls and key in model_plan(other).fields:
                self.rep.error(
                    Code.UNKNOWN_KEY,
                    span,
                    f"`{excerpt(key)}` is not a field of {where}; it belongs to {tag} services "
                    f'(set `type: "{tag}"`).',
                    key=key,
                )
                return
        suggestion = did_you_mean(key, list(model_plan(cls).fields))
        hint = f" Did you mean `{suggestion}`?" if suggestion else ""
        self.rep.error(
            Code.UNKNOWN_KEY,
            span,
            f"Unknown key `{excerpt(key)}` in {where}.{hint}",
            key=key,
            **({"suggestion": suggestion} if suggestion else {}),
        )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = excerpt(".".join(str(p) for p in error.get("loc", ())))
    return f"Invalid value{' for `' + where + '`' if where else ''}: {error.get('msg', 'invalid')}."
