"""``synthetic ports``: the ports allocated to constructs, and whether each is in use."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's command to the top-level parser."""
    p = sub.add_parser(
        "ports",
        help="list the ports allocated to constructs",
        description="List every port allocated to a construct's services, with its "
        "construct, service and variable, and whether something listens on it now.",
    )
    p.add_argument("ref", metavar="REF", nargs="?", default=None, help="only this construct")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_ports)


def cmd_ports(args: argparse.Namespace) -> int:
    """``synthetic ports``."""
    from state_format.store import Store, one_line
    from synthetic_ls.ops.ports import list_ports

    result = list_ports(Store.open(), args.ref)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    if not result.ports:
        sys.stdout.write("No ports are allocated.\n")
        return int(ExitCode.OK)
    sys.stdout.write(f"{'PORT':>5}  {'IN USE':6}  {'CONSTRUCT':30}  {'SERVICE':16}  VARIABLE\n")
    for row in result.ports:
        service = row["service"] + (f" ({row['name']})" if row["name"] else "")
        sys.stdout.write(
            f"{row['port']:>5}  {'yes' if row['in_use'] else 'no':6}  "
            f"{one_line(row['construct_id'], 30):30}  {one_line(service, 16):16}  {row['env']}\n"
        )
    return int(ExitCode.OK)
