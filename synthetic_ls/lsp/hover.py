"""Hover: a key's schema description and type, a template's label/summary/services, env refs.

``process.env.X`` shows whether the variable is set in the server's
environment, never its value.
"""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types

from synthetic_ls.config.locate import FieldDoc, Location, locate
from synthetic_ls.config.values import EnvRefValue, Str
from synthetic_ls.lsp.server import Analysis, SyntheticServer, to_lsp_range


def field_markdown(field: FieldDoc) -> str:
    """Markdown for a schema field: name, type, description, allowed values."""
    lines = [f"**`{field.name}`**: {field.type}" + (" (required)" if field.required else "")]
    if field.description:
        lines += ["", field.description]
    if field.enum:
        lines += ["", "Allowed: " + ", ".join(f"`{value}`" for value in field.enum)]
    return "\n".join(lines)


def template_markdown(analysis: Analysis, template_id: str) -> str | None:
    """Markdown for a template of the checked config: label, summary, type and services."""
    config = analysis.result.config
    template = config.get_template(template_id) if config is not None else None
    if template is None:
        return None
    lines = [f"**Template `{template.id}`**: {template.label}"]
    if template.summary:
        lines += ["", template.summary]
    lines += ["", f"Type: `{template.type}`"]
    if template.services:
        lines += ["", "Services:"]
        for service in template.services:
            what = getattr(service, "run", None) or getattr(service, "image", None) or ""
            lines.append(f"- `{service.id}` ({service.type})" + (f": `{what}`" if what else ""))
    else:
        lines += ["", "No services."]
    return "\n".join(lines)


def env_markdown(ref: EnvRefValue) -> str:
    """Whether ``process.env.NAME`` is set where the server runs; never the value."""
    state = "set" if ref.name in os.environ else "**not set**"
    text = f"`process.env.{ref.name}` is {state} in the language server's environment."
    if ref.default is not None:
        text += " Its default (after `??`) is used when it is unset."
    text += " It is read when a construct is created, not when the config is checked."
    return text


#: How much of a prompt file a hover shows.
PREVIEW_LINES = 8
PREVIEW_BYTES = 4096


def file_markdown(path: Path) -> str | None:
    """A file's size and first lines (at most ``PREVIEW_BYTES`` read), or None."""
    try:
        size = path.stat().st_size
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            head = os.read(fd, PREVIEW_BYTES)
        finally:
            os.close(fd)
    except OSError:
        return None
    lines = head.decode("utf-8", "replace").splitlines()[:PREVIEW_LINES]
    body = "\n".join(line.replace("```", "ˋˋˋ") for line in lines)
    return f"**{path.name}**: {_size(size)}\n\n```\n{body}\n```"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def path_target(analysis: Analysis, where: Location) -> Path | None:
    """The file a repository path value names (a prompt, ``cwd``, a compose file), if one."""
    from synthetic_ls.repo_files import repo_file

    field, value = where.field, where.value
    if where.kind != "value" or field is None or field.repo_path is None:
        return None
    if not isinstance(value, Str) or analysis.root is None:
        return None
    return repo_file(analysis.root, value.value)


def hover_markdown(analysis: Analysis, where: Location) -> str | None:
    """What to show for a location, or None."""
    value = where.value
    target = path_target(analysis, where)
    if target is not None:
        preview = file_markdown(target)
        if preview is not None:
            return preview
    if where.kind == "key" and where.collection == "template" and len(where.path) == 2:
        return template_markdown(analysis, str(where.path[1]))
    if where.kind == "value" and isinstance(value, EnvRefValue):
        return env_markdown(value)
    # A template referenced by id: `defaults.templateId`, or `id` in the array form.
    referenced = where.path == ("defaults", "templateId") or (
        len(where.path) == 3 and where.path[0] == "templates" and where.path[2] == "id"
    )
    if where.kind == "value" and referenced and isinstance(value, Str):
        found = template_markdown(analysis, value.value)
        if found is not None:
            return found
    if where.field is not None and where.kind in ("key", "value"):
        return field_markdown(where.field)
    return None


def register(server: SyntheticServer) -> None:
    """Register textDocument/hover."""

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: SyntheticServer, params: types.HoverParams) -> types.Hover | None:
        analysis = ls.analyze(params.text_document.uri)
        if analysis is None:
            return None
        position = params.position
        where = locate(analysis.result, position.line, position.character)
        if where is None:
            return None
        text = hover_markdown(analysis, where)
        if text is None:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=to_lsp_range(where.range),
        )
