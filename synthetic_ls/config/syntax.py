"""Parsing with tree-sitter's TypeScript grammar, and syntax-error diagnostics.

tree-sitter recovers from errors: it returns a full tree with ``ERROR`` nodes
around tokens it could not place and zero-width ``MISSING`` nodes where it
assumed a token. We report both and let the evaluator read everything else,
so a file being edited still gets its other problems reported.
"""

from __future__ import annotations

import itertools
import re

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Tree

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.source import Span, excerpt

TYPESCRIPT = Language(tree_sitter_typescript.language_typescript())


def parse(data: bytes) -> Tree:
    """Parse UTF-8 TypeScript source. Never raises for any input bytes."""
    # A fresh Parser per call: parsers are cheap and not safe to share
    # between the language server's threads.
    return Parser(TYPESCRIPT).parse(data)


def span_of(node: Node) -> Span:
    """The byte span of a syntax node."""
    # One C call: ``byte_range`` is much cheaper than ``start_byte`` plus
    # ``end_byte`` (the latter is slow in py-tree-sitter), and the tuple it
    # returns becomes the Span without copying. This runs for every value.
    return _new_tuple(Span, node.byte_range)


_new_tuple = tuple.__new__


def _first_leaf(node: Node) -> Node:
    while node.child_count:
        node = node.children[0]
    return node


def report_syntax_errors(tree: Tree, reporter: Reporter, limit: int = 100) -> int:
    """Add a diagnostic for every ERROR and MISSING node; return how many.

    At most ``limit`` are reported: past that point the file is not a config
    being edited but something else, and more lines would only be noise.
    """
    count = 0
    stack = [tree.root_node]
    while stack and count < limit:
        node = stack.pop()
        if node.is_missing:
            count += 1
            semicolon = _semicolon_for_comma(node, reporter.source.data)
            if semicolon is not None:
                message = _SEMICOLON.format("properties")
                reporter.error(Code.SYNTAX_ERROR, Span(semicolon, semicolon + 1), message)
                continue
            what = node.type if not node.is_named else _describe_missing(node.type)
            reporter.error(
                Code.MISSING_TOKEN,
                span_of(node),
                f"Syntax error: missing {what} here.",
            )
            continue
        if node.is_error:
            count += 1
            _report_error_node(node, reporter)
            continue  # nested errors inside an ERROR node are just noise
        if node.has_error:
            # Reverse so that diagnostics come out in source order.
            stack.extend(reversed(node.children))
    return count


_SEMICOLON = "Syntax error: unexpected `;`. Separate {} with `,`."
# What may start the next property after a stray `;`: a name or a quoted key, then `:`.
_PROPERTY_START = re.compile(rb"""\s*(?:[A-Za-z_$][\w$]*|"[^"\n]*"|'[^'\n]*')\s*:""")


def _semicolon_for_comma(missing: Node, data: bytes) -> int | None:
    """The offset of a `;` written for a `,`, where tree-sitter assumed a missing `}`.

    ``{ a: 1; b: 2 }`` at the top of the file reads as an object closed just
    before the `;`, then a labelled statement ``b: 2``: the fix is the `;`.
    """
    if missing.type != "}":
        return None
    at = missing.end_byte
    while at < len(data) and data[at] in b" \t":
        at += 1
    if data[at : at + 1] != b";" or not _PROPERTY_START.match(data, at + 1):
        return None
    return at


def _describe_missing(node_type: str) -> str:
    if node_type == "identifier":
        return "a value"
    return "`" + node_type + "`" if len(node_type) <= 2 else node_type.replace("_", " ")


def _report_error_node(node: Node, reporter: Reporter) -> None:
    data = reporter.source.data
    quote = _unterminated_quote(data, node.start_byte, node.end_byte)
    if quote is not None:
        line_end = data.find(b"\n", quote)
        end = line_end if line_end != -1 else len(data)
        reporter.error(
            Code.SYNTAX_ERROR,
            Span(quote, max(end, quote + 1)),
            "Syntax error: unterminated string (the closing quote is missing).",
        )
        return
    opener = _unclosed_opener(node) if not data[node.end_byte :].strip() else None
    if opener is not None:
        closer = {"{": "}", "[": "]", "(": ")"}[opener.type]
        reporter.error(
            Code.SYNTAX_ERROR,
            span_of(opener),
            f"Syntax error: `{opener.type}` is never closed; add a matching `{closer}`.",
        )
        return
    misplaced = _misplaced_token(node)
    if misplaced is not None:
        reporter.error(Code.SYNTAX_ERROR, span_of(misplaced[0]), misplaced[1])
        return
    following = _item_after_missing_comma(node)
    if following is not None:
        reporter.error(
            Code.SYNTAX_ERROR,
            span_of(following),
            f"Syntax error: unexpected `{reporter.text(span_of(following), 30)}`. "
            "Is a `,` missing before it?",
        )
        return
    children = node.children
    for prev, child in itertools.pairwise(children):
        if prev.type in _ITEM_TYPES and child.type in _KEY_TYPES:
            token = reporter.text(span_of(child), 30)
            reporter.error(
                Code.SYNTAX_ERROR,
                span_of(child),
                f"Syntax error: unexpected `{token}`. Is a `,` missing before it?",
            )
            return
    leaf = _first_leaf(node)
    # A one-line ERROR node is shown whole; a long one only at its first token,
    # so that the squiggle does not cover half the file.
    span = span_of(node) if node.start_point.row == node.end_point.row else span_of(leaf)
    if span.start == span.end:
        span = Span(span.start, span.start + 1)
    token = reporter.text(span_of(leaf), 30)
    if not token:
        message = "Syntax error: unexpected end of file."
    else:
        message = f"Syntax error: unexpected `{token}`."
        prev_node = node.prev_sibling
        first = node.named_children[0] if node.named_children else None
        if (
            prev_node is not None
            and prev_node.is_named
            and prev_node.type in _ITEM_TYPES
            # Only before a value: "unexpected `,`. Is a `,` missing?" is no help.
            and first is not None
            and first.start_byte == node.start_byte
            and first.type in _ITEM_TYPES
        ):
            message += " Is a `,` missing before it?"
    reporter.error(Code.SYNTAX_ERROR, span, message)


def _misplaced_token(node: Node) -> tuple[Node, str] | None:
    """A `=` or `;` inside an object that is the mistake itself, and what to say about it.

    ``label = "x"`` reads (to tree-sitter) as a destructuring default and
    ``label: "x";`` as the end of a statement: the error node that results
    starts elsewhere (at the value, or at the object's `{` lines above), so
    the token itself is looked for, first in source order.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if current.child_count:
            stack.extend(reversed(current.children))
            continue
        kind = current.type
        if kind == "=" and getattr(current.parent, "type", None) in _EQUALS_PARENTS:
            key = current.prev_sibling
            if key is not None and key.type in _KEY_LIKE:
                value = current.next_sibling
                shown = _node_excerpt(value, 20) if value is not None else "..."
                return current, (
                    "Syntax error: unexpected `=`. Object properties take a `:` "
                    f"(`{_node_excerpt(key, 30)}: {shown}`)."
                )
        elif kind == ";":
            container = _enclosing_literal(current)
            if container is not None:
                return current, _SEMICOLON.format("items" if container == "array" else "properties")
    return None


def _node_excerpt(node: Node, limit: int) -> str:
    data = node.text or b""
    return excerpt(data[: limit * 8].decode("utf-8", "replace"), limit)


def _enclosing_literal(token: Node) -> str | None:
    """``"array"`` or ``"object"`` when ``token`` sits in such a literal (a few levels up)."""
    parent = token.parent
    for _ in range(3):
        if parent is None:
            return None
        if parent.type == "array":
            return "array"
        if parent.type in ("object", "pair", "object_pattern", "pair_pattern"):
            return "object"
        parent = parent.parent
    return None


def _item_after_missing_comma(node: Node) -> Node | None:
    """In ``["a" "b"]`` tree-sitter wraps ``"a"`` in the error: the item after it is the place."""
    parent = node.parent
    if parent is None or parent.type not in ("array", "arguments"):
        return None
    named = node.named_children
    following = node.next_named_sibling
    if len(named) == 1 and named[0].type in _ITEM_TYPES and following is not None:
        return following if following.type in _ITEM_TYPES else None
    return None


def _unterminated_quote(data: bytes, start: int, end: int) -> int | None:
    """Offset of a ' or " that opens a string not closed on its line, if any."""
    quote: int | None = None
    i = start
    while i < end:
        c = data[i]
        if quote is not None:
            if c == 0x5C:  # backslash: skip the escaped byte
                i += 2
                continue
            if c == data[quote]:
                quote = None
            elif c == 0x0A:
                return quote
        elif c in (0x22, 0x27):
            quote = i
        elif c == 0x2F and data[i + 1 : i + 2] == b"/":  # a // comment: skip the line
            nl = data.find(b"\n", i)
            i = nl if nl != -1 and nl < end else end
            continue
        i += 1
    return quote


def _unclosed_opener(node: Node) -> Node | None:
    """The innermost bracket token inside ``node`` that is never closed."""
    stack: list[Node] = []
    pairs = {"}": "{", "]": "[", ")": "("}
    todo = [node]
    leaves: list[Node] = []
    while todo:
        current = todo.pop()
        if current.child_count == 0:
            leaves.append(current)
        else:
            todo.extend(reversed(current.children))
    for leaf in leaves:
        if leaf.is_missing:
            continue
        if leaf.type in ("{", "[", "("):
            stack.append(leaf)
        elif leaf.type in pairs and stack and stack[-1].type == pairs[leaf.type]:
            stack.pop()
    return stack[-1] if stack else None


# Where a `=` written for a `:` ends up, and what stands before it.
_EQUALS_PARENTS = frozenset({"object_assignment_pattern", "assignment_pattern", "ERROR"})
_KEY_LIKE = frozenset(
    {
        "shorthand_property_identifier_pattern",
        "shorthand_property_identifier",
        "property_identifier",
        "identifier",
        "string",
    }
)
_KEY_TYPES = frozenset(
    {
        "identifier",
        "property_identifier",
        "string",
        "number",
        "shorthand_property_identifier",
        "pair",
    }
)
_ITEM_TYPES = frozenset(
    {
        "pair",
        "shorthand_property_identifier",
        "spread_element",
        "object",
        "array",
        "string",
        "number",
        "true",
        "false",
        "null",
        "identifier",
    }
)
