"""``synthetic resolve`` and the merge queue (``synthetic land A B C``).

Thin: parse, call :mod:`synthetic_ls.ops.resolve` or
:mod:`synthetic_ls.ops.land_queue`, print. ``land`` itself is registered by
:mod:`synthetic_ls.cli.review_cmd`, which hands a queue of several
references to :func:`cmd_land_queue`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from state_format.text import one_line
from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode, exit_code
from synthetic_ls.cli.terminal import shown

_REF_HELP = "construct id, unique id prefix, or exact name"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``resolve`` to the top-level parser."""
    p = sub.add_parser(
        "resolve",
        help="rebase a construct's branch onto its target; conflicts to its agent",
        description="Rebase the construct's branch onto the branch it would land into, in "
        "its own worktree. On a conflict its agent gets the conflicted files and both sides "
        "to resolve (with --prompt, your own words too); Synthetic checks no marker is left, "
        "stages them and continues, commit after commit. With --by-hand, or when the agent "
        "cannot finish, the rebase is left in progress for you: fix the files, then "
        "--continue (or --abort: the branch back as it was). Once through, the branch is "
        "checked as `land --check` would.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--into", default=None, metavar="BRANCH",
                   help="branch to rebase onto (default: the one the construct started from)")
    p.add_argument("--by-hand", action="store_true",
                   help="leave the conflicts to you (no agent)")
    p.add_argument("--prompt", default=None, metavar="TEXT",
                   help="your own words, added to the prompt the agent gets")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--continue", dest="action", action="store_const", const="continue",
                       help="go on with a rebase left in progress, once its conflicts are fixed")
    which.add_argument("--abort", dest="action", action="store_const", const="abort",
                       help="abort a rebase left in progress: the branch back as it was")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="how long one agent turn may take (default 600)")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_resolve, action="start")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _say(line: str) -> None:
    sys.stderr.write(one_line(line, 2000) + "\n")
    sys.stderr.flush()


#: What each reason to stop means for the person.
_WHY = {
    "by-hand": "left for you (--by-hand)",
    "markers-left": "conflict markers are left",
    "agent-failed": "the agent's turn failed",
    "agent-waiting": "the agent waits for your answer",
    "no-session": "the construct has no agent session",
    "rounds": "too many conflicting commits for the agent",
    "git": "git stopped",
}


def cmd_resolve(args: argparse.Namespace) -> int:
    """``synthetic resolve``: exit 0 when rebased (or up to date) and it lands cleanly."""
    from synthetic_ls.ops.resolve import ResolveOptions, resolve_construct

    options = ResolveOptions(ref=args.ref, into=args.into, by_hand=args.by_hand,
                             prompt=args.prompt, action=args.action,
                             **({"timeout": args.timeout} if args.timeout is not None else {}))
    result = resolve_construct(_store(), options, on_line=None if args.json else _say,
                               consent=consent_of(args))
    data = result.to_dict()
    if args.json:
        _print_json(data)
    else:
        _print_resolve(data)
    if data["state"] == "stopped":
        return int(ExitCode.CONFLICT)
    landing = data["landing"]
    if landing is not None and not landing["lands"]:
        return int(ExitCode.CONFLICT)
    return int(ExitCode.OK)


def _print_resolve(data: Any) -> None:
    out = sys.stdout
    cid, branch, target = data["construct"], shown(data["branch"]), shown(data["target"])
    state = data["state"]
    if state == "aborted":
        out.write(f"Aborted: {branch} is back at {data['head'][:12]}.\n")
        return
    if state == "stopped":
        why = _WHY.get(data["reason"] or "", data["reason"] or "")
        out.write(f"The rebase of {branch} onto {target} is in progress in "
                  f"{shown(data['worktree'])}: {why}.\n")
        if data["detail"]:
            out.write(f"  {data['detail']}\n")
        agent = data["agent"]
        if agent and agent["error"]:
            out.write(f"  agent: {agent['error']}\n")
        for p in (agent or {}).get("permissions", []):
            out.write(f"  waiting for permission {p['id']}: {p['permission']} "
                      f"{', '.join(p['patterns'])}\n")
        if data["conflicts"]:
            out.write("Conflicted files:\n")
            for c in data["conflicts"]:
                mark = " (markers left)" if c["markers"] else ""
                out.write(f"  {shown(c['path'])} ({c['kind']}){mark}\n")
        if data["reason"] == "agent-waiting":
            out.write(f"Answer it (`synthetic session approve {cid}`), let its turn end, then ")
        else:
            out.write("Fix the files, then ")
        out.write(f"`synthetic resolve {cid} --continue`; or `synthetic resolve {cid} --abort` "
                  "puts the branch back.\n")
        return
    if state == "up-to-date":
        out.write(f"{branch} already has every commit of {target}: nothing to rebase.\n")
    else:
        rounds = f", {data['rounds']} conflicting commit(s) resolved by the agent" \
            if data["rounds"] else ""
        out.write(f"Rebased {branch} onto {target} ({data['onto'][:12]}){rounds}: "
                  f"{data['before'][:12]} -> {data['head'][:12]}.\n")
    landing = data["landing"]
    if landing is None:
        return
    if landing["lands"]:
        out.write(f"It lands cleanly into {target} ({landing['commits']} commit(s)): "
                  f"`synthetic land {cid}`.\n")
    else:
        error = landing["error"] or {}
        out.write(f"It cannot land yet ({error.get('code')}): {error.get('message')}\n")


def cmd_land_queue(args: argparse.Namespace) -> int:
    """``synthetic land A B C``: the exit status is the stopping error's (0 when all landed)."""
    from synthetic_ls.errors import SyntheticError
    from synthetic_ls.ops.land_queue import LandQueueOptions, land_queue

    if args.check or args.message is not None:
        flag = "--check" if args.check else "--message"
        raise SyntheticError(
            f"{flag} takes one construct; a queue lands several (each squash message is "
            "drafted): land them one by one to check or word each",
            code="usage",
        )
    options = LandQueueOptions(refs=list(args.ref), strategy=args.strategy, into=args.into,
                               remove=args.remove)
    result = land_queue(_store(), options, consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
    else:
        _print_queue(result.to_dict())
    return int(exit_code(result.error)) if result.error is not None else int(ExitCode.OK)


def _print_queue(data: Any) -> None:
    out = sys.stdout
    for landed in data["landed"]:
        c = landed["construct"]
        how = "fast-forward" if landed["fast_forward"] else landed["strategy"]
        out.write(f"Landed {c['id']} into {landed['target']} ({how}, {landed['commits']} "
                  f"commit(s)): {landed['before'][:12]} -> {landed['after'][:12]}.\n")
    stopped = data["stopped"]
    if stopped is None:
        out.write(f"All {len(data['landed'])} landed; the target is at "
                  f"{(data['tip'] or '?')[:12]}.\n")
        return
    error = stopped["error"]
    out.write(f"Stopped at {stopped['construct']} ({error['code']}): {error['message']}\n")
    if error["code"] == "merge-conflict":
        out.write(f"  `synthetic resolve {stopped['construct']}` rebases it onto the target, "
                  "its agent resolving the conflicts; then land it.\n")
    if data["not_tried"]:
        out.write("Not tried: " + ", ".join(data["not_tried"]) + "\n")
    if data["landed"]:
        out.write(f"The target is at {(data['tip'] or '?')[:12]}.\n")
