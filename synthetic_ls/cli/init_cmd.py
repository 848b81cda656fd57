"""``synthetic init``: write a commented starter synthetic.config.ts at the repository root."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode

# synthetic_ls.config is imported inside ``cmd_init`` only, so that building
# the parser (which every `synthetic` command does) stays cheap; the file name
# is repeated for the help text (a test keeps it equal to CONFIG_FILENAME).
CONFIG_FILENAME = "synthetic.config.ts"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``init`` to the top-level parser."""
    p = sub.add_parser(
        "init",
        help=f"write a starter {CONFIG_FILENAME}",
        description=f"Write a commented starter {CONFIG_FILENAME} at the repository root. "
        "Never overwrites an existing file.",
    )
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the starter config instead of writing it",
    )
    p.set_defaults(func=cmd_init)

    d = sub.add_parser(
        "demo",
        help="run the whole flow on a built-in example (offline model, temporary folder)",
        description="Copy a built-in example repository into a temporary folder and run "
        "the whole flow there with an offline model: create a construct (worktree, dev "
        "service, agent session), prompt its agent, approve its tool call, remove it. "
        "Everything it starts is stopped, and the folder deleted.",
    )
    d.set_defaults(func=cmd_demo)


def cmd_init(args: argparse.Namespace) -> int:
    """Write the starter config; refuse when one exists (exit 5)."""
    if args.print_only:
        from synthetic_ls.config import STARTER_CONFIG

        sys.stdout.write(STARTER_CONFIG)
        return int(ExitCode.OK)
    from synthetic_ls.ops.config import write_starter

    result = write_starter()
    sys.stdout.write(f"wrote {result.path}\ncheck it with: synthetic config check\n")
    return int(ExitCode.OK)


def cmd_demo(args: argparse.Namespace) -> int:
    """``synthetic demo``."""
    from synthetic_ls.cli.demo import run_demo

    return run_demo(lambda line: print(line, flush=True))
