"""Entry point of the ``synthetic`` command.

Each command lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser to a function ``(args) -> int``. All user
errors are caught here and printed as one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from state_format.errors import StateError
from synthetic_ls import __version__
from synthetic_ls.errors import ExitCode, SyntheticError

# Command modules, in the order `synthetic --help` lists them.
COMMAND_MODULES = (
    "synthetic_ls.cli.config_cmd",
    "synthetic_ls.cli.init_cmd",
    "synthetic_ls.cli.constructs_cmd",
    "synthetic_ls.cli.worktree_cmd",
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with ExitCode.USAGE."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"synthetic: {message}\n")
        raise SystemExit(int(ExitCode.USAGE))


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every registered command."""
    parser = _Parser(
        prog="synthetic",
        description="Parallel coding-agent workspaces (constructs) on one Git repository.",
    )
    parser.add_argument("--version", action="version", version=f"synthetic {__version__}")
    parser.add_argument(
        "-C",
        dest="chdir",
        metavar="PATH",
        default=None,
        help="run as if synthetic was started in PATH",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (no ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    try:
        if args.chdir is not None:
            import os

            try:
                os.chdir(args.chdir)
            except OSError as exc:
                raise SyntheticError(
                    f"cannot change to {args.chdir!r}: {exc.strerror}", exit_code=ExitCode.USAGE
                ) from None
        return int(func(args))
    except (SyntheticError, StateError) as exc:
        sys.stderr.write(f"synthetic: {exc}\n")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("synthetic: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error for the user.
        return int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
