"""``synthetic prompts build|preview``: prompt bundles."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from state_format.text import one_line
from synthetic_ls.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from synthetic_ls.prompts.bundle import BundleJson


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    p = sub.add_parser(
        "prompts", help="build or preview prompt bundles",
        description="The prompt bundle a construct's agent gets: promptSources and the "
        "template's prompts, with ${...} filled in, then the construct's context.",
    )
    psub = p.add_subparsers(dest="prompts_command", metavar="ACTION", required=True)
    b = psub.add_parser("build", help="assemble a construct's bundle again and record it "
                        "(its agent session gets the new one)")
    b.add_argument("ref", metavar="REF", help="construct id, unique id prefix, or exact name")
    b.add_argument("--print", action="store_true", help="print the whole bundle")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=cmd_build)
    v = psub.add_parser("preview", help="what a new construct of a template would get")
    v.add_argument("template", metavar="TEMPLATE", nargs="?", default=None,
                   help="template id (default: the config's default template)")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=cmd_preview)


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _table(d: BundleJson) -> None:
    for f in d["fragments"]:
        order = f" (order {f['order']})" if f["order"] is not None else ""
        sys.stdout.write(f"  {one_line(f['path'], 120)}{order}: ~{f['tokens']} tokens "
                         f"[{one_line(f['origin'], 60)}]\n")
    for path in d["dropped"]:
        sys.stdout.write(f"  {one_line(path, 120)}: dropped (empty or a repeat)\n")
    sys.stdout.write(f"  context: ~{d['context_tokens']} tokens\n")
    sys.stdout.write(f"Total: ~{d['token_count']} tokens ({d['token_method']}).\n")


def cmd_build(args: argparse.Namespace) -> int:
    """``synthetic prompts build``."""
    from synthetic_ls.ops.prompts import build_prompts

    result = build_prompts(_store(), args.ref)
    d = result.to_dict()
    if args.json:
        sys.stdout.write(json.dumps(d, ensure_ascii=False, indent=2) + "\n")
    elif args.print:
        sys.stdout.write(d["content"])
    else:
        sys.stdout.write(f"Prompt bundle {d['bundle_id']} for {d['construct']}:\n")
        _table(d)
        if d["delivered"]:
            sys.stdout.write("Sent to the agent session as context.\n")
    return int(ExitCode.OK)


def cmd_preview(args: argparse.Namespace) -> int:
    """``synthetic prompts preview``."""
    from synthetic_ls.ops.prompts import preview_prompts

    result = preview_prompts(_store(), args.template)
    d = result.to_dict()
    if args.json:
        sys.stdout.write(json.dumps(d, ensure_ascii=False, indent=2) + "\n")
        return int(ExitCode.OK)
    sys.stdout.write(f"A new construct of template {d['template_id']} would get:\n")
    _table(d)
    sys.stdout.write("\n" + d["content"])
    return int(ExitCode.OK)
