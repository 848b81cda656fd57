"""``synthetic session open|send|watch|abort|log|permissions|approve|deny``: a construct's
agent session."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from state_format.text import one_line
from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode

_REF_HELP = "construct id, unique id prefix, or exact name"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    s = sub.add_parser(
        "session",
        help="work with a construct's OpenCode agent session",
        description="Open, prompt, watch, stop and read the OpenCode session of a construct, "
        "and answer the permissions its agent asks for.",
    )
    ssub = s.add_subparsers(dest="session_command", metavar="ACTION", required=True)

    p = ssub.add_parser("open", help="attach OpenCode's terminal UI to the session",
                        description="Print the command that attaches OpenCode's terminal UI "
                        "to the session, or run it with --run.")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--run", action="store_true", help="run it in this terminal")
    add_trust_flag(p)
    _json_flag(p)
    p.set_defaults(func=cmd_open)

    p = ssub.add_parser("send", help="send a prompt to the agent",
                        description="Send a prompt; with --wait, follow the turn until the "
                        "agent is idle, asks for a permission, or fails.")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("text", metavar="TEXT", help="the prompt ('-' reads it from stdin)")
    p.add_argument("--wait", action="store_true", help="wait for the turn and print the reply")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="with --wait, give up after S seconds (default: 600)")
    add_trust_flag(p)
    _json_flag(p)
    p.set_defaults(func=cmd_send)

    p = ssub.add_parser("watch", help="stream the agent's events until it is idle",
                        description="Print the agent's events as lines until it is idle; "
                        "a dropped connection is reopened. With --all, follow every agent "
                        "of the repository instead and print each permission request and "
                        "question once, with the construct's name and what it asks, until "
                        "interrupted (--json: one JSON object per line).")
    p.add_argument("ref", metavar="REF", nargs="?", default=None, help=_REF_HELP)
    p.add_argument("--all", action="store_true", dest="all_agents",
                   help="every agent of the repository: tell each request for your input")
    p.add_argument("--follow", "-f", action="store_true", help="keep watching past idle")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="stop after S seconds")
    _json_flag(p)
    p.set_defaults(func=cmd_watch)

    p = ssub.add_parser("abort", help="stop the agent's current turn")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    _json_flag(p)
    p.set_defaults(func=cmd_abort)

    p = ssub.add_parser("log", help="print the session's transcript (read from OpenCode)")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    _json_flag(p)
    p.set_defaults(func=cmd_log)

    p = ssub.add_parser("permissions", help="list what the agent asks permission for")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    _json_flag(p)
    p.set_defaults(func=cmd_permissions, action="list")

    # Plumbing: the other machine's `synthetic` runs it over ssh (a construct made with
    # `new --host`), so it is not listed; its JSON holds the server's password.
    p = ssub.add_parser("connect", description="Plumbing: print, as JSON, how to reach the "
                        "construct's agent on this machine's loopback (the OpenCode server's "
                        "port and password, the session, its directory). Another machine's "
                        "`synthetic` runs it over ssh for a construct made with --host.")
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--read", action="store_true",
                   help="never start the server (a read): a stopped one is an error")
    add_trust_flag(p)
    _json_flag(p)
    p.set_defaults(func=cmd_connect)

    for action, help_text in (("approve", "allow what the agent asked for"),
                              ("deny", "refuse what the agent asked for")):
        p = ssub.add_parser(action, help=help_text)
        p.add_argument("ref", metavar="REF", help=_REF_HELP)
        p.add_argument("permission", nargs="?", default=None, metavar="ID",
                       help="which request (default: the only one pending)")
        if action == "approve":
            p.add_argument("--always", action="store_true",
                           help="approve this kind of request for the rest of the session")
        p.add_argument("--message", default=None, metavar="TEXT", help="tell the agent why")
        _json_flag(p)
        p.set_defaults(func=cmd_permissions, action=action)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _say(line: str) -> None:
    sys.stdout.write(one_line(line, 2000) + "\n")
    sys.stdout.flush()


def cmd_open(args: argparse.Namespace) -> int:
    """``synthetic session open``."""
    from synthetic_ls.ops.session import open_session, run_attached

    result = open_session(_store(), args.ref, consent=consent_of(args))
    if args.run:
        return run_attached(result)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(result.command + "\n")
    return int(ExitCode.OK)


def cmd_connect(args: argparse.Namespace) -> int:
    """``synthetic session connect`` (plumbing): JSON only, whatever ``--json`` says."""
    from synthetic_ls.ops.session import connect_session

    result = connect_session(_store(), args.ref, start=not args.read, consent=consent_of(args))
    _print_json(result.to_dict())
    return int(ExitCode.OK)


def cmd_send(args: argparse.Namespace) -> int:
    """``synthetic session send``: exit 1 when the turn failed."""
    from synthetic_ls.ops.session import TURN_TIMEOUT, send_prompt

    text = sys.stdin.read() if args.text == "-" else args.text
    result = send_prompt(
        _store(), args.ref, text, wait=args.wait,
        timeout=args.timeout if args.timeout is not None else TURN_TIMEOUT,
        on_line=None if args.json else _say, consent=consent_of(args),
    )
    if args.json:
        _print_json(result.to_dict())
    elif not result.waited:
        sys.stdout.write(f"Sent to {result.construct}; `synthetic session watch "
                         f"{result.construct}` follows the agent.\n")
    elif result.state == "awaiting_input":
        for p in result.permissions:
            _say(f"waiting for permission {p['id']}: {p['permission']} "
                 f"{', '.join(p['patterns'])}")
        sys.stdout.write(f"Approve with `synthetic session approve {result.construct}` "
                         "(or deny).\n")
    elif result.state == "error":
        sys.stderr.write(f"synthetic: the turn failed: {result.error}\n")
        return int(ExitCode.FAILED)
    return int(ExitCode.OK)


def cmd_watch(args: argparse.Namespace) -> int:
    """``synthetic session watch``: exit 1 when the turn it saw ended in an error."""
    from synthetic_ls.ops.session import watch_session

    if args.all_agents or args.ref is None:
        return _watch_all(args)
    lines: list[str] = []

    def emit(line: str) -> None:
        if args.json:
            lines.append(line)
        else:
            _say(line)

    result = watch_session(_store(), args.ref, emit, follow_forever=args.follow,
                           timeout=args.timeout)
    if args.json:
        _print_json({**result.to_dict(), "lines": lines})
    return int(ExitCode.FAILED) if result.state == "error" else int(ExitCode.OK)


def _watch_all(args: argparse.Namespace) -> int:
    """``synthetic session watch --all``: each request once, as it comes, until Ctrl-C."""
    from synthetic_ls.cli.main import UsageError
    from synthetic_ls.ops.watch_all import InputRequest, watch_all

    if not args.all_agents or args.ref is not None:
        raise UsageError("give a construct (REF) or --all, not both"
                         if args.ref is not None else "give a construct (REF) or --all",
                         "usage: synthetic session watch (REF | --all) [--timeout S] [--json]\n")

    def emit(request: InputRequest) -> None:
        if args.json:
            sys.stdout.write(json.dumps(request.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        if request.kind == "permission":
            _say(f"{request.name} ({request.construct}) waits for your permission: "
                 f"{request.asks} — synthetic session approve {request.construct} {request.id}"
                 f" (or deny)")
        else:
            _say(f"{request.name} ({request.construct}) asks: {request.asks} — "
                 f"synthetic session open {request.construct} answers it")

    if not args.json:
        sys.stderr.write("Watching every agent of this repository for requests "
                         "(Ctrl-C stops) ...\n")
        sys.stderr.flush()
    watch_all(_store(), emit, timeout=args.timeout)
    return int(ExitCode.OK)


def cmd_abort(args: argparse.Namespace) -> int:
    """``synthetic session abort``."""
    from synthetic_ls.ops.session import abort_session

    result = abort_session(_store(), args.ref)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Stopped the agent of {result.construct}.\n")
    return int(ExitCode.OK)


def cmd_log(args: argparse.Namespace) -> int:
    """``synthetic session log``."""
    from synthetic_ls.ops.session import session_log

    result = session_log(_store(), args.ref)
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    sys.stdout.write(f"# {one_line(result.title)} ({result.session_id})\n")
    for entry in result.messages:
        sys.stdout.write(f"\n[{entry['role']}]\n")
        if entry["text"]:
            sys.stdout.write(entry["text"].rstrip() + "\n")
        for tool in entry["tools"]:
            _say(f"  tool {tool['tool']} ({tool['status']}): {tool['title'] or ''}")
        if entry["error"]:
            _say(f"  error: {entry['error']}")
    return int(ExitCode.OK)


def cmd_permissions(args: argparse.Namespace) -> int:
    """``synthetic session permissions REF``, ``approve REF [ID]``, ``deny REF [ID]``."""
    from synthetic_ls.ops.session import list_permissions, reply_permission

    store = _store()
    if args.action == "list":
        listed = list_permissions(store, args.ref)
        if args.json:
            _print_json(listed.to_dict())
        elif not listed.pending:
            sys.stdout.write(f"The agent of {listed.construct} waits for no permission.\n")
        for p in [] if args.json else listed.pending:
            _say(f"{p['id']}  {p['permission']}  {', '.join(p['patterns'])}")
        return int(ExitCode.OK)
    result = reply_permission(
        store, args.ref, args.permission, approve=args.action == "approve",
        always=getattr(args, "always", False), message=args.message,
    )
    if args.json:
        _print_json(result.to_dict())
    else:
        verb = {"once": "Approved", "always": "Approved (always)", "reject": "Denied"}
        sys.stdout.write(f"{verb[result.reply]} {result.permission_id} for {result.construct}.\n")
    return int(ExitCode.OK)
