"""Every public operation has a test that calls it directly, at the ops level.

``OPS_TESTS`` names, for each operation of :data:`synthetic_ls.ops.OPERATIONS`,
a test that calls it (in its body, or in a helper of the same module the
test calls). A new operation fails here until it is registered and given
one; so does a new public function of an ops module that takes the store or
a context, until it is either an operation or listed in ``HELPERS`` with
the reason it is not one.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import synthetic_ls.ops as ops

ROOT = Path(__file__).resolve().parents[2]
LANDING = "tests/integration/test_ops_landing.py"
CONSTRUCTS = "tests/integration/test_ops_constructs.py"
SERVICES = "tests/integration/test_ops_services.py"
RECOVERY = "tests/integration/test_ops_recovery.py"
CONTRACT = "tests/integration/test_ops_contract.py"
CONSENT = "tests/integration/test_consent.py"
SESSION = "tests/opencode/test_ops_session.py"
SERVER = "tests/opencode/test_server.py"
HOSTS = "tests/remote/test_hosts.py"
REMOTE = "tests/remote/test_remote_constructs.py"
REMOTE_LANDING = "tests/remote/test_remote_landing.py"
FACES = "tests/remote/test_remote_faces.py::test_every_operation_takes_a_remote_construct"
RESOLVE = "tests/integration/test_resolve_queue.py"
REACH = "tests/remote/test_remote_reach.py"
GROUPS = "tests/opencode/test_groups.py::test_the_group_operations_called_directly"
COMPARE = "tests/opencode/test_compare.py::test_compare_three_attempts_run_their_checks"
PROMPTS = "test_prompts_build_replaces_the_bundle_and_preview_writes_nothing"

#: Operation -> "file::test" that calls it directly.
OPS_TESTS: dict[str, str] = {
    "plan_construct": f"{CONTRACT}::test_plan_makes_nothing",
    "create_construct": f"{CONSTRUCTS}::test_create_makes_record_branch_and_worktree",
    "show_construct": f"{CONSTRUCTS}::test_show_and_list_read_only",
    "edit_construct": f"{CONSTRUCTS}::test_edit_changes_fields_and_refuses_bad_moves",
    "remove_construct": f"{CONSTRUCTS}::test_removal_preview_then_remove",
    "list_constructs": f"{CONSTRUCTS}::test_show_and_list_read_only",
    "removal_preview": f"{CONSTRUCTS}::test_removal_preview_then_remove",
    "add_worktree": f"{CONSTRUCTS}::test_worktree_add_and_remove_keep_the_record",
    "remove_worktree": f"{CONSTRUCTS}::test_worktree_add_and_remove_keep_the_record",
    "import_worktree": f"{CONSTRUCTS}::test_import_registers_a_hand_made_worktree",
    "diff_construct": f"{CONSTRUCTS}::test_diff_log_and_file_versions_read_only",
    "log_construct": f"{CONSTRUCTS}::test_diff_log_and_file_versions_read_only",
    "review_construct": f"{CONSTRUCTS}::test_edit_changes_fields_and_refuses_bad_moves",
    "file_version": f"{CONSTRUCTS}::test_diff_log_and_file_versions_read_only",
    "commit_construct": f"{LANDING}::test_commit_commits_what_diff_shows_and_never_include_files",
    "check_land": f"{LANDING}::test_check_land_says_what_would_land_and_changes_nothing",
    "land_construct": f"{LANDING}::test_land_merge_makes_a_merge_commit_and_completes",
    "land_queue": f"{RESOLVE}::test_a_queue_stops_at_the_one_that_conflicts_with_those_before_it",
    "resolve_construct": f"{RESOLVE}::test_a_clean_rebase_is_done_and_lands",
    "discard_preview": f"{LANDING}::test_discard_preview_then_discard",
    "discard_construct": f"{LANDING}::test_discard_preview_then_discard",
    "services_status": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "start_services": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "stop_services": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "restart_services": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "resume_services": f"{SERVICES}::test_resume_restarts_what_died_on_the_same_port",
    "service_logs_tail": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "list_ports": f"{SERVICES}::test_stop_start_restart_status_ports_and_logs",
    "build_prompts": f"{SERVICES}::{PROMPTS}",
    "watch_all": "tests/opencode/test_watch_all.py::"
                 "test_every_request_of_every_agent_is_told_once",
    "run_checks": "tests/integration/test_checks.py::"
                  "test_checks_pass_fail_and_time_out_and_are_recorded",
    "preview_prompts": f"{SERVICES}::{PROMPTS}",
    "run_doctor": f"{RECOVERY}::test_a_squash_killed_in_its_commit_hook_is_rolled_back_by_doctor",
    "apply_fix": f"{CONTRACT}::test_doctor_findings_and_one_fix",
    "recover": f"{RECOVERY}::test_an_interrupted_squash_keeps_what_the_person_staged_since",
    "open_session": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "send_prompt": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "watch_session": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "abort_session": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "session_log": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "list_permissions": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "reply_permission": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "approve_permission": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "deny_permission": f"{SESSION}::test_send_approve_deny_watch_log_abort",
    "persist_agent_states": (
        f"{SESSION}::test_persist_agent_states_moves_only_constructs_that_follow_their_agent"
    ),
    "opencode_status": f"{SERVER}::test_the_named_server_is_used_as_it_is",
    "opencode_start": f"{SERVER}::test_the_named_server_is_used_as_it_is",
    "opencode_stop": f"{SERVER}::test_the_named_server_is_used_as_it_is",
    "trust_preview": f"{CONSENT}::test_trust_operations_preview_allow_and_revoke",
    "allow_trust": f"{CONSENT}::test_trust_operations_preview_allow_and_revoke",
    "revoke_trust": f"{CONSENT}::test_trust_operations_preview_allow_and_revoke",
    "list_hosts": f"{HOSTS}::test_add_ls_rm_round_trip_in_the_persons_config",
    "add_host": f"{HOSTS}::test_add_ls_rm_round_trip_in_the_persons_config",
    "remove_host": f"{HOSTS}::test_add_ls_rm_round_trip_in_the_persons_config",
    "check_host": f"{HOSTS}::test_check_says_every_item_is_ok",
    "version_info": f"{HOSTS}::test_version_says_the_state_format",
    "create_remote_construct": f"{REMOTE}::test_the_remote_operations_called_directly",
    "show_remote": f"{REMOTE}::test_the_remote_operations_called_directly",
    "remove_remote_construct": f"{REMOTE}::test_the_remote_operations_called_directly",
    "review_remote": f"{REMOTE}::test_the_remote_operations_called_directly",
    "commit_remote": f"{REMOTE_LANDING}::test_the_operations_called_directly",
    "land_remote": f"{REMOTE_LANDING}::test_the_operations_called_directly",
    "discard_remote": f"{REMOTE_LANDING}::test_the_operations_called_directly",
    "show_any": FACES,
    "diff_any": FACES,
    "log_any": FACES,
    "removal_preview_any": FACES,
    "discard_preview_any": FACES,
    "remove_any": FACES,
    "commit_any": FACES,
    "land_plan_any": FACES,
    "land_any": FACES,
    "discard_any": FACES,
    "connect_session": f"{REACH}::test_the_operations_called_directly_and_a_host_down",
    "open_services": f"{REACH}::test_the_operations_called_directly_and_a_host_down",
    "create_group": GROUPS,
    "list_groups": GROUPS,
    "show_group": GROUPS,
    "remove_group": GROUPS,
    "pick_preview": GROUPS,
    "pick_attempt": GROUPS,
    "compare_group": COMPARE,
    "diff_attempts": COMPARE,
    "check_config": f"{CONTRACT}::test_config_check_and_starter",
    "write_starter": f"{CONTRACT}::test_config_check_and_starter",
    "list_templates": f"{CONSTRUCTS}::test_list_templates_reads_the_config",
}

#: Public functions of ops modules that take the store or a context and are not
#: operations a face calls, with why.
HELPERS: dict[str, str] = {
    "compare.attempt_files": "what one attempt changed, for compare_group",
    "groups.members_of": "a group's constructs, for show, removal, pick and recovery",
    "groups.interrupted_groups": "the read half of doctor's group findings",
    "groups.stop_journal": "marks a group's failed operation stopped, for recovery",
    "groups.recover_group": "the fix of doctor's interrupted-operation finding of a group",
    "agent_status.overlay": "a read's overlay of live agent states, used by views",
    "agent_status.poll_agents": "asks the server for agent states; part of the overlay",
    "constructs.write_record": "a step of create_construct",
    "show.services_and_ports": "part of a construct's view",
    "constructs.remove": "remove_construct under a given context (land --remove, discard)",
    "doctor.collect_findings": "the read half of run_doctor",
    "recovery.work_for": "builds the Work recovery hands on",
    "recovery.settle": "what every changing op runs first (recover, or refuse a live op)",
    "removal_preview.preview_of": "removal_preview of a construct already read",
    "review.span_for": "the commits a review or landing covers",
    "review.span_of": "span_for by reference",
    "review.worktree_changes": "a construct's uncommitted changes, for diff/commit/land",
    "review.session_summary": "part of draft_message",
    "review.draft_message": "the squash message check_land and land_construct draft",
    "services.views_of": "part of services_status",
    "services.follow_log": "the follow loop of `services logs -f`, over service_logs_tail",
    "remote_constructs.find_remote": "resolves a remote record for show and rm",
    "remote_constructs.consent_items": "what create_remote_construct asks consent for",
    "remote_constructs.list_remote": "the remote half of list_constructs",
    "remote_constructs.recover_remote": "the fix of doctor's interrupted-operation finding",
    "landing.preflight": "land_construct's and land_remote's checks before anything",
    "remote_constructs.end_landing": "the last step of land_remote and of its recovery",
    "remote_constructs.recover_remote_land": "recover_remote's settling of a landing",
    "anywhere.remote_of": "which kind of construct a reference names, for the *_any ops",
    "session.session_target": "resolves a construct's session and server for the session ops",
    "remote_reach.remote_target": "session_target of a construct on another machine",
    "remote_reach.remote_services_status": "services_status of a construct on another machine",
    "remote_reach.release_forwards": "what rm, discard and recovery of a remote construct close",
    "remote_reach.orphan_forwards": "the read half of doctor's orphan-forward finding",
    "remote_constructs.release_forwards": "remote_reach.release_forwards for rm and recovery",
}


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _names(node: ast.AST) -> set[str]:
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.add(sub.attr)
    return out


def _called(test: str) -> set[str]:
    """Names a test uses: in its body, and in the same module's helpers it calls."""
    path, name = test.split("::")
    tree = ast.parse((ROOT / path).read_text())
    functions = _functions(tree)
    assert name in functions, f"{test} does not exist"
    names = _names(functions[name])
    for helper in names & set(functions):
        names |= _names(functions[helper])
    return names


def test_every_operation_has_an_ops_level_test() -> None:
    assert sorted(OPS_TESTS) == sorted(ops.OPERATIONS), (
        "register each new operation in synthetic_ls.ops.OPERATIONS and give it a test here")
    missing = [op for op, test in OPS_TESTS.items() if op not in _called(test)]
    assert missing == [], f"these tests do not call their operation: {missing}"


def test_every_operation_is_found_where_the_registry_says() -> None:
    for name, module in ops.OPERATIONS.items():
        function = ops.operation(name)
        assert inspect.isfunction(function)
        assert function.__module__ == f"synthetic_ls.ops.{module}", name


def test_every_public_function_taking_the_store_is_an_operation_or_a_helper() -> None:
    unclassified: list[str] = []
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"synthetic_ls.ops.{info.name}")
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue
            params = list(inspect.signature(function).parameters)
            if not params or params[0] not in ("store", "ctx"):
                continue
            if name not in ops.OPERATIONS and f"{info.name}.{name}" not in HELPERS:
                unclassified.append(f"{info.name}.{name}")
    assert unclassified == [], (
        f"new public functions {unclassified}: add each to synthetic_ls.ops.OPERATIONS "
        "(and a test to OPS_TESTS), or to HELPERS with the reason it is not an operation")
    stale = [h for h in HELPERS if not hasattr(
        importlib.import_module(f"synthetic_ls.ops.{h.split('.')[0]}"), h.split(".")[1])]
    assert stale == []
