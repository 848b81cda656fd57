"""Worktree commands: ``worktree add``, ``worktree rm``, ``doctor``, ``import``.

Thin: parse, call the ops, print. Heavy modules (pygit2, the config reader)
are imported inside the handlers so other commands start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    wt = sub.add_parser(
        "worktree",
        help="add or remove a construct's git worktree",
        description="Manage the git worktree of an existing construct.",
    )
    wsub = wt.add_subparsers(dest="worktree_command", metavar="ACTION", required=True)

    p = wsub.add_parser(
        "add",
        help="give a construct without one a worktree",
        description="Create a worktree for a construct that has none. If the "
        "construct's branch was kept when its worktree was removed, it is "
        "checked out again.",
    )
    p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    p.add_argument(
        "--from",
        dest="from_ref",
        default=None,
        metavar="REF",
        help="start a new branch at this branch, tag or commit (default: HEAD)",
    )
    p.add_argument("--branch", default=None, metavar="NAME", help="name of the new branch")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_worktree_add)

    p = wsub.add_parser(
        "rm",
        help="remove a construct's worktree (keeps the construct)",
        description="Remove the worktree and git's entry for it. The branch is "
        "kept if it has commits not merged into its base, unless --force.",
    )
    p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    p.add_argument(
        "--force",
        action="store_true",
        help="discard uncommitted changes and delete an unmerged branch",
    )
    p.add_argument(
        "--keep-session",
        action="store_true",
        help="keep the agent session in OpenCode (default: delete it with the worktree)",
    )
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_worktree_rm)

    p = sub.add_parser(
        "doctor",
        help="check records against git's worktrees and branches",
        description="Report records whose worktree is gone, worktrees with no "
        "record, prunable worktree entries, branches left by removed constructs, "
        "moved worktrees and interrupted creations. --fix repairs what is safe.",
    )
    p.add_argument("--fix", action="store_true", help="repair what is safe to repair")
    p.add_argument(
        "--fix-one",
        default=None,
        metavar="ID",
        help="apply the safe fix of one finding (its id, as --json lists it)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "import",
        help="register an existing linked worktree as a construct",
        description="Register a worktree made by hand (git worktree add) or by "
        "another tool as a construct.",
    )
    p.add_argument("path", metavar="PATH", help="folder of the linked worktree")
    p.add_argument("--name", default=None, help="construct name (default: the folder name)")
    p.add_argument(
        "--template",
        "-t",
        default=None,
        metavar="ID",
        help="template id (default: defaults.templateId)",
    )
    p.add_argument("--description", "-d", default="", metavar="TEXT", help="free text")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_import)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _line(text: str) -> str:
    from state_format.store import one_line

    # Long enough for real paths; still escapes control characters.
    return one_line(text, 2000)


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def cmd_worktree_add(args: argparse.Namespace) -> int:
    """``synthetic worktree add``."""
    from state_format.text import one_line
    from synthetic_ls.cli.constructs_cmd import _print_copy_report
    from synthetic_ls.ops.worktree import add_worktree

    result = add_worktree(_store(), args.ref, from_ref=args.from_ref, branch=args.branch,
                          consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    c = result.construct
    reused = dict(result.extra).get("reused_branch")
    how = "checked out existing branch" if reused else "created branch"
    sys.stdout.write(f"Worktree for {c.id} at {c.workspace_path} ({how} {c.branch}).\n")
    _print_copy_report(result.copied, result.skipped)
    if c.opencode_session_id:  # say what else started, as `new` does
        sys.stdout.write(f"Agent session {c.opencode_session_id} started in the worktree.\n")
    extra = dict(result.extra)
    for port in extra.get("ports", []):
        sys.stdout.write(f"  port:     {port['port']} ({port['env']})\n")
    for service in extra.get("services", []):
        sys.stdout.write(f"  service:  {one_line(service['name'])} {service['state']}\n")
    return int(ExitCode.OK)


def cmd_worktree_rm(args: argparse.Namespace) -> int:
    """``synthetic worktree rm``."""
    from synthetic_ls.ops.worktree import remove_worktree

    result = remove_worktree(
        _store(), args.ref, force=args.force, keep_session=args.keep_session,
        consent=consent_of(args),
    )
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    sys.stdout.write(f"Removed the worktree of {result.construct.id}.\n")
    for note in result.notes:
        sys.stdout.write(f"  {_line(note)}\n")
    return int(ExitCode.OK)


def cmd_doctor(args: argparse.Namespace) -> int:
    """``synthetic doctor``: exit 0 when nothing is left to do, 1 otherwise."""
    from synthetic_ls.ops.doctor import apply_fix, run_doctor

    store = _store()
    if args.fix_one is not None:
        finding = apply_fix(store, args.fix_one)
        if args.json:
            _print_json(finding.to_dict())
        else:
            for note in finding.fix_notes:
                sys.stdout.write(f"{_line(note)}\n")
        return int(ExitCode.OK) if finding.fixed else int(ExitCode.FAILED)
    report = run_doctor(store, fix=args.fix)
    if args.json:
        _print_json(report.to_dict())
    elif not report.findings:
        sys.stdout.write("All constructs, worktrees and branches agree.\n")
    else:
        for f in report.findings:
            mark = "fixed" if f.fixed else "found"
            sys.stdout.write(f"{mark}: [{f.kind}] {_line(f.message)}\n")
            for note in f.fix_notes:
                sys.stdout.write(f"       {_line(note)}\n")
            if not f.fixed:
                advice = f.advice or (
                    f"`synthetic doctor --fix` (or `--fix-one {f.id}`) repairs it"
                    if f.fixable
                    else ""
                )
                if advice:
                    sys.stdout.write(f"       {_line(advice)}\n")
        left = len(report.unresolved)
        sys.stdout.write(
            f"{len(report.findings)} finding(s), {left} left for you.\n"
            if left
            else f"{len(report.findings)} finding(s), all fixed.\n"
        )
    return int(ExitCode.OK) if not report.unresolved else int(ExitCode.FAILED)


def cmd_import(args: argparse.Namespace) -> int:
    """``synthetic import``."""
    from synthetic_ls.ops.import_worktree import import_worktree

    result = import_worktree(
        _store(),
        Path(args.path),
        name=args.name,
        template_id=args.template,
        description=args.description,
    )
    c = result.construct
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(
            f"Imported {c.workspace_path} as construct {c.id} (branch {c.branch or 'detached'}).\n"
        )
    return int(ExitCode.OK)
