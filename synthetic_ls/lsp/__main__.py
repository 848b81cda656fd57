"""``synthetic-ls`` / ``python -m synthetic_ls.lsp``: run the language server over stdio."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import BinaryIO, cast

from synthetic_ls import __version__


def main(argv: list[str] | None = None) -> int:
    """Parse the few options, then serve LSP on stdin/stdout until the client exits."""
    parser = argparse.ArgumentParser(
        prog="synthetic-ls",
        description="The Synthetic language server (LSP over stdio).",
    )
    parser.add_argument("--stdio", action="store_true", help="talk over stdio (the default)")
    parser.add_argument("--version", action="version", version=f"synthetic-ls {__version__}")
    parser.add_argument(
        "--log-file", metavar="PATH", help="write the server's log there (default: stderr)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: WARNING)",
    )
    args = parser.parse_args(argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(_not_a_user_error)
    handler.addFilter(_not_a_late_cancel)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(args.log_level)
    # pygls logs every message at INFO; keep its noise out unless asked for.
    logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))

    from synthetic_ls.lsp.framing import FramedInput
    from synthetic_ls.lsp.server import create_server

    # pygls reads exactly what it is given: FramedInput gives it only
    # well-formed frames, whatever a client writes (see its module). pygls
    # calls only readline() and read(n) of the stream it is given.
    create_server().start_io(stdin=cast(BinaryIO, FramedInput(sys.stdin.buffer)))
    return 0


def _not_a_late_cancel(record: logging.LogRecord) -> bool:
    """Drop pygls's warning about a ``$/cancelRequest`` for a request no longer running.

    Editors cancel the requests whose answers they no longer want (all of them
    when a window reloads); the answer of a request handled at once, or already
    sent, crosses the cancel on the wire. That is no news, yet pygls warns about
    each: a dozen lines in VS Code's "Synthetic" output per reload.
    """
    return not record.getMessage().startswith("Cancel notification for unknown message id")


def _not_a_user_error(record: logging.LogRecord) -> bool:
    """Drop pygls's traceback for an operation's error: the client gets it as the answer."""
    error = record.exc_info[1] if record.exc_info else None
    data = getattr(error, "data", None)
    return not (isinstance(data, dict) and "code" in data and "kind" in data)


if __name__ == "__main__":
    sys.exit(main())
