"""Entry point of the ``synthetic`` command.

Each command lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser to a function ``(args) -> int``. All user
errors are caught here and printed as one line on stderr, never a traceback.

Start-up time matters (``synthetic ls`` should feel instant), so only the module
of the command being run is imported when the command is known from
:data:`COMMAND_HOMES`; ``--help``, no command, or an unknown word import every
module so that help and "invalid choice" errors list all commands as before.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence

from state_format.errors import CodedError
from state_format.text import one_line
from synthetic_ls import __version__
from synthetic_ls.cli.exit_codes import ExitCode, exit_code
from synthetic_ls.cli.terminal import terminal_safe_output
from synthetic_ls.errors import SyntheticError, error_payload

# Command modules, in the order `synthetic --help` lists them.
COMMAND_MODULES = (
    "synthetic_ls.cli.config_cmd",
    "synthetic_ls.cli.init_cmd",
    "synthetic_ls.cli.constructs_cmd",
    "synthetic_ls.cli.worktree_cmd",
    "synthetic_ls.cli.opencode_cmd",
    "synthetic_ls.cli.ports_cmd",
    "synthetic_ls.cli.services_cmd",
    "synthetic_ls.cli.check_cmd",
    "synthetic_ls.cli.session_cmd",
    "synthetic_ls.cli.prompts_cmd",
    "synthetic_ls.cli.review_cmd",
    "synthetic_ls.cli.resolve_cmd",
    "synthetic_ls.cli.trust_cmd",
    "synthetic_ls.cli.host_cmd",
    "synthetic_ls.cli.group_cmd",
    "synthetic_ls.cli.compare_cmd",
    "synthetic_ls.cli.version_cmd",
    "synthetic_ls.cli.completion",
)

#: Which module registers each command (a test checks this against the modules).
#: A command missing here still works: its module is found by importing them all.
COMMAND_HOMES = {
    "config": "synthetic_ls.cli.config_cmd",
    "init": "synthetic_ls.cli.init_cmd",
    "demo": "synthetic_ls.cli.init_cmd",
    "new": "synthetic_ls.cli.constructs_cmd",
    "ls": "synthetic_ls.cli.constructs_cmd",
    "show": "synthetic_ls.cli.constructs_cmd",
    "edit": "synthetic_ls.cli.constructs_cmd",
    "rm": "synthetic_ls.cli.constructs_cmd",
    "worktree": "synthetic_ls.cli.worktree_cmd",
    "doctor": "synthetic_ls.cli.worktree_cmd",
    "import": "synthetic_ls.cli.worktree_cmd",
    "opencode": "synthetic_ls.cli.opencode_cmd",
    "ports": "synthetic_ls.cli.ports_cmd",
    "services": "synthetic_ls.cli.services_cmd",
    "check": "synthetic_ls.cli.check_cmd",
    "session": "synthetic_ls.cli.session_cmd",
    "prompts": "synthetic_ls.cli.prompts_cmd",
    "diff": "synthetic_ls.cli.review_cmd",
    "log": "synthetic_ls.cli.review_cmd",
    "commit": "synthetic_ls.cli.review_cmd",
    "land": "synthetic_ls.cli.review_cmd",
    "discard": "synthetic_ls.cli.review_cmd",
    "review": "synthetic_ls.cli.review_cmd",
    "resolve": "synthetic_ls.cli.resolve_cmd",
    "trust": "synthetic_ls.cli.trust_cmd",
    "host": "synthetic_ls.cli.host_cmd",
    "group": "synthetic_ls.cli.group_cmd",
    "compare": "synthetic_ls.cli.compare_cmd",
    "version": "synthetic_ls.cli.version_cmd",
    "completion": "synthetic_ls.cli.completion",
}


#: Top-level options that take the next word as their value.
_WITH_VALUE = ("-C", "--color")


class UsageError(SyntheticError):
    """Bad command-line usage; ``usage`` is the parser's usage line."""

    code = "usage"

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors raise :class:`UsageError` (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.format_usage())


def command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a top-level option)."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return next(args, None)
        if arg in _WITH_VALUE:
            next(args, None)  # its value
        elif not arg.startswith("-") or arg == "-":
            return arg
    return None


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """Command modules needed to parse ``argv``: one if the command is known, else all."""
    top = _top_level(argv)
    if any(arg == "-h" or arg.startswith("--h") for arg in top):
        return COMMAND_MODULES
    if any(len(arg) > 2 and "--version".startswith(arg) for arg in top):
        return ()  # argparse prints the version and exits before any command
    home = COMMAND_HOMES.get(command_word(argv) or "")
    return (home,) if home is not None else COMMAND_MODULES


def _top_level(argv: Sequence[str]) -> list[str]:
    """The options before the command word."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        out.append(arg)
        if arg in _WITH_VALUE:
            next(args, None)
    return out


def build_parser(
    modules: Sequence[str] = COMMAND_MODULES, command: str | None = None
) -> argparse.ArgumentParser:
    """Build the argument parser with the commands of ``modules`` (default: all).

    When ``command`` is given but none of ``modules`` registers it, every module
    is registered (so a stale :data:`COMMAND_HOMES` costs time, not correctness).
    """
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
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: on a terminal unless NO_COLOR is set (auto, the default), "
        "always, or never",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in modules:
        importlib.import_module(name).register(sub)
    if command is not None and command not in sub.choices:
        # COMMAND_HOMES is stale for this command: fall back to every module.
        for name in COMMAND_MODULES:
            if name not in modules:
                importlib.import_module(name).register(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code (no ``sys.exit``)."""
    if argv is None:
        argv = sys.argv[1:]
    as_json = "--json" in argv  # before parsing, so usage errors are JSON too
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (argcomplete)
        from synthetic_ls.cli.completion import complete

        complete(build_parser())  # every command: the word is still being typed
        return int(ExitCode.OK)
    try:
        parser = build_parser(modules_for(argv), command_word(argv))
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version
            return int(exc.code) if isinstance(exc.code, int) else int(ExitCode.USAGE)
        except UsageError as exc:
            if not as_json:
                sys.stderr.write(exc.usage)
            return _report(exc, as_json)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help(sys.stderr)
            return int(ExitCode.USAGE)
        return _run_command(func, args)
    except KeyboardInterrupt:
        return _report(SyntheticError("interrupted", code="interrupted"), as_json)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error for the user.
        return int(ExitCode.OK)


#: What to do about an error, in this face's words (the core names no flags).
HINTS = {
    "unsaved-work": "pass --force to discard it",
    "operation-in-progress": "`synthetic doctor` tells more",
    "no-config": "create one with `synthetic init`",
    "no-default-template": "pass --template ID",
    "sha256-repository": "`synthetic new NAME --no-worktree` still works",
    "which-service": "name the service: `synthetic services logs REF SERVICE`",
    "no-worktree": "give it one with `synthetic worktree add REF`",
    "provider-not-usable": "run `opencode auth login`, or pick another provider in the template",
    "model-not-found": "set the template's agent.modelId to one of the models listed",
    "opencode-not-installed": "scripts/setup.sh installs the pinned OpenCode, or set "
    "SYNTHETIC_OPENCODE_BIN or SYNTHETIC_OPENCODE_URL",
    "opencode-unreachable": "`synthetic opencode status` tells more",
    "opencode-auth": "check SYNTHETIC_OPENCODE_PASSWORD (or `synthetic opencode stop` and start)",
    "opencode-session-gone": "`synthetic doctor --fix` gives the construct a new session",
    "no-session": "`synthetic new NAME --agent` makes constructs with one",
    "construct-dirty": "commit them in the construct's worktree, or `synthetic discard` it",
    # Every strategy, --apply too, refuses a conflict: only advise what works.
    "merge-conflict": "merge the target into the construct's branch and resolve there "
    "(`git merge TARGET` in its worktree, then commit), then land again",
    "base-rewritten": "`git rebase --onto BRANCH BASE_COMMIT` in the construct's worktree",
    "host-unreachable": "try `ssh HOST` by hand",
    "target-not-checked-out": "`git switch BRANCH` in the main checkout, or pass --into",
}


def _report(exc: CodedError, as_json: bool) -> int:
    """Print a user error on stderr (one line, or a JSON object) and return its exit code."""
    payload = error_payload(exc)
    status = exit_code(exc)
    payload["exit_code"] = int(status)
    hint = HINTS.get(payload["code"])
    if as_json:
        if hint:
            payload["hint"] = hint
        sys.stderr.write(json.dumps({"error": payload}, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"synthetic: {exc}\n")
        if payload["code"] == "consent-required":
            from synthetic_ls.cli.consent_prompt import write_items

            write_items([i for i in payload.get("items", []) if isinstance(i, dict)],
                        sys.stderr)
        if hint:
            sys.stderr.write(f"synthetic: hint: {hint}\n")
    return int(status)


def _run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a parsed command; every failure becomes a message and an exit code.

    Output for a person goes through :func:`terminal_safe_output`: what git, a
    record or an agent wrote is shown, never obeyed by the terminal.
    """
    as_json = bool(getattr(args, "json", False))
    if as_json:
        return _run_guarded(func, args, as_json)
    with terminal_safe_output(getattr(args, "color", "auto") or "auto"):
        return _run_guarded(func, args, as_json)


def _run_guarded(
    func: Callable[[argparse.Namespace], int], args: argparse.Namespace, as_json: bool
) -> int:
    try:
        if args.chdir is not None:
            try:
                os.chdir(args.chdir)
            except OSError as exc:
                raise SyntheticError(
                    f"cannot change to {args.chdir!r}: {exc.strerror}", code="usage"
                ) from None
        return int(func(args))
    except CodedError as exc:
        return _report(exc, as_json)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:
        # A bug, not a user error: still no traceback unless asked for, and
        # a code (70) that tests and scripts can tell from a user error.
        if os.environ.get("SYNTHETIC_DEBUG"):
            raise
        detail = f"{type(exc).__name__}: {exc}"
        return _report(
            SyntheticError(
                f"internal error ({one_line(detail, 300)}); please report it, "
                "and set SYNTHETIC_DEBUG=1 for the traceback",
                code="internal",
            ),
            as_json,
        )


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
