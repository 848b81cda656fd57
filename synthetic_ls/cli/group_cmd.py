"""Groups of attempts: ``new --attempts/--model`` (:func:`new_group`) and ``group ls|show|rm``.

Thin: parse, call :mod:`synthetic_ls.ops.groups`, render a table or ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from state_format.text import one_line
from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import table
from synthetic_ls.errors import SyntheticError

#: ``new`` options a group does not take: each member gets its own branch and worktree
#: with an agent, so these would contradict it.
_NOT_FOR_GROUPS = (("status", None), ("worktree", True), ("branch", None), ("agent", None),
                   ("keep_failed", False), ("dry_run", False), ("host", None))


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``group`` and its subcommands to the top-level parser."""
    p = sub.add_parser(
        "group", help="groups of attempts at one task (`new --attempts`)",
        description="List, show and remove groups of attempts: constructs made from one "
        "template and one prompt by `synthetic new TASK --attempts N` or `--model`.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    q = verbs.add_parser("ls", help="list the groups", description="List every group.")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_group_ls)
    q = verbs.add_parser("show", help="show a group and its members",
                         description="Show a group: its prompt and each attempt's state.")
    q.add_argument("ref", metavar="GROUP", help="id, unique id prefix, or exact name")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_group_show)
    q = verbs.add_parser(
        "rm", help="remove a group and all its attempts",
        description="Remove every attempt of the group (worktree, branch, services, session) "
        "and the group. Work that would be lost refuses it unless --force.")
    q.add_argument("ref", metavar="GROUP", help="id, unique id prefix, or exact name")
    q.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    q.add_argument("--force", action="store_true",
                   help="remove attempts with unmerged commits or uncommitted changes too")
    add_trust_flag(q)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_group_rm)


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def new_group(args: argparse.Namespace) -> int:
    """``synthetic new TASK --attempts N`` / ``--model P/M ...``: a group of attempts."""
    from synthetic_ls.cli.terminal import step_printer
    from synthetic_ls.ops.groups import GroupOptions, create_group

    given = [name for name, default in _NOT_FOR_GROUPS if getattr(args, name) != default]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise SyntheticError(f"{flags} cannot be used with --attempts or --model (each "
                             "attempt gets its own worktree, branch and agent)", code="usage")
    if args.description:
        raise SyntheticError("--description cannot be used with --attempts or --model: the "
                             "task NAME is every attempt's prompt and description", code="usage")
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    view = create_group(
        _store(),
        GroupOptions(task=args.name, attempts=args.attempts, models=tuple(args.models or ()),
                     template_id=args.template, from_ref=args.from_ref),
        progress=step_printer(not show), consent=consent_of(args))
    shown = view.to_dict()
    if args.json:
        _print_json(shown)
        return int(ExitCode.OK)
    sys.stdout.write(f"Created group {shown['id']} ({one_line(shown['name'])}): "
                     f"{len(shown['members'])} attempt(s) from template {shown['template_id']}, "
                     "each sent the prompt.\n")
    sys.stdout.write(_members_table(shown))
    return int(ExitCode.OK)


def _members_table(shown: Mapping[str, Any]) -> str:
    members = shown["members"]
    columns = [
        ["ATTEMPT", *(m["id"] for m in members)],
        ["STATUS", *((m["status"] or "gone") for m in members)],
        ["MODEL", *(one_line(m["model"] or "template's", 40) for m in members)],
        ["BRANCH", *(one_line(m["branch"] or "-", 40) for m in members)],
        ["WORKTREE", *(one_line(m["workspace_path"] or "-", 80) for m in members)],
    ]
    return table(columns, states={1: [m["status"] or "gone" for m in members]})


def cmd_group_ls(args: argparse.Namespace) -> int:
    """``synthetic group ls``."""
    from synthetic_ls.ops.groups import list_groups

    listed = list_groups(_store()).to_dict()
    if args.json:
        _print_json(listed)
    elif not listed["groups"]:
        sys.stdout.write("No groups. Make one with: synthetic new TASK --attempts N\n")
    else:
        groups = listed["groups"]
        sys.stdout.write(table([
            ["GROUP", *(g["id"] for g in groups)],
            ["ATTEMPTS", *(_count(g) for g in groups)],
            ["TEMPLATE", *(one_line(g["template_id"], 24) for g in groups)],
            ["CREATED (UTC)", *(g["created_at"].replace("T", " ")[:16] for g in groups)],
            ["OPERATION", *((g["operation"] or "-") for g in groups)],
            ["USAGE", *(usage_text(g["usage"]) for g in groups)],
            ["NAME", *(one_line(g["name"], 60) for g in groups)],
        ]))
        sys.stdout.write(f"All groups' agents: {usage_text(listed['usage'])}\n")
    for broken in listed["broken"]:
        sys.stderr.write(f"synthetic: warning: {broken}\n")
    return int(ExitCode.OK)


def usage_text(usage: Mapping[str, Any] | None) -> str:
    """``12.3k in 456 out $0.0123``, or ``-`` when no server told it."""
    from synthetic_ls.ops.usage import Usage

    return Usage(**usage).summary() if usage is not None else "-"


def _count(group: Mapping[str, Any]) -> str:
    members = group["members"]
    here = sum(1 for m in members if not m["gone"])
    return f"{here}" if here == len(members) else f"{here} ({len(members) - here} gone)"


def cmd_group_show(args: argparse.Namespace) -> int:
    """``synthetic group show GROUP``."""
    from synthetic_ls.ops.groups import show_group

    shown = show_group(_store(), args.ref).to_dict()
    if args.json:
        _print_json(shown)
        return int(ExitCode.OK)
    out = sys.stdout
    out.write(f"Group {shown['id']}: {one_line(shown['name'])}\n")
    out.write(f"  template:  {shown['template_id']}\n")
    out.write(f"  created:   {shown['created_at']}\n")
    if shown["operation"]:
        out.write(f"  operation: {shown['operation']}\n")
    out.write(f"  usage:     {usage_text(shown['usage'])}\n")
    prompt = shown["prompt"].splitlines() or [""]
    out.write(f"  prompt:    {one_line(prompt[0], 200)}{' ...' if len(prompt) > 1 else ''}\n")
    out.write(_members_table(shown))
    return int(ExitCode.OK)


def cmd_group_rm(args: argparse.Namespace) -> int:
    """``synthetic group rm GROUP``: asks on a terminal, else needs --yes."""
    from synthetic_ls.ops.groups import remove_group, show_group

    store = _store()
    shown = show_group(store, args.ref, usage=False).to_dict()
    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(f"refusing to remove group {shown['id']} without "
                                 "confirmation; pass --yes", code="usage")
        here = [m["id"] for m in shown["members"] if not m["gone"]]
        sys.stderr.write(f"Remove group {shown['id']} and its {len(here)} attempt(s): "
                         f"{', '.join(here) or 'none left'}? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not removed.\n")
            return int(ExitCode.FAILED)
    result = remove_group(store, shown["id"], force=args.force, consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    sys.stdout.write(f"Removed group {result.group.id} and {len(result.members)} attempt(s).\n")
    for note in result.notes:
        sys.stdout.write(f"  {one_line(note, 300)}\n")
    return int(ExitCode.OK)
