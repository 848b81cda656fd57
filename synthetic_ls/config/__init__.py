"""synthetic.config.ts: static reading (never executed), validation and the typed model.

Public API::

    from synthetic_ls.config import load_config, check_config_text, CONFIG_FILENAME
    result = load_config(repo_root)          # ConfigResult
    result.config                            # SyntheticConfig | None
    result.diagnostics                       # list[Diagnostic] (0-based, UTF-16 columns)
    result.has_errors

The file is parsed with tree-sitter and evaluated as data; see ``evaluate.py``
for what is understood and ``diagnostics.Code`` for the diagnostic codes.

The names below are loaded on first use (PEP 562 ``__getattr__``): the
checker needs pydantic and tree-sitter, a few hundred milliseconds to import,
and the JSON Schema export is needed by one command only. Importing this
package costs nothing until one of them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthetic_ls.config.diagnostics import Code, Diagnostic, Position, Range, Severity
    from synthetic_ls.config.jsonschema import json_schema
    from synthetic_ls.config.loader import (
        CONFIG_FILENAME,
        MAX_CONFIG_BYTES,
        ConfigResult,
        check_config_bytes,
        check_config_file,
        check_config_text,
        config_path,
        find_repo_root,
        load_config,
    )
    from synthetic_ls.config.schema import (
        DEFAULT_BRANCH_PREFIX,
        Agent,
        ComposeService,
        Defaults,
        DockerService,
        EnvRef,
        OpenCode,
        PortRequest,
        ProcessService,
        PromptSource,
        Service,
        SyntheticConfig,
        Template,
        TemplatePort,
        Worktrees,
        resolve_env,
    )
    from synthetic_ls.config.starter import STARTER_CONFIG

# Public name -> the submodule defining it.
_SOURCES: dict[str, str] = {
    **dict.fromkeys(["Code", "Diagnostic", "Position", "Range", "Severity"], "diagnostics"),
    "json_schema": "jsonschema",
    **dict.fromkeys(
        [
            "CONFIG_FILENAME",
            "MAX_CONFIG_BYTES",
            "ConfigResult",
            "check_config_bytes",
            "check_config_file",
            "check_config_text",
            "config_path",
            "find_repo_root",
            "load_config",
        ],
        "loader",
    ),
    **dict.fromkeys(
        [
            "DEFAULT_BRANCH_PREFIX",
            "Agent",
            "ComposeService",
            "Defaults",
            "DockerService",
            "EnvRef",
            "OpenCode",
            "PortRequest",
            "ProcessService",
            "PromptSource",
            "Service",
            "SyntheticConfig",
            "Template",
            "TemplatePort",
            "Worktrees",
            "resolve_env",
        ],
        "schema",
    ),
    "STARTER_CONFIG": "starter",
}

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_BRANCH_PREFIX",
    "MAX_CONFIG_BYTES",
    "STARTER_CONFIG",
    "Agent",
    "Code",
    "ComposeService",
    "ConfigResult",
    "Defaults",
    "Diagnostic",
    "DockerService",
    "EnvRef",
    "OpenCode",
    "PortRequest",
    "Position",
    "ProcessService",
    "PromptSource",
    "Range",
    "Service",
    "Severity",
    "SyntheticConfig",
    "Template",
    "TemplatePort",
    "Worktrees",
    "check_config_bytes",
    "check_config_file",
    "check_config_text",
    "config_path",
    "find_repo_root",
    "json_schema",
    "load_config",
    "resolve_env",
]


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first use, then cache the value here."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_SOURCES])
