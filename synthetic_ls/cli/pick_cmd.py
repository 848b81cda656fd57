"""``synthetic land ATTEMPT --discard-others``: what the other attempts would lose, the
question (or ``--yes``), then :func:`synthetic_ls.ops.pick.pick_attempt`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from state_format.text import one_line
from synthetic_ls.cli.consent_prompt import consent_of
from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import shown
from synthetic_ls.errors import SyntheticError


def write_preview(preview: Any, out: IO[str]) -> None:
    """The attempts to be discarded, each with its commits never landed and its changes."""
    out.write(f"Land {preview.construct.id} and discard the other "
              f"{len(preview.others)} attempt(s) of group {preview.group.id}:\n")
    for other in preview.others:
        c = other.construct
        out.write(f"  {c.id} ({one_line(c.name, 80)})"
                  + (f", deleting branch {c.branch}" if c.branch else "") + "\n")
        for commit in other.commits[:20]:
            out.write(f"    commit {commit.id[:12]} {one_line(commit.subject, 200)}\n")
        for change in other.uncommitted[:20]:
            out.write(f"    uncommitted {change.status} {shown(change.path)}\n")
        if not other.commits and not other.uncommitted:
            out.write("    nothing that was not landed\n")


def land_discard_others(store: Any, options: Any, args: argparse.Namespace) -> int:
    """Show what would be lost; on a terminal ask, without one require ``--yes``."""
    from synthetic_ls.ops.pick import pick_attempt, pick_preview

    if args.check:
        raise SyntheticError("--check cannot be used with --discard-others: run `land --check` "
                             "for the landing, `group show` for the attempts", code="usage")
    preview = pick_preview(store, options.ref)
    if not args.yes:
        write_preview(preview, sys.stderr)
        if not sys.stdin.isatty():
            raise SyntheticError(
                f"refusing to discard {len(preview.others)} attempt(s) without confirmation; "
                "pass --yes", code="usage")
        sys.stderr.write("Land and discard? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Nothing landed or discarded.\n")
            return int(ExitCode.FAILED)
    result = pick_attempt(store, options, consent=consent_of(args))
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    landed = result.landed
    sys.stdout.write(f"Landed {landed.construct.id} into {landed.target} ({landed.strategy}): "
                     f"{landed.before[:12]} -> {landed.after[:12]}.\n")
    for discarded in result.discarded:
        sys.stdout.write(f"Discarded {discarded.preview.construct.id}.\n")
    sys.stdout.write(f"Group {result.group.id} is done.\n")
    return int(ExitCode.OK)
