"""Static evaluation of a parsed config file into located values.

Only data is understood: object and array literals, strings, numbers,
booleans, ``null``/``undefined``, template strings without substitutions,
``process.env.X`` (optionally ``?? "default"``) as unresolved references,
top-level ``const`` bindings referenced by name or spread, and the wrappers
``defineSyntheticConfig(...)``, ``satisfies T``, ``as T`` / ``as const``, ``x!``
and parentheses. Anything else gets a diagnostic naming what was found and
asking for a literal; nothing in the file is ever executed, imported or
called, by any path: this module only walks the syntax tree.

The evaluation is bounded, so that a small hostile file cannot exhaust
memory or the stack: at most ``MAX_VALUES`` values in all (a `const` counts
its full size each time it is used or spread, as its JSON would) and at most
``MAX_DEPTH`` levels of nesting (counting the levels of the `const` values
used inside). The construct that crosses a limit gets a diagnostic.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.source import Span, excerpt
from synthetic_ls.config.syntax import span_of
from synthetic_ls.config.values import (
    Arr,
    Bool,
    Broken,
    Entry,
    EnvRefValue,
    Null,
    Num,
    Obj,
    Str,
    Undefined,
    Value,
)

# The one call the file may contain: the identity helper typed configs use.
DEFINE_FUNCTION = "defineSyntheticConfig"

# A config holds a few thousand values. Evaluating more than this many means
# references or spreads multiply (39 lines of `const aN = [...aN-1, ...aN-1]`
# would make 2^38): stop before memory runs out. No literal file under the
# 1 MB size limit reaches it, however it is written (about 700,000 at most).
MAX_VALUES = 1_000_000
# A config nests about ten levels. The evaluator recurses a few Python frames
# per level, so this also bounds the stack, whatever the file holds (100,000
# nested brackets gave a RecursionError).
MAX_DEPTH = 64

# Wrappers that only affect types; their first named child is the value.
_TYPE_WRAPPERS = frozenset(
    {
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
    }
)

# Statements that declare only types or are otherwise inert.
_IGNORED_STATEMENTS = frozenset(
    {
        "comment",
        "empty_statement",
        "type_alias_declaration",
        "interface_declaration",
        "ambient_declaration",
        "enum_declaration",
        "hash_bang_line",
    }
)

# Friendly names for expressions we refuse, used in messages.
_EXPRESSION_NAMES = {
    "call_expression": "a function call",
    "new_expression": "a `new` expression",
    "arrow_function": "an arrow function",
    "function_expression": "a function expression",
    "function": "a function expression",
    "generator_function": "a generator function",
    "class": "a class expression",
    "await_expression": "an `await` expression",
    "ternary_expression": "a conditional (?:) expression",
    "binary_expression": "a binary expression",
    "unary_expression": "a unary expression",
    "update_expression": "an update (++/--) expression",
    "assignment_expression": "an assignment",
    "augmented_assignment_expression": "an assignment",
    "sequence_expression": "a comma expression",
    "member_expression": "a property access",
    "subscript_expression": "an element access",
    "regex": "a regular expression literal (write the pattern as a string)",
    "this": "`this`",
    "super": "`super`",
    "yield_expression": "a `yield` expression",
    "import": "a dynamic import",
    "meta_property": "a meta property",
    "template_string": "a template string",
    "instantiation_expression": "an instantiation expression",
}

_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}
_HEX_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4}))")


def decode_escape(raw: str) -> str:
    """The characters a JavaScript escape sequence (``\\n``, ``\\u00e9`` ...) stands for."""
    if len(raw) < 2:
        return raw
    m = _HEX_ESCAPE.fullmatch(raw)
    if m is not None:
        code = int(next(g for g in m.groups() if g is not None), 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"
    ch = raw[1]
    if ch in "\r\n\u2028\u2029":  # line continuation
        return ""
    return _ESCAPES.get(ch, ch)


def _join_utf16(text: str) -> str:
    # "\uD83D\uDE00" arrives as two lone surrogates; fuse them as JS would.
    if any("\ud800" <= c <= "\udfff" for c in text):
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def parse_number(text: str) -> int | float | None:
    """Parse a JavaScript numeric literal (hex, octal, binary, separators, bigint)."""
    t = text.replace("_", "")
    if t.endswith("n"):
        t = t[:-1]
    try:
        if t[:2].lower() in ("0x", "0o", "0b"):
            return int(t, 0)
        if re.fullmatch(r"[0-9]+", t):
            return int(t)
        value = float(t)
    except ValueError:
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def number_key(value: int | float) -> str:
    """The property name JavaScript uses for a numeric key (``1.0`` -> ``"1"``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class Evaluator:
    """Evaluates one parsed file; diagnostics go to the reporter."""

    def __init__(self, root: Node, reporter: Reporter) -> None:
        self.root = root
        self.rep = reporter
        # Top-level ``const`` bindings: name -> value node (or None for a
        # declaration without initialiser).
        self._consts: dict[str, Node | None] = {}
        # Other top-level names, so that a reference to them can say why it
        # is not usable ("declared with let", "imported").
        self._other_names: dict[str, str] = {}
        self._cache: dict[str, Value] = {}
        self._in_progress: set[str] = set()
        # The limits (see MAX_VALUES and MAX_DEPTH). ``_used`` counts values
        # made so far plus the full size of each const used; ``_nested`` is
        # the part of it counted while a const was evaluated inside another,
        # so that each const's own size can be told apart.
        self._used = 0
        self._nested = 0
        self._too_large_reported = False
        # Current nesting level, and the deepest one reached (to measure a const).
        self._depth = 0
        self._deepest = 0
        # Per evaluated const: the size and the levels of its value.
        self._sizes: dict[str, int] = {}
        self._levels: dict[str, int] = {}
        # Limits crossed so far, and the consts whose value crossed one (or
        # used such a const): those are refused whole, in silence, so that a
        # chain of 20,000 consts gets one diagnostic, not one per 30 lines.
        self._crossings = 0
        self._refused: set[str] = set()
        self._default_export: Node | None = None
        self._default_statement: Node | None = None
        # An `export ...` statement broken by a syntax error: the error says
        # what is wrong, "no export default" would not.
        self._broken_export = False
        self._data = reporter.source.data
        #: Where each top-level ``const`` is declared: name -> span of its name.
        self.bindings: dict[str, Span] = {}
        #: Every use of a ``const`` by name (a reference or a spread): (name, span).
        self.references: list[tuple[str, Span]] = []

    # ----------------------------------------------------------------- top level
    def run(self) -> Value | None:
        """Evaluate the file; return the default-exported value, or None."""
        self._collect_statements()
        for name in self._consts:
            self._const_value(name, None)
        if self._default_export is None:
            salvaged = self._salvage()
            if salvaged is not None:
                return salvaged
            if self._default_statement is None and not self._broken_export:
                self._report_no_default()
            return None
        return self._eval(self._default_export)

    def _collect_statements(self) -> None:
        for stmt in self.root.named_children:
            kind = stmt.type
            if kind == "ERROR" or (kind != "export_statement" and stmt.has_error):
                # An `export default {...}` that tree-sitter could not read as
                # one (``{ label = "x" }`` reads as a destructuring pattern):
                # its syntax error is the thing to fix; calling it an
                # unsupported statement, or the export missing, would mislead.
                if self._data.startswith(b"export", span_of(stmt).start):
                    self._broken_export = True
                    continue
                if kind == "ERROR":
                    continue
            if kind in _IGNORED_STATEMENTS:
                continue
            if kind == "import_statement":
                self._collect_import(stmt)
            elif kind in ("lexical_declaration", "variable_declaration"):
                self._collect_declaration(stmt)
            elif kind == "export_statement":
                self._collect_export(stmt)
            elif kind in (
                "function_declaration",
                "generator_function_declaration",
                "class_declaration",
                "abstract_class_declaration",
            ):
                name = stmt.child_by_field_name("name")
                if name is not None:
                    self._other_names[name.text.decode("utf-8", "replace") if name.text else ""] = (
                        "a function or class"
                    )
                self.rep.error(
                    Code.UNSUPPORTED_STATEMENT,
                    span_of(stmt.children[0]) if stmt.children else span_of(stmt),
                    f"{self._statement_name(stmt)} is not allowed in synthetic.config.ts: the "
                    "file is read as data and never run. Write the values as literals instead.",
                )
            else:
                self.rep.error(
                    Code.UNSUPPORTED_STATEMENT,
                    span_of(stmt),
                    f"Unsupported statement `{self.rep.text(span_of(stmt))}`: synthetic.config.ts "
                    "is read as data and never run, so it may only contain imports, `const` "
                    "declarations of literal values, types and `export default {...}`.",
                )

    @staticmethod
    def _statement_name(stmt: Node) -> str:
        return "A class declaration" if "class" in stmt.type else "A function declaration"

    def _collect_import(self, stmt: Node) -> None:
        # Imports are allowed (for types and defineSyntheticConfig) and ignored;
        # remember the names so that using one as a value gets a clear message.
        for node in _descendants(stmt):
            if (
                node.type == "identifier"
                and node.parent is not None
                and node.parent.type in ("import_specifier", "import_clause", "namespace_import")
            ):
                self._other_names[_text(node)] = "imported"

    def _collect_declaration(self, stmt: Node) -> None:
        keyword = stmt.children[0].type if stmt.children else "const"
        for decl in stmt.named_children:
            if decl.type != "variable_declarator":
                continue
            name_node = decl.child_by_field_name("name")
            value = decl.child_by_field_name("value")
            if name_node is None:
                continue
            if name_node.type != "identifier":
                self.rep.error(
                    Code.NON_LITERAL,
                    span_of(name_node),
                    f"Destructuring `{self.rep.text(span_of(name_node))}` is not supported; "
                    "declare each value with its own `const name = <literal>`.",
                )
                continue
            name = _text(name_node)
            if keyword == "const":
                self._consts[name] = value
                self.bindings.setdefault(name, span_of(name_node))
            else:
                self._other_names[name] = f"declared with `{keyword}`"
                if value is not None:
                    # Still check it: a `let` holding a call is code we refuse.
                    self._eval(value)

    def _collect_export(self, stmt: Node) -> None:
        declaration = stmt.child_by_field_name("declaration")
        if declaration is not None:
            if declaration.type in ("lexical_declaration", "variable_declaration"):
                self._collect_declaration(declaration)
            elif declaration.type not in _IGNORED_STATEMENTS:
                self.rep.error(
                    Code.UNSUPPORTED_STATEMENT,
                    span_of(declaration),
                    f"Unsupported export `{self.rep.text(span_of(declaration))}`: only "
                    "`export default {...}`, exported `const` literals and types are allowed.",
                )
            return
        if any(child.type == "default" for child in stmt.children):
            value = stmt.child_by_field_name("value")
            self._default_statement = stmt
            if self._default_export is not None:
                self.rep.error(
                    Code.UNSUPPORTED_STATEMENT,
                    span_of(stmt),
                    "A second `export default`; a module has only one. Remove it.",
                )
                return
            if value is None:
                self.rep.error(
                    Code.NO_DEFAULT_EXPORT,
                    span_of(stmt),
                    "`export default` must be followed by the config object.",
                )
                return
            self._default_export = value
        # `export { a, b }` and `export type ...` are harmless: ignored.

    def _report_no_default(self) -> None:
        end = len(self.rep.source.data)
        self.rep.error(
            Code.NO_DEFAULT_EXPORT,
            Span(0, min(end, 1) if end else 0),
            "No `export default` found: synthetic.config.ts must end with "
            "`export default defineSyntheticConfig({ templates: {...} })`.",
        )

    def _salvage(self) -> Value | None:
        # When the file is being edited, tree-sitter may fold the whole
        # `export default {...` into one ERROR node. Its direct `pair` children
        # are still good data: validate them rather than nothing.
        for stmt in self.root.named_children:
            if stmt.type != "ERROR" or not _text(stmt).lstrip().startswith("export"):
                continue
            pairs = [child for child in stmt.named_children if child.type == "pair"]
            if pairs:
                obj = Obj(span=span_of(stmt))
                for pair in pairs:
                    self._add_pair(obj, pair)
                return obj
        return None

    # --------------------------------------------------------------- references
    def _const_value(self, name: str, ref: Node | None) -> Value:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        span = span_of(ref) if ref is not None else Span(0, 0)
        if name in self._in_progress:
            self.rep.error(
                Code.CIRCULAR_REFERENCE,
                span,
                f"`{excerpt(name)}` refers to itself through its own value; write a literal.",
            )
            return Broken(span, what=f"the circular reference `{excerpt(name)}`")
        node = self._consts[name]
        if node is None:
            value: Value = Undefined(span)
            self._sizes[name], self._levels[name] = 1, 0
        else:
            # Evaluated where it is first needed: possibly inside another
            # const, so a chain of forward references deepens the stack too.
            depth = self._depth + 1
            if depth > MAX_DEPTH:
                # Refused for good: evaluated again from the top level, a
                # chain of forward references would cross again 64 names on.
                self._refused.add(name)
                self._cache[name] = self._too_deep(span)
                return self._cache[name]
            used, nested, deepest = self._used, self._nested, self._deepest
            crossings = self._crossings
            self._depth = self._deepest = depth
            self._in_progress.add(name)
            try:
                value = self._eval(node)
            finally:
                self._in_progress.discard(name)
                self._depth = depth - 1
            if self._crossings != crossings:
                self._refused.add(name)
                value = Broken(span_of(node), what="a value past a limit")
            total = self._used - used
            self._sizes[name] = total - (self._nested - nested)
            self._nested = nested + total
            self._levels[name] = self._deepest - depth + 1
            self._deepest = max(deepest, self._deepest)
        self._cache[name] = value
        return value

    def _use(self, name: str, value: Value, span: Span) -> Value:
        """A const's object or array used at ``span``, if within the limits; else Broken."""
        reach = self._depth + self._levels[name]
        if reach > MAX_DEPTH:
            return self._too_deep(span)
        if reach > self._deepest:
            self._deepest = reach
        used = self._used + self._sizes[name]
        if used > MAX_VALUES:
            return self._too_large(span)
        self._used = used
        return value

    # ------------------------------------------------------------------- limits
    def _too_deep(self, span: Span) -> Broken:
        """Report that the construct at ``span`` nests past MAX_DEPTH; what stands for it."""
        self._crossings += 1
        self.rep.error(
            Code.TOO_DEEP,
            span,
            f"Nested more than {MAX_DEPTH} levels deep (counting the levels of the `const` "
            "values used inside); a config needs about ten. Flatten it.",
            limit=MAX_DEPTH,
        )
        return Broken(span, what="a value nested too deep")

    def _too_large(self, span: Span) -> Broken:
        """Report that the construct at ``span`` passes MAX_VALUES; what stands for it."""
        # Reported once: past the limit, every value is refused in silence.
        self._used = MAX_VALUES + 1
        self._crossings += 1
        if not self._too_large_reported:
            self._too_large_reported = True
            self.rep.error(
                Code.TOO_LARGE,
                span,
                f"With this, the config would hold more than {MAX_VALUES:,} values (a `const` "
                "counts its full size each time it is used or spread, as in JSON); a config "
                "holds a few thousand. The rest of the file is not evaluated.",
                limit=MAX_VALUES,
            )
        return Broken(span, what="a value past the size limit")

    def _identifier(self, node: Node) -> Value:
        name = _text(node)
        span = span_of(node)
        if name in self._consts:
            self.references.append((name, span))
            value = self._const_value(name, node)
            if isinstance(value, Obj | Arr):
                return self._use(name, value, span)
            if isinstance(value, Broken):
                if name in self._refused:
                    self._crossings += 1  # whatever uses it is refused too
                return value
            # A scalar from a const is reported where it is used.
            return _respan(value, span)
        if name == "undefined":
            return Undefined(span)
        why = self._other_names.get(name)
        if why is not None:
            message = (
                f"`{excerpt(name)}` is {why}; only top-level `const` bindings of literal values "
                "can be referenced. Write the value as a literal."
            )
        else:
            message = (
                f"Unknown name `{excerpt(name)}`: only top-level `const` bindings of literal "
                "values can be referenced. Write the value as a literal."
            )
        self.rep.error(Code.UNBOUND_IDENTIFIER, span, message, name=name)
        return Broken(span, what=f"the name `{excerpt(name)}`")

    # -------------------------------------------------------------- expressions
    def _eval(self, node: Node) -> Value:
        return self._eval_kind(node, node.type)

    def _eval_kind(self, node: Node, kind: str) -> Value:
        # The hot path: called for every value in the file. Callers that
        # already know ``node.type`` pass it in (each property read on a
        # tree-sitter node is a C call), and the common literals come first.
        span = span_of(node)
        if kind == "string":
            return Str(span, self._string_at(node, span))
        if kind == "object" or kind == "array":
            depth = self._depth + 1
            if depth > MAX_DEPTH:
                return self._too_deep(Span(span.start, span.start + 1))
            if self._used > MAX_VALUES:
                return self._too_large(span)
            self._depth = depth
            if depth > self._deepest:
                self._deepest = depth
            built = self._object(node, span) if kind == "object" else self._array(node, span)
            self._depth = depth - 1
            return built
        # MISSING nodes are zero-width: only those need the is_missing call.
        if kind == "ERROR" or (span.start == span.end and node.is_missing):
            return Broken(span, what="a syntax error")
        if kind == "number":
            text = self._source_text(span)
            value = parse_number(text)
            if value is None:
                self.rep.error(Code.NON_LITERAL, span, f"Unreadable number `{excerpt(text)}`.")
                return Broken(span)
            return Num(span, value)
        if kind == "template_string":
            return self._template(node)
        if kind in ("true", "false"):
            return Bool(span, kind == "true")
        if kind == "null":
            return Null(span)
        if kind == "undefined":
            return Undefined(span)
        if kind == "identifier":
            return self._identifier(node)
        if kind in _TYPE_WRAPPERS:
            inner = next((c for c in node.named_children if c.type != "comment"), None)
            return self._eval_inner(inner, span) if inner is not None else Broken(span)
        if kind == "unary_expression":
            return self._unary(node)
        if kind in ("member_expression", "subscript_expression"):
            env = self._env_name(node)
            if env is not None:
                return EnvRefValue(span, env)
        if kind == "binary_expression":
            return self._binary(node)
        if kind == "call_expression":
            return self._call(node)
        what = _EXPRESSION_NAMES.get(kind, "`" + kind.replace("_", " ") + "`")
        self.rep.error(
            Code.NON_LITERAL,
            span,
            f"Found {what} `{self.rep.text(span)}`; synthetic.config.ts is read as data and never "
            "run. Replace it with a literal value.",
            found=kind,
        )
        return Broken(span, what=what)

    def _eval_inner(self, node: Node, outer: Span) -> Value:
        """Evaluate ``node``, the operand of the construct at ``outer``, one level deeper."""
        depth = self._depth + 1
        if depth > MAX_DEPTH:
            return self._too_deep(Span(outer.start, outer.start + 1))
        self._depth = depth
        if depth > self._deepest:
            self._deepest = depth
        value = self._eval(node)
        self._depth = depth - 1
        return value

    def _object(self, node: Node, span: Span) -> Obj:
        obj = Obj(span)
        members = node.named_children
        self._used += len(members) + 1
        for member in members:
            kind = member.type
            if kind == "pair":
                self._add_pair(obj, member)
            elif kind == "shorthand_property_identifier":
                name = _text(member)
                self._put(obj, Entry(name, span_of(member), self._identifier(member)))
            elif kind == "spread_element":
                self._spread_into_object(obj, member)
            elif kind == "method_definition":
                self.rep.error(
                    Code.NON_LITERAL,
                    span_of(member),
                    f"Found a method or accessor `{self.rep.text(span_of(member))}`; it would run "
                    "code. Write `key: <literal>` instead.",
                    found=kind,
                )
            # comments and ERROR nodes (already reported) are skipped
        return obj

    def _add_pair(self, obj: Obj, pair: Node) -> None:
        children = pair.named_children
        if len(children) == 2:
            # The usual `key: value`: its two named children, read without
            # the (slower) lookups by field name.
            key_node, value_node = children
            key_kind, value_kind = key_node.type, value_node.type
            if key_kind != "comment" and value_kind != "comment":
                key_span = span_of(key_node)
                if key_kind == "property_identifier":  # a plain name, by far the most common
                    key: str | None = self._source_text(key_span)
                else:
                    key = self._key(key_node, key_kind, key_span)
                value = self._eval_kind(value_node, value_kind)
                if key is not None:
                    self._put(obj, Entry(key, key_span, value))
                return
        # A comment inside the pair, or a pair broken by a syntax error.
        found_key = pair.child_by_field_name("key")
        found_value = pair.child_by_field_name("value")
        if found_key is None:
            return
        key_span = span_of(found_key)
        key = self._key(found_key, found_key.type, key_span)
        value = self._eval(found_value) if found_value is not None else Broken(span_of(pair))
        if key is None:
            return
        self._put(obj, Entry(key, key_span, value))

    def _key(self, node: Node, kind: str, span: Span) -> str | None:
        if kind in ("property_identifier", "private_property_identifier"):
            return self._source_text(span)
        if kind == "string":
            return self._string_at(node, span)
        if kind == "number":
            text = self._source_text(span)
            value = parse_number(text)
            return number_key(value) if value is not None else text
        self.rep.error(
            Code.COMPUTED_KEY,
            span,
            f"Computed key `{self.rep.text(span)}` is not supported; write the key "
            'itself, e.g. `"web": {...}`.',
        )
        return None

    def _source_text(self, span: Span) -> str:
        """The source text of a span (cheaper than ``node.text`` once the span is known)."""
        return self._data[span.start : span.end].decode("utf-8", "replace")

    def _put(self, obj: Obj, entry: Entry) -> None:
        entries = obj.entries
        if entry.key not in entries:  # the usual case: nothing to compare with
            entries[entry.key] = entry
            return
        previous = entries[entry.key]
        if not previous.from_spread and not entry.from_spread:
            line = self.rep.source.line(previous.key_span.start) + 1
            self.rep.error(
                Code.DUPLICATE_KEY,
                entry.key_span,
                f"`{excerpt(entry.key)}` is already set on line {line}; JavaScript keeps only "
                "the last one. Remove one of them.",
                key=entry.key,
            )
        obj.entries[entry.key] = entry

    def _spread_into_object(self, obj: Obj, spread: Node) -> None:
        arg = next(iter(spread.named_children), None)
        if arg is None:
            return
        value = self._eval(arg)
        if isinstance(value, Obj):
            for entry in value.entries.values():
                obj.entries[entry.key] = Entry(entry.key, entry.key_span, entry.value, True)
        elif not isinstance(value, Broken | Undefined | Null):
            self.rep.error(
                Code.UNSUPPORTED_SPREAD,
                span_of(spread),
                f"Cannot spread {value.describe()} into an object; spread a `const` object "
                "literal or write the properties out.",
            )

    def _array(self, node: Node, span: Span) -> Arr:
        arr = Arr(span)
        items = node.named_children
        self._used += len(items) + 1
        for item in items:
            kind = item.type
            if kind in ("comment", "ERROR"):
                continue
            if kind == "spread_element":
                arg = next(iter(item.named_children), None)
                if arg is None:
                    continue
                value = self._eval(arg)
                if isinstance(value, Arr):
                    arr.items.extend(value.items)
                elif not isinstance(value, Broken):
                    self.rep.error(
                        Code.UNSUPPORTED_SPREAD,
                        span_of(item),
                        f"Cannot spread {value.describe()} into an array; spread a `const` array "
                        "literal or write the items out.",
                    )
                continue
            arr.items.append(self._eval_kind(item, kind))
        return arr

    def _string_at(self, node: Node, span: Span) -> str:
        """The value of a string literal node spanning ``span``."""
        data = self._data
        start, end = span
        # Most strings are a plain run of characters between two quotes: take
        # the bytes between them rather than visiting the node's children.
        # Anything else (escapes; a line break or a missing closing quote in a
        # file being edited, which tree-sitter recovers from) is read token by
        # token.
        if end - start >= 2 and data[end - 1] == data[start]:
            raw = data[start + 1 : end - 1]
            if b"\\" not in raw and b"\n" not in raw and b"\r" not in raw:
                return raw.decode("utf-8", "replace")
        return self._string_content(node)

    def _string_content(self, node: Node) -> str:
        parts: list[str] = []
        for child in node.children:
            if child.type == "string_fragment":
                parts.append(_text(child))
            elif child.type in ("escape_sequence", "html_character_reference"):
                parts.append(decode_escape(_text(child)))
        return _join_utf16("".join(parts))

    def _template(self, node: Node) -> Value:
        span = span_of(node)
        substitutions = [c for c in node.named_children if c.type == "template_substitution"]
        for sub in substitutions:
            self.rep.error(
                Code.TEMPLATE_SUBSTITUTION,
                span_of(sub),
                f"Template substitution `{self.rep.text(span_of(sub))}` is not supported; write "
                "the whole string literally (use process.env.X on its own for environment values).",
            )
        if substitutions:
            return Broken(span, what="a template string with substitutions")
        return Str(span, self._string_content(node))

    def _unary(self, node: Node) -> Value:
        op = node.child_by_field_name("operator")
        arg = node.child_by_field_name("argument")
        op_text = _text(op) if op is not None else ""
        if arg is not None and arg.type == "number" and op_text in ("-", "+"):
            value = parse_number(_text(arg))
            if value is not None:
                return Num(span_of(node), -value if op_text == "-" else value)
        span = span_of(node)
        self.rep.error(
            Code.NON_LITERAL,
            span,
            f"Found a unary expression `{self.rep.text(span)}`; write the resulting literal value.",
            found="unary_expression",
        )
        return Broken(span, what="a unary expression")

    def _env_name(self, node: Node) -> str | None:
        # process.env.NAME or process.env["NAME"]
        obj = node.child_by_field_name("object")
        if obj is None or obj.type != "member_expression":
            return None
        if "".join(_text(obj).split()) != "process.env":
            return None
        if node.type == "member_expression":
            prop = node.child_by_field_name("property")
            return _text(prop) if prop is not None and prop.type == "property_identifier" else None
        index = node.child_by_field_name("index")
        if index is not None and index.type == "string":
            return self._string_content(index)
        return None

    def _binary(self, node: Node) -> Value:
        span = span_of(node)
        op = node.child_by_field_name("operator")
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        op_text = _text(op) if op is not None else ""
        env = (
            self._env_name(left)
            if left is not None and left.type in ("member_expression", "subscript_expression")
            else None
        )
        if env is not None and op_text == "??" and right is not None:
            default = self._eval_inner(right, span)
            if isinstance(default, Str):
                return EnvRefValue(span, env, default.value)
            if not isinstance(default, Broken):
                self.rep.error(
                    Code.NON_LITERAL,
                    default.span,
                    f"The default after `??` must be a string literal, found {default.describe()}.",
                    found="env_default",
                )
            return Broken(span, what="an environment reference")
        if env is not None and op_text == "||":
            message = (
                f"`{self.rep.text(span)}`: use `??` for a default "
                f'(`process.env.{excerpt(env)} ?? "..."`); `||` is not supported.'
            )
        else:
            message = (
                f"Found a binary expression `{self.rep.text(span)}`; synthetic.config.ts is "
                "read as data and never run. Write the resulting literal value."
            )
        self.rep.error(Code.NON_LITERAL, span, message, found="binary_expression")
        return Broken(span, what="a binary expression")

    def _call(self, node: Node) -> Value:
        span = span_of(node)
        func = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        arg_nodes = [a for a in args.named_children if a.type != "comment"] if args else []
        if func is not None and _text(func) == DEFINE_FUNCTION and args is not None:
            if len(arg_nodes) == 1 and arg_nodes[0].type != "spread_element":
                return self._eval_inner(arg_nodes[0], span)
            self.rep.error(
                Code.NON_LITERAL,
                span_of(args),
                f"`{DEFINE_FUNCTION}` takes exactly one argument: the config object.",
            )
            return Broken(span)
        name = self.rep.text(span_of(func)) if func is not None else "?"
        self.rep.error(
            Code.NON_LITERAL,
            span,
            f"Found a function call `{name}(...)`; synthetic.config.ts is read as data and never "
            "run. Replace the call with a literal value.",
            found="call_expression",
            callee=name,
        )
        # Arguments are not evaluated: diagnostics inside a refused call are noise.
        return Broken(span, what="a function call")


def _text(node: Node) -> str:
    data = node.text
    return data.decode("utf-8", "replace") if data is not None else ""


def _respan(value: Value, span: Span) -> Value:
    if isinstance(value, Str):
        return Str(span, value.value)
    if isinstance(value, Num):
        return Num(span, value.value)
    if isinstance(value, Bool):
        return Bool(span, value.value)
    if isinstance(value, Null):
        return Null(span)
    if isinstance(value, Undefined):
        return Undefined(span)
    if isinstance(value, EnvRefValue):
        return EnvRefValue(span, value.name, value.default)
    return value


def _descendants(node: Node) -> list[Node]:
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


def evaluate(root: Node, reporter: Reporter) -> Value | None:
    """Evaluate a parsed file; return its default-exported value (None if absent)."""
    return Evaluator(root, reporter).run()
