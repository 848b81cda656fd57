"""``synthetic check REF [NAME ...]``: run a construct's checks (its template's ``checks``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's command to the top-level parser."""
    p = sub.add_parser(
        "check",
        help="run a construct's checks (tests, linters) in its worktree",
        description="Run the checks of the construct's template (its `checks`: commands such "
        "as the test suite or a linter) in the construct's worktree, one after another, "
        "each bounded by its timeoutMs; an isolated construct's run in its sandbox. Each "
        "passes when it exits with status 0. The results are recorded with the construct "
        "(`show` tells them). Exit status 1 when a check fails.",
    )
    p.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    p.add_argument("names", metavar="NAME", nargs="*",
                   help="the checks to run (default: all of the template's)")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    """``synthetic check``: one line per check as it ends, its last lines when it failed."""
    from state_format.store import Store
    from synthetic_ls.ops.checks import run_checks

    def started(name: str) -> None:
        sys.stderr.write(f"checking {name} ...\n")
        sys.stderr.flush()

    def ended(name: str, run: Any) -> None:
        if not args.json:
            sys.stdout.write(render_run(name, run))
            sys.stdout.flush()

    result = run_checks(Store.open(), args.ref, args.names, consent=consent_of(args),
                        on_start=None if args.json else started, on_result=ended)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        passed = sum(r.passed for r in result.runs.values())
        sys.stdout.write(f"{passed} of {len(result.runs)} checks passed\n")
    return int(ExitCode.OK if result.passed else ExitCode.FAILED)


def render_run(name: str, run: Any) -> str:
    """``PASS test (1.2 s)``, or ``FAIL lint (0.3 s, exit 1)`` and its last lines, indented."""
    from state_format.text import one_line

    seconds = f"{run.duration_ms / 1000:.1f} s"
    if run.passed:
        return f"PASS {one_line(name, 64)} ({seconds})\n"
    why = ("timed out" if run.timed_out else
           f"exit {run.exit_code}" if run.exit_code is not None else "no exit status")
    lines = [f"FAIL {one_line(name, 64)} ({seconds}, {why})"]
    lines.extend(f"  {one_line(line, 300)}" for line in run.output)
    return "\n".join(lines) + "\n"
