"""``synthetic compare GROUP [--run-checks]``: a group's attempts side by side.

Thin: call :func:`synthetic_ls.ops.compare.compare_group`, render a table (a row per
attempt), the checks that failed, and the files the attempts agree or differ on; or
``--json``.
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
from synthetic_ls.cli.group_cmd import usage_text
from synthetic_ls.cli.terminal import table


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``compare`` to the top-level parser."""
    p = sub.add_parser(
        "compare", help="compare the attempts of a group side by side",
        description="Show each attempt of a group (`new --attempts`): its status, its agent, "
        "turns and time, files and lines changed against the group's start point (committed "
        "and uncommitted), the template's checks as last recorded (stale: recorded at "
        "another commit), tokens and cost; then the files the attempts agree on (every "
        "attempt that changed the file left the same content) or differ on. A read, unless "
        "--run-checks, which first runs each attempt's checks in its own worktree.")
    p.add_argument("ref", metavar="GROUP", help="group id, unique id prefix, or exact name")
    p.add_argument("--run-checks", action="store_true",
                   help="run the template's checks in each attempt first, one after another")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """``synthetic compare GROUP``."""
    from state_format.store import Store
    from synthetic_ls.ops.compare import compare_group

    if args.run_checks and not args.json:
        sys.stderr.write("running each attempt's checks ...\n")
    result = compare_group(Store.open(), args.ref, run_checks=args.run_checks,
                           consent=consent_of(args)).to_dict()
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(result))
    return int(ExitCode.OK)


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def checks_cell(attempt: Mapping[str, Any]) -> str:
    """``2/3 pass``, ``stale`` marked, ``-`` when none was recorded."""
    runs = attempt["checks"]
    if not runs:
        return "not run" if attempt["checks_not_run"] else "-"
    passed = sum(1 for r in runs if r["passed"])
    text = f"{passed}/{len(runs) + len(attempt['checks_not_run'])} pass"
    return text + (" (stale)" if any(r["stale"] for r in runs) else "")


def render(result: Mapping[str, Any]) -> str:
    """The comparison as text: the attempts' table, failed checks, the files' agreement."""
    attempts = result["attempts"]
    out = [f"Group {result['group']}: {one_line(result['name'])}"
           f" (template {result['template_id']}, from {(result['start'] or '?')[:12]})\n"]
    status = [("gone" if a["gone"] else a["status"] or "-") for a in attempts]
    out.append(table([
        ["ATTEMPT", *(a["id"] for a in attempts)],
        ["STATUS", *status],
        ["AGENT", *((a["agent_state"] or "-") for a in attempts)],
        ["MODEL", *(one_line(a["model"] or "template's", 30) for a in attempts)],
        ["TURNS", *(str(a["turns"]) if a["turns"] is not None else "-" for a in attempts)],
        ["TIME", *(_duration(a["duration_ms"]) for a in attempts)],
        ["FILES", *(str(a["stat"]["files"]) for a in attempts)],
        ["LINES", *(f"+{a['stat']['additions']} -{a['stat']['deletions']}" for a in attempts)],
        ["CHECKS", *(checks_cell(a) for a in attempts)],
        ["USAGE", *(usage_text(a["usage"]) for a in attempts)],
    ], states={1: status}))
    out.append(f"Group usage: {usage_text(result['usage'])}\n")
    for a in attempts:
        out.extend(f"{a['id']}: {one_line(note, 200)}\n" for note in a["notes"])
    for a in attempts:
        for run in a["checks"]:
            if not run["passed"]:
                why = ("timed out" if run["timed_out"] else f"exit {run['exit_code']}"
                       if run["exit_code"] is not None else "no exit status")
                out.append(f"\n{a['id']}: check {run['name']} failed ({why})"
                           + (" [stale]" if run["stale"] else "") + "\n")
                out.extend(f"  {one_line(line, 200)}\n" for line in run["output"][-5:])
    files = result["files"]
    if files:
        total = sum(1 for a in attempts if not a["gone"])
        widest = max(len(f["path"]) for f in files)
        out.append("\nFiles:\n")
        for f in files:
            word = "agree " if f["agree"] else "DIFFER"
            out.append(f"  {word}  {f['path']:<{widest}}  ({len(f['changed_by'])}/{total}: "
                       f"{', '.join(f['changed_by'])})\n")
    else:
        out.append("\nNo attempt changed a file yet.\n")
    return "".join(out)
