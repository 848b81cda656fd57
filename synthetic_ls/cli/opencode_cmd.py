"""``synthetic opencode status|start|stop``: the repository's OpenCode server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    oc = sub.add_parser(
        "opencode",
        help="show, start or stop the repository's OpenCode server",
        description="The OpenCode server this repository uses: the one named by "
        "SYNTHETIC_OPENCODE_URL or opencode.url, else one Synthetic starts on a "
        "loopback port and records in the state folder.",
    )
    osub = oc.add_subparsers(dest="opencode_command", metavar="ACTION", required=True)
    for name, help_text, func in (
        ("status", "show whether the server runs (starts nothing)", cmd_status),
        ("start", "start the server, or reuse the one running", cmd_start),
        ("stop", "stop the managed server and remove its record", cmd_stop),
    ):
        p = osub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:])
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _describe(d: dict[str, Any]) -> str:
    state = d["state"]
    if state == "stopped":
        return "No OpenCode server is recorded for this repository."
    where = f" at {d['url']}" if d.get("url") else ""
    pid = f" (pid {d['pid']})" if d.get("pid") else ""
    health = ""
    if d.get("healthy") is True:
        health = f", healthy, version {d.get('version') or '?'}"
    elif d.get("healthy") is False:
        health = ", not answering"
    changed = ""
    if d.get("config_changed"):
        changed = (" Its OpenCode config or credentials changed since it started: the next "
                   "command that needs it starts a new one once no agent is at work "
                   "(or `synthetic opencode stop` now).")
    return f"OpenCode server {state}{where}{pid}{health}.{changed}"


def cmd_status(args: argparse.Namespace) -> int:
    """``synthetic opencode status``: exit 0 when a server answers, 1 otherwise."""
    from synthetic_ls.ops.opencode import opencode_status

    status = opencode_status(_store())
    d = status.to_dict()
    if args.json:
        _print_json(d)
    else:
        sys.stdout.write(_describe(d) + "\n")
    return int(ExitCode.OK) if status.healthy else int(ExitCode.FAILED)


def cmd_start(args: argparse.Namespace) -> int:
    """``synthetic opencode start``."""
    from synthetic_ls.ops.opencode import opencode_start

    result = opencode_start(_store())
    d = result.to_dict()
    if args.json:
        _print_json(d)
    else:
        how = "reused" if d["reused"] else ("external" if not d["managed"] else "started")
        sys.stdout.write(f"{_describe(d)} ({how})\n")
    return int(ExitCode.OK)


def cmd_stop(args: argparse.Namespace) -> int:
    """``synthetic opencode stop``."""
    from synthetic_ls.ops.opencode import opencode_stop

    result = opencode_stop(_store())
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    if result.before.state == "stopped":
        sys.stdout.write("No OpenCode server was recorded; nothing to stop.\n")
    else:
        sys.stdout.write(
            f"Stopped the OpenCode server (was {result.before.state}, pid {result.before.pid}).\n"
        )
    for cid in result.sandboxes:
        sys.stdout.write(f"Stopped the sandboxed OpenCode server of {cid}.\n")
    return int(ExitCode.OK)
