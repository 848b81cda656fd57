"""Construct commands: ``new``, ``ls``, ``show``, ``edit``, ``rm``.

Thin on purpose: parse arguments, call :mod:`synthetic_ls.ops.constructs`,
render a table or ``--json`` (shape documented in README.md, "Constructs").
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain, starmap
from operator import attrgetter, itemgetter, methodcaller
from typing import TYPE_CHECKING, Any, Protocol

from state_format.statuses import Status
from state_format.text import one_line
from synthetic_ls.errors import ExitCode, SyntheticError

if TYPE_CHECKING:
    from state_format.records import Construct
    from state_format.store import Store

# Heavy modules (pydantic models, the store, the ops layer) are imported inside
# the handlers: `register` only touches argparse.

_STATUS_HELP = "one of: " + ", ".join(s.value for s in Status)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    p = sub.add_parser("new", help="create a construct", description="Create a construct record.")
    p.add_argument("name", metavar="NAME", help="what to call it (any text; quote it)")
    p.add_argument(
        "--template",
        "-t",
        dest="template",
        default=None,
        metavar="ID",
        help="template id from synthetic.config.ts (default: defaults.templateId)",
    )
    p.add_argument("--description", "-d", default="", metavar="TEXT", help="free text")
    p.add_argument(
        "--status",
        default=None,
        metavar="S",
        help="initial status: pending, ready or parked "
        "(default: ready with a worktree, pending without)",
    )
    p.add_argument(
        "--worktree",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the construct its own git worktree on a new branch (default: yes)",
    )
    p.add_argument(
        "--from",
        dest="from_ref",
        default=None,
        metavar="REF",
        help="start the branch at this branch, tag or commit (default: HEAD)",
    )
    p.add_argument(
        "--branch",
        default=None,
        metavar="NAME",
        help="branch name (default: worktrees.branchPrefix + id, e.g. synthetic/<id>)",
    )
    _json_flag(p)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("ls", help="list constructs", description="List constructs, oldest first.")
    p.add_argument("--status", default=None, metavar="S", help=f"only this status ({_STATUS_HELP})")
    p.add_argument("--template", default=None, metavar="ID", help="only this template id")
    _json_flag(p)
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser(
        "show",
        help="show one construct",
        description="Show a construct by id, exact name or unique id prefix.",
    )
    p.add_argument("ref", metavar="REF", help="id, unique id prefix, or exact name")
    p.add_argument("--size", action="store_true", help="also measure the worktree's disk size")
    _json_flag(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "edit",
        help="change a construct's name, description or status",
        description="Change a construct. Status changes must follow the "
        "lifecycle (see state_format/README.md).",
    )
    p.add_argument("ref", metavar="REF", help="id, unique id prefix, or exact name")
    p.add_argument("--name", default=None, metavar="NAME", help="new name (the id stays)")
    p.add_argument("--description", "-d", default=None, metavar="TEXT", help="new description")
    p.add_argument("--status", default=None, metavar="S", help=f"new status ({_STATUS_HELP})")
    _json_flag(p)
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser(
        "rm", help="remove a construct", description="Remove a construct and its record."
    )
    p.add_argument("ref", metavar="REF", help="id, unique id prefix, or exact name")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--force",
        action="store_true",
        help="discard uncommitted changes in the worktree and delete the branch "
        "even if it has unmerged commits",
    )
    _json_flag(p)
    p.set_defaults(func=cmd_rm)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (see README.md)")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


# -- commands -----------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    """``synthetic new``."""
    from state_format.store import Store
    from synthetic_ls.ops import constructs as ops

    store = Store.open()
    result = ops.create_construct(
        store,
        ops.CreateOptions(
            name=args.name,
            template_id=args.template,
            description=args.description,
            status=args.status,
            worktree=args.worktree,
            from_ref=args.from_ref,
            branch=args.branch,
        ),
    )
    if args.json:
        out = ops.construct_as_dict(result.construct, store)
        out["copied"] = result.copied
        out["skipped"] = [{"path": p, "reason": r} for p, r in result.skipped]
        _print_json(out)
    else:
        c = result.construct
        sys.stdout.write(
            f"Created construct {c.id} ({one_line(c.name)}) from template "
            f"{one_line(c.template_id)!s}, status {c.status.value}.\n"
        )
        if c.workspace_path:
            base = (c.base_ref or "").removeprefix("refs/heads/") or (c.base_commit or "")[:12]
            sys.stdout.write(
                f"  worktree: {c.workspace_path}\n  branch:   {c.branch} (from {base})\n"
            )
        if result.copied:
            sys.stdout.write(
                f"  copied {len(result.copied)} include file(s): "
                f"{', '.join(one_line(p, 80) for p in result.copied[:10])}"
                f"{' ...' if len(result.copied) > 10 else ''}\n"
            )
        for rel, reason in result.skipped:
            sys.stdout.write(f"  skipped {one_line(rel, 80)}: {reason}\n")
    return int(ExitCode.OK)


def cmd_ls(args: argparse.Namespace) -> int:
    """``synthetic ls``: broken files go to stderr (and ``broken`` in --json).

    Uses the listing both faces share (:mod:`synthetic_ls.ops.listing`).
    """
    from synthetic_ls.ops.constructs import construct_as_dict
    from synthetic_ls.ops.listing import list_rows, worktree_states

    wanted = _parse_status(args.status) if args.status is not None else None
    result = list_rows(status=wanted, template_id=args.template)
    for note in result.recovered:
        sys.stderr.write(f"synthetic: {note}\n")
    infos = worktree_states(result.repo, result.rows)
    json_rows = None
    if args.json:
        json_rows = [
            {**construct_as_dict(c), "file": f}
            for c, f in zip(result.rows, result.files(), strict=True)
        ]
    _print_listing(args, result.rows, json_rows, result.broken, result.total, infos)
    return int(ExitCode.OK)


def _parse_status(value: str) -> Status:
    """Like ``ops.parse_status`` (which gives the error message) without importing ops."""
    try:
        return Status(value.strip().lower().replace("-", "_"))
    except ValueError:
        from synthetic_ls.ops.constructs import parse_status

        return parse_status(value)  # raises InvalidInputError listing the valid ones


def _print_listing(
    args: argparse.Namespace,
    listed: Sequence[_Listed],
    json_rows: list[dict[str, Any]] | None,
    broken: list[Any],
    total: int,
    infos: dict[str, dict[str, Any]],
) -> None:
    if json_rows is not None:
        for c, row in zip(listed, json_rows, strict=True):
            row["worktree"] = infos.get(c.id)
        _print_json(
            {
                "version": JSON_VERSION,
                "constructs": json_rows,
                "broken": [
                    {"file": b.path, "line": b.line, "error": b.detail} for b in broken
                ],  # same shape as ops.broken_as_dict
            }
        )
    else:
        if listed:
            sys.stdout.write(render_table(listed, infos))
        elif total:
            sys.stdout.write("No constructs match.\n")
        elif broken:
            sys.stdout.write("No readable constructs (see the warnings below).\n")
        else:
            sys.stdout.write(
                "No constructs yet. Create one with: synthetic new NAME --template ID\n"
            )
    for b in broken:
        sys.stderr.write(f"synthetic: warning: {b}\n")


#: Version of the --json shape (``ops.constructs.JSON_VERSION``; a test checks they agree).
JSON_VERSION = 1


def cmd_show(args: argparse.Namespace) -> int:
    """``synthetic show``: the record plus its worktree's state."""
    from state_format.store import Store
    from synthetic_ls.ops import constructs as ops

    store = Store.open()
    construct = ops.show_construct(store, args.ref)
    info = None
    if construct.workspace_path:  # else no worktree to inspect, and no pygit2 import
        from synthetic_ls.ops.worktree_state import worktree_infos

        infos = worktree_infos(store.repo.worktree, [construct], with_size=args.size)
        info = infos.get(construct.id)
    if args.json:
        out = ops.construct_as_dict(construct, store)
        out["worktree"] = info
        _print_json(out)
    else:
        sys.stdout.write(render_details(construct, store, info))
    return int(ExitCode.OK)


def cmd_edit(args: argparse.Namespace) -> int:
    """``synthetic edit``."""
    from state_format.store import Store
    from synthetic_ls.ops import constructs as ops

    store = Store.open()
    result = ops.edit_construct(
        store,
        ops.EditOptions(
            ref=args.ref, name=args.name, description=args.description, status=args.status
        ),
    )
    if args.json:
        _print_json(ops.construct_as_dict(result.construct, store))
    elif result.changed:
        sys.stdout.write(f"Updated {result.construct.id}: {', '.join(result.changed)}.\n")
    else:
        sys.stdout.write(f"Nothing changed in {result.construct.id}.\n")
    return int(ExitCode.OK)


def cmd_rm(args: argparse.Namespace) -> int:
    """``synthetic rm``: asks first on a terminal; elsewhere requires ``--yes``."""
    from state_format.store import Store
    from synthetic_ls.ops import constructs as ops

    store = Store.open()
    construct = ops.show_construct(store, args.ref)
    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(
                f"refusing to remove {construct.id} without confirmation; pass --yes",
                exit_code=ExitCode.USAGE,
            )
        sys.stderr.write(f"Remove construct {construct.id} ({one_line(construct.name)})? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not removed.\n")
            return int(ExitCode.FAILED)
    # Remove by id: the name could have been reused since we asked.
    result = ops.remove_construct(store, ops.RemoveOptions(ref=construct.id, force=args.force))
    if args.json:
        _print_json({"removed": result.construct.id, "notes": result.notes})
    else:
        sys.stdout.write(f"Removed construct {result.construct.id}.\n")
        for note in result.notes:
            sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


# -- rendering ------------------------------------------------------------------


def _width(text: str) -> int:
    """Terminal columns ``text`` takes (wide East Asian characters count twice)."""
    if text.isascii():
        return len(text)  # no wide or combining characters (cells are printable)
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class _Listed(Protocol):
    """What the table needs of a construct."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def template_id(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime: ...


def _state_text(info: dict[str, Any] | None) -> str:
    """``clean``, ``dirty +2 -1``, ``missing`` or ``-`` (no worktree)."""
    if info is None:
        return "-"
    if not info["exists"]:
        return "missing"
    text = "dirty" if info["dirty"] else "clean"
    if info["ahead"] or info["behind"]:
        text += f" +{info['ahead']} -{info['behind']}"
    return text


_ID = attrgetter("id")
_NAME = attrgetter("name")
_TEMPLATE = attrgetter("template_id")
_BRANCH = attrgetter("branch")
_STATUS = attrgetter("status")
_UPDATED = attrgetter("updated_at")
_STATUS_TEXT = {s: s.value for s in Status}


def _one_line_column(cells: list[str], limit: int) -> list[str]:
    """``one_line(cell, limit)`` for every cell; no per-cell call when none needs it."""
    if all(map(str.isprintable, cells)) and max(map(len, cells), default=0) <= limit:
        return cells
    return [one_line(cell, limit) for cell in cells]


def _padded(column: list[str]) -> list[str]:
    """The cells of ``column`` padded with spaces to the widest one (in terminal columns)."""
    widths = list(map(_width, column))
    widest = max(widths)
    return [cell + " " * (widest - w) for cell, w in zip(column, widths, strict=True)]


def render_table(
    constructs: Sequence[_Listed], infos: dict[str, dict[str, Any]] | None = None
) -> str:
    """The human ``ls`` table: ID, STATUS, TEMPLATE, BRANCH, WORKTREE, UPDATED (UTC), NAME.

    Built a column at a time (10,000 rows should not cost 10,000 x 7 calls).
    """
    infos = infos or {}
    ids = list(map(_ID, constructs))
    updated = map(methodcaller("isoformat", " ", "minutes"), map(_UPDATED, constructs))
    columns = [
        ["ID", *ids],
        ["STATUS", *map(_STATUS_TEXT.__getitem__, map(_STATUS, constructs))],
        ["TEMPLATE", *_one_line_column(list(map(_TEMPLATE, constructs)), 24)],
        ["BRANCH", *_one_line_column([b or "-" for b in map(_BRANCH, constructs)], 40)],
        ["WORKTREE", *([_state_text(infos.get(i)) for i in ids] if infos else ["-"] * len(ids))],
        # "YYYY-MM-DD HH:MM": isoformat pads years to 4 digits; [:16] drops the offset.
        ["UPDATED (UTC)", *map(itemgetter(slice(16)), updated)],
    ]
    names = ["NAME", *_one_line_column(list(map(_NAME, constructs)), 60)]
    if all(map(str.isascii, chain.from_iterable(columns))):
        # The usual case: one terminal column per character, so str.format pads
        # right, and each line is one call (not one string per cell).
        widths = [max(map(len, column)) for column in columns]
        line = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
        lines: Iterable[str] = starmap(line.format, zip(*columns, names, strict=True))
    else:
        lines = map("  ".join, zip(*map(_padded, columns), names, strict=True))
    return "\n".join(map(str.rstrip, lines)) + "\n"


def render_details(construct: Construct, store: Store, info: dict[str, Any] | None = None) -> str:
    """The human ``show`` output: one ``key: value`` line per field, then the worktree."""
    from synthetic_ls.ops import constructs as ops

    d = ops.construct_as_dict(construct, store)
    lines = []
    for key in (
        "id",
        "name",
        "status",
        "template_id",
        "created_at",
        "updated_at",
        "workspace_path",
        "branch",
        "base_ref",
        "base_commit",
        "opencode_session_id",
        "file",
    ):
        value = d.get(key)
        if value is not None:
            lines.append(f"{key + ':':<21}{one_line(str(value), 200)}")
    for key, value in d["extra"].items():
        lines.append(f"{one_line(key, 19) + ':':<21}{one_line(json.dumps(value), 200)}")
    if info is not None:
        lines.append(f"{'worktree:':<21}{_state_text(info)}")
        if info["size_bytes"] is not None:
            lines.append(f"{'worktree_size:':<21}{info['size_bytes'] / 1e6:.1f} MB")
        for change in info["changes"][:20]:
            lines.append(f"  {one_line(change, 200)}")
    if construct.description:
        lines.append("description:")
        lines.extend(f"  {one_line(line, 500)}" for line in construct.description.splitlines())
    return "\n".join(lines) + "\n"
