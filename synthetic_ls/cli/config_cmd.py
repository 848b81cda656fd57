"""``synthetic config check [PATH] [--json]`` and ``synthetic config schema``.

Exit codes of ``check``: 0 no errors (warnings allowed), 1 errors found,
2 usage, 3 the named file does not exist, 6 no PATH and not inside a git
repository. Human output is one ``path:line:col: severity: message [code]``
line per diagnostic (1-based; columns in UTF-16 code units, like ``tsc``);
``--json`` prints the LSP diagnostics (0-based) as a JSON array.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import paint

# synthetic_ls.config is imported inside the command functions only: it loads
# pydantic and tree-sitter (a few hundred milliseconds), and every `synthetic`
# command builds the whole parser, so ``register`` must stay cheap. The file
# name is repeated here for the help text (a test keeps it equal to
# synthetic_ls.config.CONFIG_FILENAME).
CONFIG_FILENAME = "synthetic.config.ts"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``config check`` and ``config schema`` to the top-level parser."""
    config = sub.add_parser(
        "config",
        help="check synthetic.config.ts or print its JSON Schema",
        description="Work with synthetic.config.ts (read statically, never run).",
    )
    config_sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    config.set_defaults(func=lambda args: _missing_subcommand(config))

    check = config_sub.add_parser(
        "check",
        help="validate synthetic.config.ts and print diagnostics",
        description="Validate a synthetic.config.ts without running it. Exit 0: no errors, "
        "1: errors, 2: usage, 3: file not found.",
    )
    check.add_argument(
        "path",
        nargs="?",
        default=None,
        metavar="PATH",
        help=f"config file (default: {CONFIG_FILENAME} at the repository root)",
    )
    check.add_argument("--json", action="store_true", help="print LSP-style diagnostics as JSON")
    check.set_defaults(func=cmd_check)

    schema = config_sub.add_parser(
        "schema",
        help="print the JSON Schema of the config (or its TypeScript declarations)",
        description="Print the JSON Schema of the config object, with descriptions; "
        "--format dts prints the TypeScript declarations generated from it.",
    )
    schema.add_argument("--format", choices=["json", "dts"], default="json")
    schema.set_defaults(func=cmd_schema)


def _missing_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def cmd_check(args: argparse.Namespace) -> int:
    """Check the config and print its diagnostics; 1 when any is an error."""
    from synthetic_ls.ops.config import check_config

    checked = check_config(args.path)
    if args.json:
        json.dump(checked.to_dict()["diagnostics"], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        shown = args.path if args.path is not None else _display(checked.path)
        diagnostics = checked.result.diagnostics
        for diagnostic in diagnostics:
            line = diagnostic.format_human(shown)
            severity = str(diagnostic.severity)
            role = {"error": "bad", "warning": "wait"}.get(severity, "dim")
            # The severity in colour (when the output shows it); the line is the same.
            line = line.replace(f": {severity}: ", f": {paint(severity, role)}: ", 1)
            sys.stdout.write(line + "\n")
        counts = checked.to_dict()
        errors, warnings = counts["errors"], counts["warnings"]
        summary = (
            "no problems"
            if not diagnostics
            else (f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
        )
        role = "bad" if errors else "wait" if warnings else "ok"
        # The answer asked for, not a complaint: stdout.
        sys.stdout.write(f"{shown}: {paint(summary, role)}\n")
    return int(ExitCode.FAILED if checked.has_errors else ExitCode.OK)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config."""
    if getattr(args, "format", "json") == "dts":
        from synthetic_ls.config.dts import typescript_declarations

        sys.stdout.write(typescript_declarations())
        return int(ExitCode.OK)
    from synthetic_ls.config.jsonschema import json_schema

    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return int(ExitCode.OK)
