"""Quick fixes for config diagnostics: unknown-key, id-mismatch, bad-enum, missing-required.

Each fix is computed from the diagnostic's ``data`` (which the checker fills
in: ``suggestion``, ``key``, ``allowed``, ``field``) and the checked text; the
server adds no rule of its own.
"""

from __future__ import annotations

import json
from typing import Any

from lsprotocol import types

from synthetic_ls.config.locate import locate, schema_field
from synthetic_ls.config.source import Span
from synthetic_ls.config.values import Arr, Obj, Str, Value
from synthetic_ls.lsp.server import Analysis, SyntheticServer, to_lsp_range


def _edit(uri: str, range_: types.Range, text: str) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(range=range_, new_text=text)]})


def _action(
    title: str, diagnostic: types.Diagnostic, edit: types.WorkspaceEdit, preferred: bool = True
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=edit,
        is_preferred=preferred,
    )


def _quoted_like(original: str, text: str) -> str:
    """``text`` as a key written like ``original`` (bare or quoted)."""
    if original[:1] in ("'", '"'):
        return json.dumps(text)
    return text if text.isidentifier() else json.dumps(text)


def _text_at(analysis: Analysis, range_: types.Range) -> str:
    source = analysis.result.source
    if source is None:
        return ""
    start = source.offset(range_.start.line, range_.start.character)
    end = source.offset(range_.end.line, range_.end.character)
    return source.data[start:end].decode("utf-8", "replace")


def _placeholder(analysis: Analysis, path: tuple[Any, ...], name: str) -> str:
    field = schema_field((*path, name), analysis.result.value)
    if field is None:
        return '""'
    if field.enum:
        return json.dumps(field.enum[0])
    if field.type.startswith("an array"):
        return "[]"
    if field.type.startswith("an object"):
        return "{}"
    if "string" in field.type:
        return '""'
    if "integer" in field.type or "number" in field.type:
        return "0"
    return '""'


def fixes(analysis: Analysis, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    """The quick fixes of one diagnostic (none when the checker left no hint)."""
    uri = analysis.uri
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    code = diagnostic.code
    if code == "unknown-key" and data.get("suggestion"):
        suggestion = str(data["suggestion"])
        new = _quoted_like(_text_at(analysis, diagnostic.range), suggestion)
        return [_action(f"Change to `{suggestion}`", diagnostic, _edit(uri, diagnostic.range, new))]
    if code == "id-mismatch" and "key" in data:
        key = str(data["key"])
        return [
            _action(
                f'Make the id "{key}", like its key',
                diagnostic,
                _edit(uri, diagnostic.range, json.dumps(key)),
            )
        ]
    # unknown-template (defaults.templateId): its data lists the ids, as bad-enum's.
    if code in ("bad-enum", "unknown-template"):
        allowed = [str(v) for v in data.get("allowed", [])]
        hint = data.get("suggestion")
        ordered = ([str(hint)] if hint else []) + [v for v in allowed if v != hint]
        return [
            _action(
                f'Change to "{value}"',
                diagnostic,
                _edit(uri, diagnostic.range, json.dumps(value)),
                preferred=index == 0 and bool(hint),
            )
            for index, value in enumerate(ordered)
        ]
    if code == "missing-required" and data.get("field"):
        return _missing_required(analysis, diagnostic, str(data["field"]))
    return []


def _missing_required(
    analysis: Analysis, diagnostic: types.Diagnostic, name: str
) -> list[types.CodeAction]:
    # The diagnostic is at the object's `{` or at its record key: find the object.
    start = diagnostic.range.start
    where = locate(analysis.result, start.line, start.character)
    source = analysis.result.source
    if where is None or source is None or not isinstance(where.value, Obj):
        return []
    obj = where.value
    path = where.path
    at = source.position(obj.span.start + 1)
    text = f" {name}: {_placeholder(analysis, path, name)},"
    if not obj.entries:
        text = text.rstrip(",") + " "
    insert = types.Range(
        start=types.Position(line=at.line, character=at.character),
        end=types.Position(line=at.line, character=at.character),
    )
    return [_action(f"Add `{name}`", diagnostic, _edit(analysis.uri, insert, text))]


def _collection_at(analysis: Analysis, line: int, character: int) -> tuple[str, Arr] | None:
    """The templates or services array around a position, with what its items are."""
    where = locate(analysis.result, line, character)
    if where is None:
        return None
    path = where.path
    candidates: list[tuple[tuple[str | int, ...], str]] = []
    if path[:1] == ("templates",):
        candidates.append((("templates",), "template"))
    if len(path) >= 3 and path[0] == "templates" and path[2] == "services":
        candidates.append((path[:3], "service"))
    for prefix, what in reversed(candidates):
        value: Value | None = analysis.result.value
        for step in prefix:
            if isinstance(value, Obj) and isinstance(step, str):
                value = value.get(step)
            elif isinstance(value, Arr) and isinstance(step, int) and step < len(value.items):
                value = value.items[step]
            else:
                value = None
        if isinstance(value, Arr):
            return what, value
    return None


def to_record_form(analysis: Analysis, array: Arr) -> str | None:
    """The text of ``array`` (templates or services with ids) written as a record keyed by id.

    None when an item has no literal ``id`` written in it (a spread, a
    reference): the rewrite would have to guess.
    """
    source = analysis.result.source
    if source is None or not array.items:
        return None
    data = source.data
    items: list[str] = []
    for item in array.items:
        if not isinstance(item, Obj) or not array.span.start < item.span.start < array.span.end:
            return None
        entry = item.entries.get("id")
        if entry is None or entry.from_spread or not isinstance(entry.value, Str):
            return None
        if not item.span.start < entry.key_span.start < item.span.end:
            return None
        start, end = entry.key_span.start, entry.value.span.end
        # The id entry goes, with its comma and the spaces after it, and its
        # line when nothing else is on it.
        while end < item.span.end and data[end : end + 1] in (b" ", b"\t"):
            end += 1
        if data[end : end + 1] == b",":
            end += 1
            while end < item.span.end and data[end : end + 1] in (b" ", b"\t"):
                end += 1
        line_start = data.rfind(b"\n", item.span.start, start) + 1
        alone = line_start > item.span.start and not data[line_start:start].strip()
        if alone and data[end : end + 1] == b"\n":
            start, end = line_start, end + 1
        text = (data[item.span.start : start] + data[end : item.span.end]).decode("utf-8")
        if text.startswith("{ ") and text[2:3] == "}":
            text = "{}"
        key = entry.value.value
        written = key if key.isidentifier() else json.dumps(key)
        items.append(f"{written}: {text}")
    array_text = source.text(array.span)
    if "\n" not in array_text:
        return "{ " + ", ".join(items) + " }"
    first = array.items[0].span.start
    indent = data[data.rfind(b"\n", 0, first) + 1 : first].decode("utf-8")
    closing_line = data[data.rfind(b"\n", 0, array.span.end - 1) + 1 : array.span.end - 1]
    closing = closing_line.decode("utf-8") if not closing_line.strip() else ""
    body = "".join(f"{indent}{item},\n" for item in items)
    return "{\n" + body + closing + "}"


def refactors(analysis: Analysis, range_: types.Range) -> list[types.CodeAction]:
    """ "Convert to the record form" for the templates or services array at ``range_``."""
    found = _collection_at(analysis, range_.start.line, range_.start.character)
    source = analysis.result.source
    if found is None or source is None:
        return []
    what, array = found
    text = to_record_form(analysis, array)
    if text is None:
        return []
    edit = _edit(analysis.uri, to_lsp_range(source.range(Span(*array.span))), text)
    return [
        types.CodeAction(
            title=f"Convert the {what}s to the record form (keyed by id)",
            kind=types.CodeActionKind.RefactorRewrite,
            edit=edit,
        )
    ]


def register(server: SyntheticServer) -> None:
    """Register textDocument/codeAction (quick fixes)."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]
        ),
    )
    def code_action(
        ls: SyntheticServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        analysis = ls.analyze(params.text_document.uri)
        if analysis is None:
            return None
        actions: list[types.CodeAction] = []
        for diagnostic in params.context.diagnostics:
            if diagnostic.source in (None, "synthetic"):
                actions.extend(fixes(analysis, diagnostic))
        wanted = params.context.only
        if not wanted or any(kind.startswith("refactor") for kind in wanted):
            actions.extend(refactors(analysis, params.range))
        return actions


__all__ = ["fixes", "register", "to_lsp_range"]
