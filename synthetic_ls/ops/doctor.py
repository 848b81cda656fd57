"""``synthetic doctor``: findings about the state, each with its own safe fix.

The doctor's own findings are about the state as a whole: the config,
broken record files, interrupted operations, operations out of sight and
left-over temp files. Every resource then adds findings about itself
(:meth:`~synthetic_ls.provision.lifecycle.Resource.check`). Each finding has a
stable id; :func:`apply_fix` repairs one (an editor's quick action), and
``run_doctor(fix=True)`` repairs every one that has a safe fix. A fix never
risks a person's work; the rest come with advice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import TypedDict

from state_format.errors import CodedError
from state_format.owner import Liveness
from state_format.protocol import StateStore
from state_format.records import Construct
from synthetic_ls.errors import NotFoundError
from synthetic_ls.git import worktree_admin
from synthetic_ls.ops.recovery import recover
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.lifecycle import Finding, FindingJson, Subject
from synthetic_ls.provision.resources import RESOURCES
from synthetic_ls.provision.work import Survey

#: Seconds a writer's temp file must be unchanged before it counts as left behind.
TEMP_FILE_AGE = 3600.0

_CONFIG_ADVICE = (
    "run `synthetic config check` to see every error and fix the file; until then "
    "`new` and `worktree add` refuse, and the other checks use the default "
    "worktree folder and branch prefix"
)


class DoctorReportJson(TypedDict):
    """``synthetic.doctor.run``: every finding, fixed or not, and how many still need
    attention."""

    findings: list[FindingJson]
    unresolved: int


@dataclass
class DoctorReport:
    """All findings of one run, fixed or not."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        """Findings that still need attention."""
        return [f for f in self.findings if not f.fixed]

    def to_dict(self) -> DoctorReportJson:
        """``{"findings": [...], "unresolved": N}`` (README.md, "doctor")."""
        return {
            "findings": [f.to_dict() for f in self.findings],
            "unresolved": len(self.unresolved),
        }


def _config_finding(ctx: Context) -> Finding | None:
    """A ``config-error`` finding when the config has errors (or cannot be read at all).

    A broken config must not stop the doctor: the other checks go on with
    the defaults, and the config is reported, so that a run never says all
    is well while ``new`` and ``worktree add`` refuse.
    """
    from synthetic_ls.config import config_path

    path = config_path(ctx.root)
    subject = Subject("config", str(path))
    try:
        result = ctx.config_result
    except Exception as exc:  # a reader bug must not hide the rest of the report
        return Finding(
            "config-error", subject, f"{path} could not be read: {exc}", advice=_CONFIG_ADVICE
        )
    if result.exists and result.has_errors:
        errors = result.errors
        return Finding(
            "config-error",
            subject,
            f"{path} has {len(errors)} error(s); the first: {errors[0].format_human(str(path))}",
            advice=_CONFIG_ADVICE,
        )
    return None


def _recover_fix(ctx: Context, construct: Construct) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        recovery = recover(ctx, construct)
        return [recovery.message()] if recovery is not None else ["nothing left to recover"]

    return fix


def _operation_findings(ctx: Context, constructs: list[Construct]) -> list[Finding]:
    """Interrupted operations (fix: recover) and operations this host cannot see."""
    out: list[Finding] = []
    for c in constructs:
        journal = c.journal
        if journal is None:
            continue
        liveness = Liveness.DEAD if journal.stopped else journal.owner.liveness()
        subject = Subject("construct", c.id)
        if liveness is Liveness.DEAD:
            if journal.op in ("land", "commit"):
                how = "finish it or roll it back, by what the repository shows"
            elif journal.op.startswith("services-"):
                how = "stop what it left running"
            else:
                how = "finish it" if journal.rolls_forward else "roll it back"
            out.append(
                Finding(
                    "interrupted-operation",
                    subject,
                    f"the {journal.op} of {c.id} "
                    + ("failed and stopped" if journal.stopped else "was interrupted")
                    + f" ({journal.owner.where()}; steps begun: "
                    f"{', '.join(journal.started) or 'none'})",
                    advice=f"its fix will {how}",
                    fix=_recover_fix(ctx, c),
                )
            )
        elif liveness is Liveness.UNKNOWN:
            out.append(
                Finding(
                    "operation-elsewhere",
                    subject,
                    f"the {journal.op} of {c.id} is run by {journal.owner.where()}, "
                    "which cannot be checked from here",
                    advice="let it finish there; if that machine or container is gone for "
                    "good, apply the doctor's fixes there, or remove the record's "
                    "`journal` line by hand and run `synthetic doctor` again",
                )
            )
    return out


def _remote_findings(store: StateStore) -> list[Finding]:
    """Creations and removals of constructs on other machines that were cut off (fix:
    undo the creation on both machines, finish the removal)."""
    from state_format.records import RemoteConstruct
    from synthetic_ls.ops.remote_constructs import interrupted, recover_remote

    out: list[Finding] = []
    for record in store.list(RemoteConstruct).records:
        journal = record.journal
        if journal is None or not interrupted(record):
            continue
        how = "finish it" if journal.op == "remove" else "roll it back on both machines"

        def fix(record: RemoteConstruct = record) -> list[str]:
            return recover_remote(store, record)

        out.append(Finding(
            "interrupted-operation", Subject("construct", record.id),
            f"the {journal.op} of {record.id} on host {record.host} "
            + ("failed and stopped" if journal.stopped else "was interrupted")
            + f" ({journal.owner.where()}; steps begun: {', '.join(journal.started) or 'none'})",
            advice=f"its fix will {how} (the host must answer)", fix=fix))
    return out


def _forward_findings(store: StateStore) -> list[Finding]:
    """Forwards to a host that nothing needs any more (fix: close each)."""
    from synthetic_ls.ops.remote_reach import orphan_forwards
    from synthetic_ls.remote.forward import close_forward

    out: list[Finding] = []
    for found, why in orphan_forwards(store):
        def fix(host: str = found.host, port: int = found.remote_port) -> list[str]:
            closed = close_forward(store.local_dir, host, port)
            return [f"closed the forward to port {port} of host {host}" if closed
                    else f"the forward to port {port} of host {host} was gone already"]

        out.append(Finding(
            "orphan-forward", Subject("process", f"{found.host}:{found.remote_port}"),
            f"the forward {found.url} to port {found.remote_port} of host {found.host} is "
            f"not needed: {why}", advice="its fix ends it and removes its record", fix=fix))
    return out


def _group_findings(store: StateStore) -> list[Finding]:
    """Groups of attempts whose creation, removal or pick was cut off (fix: remove every
    member, or every member but the one landed, then the group's record)."""
    from state_format.records import Group
    from synthetic_ls.ops.groups import interrupted_groups, recover_group

    out: list[Finding] = []
    for group in interrupted_groups(store):
        journal = group.journal
        assert journal is not None
        how = ("remove the members made so far and the group" if journal.op == "create"
               else "discard the members not landed" if journal.op == "pick"
               else "finish removing the members and the group")

        def fix(group: Group = group) -> list[str]:
            return recover_group(store, group)

        out.append(Finding(
            "interrupted-operation", Subject("group", group.id),
            f"the {journal.op} of group {group.id} "
            + ("failed and stopped" if journal.stopped else "was interrupted")
            + f" ({journal.owner.where()}; steps begun: {', '.join(journal.started) or 'none'})",
            advice=f"its fix will {how}", fix=fix))
    return out


def _remove_temp(store: StateStore, path: Path) -> Callable[[], list[str]]:
    def fix() -> list[str]:
        gone = store.remove_stale_temp_files(TEMP_FILE_AGE, only=[path])
        return [f"removed {p}" for p in gone] or [f"{path} is no longer stale; left alone"]

    return fix


def _temp_file_findings(store: StateStore) -> list[Finding]:
    """Temp files that writers killed mid-write left (fix: remove each)."""
    return [
        Finding(
            "stale-temp-file",
            Subject("file", str(temp.path)),
            f"{temp.path} ({temp.size} bytes) was left by a writer stopped mid-write",
            fix=_remove_temp(store, temp.path),
        )
        for temp in store.stale_temp_files(TEMP_FILE_AGE)
    ]


def collect_findings(store: StateStore) -> list[Finding]:
    """Every finding about the state, the config and each resource; changes nothing."""
    ctx = Context(store)
    config_finding = _config_finding(ctx)
    findings: list[Finding] = [config_finding] if config_finding is not None else []
    listing = store.list_constructs()
    for broken in listing.broken:
        # Never rewritten or deleted here: a person broke it, a person fixes it.
        findings.append(
            Finding(
                "broken-record",
                Subject("file", broken.path),
                str(broken),
                advice="fix the file by hand (its worktree and branch, if any, "
                "show up below as having no construct until then)",
            )
        )
    constructs = listing.records
    findings.extend(_operation_findings(ctx, constructs))
    findings.extend(_remote_findings(store))
    findings.extend(_forward_findings(store))
    findings.extend(_group_findings(store))
    findings.extend(_temp_file_findings(store))
    survey = Survey(ctx, constructs, _worktrees(ctx))
    for resource in RESOURCES:
        findings.extend(resource.check(survey))
    return findings


def _worktrees(ctx: Context) -> list[worktree_admin.WorktreeEntry]:
    """git's worktrees; none in a repository git's library cannot open (SHA-256), whose
    constructs have none, so that the doctor still checks everything else there."""
    try:
        return worktree_admin.list_worktrees(ctx.git)
    except CodedError as err:
        if err.code == "sha256-repository":
            return []
        raise


def _apply(finding: Finding) -> None:
    try:
        finding.apply()
    except (CodedError, OSError) as exc:
        finding.fix_notes = [f"the fix failed: {exc}"]


def run_doctor(store: StateStore, *, fix: bool = False) -> DoctorReport:
    """Find (and with ``fix`` repair, one by one) what is inconsistent."""
    findings = collect_findings(store)
    if fix:
        for finding in findings:
            if finding.fixable:
                _apply(finding)
    return DoctorReport(findings)


def apply_fix(store: StateStore, finding_id: str) -> Finding:
    """Apply the safe fix of the one finding ``finding_id`` (as listed by :func:`run_doctor`)."""
    for finding in collect_findings(store):
        if finding.id == finding_id:
            if not finding.fixable:
                raise NotFoundError(f"finding {finding_id} has no safe fix; {finding.advice}")
            _apply(finding)
            return finding
    raise NotFoundError(f"no finding {finding_id!r} now; run the doctor again")
