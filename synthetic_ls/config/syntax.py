"""Parsing with tree-sitter's TypeScript grammar, and syntax-error diagnostics.

tree-sitter recovers from errors: it returns a full tree with ``ERROR`` nodes
around tokens it could not place and zero-width ``MISSING`` nodes where it
assumed a token. We report both and let the evaluator read everything else,
so a file being edited still gets its other problems reported.
"""

from __future__ import annotations

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Tree

from synthetic_ls.config.diagnostics import Code
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.source import Span

TYPESCRIPT = Language(tree_sitter_typescript.language_typescript())


def parse(data: bytes) -> Tree:
    """Parse UTF-8 TypeScript source. Never raises for any input bytes."""
    # A fresh Parser per call: parsers are cheap and not safe to share
    # between the language server's threads.
    return Parser(TYPESCRIPT).parse(data)


def span_of(node: Node) -> Span:
    """The byte span of a syntax node."""
    return Span(node.start_byte, node.end_byte)


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


def _describe_missing(node_type: str) -> str:
    if node_type == "identifier":
        return "a value"
    return "`" + node_type + "`" if len(node_type) <= 2 else node_type.replace("_", " ")


def _report_error_node(node: Node, reporter: Reporter) -> None:
    leaf = _first_leaf(node)
    # A one-line ERROR node is shown whole; a long one only at its first token,
    # so that the squiggle does not cover half the file.
    span = span_of(node) if node.start_point.row == node.end_point.row else span_of(leaf)
    if span.start == span.end:
        span = Span(span.start, span.start + 1)
    token = reporter.text(span_of(leaf), 30)
    if token in ('"', "'", "`") or (token[:1] in ('"', "'", "`") and not _closed(token)):
        message = "Syntax error: unterminated string."
    elif not token:
        message = "Syntax error: unexpected end of file."
    else:
        message = f"Syntax error: unexpected `{token}`."
        prev = node.prev_sibling
        if prev is not None and prev.is_named and prev.type in _ITEM_TYPES:
            message += " Is a `,` missing before it?"
    reporter.error(Code.SYNTAX_ERROR, span, message)


_ITEM_TYPES = frozenset({"pair", "shorthand_property_identifier", "spread_element", "object",
                         "array", "string", "number", "true", "false", "null", "identifier"})


def _closed(token: str) -> bool:
    return len(token) >= 2 and token[-1] == token[0]
