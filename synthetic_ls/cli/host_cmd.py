"""``synthetic host add|ls|rm|check``: other machines constructs could live on, over SSH.

Hosts are the person's own setting (``~/.config/synthetic/hosts.toml``), not
the repository's; connection settings come from ``~/.ssh/config``. Only
``check`` contacts a host.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``host`` to the top-level parser."""
    p = sub.add_parser(
        "host", help="add, list, remove or check the machines constructs can live on (SSH)",
        description="Hosts are other machines reached over SSH, kept in your own "
        "settings ($XDG_CONFIG_HOME/synthetic/hosts.toml), never in a repository. "
        "Connection settings (keys, aliases, ProxyJump) come from your SSH config.",
    )
    hsub = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    add = hsub.add_parser(
        "add", help="add a host (contacts nothing)",
        description="Add a host: NAME (lowercase letters, digits, dashes) at "
        "ssh://[user@]host[:port]/absolute/path/to/clone, where host may be an alias of "
        "your SSH config. Nothing is contacted; `synthetic host check NAME` does that.")
    add.add_argument("name", metavar="NAME", help="a short name for the host")
    add.add_argument("url", metavar="URL",
                     help="ssh://[user@]host[:port]/absolute/path/to/clone")
    ls = hsub.add_parser("ls", help="list the hosts (contacts none)",
                         description="List your hosts. No host is contacted, so this is "
                         "instant whatever the network does; `host check` asks one.")
    rm = hsub.add_parser("rm", help="forget a host (nothing on it is touched)",
                         description="Forget a host. Nothing on the host is touched.")
    rm.add_argument("host", metavar="NAME", help="the host's name")
    check = hsub.add_parser(
        "check", help="check that constructs could live on a host",
        description="Ask the host, item by item: does ssh log in; are git, Synthetic (with "
        "the same state format version) and OpenCode there; is there a clone of this "
        "repository at the path. Every call is bounded in time. Exit status 0 when "
        "nothing failed, 1 otherwise.")
    check.add_argument("host", metavar="NAME", help="the host's name")
    for parser, func in ((add, cmd_add), (ls, cmd_ls), (rm, cmd_rm), (check, cmd_check)):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(func=func)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def cmd_add(args: argparse.Namespace) -> int:
    """``synthetic host add NAME URL``."""
    from synthetic_ls.ops.hosts import add_host

    result = add_host(args.name, args.url)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Added host {result.host.name} ({result.host.url}); kept in "
                         f"{result.file}.\nCheck it with `synthetic host check "
                         f"{result.host.name}`.\n")
    return int(ExitCode.OK)


def cmd_ls(args: argparse.Namespace) -> int:
    """``synthetic host ls``: reads the hosts file only."""
    from synthetic_ls.ops.hosts import list_hosts

    result = list_hosts()
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    if not result.hosts:
        sys.stdout.write("No hosts yet; `synthetic host add NAME ssh://host/path` adds one.\n")
        return int(ExitCode.OK)
    width = max(len(h.name) for h in result.hosts)
    for host in result.hosts:
        sys.stdout.write(f"{host.name:<{width}}  {host.url}\n")
    return int(ExitCode.OK)


def cmd_rm(args: argparse.Namespace) -> int:
    """``synthetic host rm NAME``."""
    from synthetic_ls.ops.hosts import remove_host

    result = remove_host(args.host)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Removed host {result.host.name} ({result.host.url}).\n")
    return int(ExitCode.OK)


_MARKS = {"ok": "ok  ", "failed": "FAIL", "skipped": "skip"}


def cmd_check(args: argparse.Namespace) -> int:
    """``synthetic host check NAME``: exit 0 when nothing failed, 1 otherwise."""
    from synthetic_ls.ops.hosts import check_host

    result = check_host(args.host)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Host {result.host.name} ({result.host.url}):\n")
        for item in result.items:
            sys.stdout.write(f"  {_MARKS[item.status]}  {item.item}: {item.detail}\n")
        sys.stdout.write("Constructs could live there.\n" if result.ok else
                         "Not ready for constructs: fix what failed.\n")
    return int(ExitCode.OK if result.ok else ExitCode.FAILED)
