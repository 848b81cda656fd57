"""Shell completion (bash, zsh, fish) with argcomplete: ``synthetic completion SHELL``.

``synthetic completion bash`` prints the shell's registration (argcomplete's
``shellcode``); sourced, it makes the shell call ``synthetic`` itself with
``_ARGCOMPLETE`` set on each Tab, and :func:`complete` answers: commands and
flags from the parser, and, from the repository at hand, construct ids and
names (``REF``), template ids (``--template``) and service names. Reads
only: completing changes nothing and starts nothing.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``completion`` to the top-level parser."""
    p = sub.add_parser(
        "completion", help="print the shell code that completes synthetic's commands",
        description="Print the code that makes SHELL complete synthetic's commands, flags, "
        "construct ids and names, template ids and service names. Load it from your shell's "
        "start-up file, e.g. `source <(synthetic completion bash)` in ~/.bashrc, "
        "`synthetic completion fish | source` in ~/.config/fish/config.fish.",
    )
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help=", ".join(SHELLS))
    p.set_defaults(func=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    """``synthetic completion SHELL``."""
    import sys

    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["synthetic"], shell=args.shell))
    return 0


def wanted() -> bool:
    """Whether the shell asks for completions (argcomplete's protocol)."""
    return "_ARGCOMPLETE" in os.environ


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell (argcomplete writes to its file descriptor and exits)."""
    import argcomplete

    for action in _actions(parser):
        completer = COMPLETERS.get(action.dest)
        if completer is not None:
            action.completer = completer  # type: ignore[attr-defined]
    argcomplete.autocomplete(parser)


def _actions(parser: argparse.ArgumentParser) -> Iterable[argparse.Action]:
    # argparse offers no public walk of a parser's arguments; argcomplete itself
    # reads the same attribute.
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _actions(child)


# -- what the repository at hand offers (reads only) -------------------------------


def _constructs() -> list[Any]:
    from state_format.store import Store

    try:
        return list(Store.open().list_constructs().records)
    except Exception:  # not in a repository, a broken state: nothing to offer
        return []


def construct_refs(prefix: str, **_kwargs: Any) -> list[str]:
    """Construct ids, and names (when they are one word) that start with ``prefix``."""
    out: list[str] = []
    for c in _constructs():
        out.append(c.id)
        if c.name and " " not in c.name:
            out.append(c.name)
    return sorted({r for r in out if r.startswith(prefix)})


def template_ids(prefix: str, **_kwargs: Any) -> list[str]:
    """The config's template ids."""
    from pathlib import Path

    try:
        from state_format.paths import find_repo
        from synthetic_ls.config import load_config

        result = load_config(find_repo(Path.cwd()).worktree)
    except Exception:
        return []
    config = result.config
    return sorted(t for t in (config.templates if config else {}) if t.startswith(prefix))


def service_names(prefix: str, parsed_args: argparse.Namespace | None = None,
                  **_kwargs: Any) -> list[str]:
    """The services of the construct named before (``services stop REF SERVICE``)."""
    ref = getattr(parsed_args, "ref", None)
    if not ref:
        return []
    try:
        from state_format.store import Store
        from synthetic_ls.ops.services import services_status

        store = Store.open()
        # A remote construct's services are the host's: a completion asks no host.
        construct = store.resolve_construct(ref)
        names = [s["name"] for s in services_status(store, construct.id).to_dict()["services"]]
    except Exception:
        return []
    return sorted({n for n in names if n.startswith(prefix)})


def host_names(prefix: str, **_kwargs: Any) -> list[str]:
    """The person's hosts (from their hosts file; no host is contacted)."""
    try:
        from synthetic_ls.remote.host_store import read_hosts

        return sorted(h.name for h in read_hosts() if h.name.startswith(prefix))
    except Exception:  # a broken hosts file: nothing to offer
        return []


COMPLETERS: dict[str, Callable[..., list[str]]] = {
    "ref": construct_refs,
    "host": host_names,
    "template": template_ids,
    "service": service_names,
}
