"""synthetic_ls.ops layer (see DESIGN.md): one plain function per operation.

:data:`OPERATIONS` names every public operation (the functions the faces
call) and the module that defines it; :func:`operation` gives the function,
importing only its module. (Two operations share their module's name,
``removal_preview`` and ``import_worktree``, so the package does not offer
them as attributes: once such a module is imported, the package attribute
is the module.) Every name here has a test that calls it directly, at the
ops level (``tests/unit/test_ops_registry.py`` keeps the two lists in step).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: Operation name -> the module of ``synthetic_ls.ops`` that defines it.
OPERATIONS: dict[str, str] = {
    # constructs
    "plan_construct": "constructs",
    "create_construct": "constructs",
    "show_construct": "show",
    "edit_construct": "constructs",
    "remove_construct": "constructs",
    "list_constructs": "listing",
    "removal_preview": "removal_preview",
    # worktrees
    "add_worktree": "worktree",
    "remove_worktree": "worktree",
    "import_worktree": "import_worktree",
    # review and land
    "diff_construct": "review",
    "log_construct": "review",
    "review_construct": "review",
    "file_version": "file_versions",
    "commit_construct": "commit_work",
    "check_land": "landing",
    "land_construct": "landing",
    "land_queue": "land_queue",
    "resolve_construct": "resolve",
    "discard_preview": "discard",
    "discard_construct": "discard",
    # groups of attempts
    "create_group": "groups",
    "list_groups": "groups",
    "show_group": "groups",
    "remove_group": "groups",
    "pick_preview": "pick",
    "pick_attempt": "pick",
    "compare_group": "compare",
    "diff_attempts": "attempts_diff",
    # services, ports, prompts
    "services_status": "services",
    "start_services": "services",
    "stop_services": "services",
    "restart_services": "services",
    "resume_services": "services",
    "service_logs_tail": "services",
    "list_ports": "ports",
    "build_prompts": "prompts",
    # the template's checks
    "run_checks": "checks",
    "preview_prompts": "prompts",
    # doctor and recovery
    "run_doctor": "doctor",
    "apply_fix": "doctor",
    "recover": "recovery",
    # agent sessions and the OpenCode server
    "open_session": "session",
    "send_prompt": "session",
    "watch_session": "session",
    "watch_all": "watch_all",
    "abort_session": "session",
    "session_log": "session",
    "list_permissions": "session",
    "reply_permission": "session",
    "approve_permission": "session",
    "deny_permission": "session",
    "connect_session": "session",
    "persist_agent_states": "agent_status",
    "opencode_status": "opencode",
    "opencode_start": "opencode",
    "opencode_stop": "opencode",
    # consent to the repository's code
    "trust_preview": "trust",
    "allow_trust": "trust",
    "revoke_trust": "trust",
    # hosts: other machines, over SSH
    "list_hosts": "hosts",
    "add_host": "hosts",
    "remove_host": "hosts",
    "check_host": "hosts",
    "version_info": "version",
    # constructs on other machines (`new --host`; `ls` lists them with list_constructs)
    "create_remote_construct": "remote_constructs",
    "show_remote": "remote_constructs",
    "remove_remote_construct": "remote_constructs",
    "review_remote": "remote_constructs",
    "open_services": "remote_reach",
    "commit_remote": "remote_landing",
    "land_remote": "remote_landing",
    "discard_remote": "remote_landing",
    # any construct, here or on another machine: the faces call these (ops.anywhere)
    "show_any": "anywhere",
    "diff_any": "anywhere",
    "log_any": "anywhere",
    "removal_preview_any": "anywhere",
    "discard_preview_any": "anywhere",
    "remove_any": "anywhere",
    "commit_any": "anywhere",
    "land_plan_any": "anywhere",
    "land_any": "anywhere",
    "discard_any": "anywhere",
    # config
    "check_config": "config",
    "write_starter": "config",
    "list_templates": "templates",
}

__all__ = ["OPERATIONS", "operation"]


def operation(name: str) -> Callable[..., Any]:
    """The function of operation ``name`` (a key of :data:`OPERATIONS`)."""
    module = OPERATIONS.get(name)
    if module is None:
        raise KeyError(f"no operation {name!r}")
    function: Callable[..., Any] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return function
