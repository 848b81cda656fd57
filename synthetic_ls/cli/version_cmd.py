"""``synthetic version``: the program's version and the state format version it uses.

``synthetic --version`` prints the first; ``synthetic version --json`` gives
both as JSON, for another machine's Synthetic to read (``host check``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from synthetic_ls.cli.exit_codes import ExitCode


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``version`` to the top-level parser."""
    p = sub.add_parser("version", help="print the version and the state format version",
                       description="Print Synthetic's version and the version of the state "
                       "format it reads and writes.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_version)


def cmd_version(args: argparse.Namespace) -> int:
    """``synthetic version``."""
    from synthetic_ls.ops.version import version_info

    info = version_info()
    if args.json:
        sys.stdout.write(json.dumps(info.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(f"synthetic {info.version} (state format {info.state_format})\n")
    return int(ExitCode.OK)
