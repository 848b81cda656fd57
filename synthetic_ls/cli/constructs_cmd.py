"""Construct commands: ``new``, ``ls``, ``show``, ``edit``, ``rm``.

Thin on purpose: parse arguments, call :mod:`synthetic_ls.ops.constructs`,
render a table or ``--json`` (shape documented in README.md, "Constructs").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from state_format.statuses import Status
from state_format.text import one_line
from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of, write_items
from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import step_printer as _step_printer
from synthetic_ls.cli.terminal import table, width
from synthetic_ls.errors import SyntheticError

if TYPE_CHECKING:
    from state_format.store import Store
    from synthetic_ls.ops.views import ConstructView

# Heavy modules (pydantic models, the store, the ops layer) are imported inside
# the handlers: `register` only touches argparse, and `ls` on a warm cache
# never imports pydantic at all (see state_format/listing.py).

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
    p.add_argument(
        "--agent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="give the construct an OpenCode agent session in its worktree "
        "(default: when the template has an `agent`)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print each step on stderr as it starts (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--keep-failed",
        action="store_true",
        help="if a step fails, keep the record in status error, saying which step failed "
        "(what was made is undone either way)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be made, and make nothing"
    )
    p.add_argument(
        "--host",
        default=None,
        metavar="HOST",
        help="create it on that host (`synthetic host add`): the start point is pushed to the "
        "host's clone and the host's own Synthetic makes the construct (with --template and "
        "--from only)",
    )
    p.add_argument(
        "--attempts",
        type=int,
        default=None,
        metavar="N",
        help="make a group of N attempts at the task NAME: N constructs from one template, "
        "each with its own worktree, branch, services and agent session, each sent NAME as "
        "its prompt (`synthetic group`)",
    )
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        default=None,
        metavar="PROVIDER/MODEL",
        help="one attempt with this model (repeatable); with --attempts N the N attempts take "
        "the models in turn",
    )
    add_trust_flag(p)
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
    p.add_argument(
        "--keep-session",
        action="store_true",
        help="keep the agent session in OpenCode (default: delete it)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be removed, kept and lost; remove nothing",
    )
    add_trust_flag(p)
    _json_flag(p)
    p.set_defaults(func=cmd_rm)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (see README.md)")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


# -- commands -----------------------------------------------------------------


def _store() -> Store:
    from state_format.store import Store

    return Store.open()


def cmd_new(args: argparse.Namespace) -> int:
    """``synthetic new`` (``--host``: on another machine, :func:`_new_remote`)."""
    if args.attempts is not None or args.models:
        from synthetic_ls.cli.group_cmd import new_group

        return new_group(args)
    if args.host is not None:
        return _new_remote(args)
    from synthetic_ls.ops import constructs as ops

    options = ops.CreateOptions(
        name=args.name,
        template_id=args.template,
        description=args.description,
        status=args.status,
        worktree=args.worktree,
        from_ref=args.from_ref,
        branch=args.branch,
        agent=args.agent,
        keep_failed=args.keep_failed,
    )
    if args.dry_run:
        plan = ops.plan_construct(_store(), options)
        if args.json:
            _print_json(plan.to_dict())
        else:
            sys.stdout.write(
                f"Would create construct {plan.id} from template {plan.template_id}:\n"
            )
            for item in plan.items:
                sys.stdout.write(f"  {item.resource}: {one_line(item.summary, 300)}\n")
                for line in item.lines:
                    sys.stdout.write(f"    {one_line(line, 2000)}\n")
            if not plan.items:
                sys.stdout.write("  the record only\n")
            if plan.runs:
                waiting = [item for item, ok in plan.runs if not ok]
                sys.stdout.write(f"It would run, from the repository ({len(waiting)} not "
                                 "allowed yet: `synthetic trust` or --trust):\n")
                write_items([{**item.to_dict(), "where": item.where + (
                    "" if ok else ", not allowed yet")} for item, ok in plan.runs], sys.stdout)
        return int(ExitCode.OK)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    result = ops.create_construct(_store(), options, progress=_step_printer(not show),
                                  consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    c = result.construct
    sys.stdout.write(
        f"Created construct {c.id} ({one_line(c.name)}) from template "
        f"{one_line(c.template_id)!s}, status {c.status.value}.\n"
    )
    if c.workspace_path:
        base = (c.base_ref or "").removeprefix("refs/heads/") or (c.base_commit or "")[:12]
        sys.stdout.write(f"  worktree: {c.workspace_path}\n  branch:   {c.branch} (from {base})\n")
    _print_copy_report(result.copied, result.skipped)
    extra = dict(result.extra)
    for port in extra.get("ports", []):
        sys.stdout.write(f"  port:     {port['port']} ({port['env']})\n")
    for service in extra.get("services", []):
        name, state = service["name"], service["state"]
        sys.stdout.write(f"  service:  {one_line(name)} {state}\n")
    return int(ExitCode.OK)


#: ``new`` options a construct made on a host does not take (yet).
_LOCAL_ONLY = (("description", ""), ("status", None), ("worktree", True), ("branch", None),
               ("agent", None), ("keep_failed", False), ("dry_run", False))


def _new_remote(args: argparse.Namespace) -> int:
    """``synthetic new NAME --host HOST``: the construct is made by the host's Synthetic."""
    from synthetic_ls.ops.remote_constructs import RemoteCreateOptions, create_remote_construct

    given = [name for name, default in _LOCAL_ONLY if getattr(args, name) != default]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise SyntheticError(f"{flags} cannot be used with --host yet (only --template, "
                             "--from and --trust)", code="usage")
    show = args.progress if args.progress is not None else sys.stderr.isatty()

    def tell(what: str) -> None:
        if show:
            sys.stderr.write(f"      {what}\n")
            sys.stderr.flush()

    result = create_remote_construct(
        _store(),
        RemoteCreateOptions(name=args.name, host=args.host, template_id=args.template,
                            from_ref=args.from_ref),
        consent=consent_of(args), progress=tell)
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    r = result.record
    sys.stdout.write(f"Created construct {r.id} ({one_line(r.name)}) on host {r.host}, "
                     f"as {r.remote_id} there.\n")
    made = result.construct
    if made.get("workspace_path"):
        sys.stdout.write(f"  worktree: {one_line(str(made['workspace_path']))} (on {r.host})\n"
                         f"  branch:   {one_line(str(made.get('branch')))}\n")
    for service in made.get("services", []) or []:
        if isinstance(service, dict):
            sys.stdout.write(f"  service:  {one_line(str(service.get('name')))} "
                             f"{one_line(str(service.get('state')))}\n")
    return int(ExitCode.OK)


def _print_copy_report(copied: Sequence[str], skipped: Sequence[tuple[str, str]]) -> None:
    if copied:
        sys.stdout.write(
            f"  copied {len(copied)} include file(s): "
            f"{', '.join(one_line(p, 80) for p in copied[:10])}"
            f"{' ...' if len(copied) > 10 else ''}\n"
        )
    for rel, reason in skipped:
        sys.stdout.write(f"  skipped {one_line(rel, 80)}: {reason}\n")


def cmd_ls(args: argparse.Namespace) -> int:
    """``synthetic ls``: broken files go to stderr (and ``broken`` in --json)."""
    from synthetic_ls.ops.listing import list_constructs

    wanted = None
    if args.status is not None:
        from synthetic_ls.ops.constructs import parse_status

        wanted = parse_status(args.status)
    result = list_constructs(_store(), status=wanted, template_id=args.template)
    if args.json:
        _print_json(result.to_dict())
    elif result.views or result.remote:
        sys.stdout.write(render_table(result.views, result.remote))
        if any(v.agent is not None and v.agent.usage is not None for v in result.views):
            sys.stdout.write(f"total: {result.usage.summary()}\n")
    elif result.total:
        sys.stdout.write("No constructs match.\n")
    elif result.broken:
        sys.stdout.write("No readable constructs (see the warnings below).\n")
    else:
        sys.stdout.write("No constructs yet. Create one with: synthetic new NAME --template ID\n")
    for b in result.broken:
        sys.stderr.write(f"synthetic: warning: {b}\n")
    for h in result.hosts:
        if h["state"] != "ok" and not args.json:
            sys.stderr.write(f"synthetic: warning: host {h['host']} did not answer: "
                             f"{one_line(h['error'] or '', 300)}\n")
    interrupted = [v.construct.id for v in result.views if _op_state(v) == "interrupted"]
    if interrupted and not args.json:
        sys.stderr.write(
            f"synthetic: {len(interrupted)} construct(s) were interrupted mid-operation "
            f"({', '.join(interrupted[:5])}); `synthetic doctor --fix` recovers them\n"
        )
    return int(ExitCode.OK)


def _op_state(view: ConstructView) -> str | None:
    journal = view.construct.journal
    if journal is None:
        return None
    from synthetic_ls.ops.views import operation_dict

    op = operation_dict(view.construct)
    return op["state"] if op else None


def cmd_show(args: argparse.Namespace) -> int:
    """``synthetic show``: the record plus its worktree's state (the host's, for a construct
    on another machine)."""
    from synthetic_ls.ops.anywhere import show_any
    from synthetic_ls.ops.remote_constructs import RemoteShown

    result = show_any(_store(), args.ref, with_size=args.size)
    if isinstance(result, RemoteShown):
        shown = result.to_dict()
        if args.json:
            _print_json(shown)
        else:
            sys.stdout.write(render_remote_details(shown))
        return int(ExitCode.OK)
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(render_details(result.view))
        extra = dict(result.extra)
        for s in extra.get("services", []):
            urls = ", ".join(p["url"] for p in s["ports"])
            line = f"service:  {s['name']} {s['state']}" + (f" {urls}" if urls else "")
            sys.stdout.write(one_line(line, 2000) + "\n")
        for p in extra.get("ports", []):
            sys.stdout.write(f"port:     {p['port']} ({p['env']})\n")
        for c in extra.get("checks", []):
            # As recorded by the last `synthetic check` (nothing runs here).
            verdict = "passed" if c["passed"] else ("timed out" if c["timed_out"] else "failed")
            line = (f"check:    {c['name']} {verdict} ({c['duration_ms'] / 1000:.1f} s, "
                    f"{c['finished_at']}, on {(c['head'] or '?')[:12]})")
            sys.stdout.write(one_line(line, 2000) + "\n")
    return int(ExitCode.OK)


def cmd_edit(args: argparse.Namespace) -> int:
    """``synthetic edit``."""
    from synthetic_ls.ops import constructs as ops

    result = ops.edit_construct(
        _store(),
        ops.EditOptions(
            ref=args.ref, name=args.name, description=args.description, status=args.status
        ),
    )
    for note in result.recovered:
        sys.stderr.write(f"synthetic: {note}\n")
    if args.json:
        _print_json(result.to_dict())
    elif result.changed:
        sys.stdout.write(f"Updated {result.construct.id}: {', '.join(result.changed)}.\n")
    else:
        sys.stdout.write(f"Nothing changed in {result.construct.id}.\n")
    return int(ExitCode.OK)


def cmd_rm(args: argparse.Namespace) -> int:
    """``synthetic rm``: asks first on a terminal; elsewhere requires ``--yes``."""
    from synthetic_ls.ops import constructs as ops
    from synthetic_ls.ops.anywhere import remote_of

    store = _store()
    if args.dry_run:
        return _rm_dry_run(args, store)
    far = remote_of(store, args.ref)
    if far is not None:
        return _rm_remote(args, far.id)
    construct = store.resolve_construct(args.ref)
    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(
                f"refusing to remove {construct.id} without confirmation; pass --yes",
                code="usage",
            )
        from synthetic_ls.ops.removal_preview import removal_preview

        # The server's account of what goes and what would be lost, before asking.
        preview = removal_preview(store, construct.id)
        sys.stderr.write(_removal_text(preview.to_dict(), force=args.force,
                                       keep_session=args.keep_session))
        if preview.force_required and not args.force:
            sys.stderr.write("Not removed; pass --force to remove it and lose that.\n")
            return int(ExitCode.CONFLICT)
        sys.stderr.write(f"Remove construct {construct.id} ({one_line(construct.name)})? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not removed.\n")
            return int(ExitCode.FAILED)
    # Remove by id: the name could have been reused since we asked.
    options = ops.RemoveOptions(
        ref=construct.id, force=args.force, keep_session=args.keep_session
    )
    result = ops.remove_construct(store, options, consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Removed construct {result.construct.id}.\n")
        for note in result.notes:
            sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


def _rm_dry_run(args: argparse.Namespace, store: Store) -> int:
    """``synthetic rm --dry-run``: the server's removal preview (the host's, for a construct
    on another machine); nothing is removed."""
    from synthetic_ls.ops.anywhere import removal_preview_any

    preview = removal_preview_any(store, args.ref)
    if args.json:
        _print_json(preview.to_dict())
        return int(ExitCode.OK)
    data = preview.to_dict()  # the host's, for a remote construct: the same form
    sys.stdout.write(_removal_text(data, force=args.force, keep_session=args.keep_session))
    if data["force_required"] and not args.force:
        sys.stdout.write("It would not be removed without --force.\n")
    return int(ExitCode.OK)


def _rm_remote(args: argparse.Namespace, record_id: str) -> int:
    """``synthetic rm`` of a construct on a host: the host's ``rm``, then the record here."""
    from synthetic_ls.ops.remote_constructs import remove_remote_construct

    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(f"refusing to remove {record_id} (on another host) without "
                                 "confirmation; pass --yes", code="usage")
        sys.stderr.write(f"Remove construct {record_id} on its host (its worktree, branch, "
                         "services and session there)? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not removed.\n")
            return int(ExitCode.FAILED)
    result = remove_remote_construct(_store(), record_id, force=args.force,
                                     trust=bool(getattr(args, "trust", False)))
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Removed construct {record_id} (on host {result.record.host}).\n")
        for note in result.remote.get("notes", []) or []:
            sys.stdout.write(f"  {one_line(str(note), 300)}\n")
    return int(ExitCode.OK)


def _removal_text(preview: Mapping[str, Any], *, force: bool, keep_session: bool) -> str:
    """What ``rm`` would do, as the server's preview (its JSON form) says, for a person to
    confirm."""
    lines = [f"Removing {preview['construct']} ({one_line(preview['name'])}):"]
    if preview["worktree"]:
        lines.append(f"  deletes the worktree {preview['worktree']}")
    branch = preview["branch"]
    if branch is not None:
        fate = branch["with_force"] if force else branch["without_force"]
        why = f" ({branch['reason']})" if branch["reason"] else ""
        verb = "deletes" if fate == "deleted" else "keeps"
        lines.append(f"  {verb} the branch {branch['name']}{why}")
        if fate == "deleted" and branch["unmerged"]:
            lines += [f"    {c['id'][:12]} {one_line(c['subject'], 70)}"
                      for c in branch["unmerged"][:10]]
    if preview["session"]:
        verb = "keeps" if keep_session else "deletes"
        lines.append(f"  {verb} the agent session {preview['session']}")
    if preview["services"]:
        lines.append(f"  stops the services {', '.join(preview['services'])}")
    if preview["ports"]:
        lines.append(f"  releases the ports {', '.join(str(p) for p in preview['ports'])}")
    if preview["locked"]:
        lines.append(f"  the worktree is locked ({one_line(preview['locked'], 100)})")
    if preview["loses"]:
        lead = "work that would be lost" if force else "it holds work removal would lose"
        lines.append(f"  {lead}:")
        for work in preview["loses"]:
            items = work["items"]
            lines.append(f"    {work['what']}" + (":" if items else ""))
            lines += [f"      {one_line(x, 100)}" for x in items[:15]]
            if len(items) > 15:
                lines.append(f"      ... and {len(items) - 15} more")
    return "\n".join(lines) + "\n"


# -- rendering ------------------------------------------------------------------


def _worktree_text(view: ConstructView) -> str:
    """``clean``, ``dirty +2 -1``, ``missing``, or ``-`` without a worktree."""
    return view.worktree.summary() if view.worktree is not None else "-"


def _status_text(view: ConstructView) -> str:
    state = _op_state(view)
    status = view.construct.status.value
    return f"{status} (interrupted)" if state == "interrupted" else status


def _tokens_text(view: ConstructView) -> str:
    """``1.6k/6``: the tokens the agent sent and received, ``-`` when not told."""
    usage = view.agent.usage if view.agent is not None else None
    if usage is None:
        return "-"
    from synthetic_ls.ops.usage import tokens_text

    return f"{tokens_text(usage.input)}/{tokens_text(usage.output)}"


def _cost_text(view: ConstructView) -> str:
    """``$0.0016``: what the agent cost, ``-`` when not told."""
    usage = view.agent.usage if view.agent is not None else None
    if usage is None:
        return "-"
    from synthetic_ls.ops.usage import cost_text

    return cost_text(usage.cost)


def _remote_worktree(row: Mapping[str, Any]) -> str:
    tree = row.get("worktree")
    if not isinstance(tree, dict):
        return "-"
    if not tree.get("exists"):
        return "missing"
    return f"dirty ({len(tree.get('changes') or [])})" if tree.get("dirty") else "clean"


def render_table(listed: Sequence[ConstructView],
                 remote: Sequence[Mapping[str, Any]] = ()) -> str:
    """The human ``ls`` table: ID, STATUS, TEMPLATE, BRANCH, WORKTREE, UPDATED (UTC), NAME,
    HOST (``-`` for this machine) when some construct lives on another machine, and GROUP
    when some construct is an attempt of a group (``new --attempts``)."""
    columns = [
        ["ID", *(v.construct.id for v in listed), *(str(r["id"]) for r in remote)],
        ["STATUS", *(_status_text(v) for v in listed),
         *(one_line(str(r["status"]), 24) for r in remote)],
        ["TEMPLATE", *(one_line(v.construct.template_id, 24) for v in listed),
         *(one_line(str(r["template_id"] or "-"), 24) for r in remote)],
        ["BRANCH", *(one_line(v.construct.branch or "-", 40) for v in listed),
         *(one_line(str(r["branch"] or "-"), 40) for r in remote)],
        ["WORKTREE", *(_worktree_text(v) for v in listed), *(_remote_worktree(r) for r in remote)],
        [
            "UPDATED (UTC)",
            *(v.construct.updated_at.isoformat(" ", "minutes")[:16] for v in listed),
            *(str(r["updated_at"]).replace("T", " ")[:16] for r in remote),
        ],
    ]
    if any(v.agent is not None and v.agent.usage is not None for v in listed):
        # Only when some agent told what it cost: a listing without a
        # running server keeps its width.
        columns.append(["TOKENS IN/OUT", *(_tokens_text(v) for v in listed),
                        *("-" for _ in remote)])
        columns.append(["COST", *(_cost_text(v) for v in listed), *("-" for _ in remote)])
    if remote:
        columns.append(["HOST", *("-" for _ in listed), *(one_line(str(r["host"]), 32)
                                                          for r in remote)])
    if any(v.construct.group_id for v in listed):
        columns.append(["GROUP", *(v.construct.group_id or "-" for v in listed),
                        *("-" for _ in remote)])
    columns.append(["NAME", *(one_line(v.construct.name, 60) for v in listed),
                    *(one_line(str(r["name"]), 60) for r in remote)])
    return table(columns, states={1: [v.construct.status.value for v in listed]
                                  + [str(r["status"]) for r in remote]})


def render_remote_details(shown: Mapping[str, Any]) -> str:
    """The human ``show`` of a construct on another machine, from its host's JSON."""
    lines = []
    for key in ("id", "remote_id", "host", "name", "status", "template_id", "created_at",
                "updated_at", "workspace_path", "branch", "base_ref", "base_commit"):
        value = shown.get(key)
        if value is not None:
            lines.append(f"{key + ':':<21}{one_line(str(value), 200)}")
    for s in shown.get("services", []) or []:
        if isinstance(s, dict):
            lines.append(f"{'service:':<21}{one_line(str(s.get('name')))} "
                         f"{one_line(str(s.get('state')))}")
    return "\n".join(lines) + "\n"


def render_details(view: ConstructView) -> str:
    """The human ``show`` output: one ``key: value`` line per field, then the worktree."""
    d = view.to_dict()
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
        "isolation",
        "group_id",
        "model",
        "opencode_session_id",
        "file",
    ):
        value = d.get(key)
        if value is not None:
            lines.append(f"{key + ':':<21}{one_line(str(value), 200)}")
    op = d.get("operation")
    if op is not None:
        lines.append(f"{'operation:':<21}{op['op']} by {op['owner']} ({op['state']})")
    for key, value in d["extra"].items():
        label = one_line(key, 19) + ":"
        lines.append(label + " " * max(1, 21 - width(label)) + one_line(json.dumps(value), 200))
    if view.agent is not None:
        waiting = view.agent.pending_permissions
        more = f" (permission {', '.join(waiting)})" if waiting else ""
        lines.append(f"{'agent:':<21}{view.agent.state}{more}")
        if view.agent.usage is not None:
            u = view.agent.usage
            apart = ([f"{u.reasoning} reasoning"] if u.reasoning else []) + (
                [f"cache {u.cache_read} read {u.cache_write} written"]
                if u.cache_read or u.cache_write else [])
            lines.append(f"{'usage:':<21}{u.summary()}"
                         + (f" ({', '.join(apart)})" if apart else ""))
    if view.worktree is not None:
        lines.append(f"{'worktree:':<21}{view.worktree.summary()}")
        if view.worktree.size_bytes is not None:
            lines.append(f"{'worktree_size:':<21}{view.worktree.size_bytes / 1e6:.1f} MB")
        for change in view.worktree.changes[:20]:
            lines.append(f"  {one_line(change, 200)}")
    if view.construct.description:
        lines.append("description:")
        lines.extend(
            f"  {one_line(line, 500)}" for line in view.construct.description.splitlines()
        )
    return "\n".join(lines) + "\n"
