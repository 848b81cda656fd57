"""Go to definition (a spread or referenced ``const`` -> its declaration) and document symbols.

Symbols are the templates and, under each, its services, in the record or
the array form.
"""

from __future__ import annotations

from lsprotocol import types

from synthetic_ls.config.locate import locate
from synthetic_ls.config.source import SourceText, Span
from synthetic_ls.config.values import Arr, Obj, Str, Value
from synthetic_ls.lsp.hover import path_target
from synthetic_ls.lsp.server import Analysis, SyntheticServer, to_lsp_range


def definition(analysis: Analysis, line: int, character: int) -> types.Location | None:
    """Where the ``const`` used at the position is declared, or the file a path names."""
    result = analysis.result
    source = result.source
    if source is None:
        return None
    offset = source.offset(line, character)
    for name, span in result.references:
        if span.start <= offset <= span.end and name in result.bindings:
            return types.Location(
                uri=analysis.uri, range=to_lsp_range(source.range(result.bindings[name]))
            )
    where = locate(result, line, character)
    target = path_target(analysis, where) if where is not None else None
    if target is not None:
        start = types.Position(line=0, character=0)
        return types.Location(uri=target.absolute().as_uri(), range=types.Range(start, start))
    return None


def _members(value: Value | None) -> list[tuple[str, Span, Value]]:
    """(id, span of the id, value) of each member of a record or array collection."""
    out: list[tuple[str, Span, Value]] = []
    if isinstance(value, Obj):
        for key, entry in value.entries.items():
            out.append((key, entry.key_span, entry.value))
    elif isinstance(value, Arr):
        for item in value.items:
            ident = item.get("id") if isinstance(item, Obj) else None
            if isinstance(ident, Str):
                out.append((ident.value, ident.span, item))
    return out


def _symbol(
    source: SourceText,
    name: str,
    id_span: Span,
    value: Value,
    kind: types.SymbolKind,
    detail: str | None,
    children: list[types.DocumentSymbol] | None = None,
) -> types.DocumentSymbol | None:
    # Members that came from a spread live elsewhere in the file; the
    # symbol's range must contain its selection range.
    start = min(id_span.start, value.span.start)
    end = max(id_span.end, value.span.end)
    return types.DocumentSymbol(
        name=name,
        kind=kind,
        detail=detail,
        range=to_lsp_range(source.range(Span(start, end))),
        selection_range=to_lsp_range(source.range(id_span)),
        children=children,
    )


def symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """The templates of the config, each with its services."""
    result = analysis.result
    source, root = result.source, result.value
    if source is None or not isinstance(root, Obj):
        return []
    out: list[types.DocumentSymbol] = []
    for template_id, id_span, value in _members(root.get("templates")):
        services = value.get("services") if isinstance(value, Obj) else None
        children = []
        for service_id, service_span, service in _members(services):
            kind = service.get("type") if isinstance(service, Obj) else None
            detail = kind.value if isinstance(kind, Str) else "process"
            symbol = _symbol(
                source, service_id, service_span, service, types.SymbolKind.Object, detail
            )
            if symbol is not None:
                children.append(symbol)
        label = value.get("label") if isinstance(value, Obj) else None
        symbol = _symbol(
            source,
            template_id,
            id_span,
            value,
            types.SymbolKind.Class,
            label.value if isinstance(label, Str) else None,
            children,
        )
        if symbol is not None:
            out.append(symbol)
    return out


def register(server: SyntheticServer) -> None:
    """Register textDocument/definition and textDocument/documentSymbol."""

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def goto_definition(
        ls: SyntheticServer, params: types.DefinitionParams
    ) -> types.Location | None:
        analysis = ls.analyze(params.text_document.uri)
        if analysis is None:
            return None
        return definition(analysis, params.position.line, params.position.character)

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(
        ls: SyntheticServer, params: types.DocumentSymbolParams
    ) -> list[types.DocumentSymbol] | None:
        analysis = ls.analyze(params.text_document.uri)
        if analysis is None:
            return None
        return symbols(analysis)
