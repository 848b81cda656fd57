"""``synthetic services start|stop|restart|status|logs|resume``: a construct's dev services."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import table


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    sv = sub.add_parser(
        "services",
        help="start, stop and inspect a construct's services",
        description="The dev services of a construct, from its template: processes "
        "in its worktree, docker containers, compose projects.",
    )
    ssub = sv.add_subparsers(dest="services_command", metavar="ACTION", required=True)
    for name, help_text, func in (
        ("start", "start the services that are not running and wait until ready", cmd_start),
        ("stop", "stop the services (stop command, SIGTERM, SIGKILL)", cmd_stop),
        ("restart", "stop and start the services again", cmd_restart),
    ):
        p = ssub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:])
        p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
        p.add_argument("service", metavar="SERVICE", nargs="?", default=None,
                       help="one service (default: all of them)")
        add_trust_flag(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)
    p = ssub.add_parser("status", help="show the services and their state (starts nothing)",
                        description="Show services: state (ready, stopped, failed, "
                        "needs_resume ...), pid, ports.")
    p.add_argument("ref", metavar="REF", nargs="?", default=None,
                   help="one construct (default: every construct)")
    p.add_argument("service", metavar="SERVICE", nargs="?", default=None, help="one service")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)
    p = ssub.add_parser("open", help="forward a remote construct's services to this machine",
                        description="For a construct on another machine (new --host): forward "
                        "each port of its services (or of SERVICE) from that host's loopback "
                        "to this machine's over ssh, and print the local URLs. A change: the "
                        "forwards stay until the construct is removed (or `synthetic doctor "
                        "--fix` finds them orphaned).")
    p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    p.add_argument("service", metavar="SERVICE", nargs="?", default=None,
                   help="one service (default: all of them)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_open)
    p = ssub.add_parser("logs", help="print a service's log", description="Print the end of a "
                        "service's log; -f follows it until Ctrl-C.")
    p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    p.add_argument("service", metavar="SERVICE", nargs="?", default=None,
                   help="the service (needed when there are several)")
    p.add_argument("-n", "--lines", type=int, default=100, help="lines to print (default 100)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("--json", action="store_true", help="print JSON (not with -f)")
    p.set_defaults(func=cmd_logs)
    p = ssub.add_parser("resume", help="restart services whose process is gone (after a reboot)",
                        description="Start again every service that should run but whose "
                        "process is gone (needs_resume), on the same ports.")
    p.add_argument("ref", metavar="REF", nargs="?", default=None,
                   help="one construct (default: every construct)")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_resume)


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _print(result: Any, as_json: bool, service: str | None = None) -> int:
    from state_format.store import one_line

    d = result.to_dict()
    if service is not None:
        d["services"] = [s for s in d["services"] if s["name"] == service]
    if as_json:
        sys.stdout.write(json.dumps(d, ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    for note in d["notes"]:
        sys.stdout.write(f"{one_line(note, 2000)}\n")
    if not d["services"]:
        sys.stdout.write("No services.\n")
        return int(ExitCode.OK)
    services = d["services"]

    def where(s: dict[str, Any]) -> str:
        running = s["state"] in ("starting", "ready")
        return f"pid {s['pid']}" if s["pid"] and running else (s["container"] or "-")

    columns = [
        ["CONSTRUCT", *(one_line(s["construct_id"], 60) for s in services)],
        ["SERVICE", *(one_line(s["name"], 40) for s in services)],
        ["STATE", *(s["state"] for s in services)],
        ["PROCESS", *(one_line(where(s), 80) for s in services)],
        ["URL", *(one_line(", ".join(f"{p['url']} ({p['env']})" for p in s["ports"]) or "-",
                           300) for s in services)],
    ]
    sys.stdout.write(table(columns, states={2: [s["state"] for s in services]}))
    for s in services:
        if s["state"] == "failed" and s["error"]:
            sys.stdout.write(f"{one_line(s['name'], 40)} failed: {one_line(s['error'], 300)}\n")
    return int(ExitCode.OK)


def cmd_start(args: argparse.Namespace) -> int:
    """``synthetic services start``."""
    from synthetic_ls.ops.services import start_services

    result = start_services(_store(), args.ref, args.service, consent=consent_of(args))
    return _print(result, args.json)


def cmd_stop(args: argparse.Namespace) -> int:
    """``synthetic services stop``."""
    from synthetic_ls.ops.services import stop_services

    result = stop_services(_store(), args.ref, args.service, consent=consent_of(args))
    return _print(result, args.json)


def cmd_restart(args: argparse.Namespace) -> int:
    """``synthetic services restart``."""
    from synthetic_ls.ops.services import restart_services

    return _print(restart_services(
        _store(), args.ref, args.service, consent=consent_of(args)), args.json)


def cmd_status(args: argparse.Namespace) -> int:
    """``synthetic services status``: exit 0, or 1 when a service needs attention."""
    from synthetic_ls.ops.services import services_status

    result = services_status(_store(), args.ref)
    _print(result, args.json, args.service)
    states = [s["state"] for s in result.to_dict()["services"]
              if args.service is None or s["name"] == args.service]
    bad = [s for s in states if s in ("failed", "needs_resume")]
    return int(ExitCode.FAILED) if bad else int(ExitCode.OK)


def cmd_open(args: argparse.Namespace) -> int:
    """``synthetic services open``: forward a remote construct's service ports here."""
    from synthetic_ls.ops.remote_reach import open_services

    result = open_services(_store(), args.ref, args.service)
    d = result.to_dict()
    if args.json:
        sys.stdout.write(json.dumps(d, ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    if not d["forwards"]:
        sys.stdout.write("No service port to forward.\n")
    for f in d["forwards"]:
        sys.stdout.write(f"{f['service']}: {f['url']} (port {f['remote_port']} on host "
                         f"{d['host']}, {f['env']})\n")
    return int(ExitCode.OK)


def cmd_resume(args: argparse.Namespace) -> int:
    """``synthetic services resume``."""
    from synthetic_ls.ops.services import resume_services

    return _print(resume_services(_store(), args.ref, consent=consent_of(args)), args.json)


def cmd_logs(args: argparse.Namespace) -> int:
    """``synthetic services logs [-f]``."""
    from synthetic_ls.errors import SyntheticError
    from synthetic_ls.ops.services import follow_log, service_logs_tail

    if args.follow and args.json:
        raise SyntheticError("--follow and --json do not go together", code="usage")
    store = _store()
    result = service_logs_tail(store, args.ref, args.service, max(0, args.lines))
    if args.follow and result.kind == "remote":
        raise SyntheticError(
            f"the log of {result.construct_id} is on its host: follow it there with `ssh HOST "
            f"synthetic services logs -f ...`", code="usage")
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    for line in result.lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    if not args.follow:
        return int(ExitCode.OK)
    if result.follow_argv is not None:
        # A container: docker follows its output (until Ctrl-C, or the container ends).
        return subprocess.run(result.follow_argv, stdin=subprocess.DEVNULL).returncode
    if result.kind == "compose":
        raise SyntheticError(
            f"the containers of a compose project are followed with `docker logs -f "
            f"CONTAINER` (service {result.service}'s are listed above)", code="usage")
    offset = None
    while True:
        data, offset = follow_log(store, result, offset)
        if data:
            sys.stdout.write(data.decode("utf-8", "replace"))
            sys.stdout.flush()
        else:
            time.sleep(0.2)
