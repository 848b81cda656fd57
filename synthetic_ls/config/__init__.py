"""synthetic.config.ts: static reading (never executed), validation and the typed model.

Public API::

    from synthetic_ls.config import load_config, check_config_text, CONFIG_FILENAME
    result = load_config(repo_root)          # ConfigResult
    result.config                            # SyntheticConfig | None
    result.diagnostics                       # list[Diagnostic] (0-based, UTF-16 columns)
    result.has_errors

The file is parsed with tree-sitter and evaluated as data; see ``evaluate.py``
for what is understood and ``diagnostics.Code`` for the diagnostic codes.
"""

from synthetic_ls.config.diagnostics import Code, Diagnostic, Position, Range, Severity
from synthetic_ls.config.jsonschema import json_schema
from synthetic_ls.config.loader import (
    CONFIG_FILENAME,
    MAX_CONFIG_BYTES,
    ConfigResult,
    check_config_bytes,
    check_config_file,
    check_config_text,
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
    "find_repo_root",
    "json_schema",
    "load_config",
    "resolve_env",
]
