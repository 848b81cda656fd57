"""``synthetic init``: write a commented starter synthetic.config.ts at the repository root."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from synthetic_ls.errors import ConflictError, ExitCode, SyntheticError

# synthetic_ls.config is imported inside ``cmd_init`` only, so that building
# the parser (which every `synthetic` command does) stays cheap; the file name
# is repeated for the help text (a test keeps it equal to CONFIG_FILENAME).
CONFIG_FILENAME = "synthetic.config.ts"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``init`` to the top-level parser."""
    p = sub.add_parser(
        "init",
        help=f"write a starter {CONFIG_FILENAME}",
        description=f"Write a commented starter {CONFIG_FILENAME} at the repository root. "
        "Never overwrites an existing file.",
    )
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the starter config instead of writing it",
    )
    p.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    """Write the starter config; refuse when one exists (exit 5)."""
    from synthetic_ls.config import STARTER_CONFIG, find_repo_root

    if args.print_only:
        sys.stdout.write(STARTER_CONFIG)
        return int(ExitCode.OK)
    root = find_repo_root(Path.cwd())
    if root is None:
        raise SyntheticError(
            f"not inside a git repository; run `git init` first (the {CONFIG_FILENAME} lives "
            "at the repository root)",
            exit_code=ExitCode.NOT_A_REPO,
        )
    path = root / CONFIG_FILENAME
    try:
        # O_EXCL: never replace a file, even one created a moment ago.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ConflictError(
            f"{path} already exists; not overwriting it (edit it, or move it away and run "
            "`synthetic init` again)"
        ) from None
    except OSError as exc:
        raise SyntheticError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(STARTER_CONFIG)
    sys.stdout.write(f"wrote {path}\ncheck it with: synthetic config check\n")
    return int(ExitCode.OK)
