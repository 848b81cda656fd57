"""``config templates``: the templates a new construct can be made from.

Choosing a template for an operation is the operation context's
(:meth:`~synthetic_ls.provision.context.Context.choose_template`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from typing_extensions import TypedDict

from synthetic_ls.errors import InvalidInputError

CONFIG_FILE = "synthetic.config.ts"


class TemplateJson(TypedDict):
    """A template, for a picker: its id, label, summary, type and services' names."""

    id: str
    label: str
    summary: str | None
    type: Literal["implementation", "planning", "manual"]
    services: list[str]


class TemplatesJson(TypedDict):
    """``synthetic.config.templates``: the templates, and the config's default (null:
    none)."""

    templates: list[TemplateJson]
    default: str | None


@dataclass(frozen=True)
class TemplatesResult:
    """The templates a new construct can be made from, and the default one."""

    templates: list[TemplateJson]
    default: str | None

    def to_dict(self) -> TemplatesJson:
        """``{"templates": [{"id", "label", "summary", "type", "services"}], "default"}``."""
        return {"templates": self.templates, "default": self.default}


def list_templates(repo_root: Path) -> TemplatesResult:
    """The config's templates (for a picker in an editor); errors as for ``new``."""
    from synthetic_ls.config import load_config

    result = load_config(repo_root)
    if not result.exists:
        raise InvalidInputError(f"no {CONFIG_FILE} in {repo_root}", code="no-config")
    if result.has_errors or result.config is None:
        raise InvalidInputError(
            f"{CONFIG_FILE} has errors; check it to see them", code="config-has-errors"
        )
    config = result.config
    templates: list[TemplateJson] = [
        {
            "id": template_id,
            "label": template.label,
            "summary": template.summary,
            "type": template.type,
            "services": [service.id for service in template.services],
        }
        for template_id, template in config.templates.items()
    ]
    default = config.default_template_id
    return TemplatesResult(templates, str(default) if default else None)
