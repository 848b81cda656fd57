"""Completion: keys valid at the cursor (snippets for required ones), enum values, template ids.

Everything comes from :func:`synthetic_ls.config.locate.locate` over the
checked text: the fields of the object around the cursor and the field the
cursor's value belongs to.
"""

from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types

from synthetic_ls.config.locate import FieldDoc, Location, locate
from synthetic_ls.config.values import Str
from synthetic_ls.lsp.hover import field_markdown
from synthetic_ls.lsp.server import Analysis, SyntheticServer, to_lsp_range


def key_snippet(field: FieldDoc) -> str:
    """The snippet inserted for a key: ``name: <a placeholder of its type>``."""
    if field.enum:
        choices = ",".join(field.enum)
        return f'{field.name}: "${{1|{choices}|}}"'
    kind = field.type
    if kind.startswith("an object") or kind == "`agent`":
        return f"{field.name}: {{ $1 }}"
    if kind.startswith("an array"):
        return f"{field.name}: [$1]"
    if "string" in kind:
        return f'{field.name}: "$1"'
    return f"{field.name}: $1"


def _documentation(field: FieldDoc, markdown: bool) -> types.MarkupContent:
    if markdown:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=field_markdown(field))
    return types.MarkupContent(kind=types.MarkupKind.PlainText, value=field.description)


def key_items(where: Location, markdown: bool = True) -> list[types.CompletionItem]:
    """The keys of the object around the cursor that are not written yet."""
    current = where.path[-1] if where.kind == "key" and where.path else None
    present = set(where.present) - ({current} if isinstance(current, str) else set())
    items: list[types.CompletionItem] = []
    for field in where.fields:
        if field.name in present:
            continue
        if field.name == "id" and where.path and where.path[0] == "templates" and _in_record(where):
            continue  # the record key is the id
        edit: types.TextEdit | None = None
        if where.kind == "key":
            edit = types.TextEdit(range=to_lsp_range(where.range), new_text=key_snippet(field))
        items.append(
            types.CompletionItem(
                label=field.name,
                kind=types.CompletionItemKind.Property,
                detail=field.type + (" (required)" if field.required else ""),
                documentation=_documentation(field, markdown),
                insert_text=key_snippet(field) if edit is None else None,
                text_edit=edit,
                insert_text_format=types.InsertTextFormat.Snippet,
                # Required fields first.
                sort_text=("0" if field.required else "1") + field.name,
            )
        )
    return items


def _in_record(where: Location) -> bool:
    # A template written in the record form: its path is ("templates", "<key>", ...).
    return len(where.path) >= 2 and isinstance(where.path[1], str)


def value_items(analysis: Analysis, where: Location) -> list[types.CompletionItem]:
    """Enum values, or template ids where a template is referenced."""
    field = where.field
    choices: list[tuple[str, str]] = []
    if field is not None and field.enum:
        choices = [(value, field.description) for value in field.enum]
    elif where.path == ("defaults", "templateId"):
        config = analysis.result.config
        if config is not None:
            choices = [(t.id, t.summary or t.label) for t in config.templates.values()]
    elif _is_port_service(where.path):
        # `templates.<id>.ports[i].service`: a service of that template.
        config = analysis.result.config
        template = config.get_template(str(where.path[1])) if config is not None else None
        if template is not None:
            choices = [(service.id, service.type) for service in template.services]
    if not choices:
        return []
    replace = where.kind == "value" and isinstance(where.value, Str)
    return [
        types.CompletionItem(
            label=value,
            kind=types.CompletionItemKind.EnumMember,
            detail=detail or None,
            text_edit=types.TextEdit(range=to_lsp_range(where.range), new_text=json.dumps(value))
            if replace
            else None,
            insert_text=None if replace else json.dumps(value),
        )
        for value, detail in choices
    ]


def _is_port_service(path: tuple[object, ...]) -> bool:
    return len(path) == 5 and path[0] == "templates" and path[2] == "ports" and path[4] == "service"


def collection_items(where: Location) -> list[types.CompletionItem]:
    """A new template or service: a snippet with its required fields."""
    if where.kind != "object" or where.collection is None:
        return []
    body = 'label: "$2"' if where.collection == "template" else 'run: "$2"'
    return [
        types.CompletionItem(
            label=f"new {where.collection}",
            kind=types.CompletionItemKind.Snippet,
            insert_text=f'"${{1:id}}": {{ {body} }},',
            insert_text_format=types.InsertTextFormat.Snippet,
        )
    ]


#: At most this many entries of a folder are offered.
MAX_PATH_ITEMS = 500


def path_items(
    analysis: Analysis, where: Location, line: int, character: int
) -> list[types.CompletionItem]:
    """Files and folders for a repository path (prompts, ``cwd``, include patterns).

    Lists the folder typed so far, inside the repository only (its real path
    must stay inside; ``.git`` is never offered).
    """
    import os

    field, value, source, root = where.field, where.value, analysis.result.source, analysis.root
    if field is None or field.repo_path is None or not isinstance(value, Str):
        return []
    if source is None or root is None:
        return []
    offset = source.offset(line, character)
    start = value.span.start + 1  # after the opening quote
    if not start <= offset < value.span.end:
        return []
    typed = source.data[start:offset].decode("utf-8", "replace")
    folder, _, _ = typed.rpartition("/")
    base = root / folder if folder else root
    if not Path(os.path.realpath(base)).is_relative_to(os.path.realpath(root)):
        return []
    try:
        with os.scandir(base) as found:
            entries = sorted(
                ((e.name, e.is_dir()) for e in found if e.name != ".git"),
                key=lambda e: (not e[1], e[0]),
            )[:MAX_PATH_ITEMS]
    except OSError:
        return []
    at = source.position(start + len((folder + "/").encode()) if folder else start)
    end = source.position(offset)
    replace = types.Range(
        start=types.Position(line=at.line, character=at.character),
        end=types.Position(line=end.line, character=end.character),
    )
    return [
        types.CompletionItem(
            label=name + ("/" if is_dir else ""),
            kind=types.CompletionItemKind.Folder if is_dir else types.CompletionItemKind.File,
            text_edit=types.TextEdit(range=replace, new_text=name + ("/" if is_dir else "")),
        )
        for name, is_dir in entries
    ]


def completions(
    analysis: Analysis, line: int, character: int, markdown: bool = True
) -> list[types.CompletionItem]:
    """Every completion for a position of a checked config."""
    where = locate(analysis.result, line, character)
    if where is None:
        return []
    if where.kind == "value":
        return value_items(analysis, where) or path_items(analysis, where, line, character)
    if where.kind in ("key", "object"):
        if where.kind == "key" and where.collection is not None:
            return []  # typing an id
        return key_items(where, markdown) + collection_items(where)
    return []


def register(server: SyntheticServer) -> None:
    """Register textDocument/completion."""

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=['"', ":", "{", ","]),
    )
    def completion(
        ls: SyntheticServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        analysis = ls.analyze(params.text_document.uri)
        if analysis is None:
            return None
        position = params.position
        items = completions(analysis, position.line, position.character, _markdown(ls))
        return types.CompletionList(is_incomplete=False, items=items)


def _markdown(server: SyntheticServer) -> bool:
    """Whether the client shows Markdown in completion documentation."""
    document = server.client_capabilities.text_document
    completion = document.completion if document is not None else None
    item = completion.completion_item if completion is not None else None
    formats = item.documentation_format if item is not None else None
    return bool(formats) and types.MarkupKind.Markdown in (formats or [])
