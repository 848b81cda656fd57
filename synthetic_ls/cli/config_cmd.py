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

from synthetic_ls.errors import ExitCode, NotFoundError, SyntheticError

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
        help="print the JSON Schema of the config",
        description="Print the JSON Schema of the config object, with descriptions.",
    )
    schema.set_defaults(func=cmd_schema)


def _missing_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return int(ExitCode.USAGE)


def _locate(path_arg: str | None) -> tuple[Path, Path | None]:
    """The config file to check and the repository root used for file checks."""
    from synthetic_ls.config import find_repo_root

    if path_arg is not None:
        path = Path(path_arg)
        if not path.exists():
            raise NotFoundError(f"{path_arg}: no such file")
        # Paths in the config are relative to the folder holding it.
        return path, None
    root = find_repo_root(Path.cwd())
    if root is None:
        raise SyntheticError(
            f"not inside a git repository; pass the path of a {CONFIG_FILENAME}",
            exit_code=ExitCode.NOT_A_REPO,
        )
    path = root / CONFIG_FILENAME
    if not path.exists():
        raise NotFoundError(f"no {CONFIG_FILENAME} at {root}; create one with `synthetic init`")
    return path, root


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def cmd_check(args: argparse.Namespace) -> int:
    """Check the config and print its diagnostics; 1 when any is an error."""
    from synthetic_ls.config import check_config_file

    path, root = _locate(args.path)
    result = check_config_file(path, root)
    if args.json:
        json.dump([d.to_lsp() for d in result.diagnostics], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        shown = args.path if args.path is not None else _display(path)
        for diagnostic in result.diagnostics:
            sys.stdout.write(diagnostic.format_human(shown) + "\n")
        errors = sum(d.severity == "error" for d in result.diagnostics)
        warnings = sum(d.severity == "warning" for d in result.diagnostics)
        summary = (
            "no problems"
            if not result.diagnostics
            else (f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
        )
        sys.stderr.write(f"{shown}: {summary}\n")
    return int(ExitCode.FAILED if result.has_errors else ExitCode.OK)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config."""
    from synthetic_ls.config.jsonschema import json_schema

    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return int(ExitCode.OK)
