"""Template lookup for construct creation: the one place that asks the config.

Kept tiny on purpose so that it follows the config reader's API in one spot.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthetic_ls.errors import InvalidInputError

if TYPE_CHECKING:
    from synthetic_ls.config import ConfigResult, SyntheticConfig, Template

CONFIG_FILE = "synthetic.config.ts"


def _load_config(repo_root: Path) -> ConfigResult:
    # Imported here: the config reader pulls in tree-sitter, which commands
    # that never look at templates (ls, show, rm) should not pay for.
    from synthetic_ls.config import load_config

    return load_config(repo_root)


def choose_template(
    repo_root: Path, template_id: str | None
) -> tuple[str, Template, SyntheticConfig]:
    """The template a new construct should use, with the config it came from.

    ``template_id`` None means "the default": ``defaults.templateId`` if the
    config sets one. Raises InvalidInputError (exit 7) when the config is
    missing or has errors, the id is unknown, or no id was given and there is
    no default; messages list the available templates.
    """
    result = _load_config(repo_root)
    if not result.exists:
        raise InvalidInputError(
            f"no {CONFIG_FILE} in {repo_root}; run `synthetic init` to create one"
        )
    if result.has_errors or result.config is None:
        raise InvalidInputError(
            f"{CONFIG_FILE} has errors; run `synthetic config check` to see them"
        )
    config = result.config
    available = sorted(config.templates)
    listing = ", ".join(available) if available else "none defined"
    if template_id is None:
        default = config.default_template_id
        if default:
            template_id = str(default)
        else:
            raise InvalidInputError(
                f"no template given and {CONFIG_FILE} sets no defaults.templateId; "
                f"name one (available: {listing})",
                code="no-default-template",
            )
    if template_id not in config.templates:
        close = difflib.get_close_matches(template_id, available, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InvalidInputError(f"unknown template {template_id!r} (available: {listing}){hint}")
    return template_id, config.templates[template_id], config


def construct_template_or_none(
    repo_root: Path, template_id: str
) -> tuple[Template | None, SyntheticConfig | None]:
    """An existing construct's template and config, or Nones when either cannot be had.

    For removal, recovery and checks: they must work with a broken config
    or a template that is gone (and fall back to cautious defaults).
    """
    try:
        return choose_template(repo_root, template_id)[1:]
    except InvalidInputError:
        result = _load_config(repo_root)
        return None, result.config if not result.has_errors else None


@dataclass(frozen=True)
class TemplatesResult:
    """The templates a new construct can be made from, and the default one."""

    templates: list[dict[str, Any]]
    default: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{"templates": [{"id", "label", "summary", "type", "services"}], "default"}``."""
        return {"templates": self.templates, "default": self.default}


def list_templates(repo_root: Path) -> TemplatesResult:
    """The config's templates (for a picker in an editor); errors as for ``new``."""
    result = _load_config(repo_root)
    if not result.exists:
        raise InvalidInputError(f"no {CONFIG_FILE} in {repo_root}", code="no-config")
    if result.has_errors or result.config is None:
        raise InvalidInputError(f"{CONFIG_FILE} has errors; check it to see them")
    config = result.config
    templates = [
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
