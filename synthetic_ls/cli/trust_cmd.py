"""``synthetic trust``: see what the repository would run, and allow it (or forget it).

Like ``direnv allow``: the list is what every template's commands and
OpenCode's plugins, tools and MCP servers would run; the answer is kept
outside the repository and asked again for whatever changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.consent_prompt import write_items
from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``trust`` to the top-level parser."""
    p = sub.add_parser(
        "trust", help="list what the repository would run, and allow it",
        description="List every command and OpenCode plugin, tool or MCP server the "
        "repository would run (its templates' setup, services, stop and teardown commands; "
        "what OpenCode loads from the main checkout and each worktree), then allow what is "
        "not allowed yet. The answer is kept outside the repository, per item, and asked "
        "again when an item changes.",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="only list; change nothing")
    what.add_argument("--yes", "-y", action="store_true", help="allow without asking")
    what.add_argument("--revoke", action="store_true",
                      help="forget every answer given in this repository")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_trust)


def cmd_trust(args: argparse.Namespace) -> int:
    """``synthetic trust``: exit 0 when everything is allowed (or forgotten, with
    ``--revoke``), 8 when something is not."""
    from state_format.store import Store
    from synthetic_ls.ops.trust import allow_trust, revoke_trust, trust_preview

    store = Store.open()
    if args.revoke:
        view = revoke_trust(store)
    else:
        view = trust_preview(store)
        waiting = [item for item, ok in view.items if not ok]
        if waiting and not args.list:
            if args.yes:
                view = allow_trust(store, waiting)
            elif sys.stdin.isatty() and not args.json:
                _list(view)
                sys.stderr.write(f"Allow the {len(waiting)} not allowed yet? [y/N] ")
                sys.stderr.flush()
                if sys.stdin.readline().strip().lower() in ("y", "yes"):
                    view = allow_trust(store, waiting)
                    sys.stdout.write(f"Allowed {view.changed}; kept in {view.file}.\n")
                    return int(ExitCode.OK)
                sys.stdout.write("Nothing was allowed.\n")
                return int(ExitCode.CONSENT)
    if args.json:
        sys.stdout.write(json.dumps(view.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        if args.revoke:
            sys.stdout.write(f"Forgot {view.changed} answer(s); everything will be asked again.\n")
        elif args.yes and view.changed:
            sys.stdout.write(f"Allowed {view.changed}; kept in {view.file}.\n")
        _list(view)
    if args.revoke:
        return int(ExitCode.OK)
    return int(ExitCode.OK if all(ok for _, ok in view.items) else ExitCode.CONSENT)


def _list(view: Any) -> None:
    if not view.items:
        sys.stdout.write("This repository asks to run nothing.\n")
        return
    for title, wanted in (("Allowed", True), ("Not allowed yet", False)):
        items = [item for item, ok in view.items if ok is wanted]
        if items:
            sys.stdout.write(f"{title}:\n")
            write_items(items, sys.stdout)
