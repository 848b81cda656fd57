"""Review commands: ``diff``, ``log``, ``land``, ``discard``, ``review``.

Thin: parse, call :mod:`synthetic_ls.ops.review`, print. Heavy modules are
imported inside the handlers so other commands start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from typing import Any

from synthetic_ls.cli.consent_prompt import add_trust_flag, consent_of
from synthetic_ls.cli.exit_codes import ExitCode
from synthetic_ls.cli.terminal import shown
from synthetic_ls.errors import SyntheticError

_REF_HELP = "construct id, unique id prefix, or exact name"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's commands to the top-level parser."""
    p = sub.add_parser(
        "diff",
        help="a construct's changes against its base",
        description="The construct's commits since the merge base with its base branch, "
        "and its uncommitted changes apart. Include files copied into the worktree "
        "(includePatterns) are never shown.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--stat", action="store_true", help="files and line counts only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "log",
        help="a construct's commits beside its agent's turns",
        description="The construct's commits and its agent's turns (what it said it did, "
        "and the files it touched), interleaved by time.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser(
        "land",
        help="land a construct's branch into its base branch",
        description="Check, then land the construct's work into the branch it started from "
        "(merge, squash, rebase, or apply: staged, uncommitted). Nothing is landed when "
        "the merge would conflict, a checkout has local changes or a hook refuses; the "
        "construct becomes `completed` on success. A construct on another machine "
        "(`new --host`) is fetched from its host and landed here, into the branch it "
        "started from unless --into says otherwise. Several REFs land in order (a merge "
        "queue), stopping at the first that cannot land cleanly.",
    )
    p.add_argument("ref", metavar="REF", nargs="+", help=_REF_HELP)
    how = p.add_mutually_exclusive_group()
    for name, text in (
        ("merge", "a merge commit, or a fast-forward when possible (default)"),
        ("squash", "one commit; the message is drafted from the construct and its session"),
        ("rebase", "replay the commits onto the target, then fast-forward it"),
        ("apply", "leave the changes staged, uncommitted, in the target's checkout"),
    ):
        how.add_argument(
            f"--{name}", dest="strategy", action="store_const", const=name, help=text
        )
    p.add_argument("--message", "-m", default=None, metavar="TEXT", help="commit message")
    p.add_argument("--into", default=None, metavar="BRANCH",
                   help="branch to land into (default: the one the construct started from)")
    p.add_argument("--remove", action="store_true",
                   help="then remove the construct (by the usual removal rules)")
    p.add_argument("--discard-others", action="store_true",
                   help="REF is an attempt of a group (`new --attempts`): once it landed, "
                   "discard the group's other attempts and the group (what they would lose is "
                   "listed first, and you are asked)")
    p.add_argument("--yes", "-y", action="store_true",
                   help="with --discard-others: do not ask")
    add_trust_flag(p)
    p.add_argument("--check", action="store_true",
                   help="make every check and say what would land; land nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_land, strategy="merge")

    p = sub.add_parser(
        "discard",
        help="remove a construct and its branch, unmerged work included",
        description="Remove the construct, its worktree and its branch, even with commits "
        "that were never landed (they are listed first, and you are asked). A construct "
        "on another machine is discarded by its host's Synthetic, then its record here.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be deleted (the host's account for a construct on "
                   "another machine); delete nothing")
    add_trust_flag(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_discard)

    p = sub.add_parser(
        "commit",
        help="commit a construct's uncommitted changes in its worktree",
        description="Commit what `synthetic diff` shows as uncommitted in the construct's "
        "worktree (include files copied in are never committed), so that it can land. The "
        "worktree's hooks run; when the commit fails nothing is committed. A construct on "
        "another machine is committed there, by its host's Synthetic.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--message", "-m", required=True, metavar="TEXT", help="commit message")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_commit)

    p = sub.add_parser(
        "review",
        help="mark a construct as being reviewed",
        description="Move the construct to status `reviewing`.",
    )
    p.add_argument("ref", metavar="REF", help=_REF_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_review)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _store() -> Any:
    from state_format.store import Store

    return Store.open()


def _stat_line(f: Any) -> str:
    if f.additions is not None:
        counts = f"+{f.additions} -{f.deletions}"
    else:  # an untracked file is not counted when binary, special or large
        counts = "binary" if f.status != "?" else "not counted"
    return f"  {f.status} {shown(f.path)}  {counts}"


def _remote_review(args: argparse.Namespace, what: str) -> bool:
    """``diff``/``log`` of a construct on another machine, answered by its host's Synthetic;
    False when ``args.ref`` is no remote construct (the local command goes on)."""
    from synthetic_ls.ops.anywhere import diff_any, log_any, remote_of
    from synthetic_ls.ops.remote_constructs import review_remote

    store = _store()
    far = remote_of(store, args.ref)
    if far is None:
        return False
    if args.json:  # the same JSON the language server answers
        answer = (diff_any(store, far.id) if what == "diff" else log_any(store, far.id))
        _print_json(answer.to_dict())
        return True
    sys.stdout.write(str(review_remote(store, far.id, what,
                                       stat=bool(getattr(args, "stat", False)),
                                       as_json=False)))
    return True


def _remote_of(ref: str) -> Any:
    """The remote record ``ref`` names when no local construct does (local ones come
    first), else None (:func:`synthetic_ls.ops.anywhere.remote_of`)."""
    from synthetic_ls.ops.anywhere import remote_of

    return remote_of(_store(), ref)


def _land_remote(args: argparse.Namespace, record: Any) -> int:
    """``synthetic land`` of a construct on another machine: its branch fetched and
    landed here (:mod:`synthetic_ls.ops.remote_landing`)."""
    from synthetic_ls.ops.landing import LandOptions
    from synthetic_ls.ops.remote_landing import RemoteLandPlan, land_remote

    options = LandOptions(ref=record.id, strategy=args.strategy, message=args.message,
                          into=args.into, remove=args.remove)
    if not args.check and args.strategy == "squash" and args.message is None and \
            not args.json and sys.stdin.isatty() and sys.stdout.isatty():
        # As for a local landing: a refusal is said before the editor opens.
        drafted = land_remote(_store(), options, check=True)
        assert isinstance(drafted, RemoteLandPlan)
        options = LandOptions(**{**options.__dict__,
                                 "message": _edit(drafted.to_dict()["message"] or "")})
    answer = land_remote(_store(), options, check=args.check, consent=consent_of(args))
    if isinstance(answer, RemoteLandPlan):  # --check: what would land
        plan = answer.to_dict()
        if args.json:
            _print_json(dict(plan))
        else:
            sys.stdout.write(f"{record.id} (host {record.host}) can land into "
                             f"{plan['target']} ({plan['strategy']}) at "
                             f"{plan['checkout']}: {len(plan['commits'])} commit(s), "
                             "no conflict.\n")
            for c in plan["commits"]:
                sys.stdout.write(f"  {c['id'][:12]} {shown(c['subject'])}\n")
        return int(ExitCode.OK)
    if args.json:
        _print_json(answer.to_dict())
        return int(ExitCode.OK)
    if answer.strategy == "apply":
        sys.stdout.write(f"Applied {record.id} (host {record.host}) to {answer.checkout}: "
                         f"{len(answer.staged)} file(s) staged, not committed.\n")
    else:
        how = "fast-forward" if answer.fast_forward else answer.strategy
        sys.stdout.write(f"Landed {record.id} (host {record.host}) into {answer.target} "
                         f"({how}, {answer.commits} commit(s)): {answer.before[:12]} -> "
                         f"{answer.after[:12]}.\n")
    if answer.marked:
        sys.stdout.write(f"Construct {record.remote_id} on host {record.host} is now "
                         "completed.\n")
    for note in answer.notes:
        sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


def cmd_diff(args: argparse.Namespace) -> int:
    """``synthetic diff``."""
    from synthetic_ls.ops.review import diff_construct

    if _remote_review(args, "diff"):
        return int(ExitCode.OK)
    result = diff_construct(_store(), args.ref, patch=not args.stat and not args.json)
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    data = result.to_dict()
    s = result.span
    out = sys.stdout
    target = s.target or s.target_tip[:12]
    out.write(f"{s.construct.id}: {shown(s.branch)} against {shown(target)} "
              f"(merge base {s.merge_base[:12]})\n")
    out.write(f"{len(result.commits)} commit(s):\n")
    for c in result.commits:
        out.write(f"  {c.id[:12]} {shown(c.subject)}\n")
    if args.stat:
        for f in result.files:
            out.write(_stat_line(f) + "\n")
        st = data["stat"]
        out.write(f"{st['files']} file(s), +{st['additions']} -{st['deletions']}\n")
    elif result.patch:
        out.write(result.patch)
    if result.uncommitted:
        out.write(f"\nUncommitted in {shown(s.construct.workspace_path or '')}:\n")
        if args.stat:
            for f in result.uncommitted:
                out.write(_stat_line(f) + "\n")
        else:
            out.write(result.uncommitted_patch or "")
            for f in result.uncommitted:
                if f.status == "?":
                    out.write(f"  untracked: {shown(f.path)}\n")
    return int(ExitCode.OK)


def _when(ms: int | None) -> str:
    if not ms:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def cmd_log(args: argparse.Namespace) -> int:
    """``synthetic log``."""
    from state_format.text import one_line
    from synthetic_ls.ops.review import log_construct

    if _remote_review(args, "log"):
        return int(ExitCode.OK)
    result = log_construct(_store(), args.ref)
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    out = sys.stdout
    for e in result.entries:
        when = _when(e["time_ms"])
        if e["kind"] == "commit":
            out.write(f"{when}  commit {e['id'][:12]} {one_line(e['subject'], 200)}\n")
            for f in e["files"]:
                out.write(f"    {f}\n")
        else:
            out.write(f"{when}  agent  {one_line(e['prompt'] or '(turn)', 120)}\n")
            for line in (e["summary"] or "").splitlines()[:12]:
                out.write(f"    | {one_line(line, 200)}\n")
            if e["error"]:
                out.write(f"    error: {e['error']}\n")
            if e["files"]:
                out.write(f"    touched: {', '.join(e['files'])}\n")
    if result.session:
        out.write(f"({result.session})\n")
    if not result.entries:
        out.write("No commits yet.\n")
    return int(ExitCode.OK)


def _edit(text: str) -> str:
    """Let the person edit ``text`` in $VISUAL/$EDITOR; comment lines are dropped."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="synthetic-land-",
                                     delete=False) as f:
        f.write(text + "\n# Edit the commit message; lines starting with # are dropped.\n"
                "# An empty message lands nothing.\n")
        path = f.name
    try:
        if subprocess.run([*shlex.split(editor), path], check=False).returncode != 0:
            raise SyntheticError("the editor failed; nothing was landed")
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("#")]
    finally:
        os.unlink(path)
    message = "\n".join(lines).strip()
    if not message:
        raise SyntheticError("empty commit message; nothing was landed")
    return message + "\n"


def _print_plan(plan: Any, as_json: bool) -> int:
    """``land --check``: what would land, every check passed."""
    if as_json:
        _print_json(plan.to_dict())
        return int(ExitCode.OK)
    s = plan.span
    sys.stdout.write(
        f"{s.construct.id} can land into {s.target} ({plan.strategy}) at {plan.checkout}: "
        f"{len(plan.commits)} commit(s), no conflict.\n"
    )
    for c in plan.commits:
        sys.stdout.write(f"  {c.id[:12]} {c.subject}\n")
    if plan.message is not None:
        sys.stdout.write("Drafted message:\n" + "".join(
            f"  {line}\n" for line in plan.message.rstrip("\n").splitlines()))
    return int(ExitCode.OK)


def cmd_land(args: argparse.Namespace) -> int:
    """``synthetic land``; several references: a merge queue."""
    from synthetic_ls.ops.landing import LandOptions, check_land, land_construct

    if len(args.ref) > 1:
        from synthetic_ls.cli.resolve_cmd import cmd_land_queue

        return cmd_land_queue(args)
    args.ref = args.ref[0]
    far = _remote_of(args.ref)
    if far is not None:
        if args.discard_others:
            raise SyntheticError("--discard-others is for attempts of a group, which are made "
                                 "on this machine", code="usage")
        return _land_remote(args, far)
    store = _store()
    options = LandOptions(
        ref=args.ref, strategy=args.strategy, message=args.message, into=args.into,
        remove=args.remove,
    )
    if args.discard_others:
        from synthetic_ls.cli.pick_cmd import land_discard_others

        return land_discard_others(store, options, args)
    if args.check:
        return _print_plan(check_land(store, options), args.json)
    if args.strategy == "squash" and args.message is None and not args.json and (
        sys.stdin.isatty() and sys.stdout.isatty()
    ):
        plan = check_land(store, options)  # a conflict is said before the editor opens
        message = _edit(plan.message or "")
        options = LandOptions(**{**options.__dict__, "message": message})
    result = land_construct(store, options, consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    c = result.construct
    if result.strategy == "apply":
        sys.stdout.write(
            f"Applied {c.id} to {result.checkout}: {len(result.staged)} file(s) staged, "
            "not committed.\n"
        )
    else:
        how = "fast-forward" if result.fast_forward else result.strategy
        sys.stdout.write(
            f"Landed {c.id} into {result.target} ({how}, {result.commits} commit(s)): "
            f"{result.before[:12]} -> {result.after[:12]}.\n"
        )
    sys.stdout.write(f"Construct {c.id} is now {c.status.value}.\n")
    for note in result.removed or []:
        sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


def cmd_discard(args: argparse.Namespace) -> int:
    """``synthetic discard``: lists what would be lost, asks on a terminal, else needs --yes."""
    from state_format.text import one_line
    from synthetic_ls.ops.discard import discard_construct, discard_preview

    if args.dry_run:
        return _discard_dry_run(args)
    far = _remote_of(args.ref)
    if far is not None:
        return _discard_remote(args, far)
    store = _store()
    preview = discard_preview(store, args.ref)
    c = preview.construct
    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(
                f"refusing to discard {c.id} without confirmation; pass --yes",
                code="usage",
            )
        err = sys.stderr
        err.write(f"Discard construct {c.id} ({one_line(c.name)})")
        err.write(f", deleting branch {c.branch}" if c.branch else "")
        err.write(".\n")
        if preview.commits:
            err.write(f"{len(preview.commits)} commit(s) never landed will be lost:\n")
            for commit in preview.commits[:30]:
                err.write(f"  {commit.id[:12]} {one_line(commit.subject, 200)}\n")
        if preview.uncommitted:
            err.write(f"{len(preview.uncommitted)} uncommitted change(s) will be lost:\n")
            for f in preview.uncommitted[:30]:
                err.write(f"  {f.status} {shown(f.path)}\n")
        err.write("Discard? [y/N] ")
        err.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            err.write("Not discarded.\n")
            return int(ExitCode.FAILED)
    result = discard_construct(store, c.id, consent=consent_of(args))
    if args.json:
        _print_json(result.to_dict())
    else:
        sys.stdout.write(f"Discarded construct {c.id}.\n")
        for note in result.notes:
            sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


def _discard_dry_run(args: argparse.Namespace) -> int:
    """``synthetic discard --dry-run``: what would be deleted; nothing is."""
    from state_format.text import one_line
    from synthetic_ls.ops.anywhere import discard_preview_any

    data = discard_preview_any(_store(), args.ref).to_dict()
    if args.json:
        _print_json(data)
        return int(ExitCode.OK)
    out = sys.stdout
    out.write(f"Discarding {data['construct']} would delete"
              + (f" the branch {data['branch']}" if data["branch"] else " no branch") + ".\n")
    if data["unmerged"]:
        out.write(f"{len(data['unmerged'])} commit(s) never landed would be lost:\n")
        for c in data["unmerged"][:30]:
            out.write(f"  {c['id'][:12]} {one_line(c['subject'], 200)}\n")
    if data["uncommitted"]:
        out.write(f"{len(data['uncommitted'])} uncommitted change(s) would be lost:\n")
        for f in data["uncommitted"][:30]:
            out.write(f"  {f['status']} {shown(f['path'])}\n")
    for work in data["loses"]:
        out.write(f"  {work['what']}\n")
    return int(ExitCode.OK)


def _discard_remote(args: argparse.Namespace, record: Any) -> int:
    """``synthetic discard`` of a construct on another machine: the host's own discard,
    then the record here; asks on a terminal, else needs --yes."""
    from synthetic_ls.ops.remote_landing import discard_remote

    if not args.yes:
        if not sys.stdin.isatty():
            raise SyntheticError(
                f"refusing to discard {record.id} without confirmation; pass --yes",
                code="usage")
        sys.stderr.write(f"Discard construct {record.id} on host {record.host} "
                         f"({record.remote_id} there): its branch, commits never landed and "
                         "uncommitted work there are lost (`synthetic diff` shows them).\n"
                         "Discard? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not discarded.\n")
            return int(ExitCode.FAILED)
    result = discard_remote(_store(), record.id, trust=consent_of(args).trust).to_dict()
    if args.json:
        _print_json(result)
    else:
        sys.stdout.write(f"Discarded construct {record.id} on host {record.host}.\n")
        for note in result.get("notes", []) or []:
            sys.stdout.write(f"  {note}\n")
    return int(ExitCode.OK)


def cmd_commit(args: argparse.Namespace) -> int:
    """``synthetic commit``."""
    from synthetic_ls.ops.commit_work import commit_construct

    far = _remote_of(args.ref)
    if far is not None:
        from synthetic_ls.ops.remote_landing import commit_remote

        data = commit_remote(_store(), far.id, args.message).to_dict()
        if args.json:
            _print_json(data)
        else:
            files = data.get("files", [])
            sys.stdout.write(f"Committed {len(files)} file(s) in {far.id}'s worktree on host "
                             f"{far.host}: {str(data.get('commit', ''))[:12]}.\n")
            for f in files:
                sys.stdout.write(f"  {f.get('status')} {shown(str(f.get('path')))}\n")
        return int(ExitCode.OK)
    result = commit_construct(_store(), args.ref, args.message)
    if args.json:
        _print_json(result.to_dict())
        return int(ExitCode.OK)
    sys.stdout.write(
        f"Committed {len(result.files)} file(s) in {result.construct.id}'s worktree: "
        f"{result.commit[:12]}.\n"
    )
    for f in result.files:
        sys.stdout.write(f"  {f.status} {shown(f.path)}\n")
    return int(ExitCode.OK)


def cmd_review(args: argparse.Namespace) -> int:
    """``synthetic review``."""
    from synthetic_ls.ops.review import review_construct

    result = review_construct(_store(), args.ref)
    if args.json:
        _print_json(result.to_dict())
    else:
        c = result.construct
        sys.stdout.write(f"Construct {c.id} is now {c.status.value}.\n")
    return int(ExitCode.OK)
