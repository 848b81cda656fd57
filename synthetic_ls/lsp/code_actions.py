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
from synthetic_ls.config.values import Obj
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
    if code == "bad-enum":
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


def register(server: SyntheticServer) -> None:
    """Register textDocument/codeAction (quick fixes)."""

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
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
        return actions


__all__ = ["fixes", "register", "to_lsp_range"]
