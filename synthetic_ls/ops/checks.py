"""``synthetic check``: run the template's checks in a construct's worktree, and keep the results.

A template's ``checks`` (``{ test: "pytest -q", lint: { run: "ruff check ." } }``)
are commands that tell whether a construct's work is good. Each runs in the
worktree through the construct's runner (an isolated construct's in its
sandbox), in its own process group, bounded by its ``timeoutMs``; it passes
when it exits with status 0. A check runs the repository's code, so it is
asked about first like a setup command (nothing runs when it is refused).

Running them is a journalled change (``op = "check"``): the journal records
each check's process group, so that after a ``kill -9`` recovery ends what
was left running; the results are written to the record (``checks``, by
name) in the same atomic write that removes the journal, so that a later
comparison reads them without running anything.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from typing_extensions import TypedDict

from state_format.protocol import StateStore
from state_format.records import CheckRun, utc_now
from state_format.text import one_line
from state_format.timefmt import format_timestamp
from synthetic_ls.config.schema import DEFAULT_CHECK_TIMEOUT_MS, Check, Template
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import (
    InvalidInputError,
    NotFoundError,
    OperationCancelledError,
    SyntheticError,
)
from synthetic_ls.ops.check_results import CheckRunJson, run_json
from synthetic_ls.ops.recovery import settle
from synthetic_ls.provision.context import Context
from synthetic_ls.provision.journalled import Steps, journalled
from synthetic_ls.provision.recoveries import recover_check
from synthetic_ls.provision.work import Work

#: How many of the last lines of a check's output are kept and shown.
OUTPUT_LINES = 20
#: Longest output line kept (a line of a test's output can be megabytes).
OUTPUT_LINE = 300


class ChecksResultJson(TypedDict):
    """``synthetic.construct.check`` (``synthetic check --json``): the checks that ran now,
    in the template's order, and whether all passed."""

    construct: str
    passed: bool
    checks: list[CheckRunJson]


@dataclass(frozen=True)
class ChecksResult:
    """The checks that ran, by name, in the template's order."""

    construct: str
    runs: dict[str, CheckRun]

    @property
    def passed(self) -> bool:
        """True when every check that ran passed."""
        return all(r.passed for r in self.runs.values())

    def to_dict(self) -> ChecksResultJson:
        """``{"construct", "passed", "checks": [{"name", "passed", ...}]}``."""
        return {"construct": self.construct, "passed": self.passed,
                "checks": [run_json(n, r) for n, r in self.runs.items()]}


def _work(ctx: Context, ref: str) -> Work:
    construct, recovery = settle(ctx, ctx.store.resolve_construct(ref))
    if construct is None:
        raise NotFoundError(
            f"construct {ref!r} is gone: {recovery.message() if recovery else 'removed'}",
            code="record-not-found",
        )
    if not construct.workspace_path or not Path(construct.workspace_path).is_dir():
        raise NotFoundError(
            f"construct {construct.id} has no worktree; checks run in its worktree",
            code="no-worktree", fields={"construct": construct.id},
        )
    return Work(ctx, construct, ctx.template_of(construct.template_id))


def _chosen(work: Work, names: Sequence[str]) -> dict[str, Check]:
    """The template's checks called ``names`` (all of them when none is named)."""
    template = work.template
    cid = work.construct.id
    if template is None:
        raise InvalidInputError(
            f"template {work.construct.template_id!r} of construct {cid} is not in the config "
            "(or the config has errors); its checks cannot be run",
            code="unknown-template",
        )
    if not template.checks:
        raise NotFoundError(
            f"template {template.id} of construct {cid} has no checks: add some to its "
            '`checks` in synthetic.config.ts (e.g. `checks: { test: "pytest -q" }`)',
            code="unknown-check", fields={"construct": cid, "check": ""},
        )
    if not names:
        return dict(template.checks)
    missing = [n for n in names if n not in template.checks]
    if missing:
        known = list(template.checks)
        close = difflib.get_close_matches(missing[0], known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise NotFoundError(
            f"template {template.id} has no check {missing[0]!r} "
            f"(checks: {', '.join(known)}){hint}",
            code="unknown-check", fields={"construct": cid, "check": missing[0]},
        )
    return {n: c for n, c in template.checks.items() if n in names}


def run_checks(
    store: StateStore,
    ref: str,
    names: Sequence[str] = (),
    *,
    consent: Consent = NOBODY,
    cancelled: Callable[[], bool] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[str, CheckRun], None] | None = None,
) -> ChecksResult:
    """Run the construct's checks (those in ``names``, else all), one after another.

    Every check runs, whatever the ones before it did; a failing or
    timed-out check is a result, not an error. ``on_start`` and
    ``on_result`` are told of each check as it begins and ends (a face
    prints them). Raises ``consent-required`` (nothing ran) when the person
    has not allowed a check's command and did not now.
    """
    ctx = Context(store, consent=consent, cancelled=cancelled)
    work = _work(ctx, ref)
    chosen = _chosen(work, names)
    template = work.template
    assert template is not None  # _chosen refused a construct without one
    from synthetic_ls.provision.consent_items import of_checks

    ctx.require_consent(of_checks(template.id, template, chosen),
                        doing=f"checking {work.construct.id}")
    from synthetic_ls.git import review as gitr

    head = gitr.rev(Path(work.construct.workspace_path or ""), "HEAD")
    runs: dict[str, CheckRun] = {}

    def recorded() -> dict[str, object]:
        # The earlier runs of checks the template still has, then the new ones.
        before = {n: r for n, r in (work.construct.checks or {}).items()
                  if n in template.checks}
        return {"checks": {**before, **runs}}

    with journalled(work, "check", facts={"checks": ",".join(chosen)},
                    recover=recover_check, done=recorded) as steps:
        for name, check in chosen.items():
            steps.begin(f"check:{name}")
            if on_start is not None:
                on_start(name)
            runs[name] = _run_one(work, steps, template, name, check, head)
            if on_result is not None:
                on_result(name, runs[name])
    return ChecksResult(work.construct.id, runs)


def _check_log(store: StateStore, construct_id: str, name: str) -> Path:
    """The log of a check (emptied for each run): beside the construct's setup log."""
    from state_format.ids import slugify
    from synthetic_ls.runtime import service_logs

    owner = f"{construct_id}--check-{slugify(name, 40)}"
    service_logs.remove(store.local_dir, owner)
    return service_logs.prepare(store.local_dir, owner)


def _environment(work: Work, template: Template, check: Check) -> dict[str, str]:
    """The setup commands' environment (ports, the template's env), then the check's env."""
    from synthetic_ls.provision import services as svc
    from synthetic_ls.provision.ports import allocations
    from synthetic_ls.runtime import service_process

    env = svc.environment(work.construct, template, allocations(work.store, work.construct.id))
    added = service_process.resolve_config_env(check.env, env.full, "the check's")
    return {**env.full, **added}


def _run_one(work: Work, steps: Steps, template: Template, name: str, check: Check,
             head: str | None) -> CheckRun:
    """Run one check to its end (or its time limit); its result."""
    from synthetic_ls.runtime import service_logs
    from synthetic_ls.runtime.service_process import ServiceError

    root = Path(work.construct.workspace_path or "")
    cwd = root / check.cwd if check.cwd else root
    log = _check_log(work.store, work.construct.id, name)
    limit = (check.timeout_ms or DEFAULT_CHECK_TIMEOUT_MS) / 1000
    started = time.monotonic()
    timed_out = False

    def stop() -> bool:
        # The person's cancel stops the whole run; the time limit only this check.
        nonlocal timed_out
        if work.cancelled():
            return True
        timed_out = time.monotonic() - started > limit
        return timed_out

    exit_code: int | None = 0
    try:
        if not cwd.is_dir():
            raise InvalidInputError(f"its folder {check.cwd!r} is not in the worktree")
        env = _environment(work, template, check)
        work.runner.run_commands([check.run], cwd=cwd, env=env, log=log,
                                 what=f"check {name}", on_start=steps.record_group,
                                 cancelled=stop)
    except OperationCancelledError:
        if not timed_out:
            raise
        exit_code = None
        service_logs.append(log, f"[synthetic: stopped after {limit:g} s (timeoutMs)]\n")
    except ServiceError as err:
        status = err.fields.get("status") if isinstance(err.fields, Mapping) else None
        # A negative status is a signal (subprocess's convention): no exit status.
        exit_code = status if isinstance(status, int) and status > 0 else None
        if not isinstance(status, int):
            service_logs.append(log, f"[synthetic: {err}]\n")
    except (SyntheticError, OSError) as err:
        # It could not run (an unset variable, a folder that is not there): it
        # failed, without an exit status, and its output says why.
        exit_code = None
        service_logs.append(log, f"[synthetic: check {name} did not run: {err}]\n")
    duration = int((time.monotonic() - started) * 1000)
    lines = service_logs.tail(log, OUTPUT_LINES + 1)
    if lines and lines[0] == f"$ {check.run}":
        lines = lines[1:]  # the command line the runner wrote first
    return CheckRun(
        command=check.run, passed=exit_code == 0 and not timed_out, exit_code=exit_code,
        # (exit_code is None when it was stopped, killed or could not run.)
        timed_out=timed_out, duration_ms=duration, finished_at=format_timestamp(utc_now()),
        head=head, output=[one_line(line, OUTPUT_LINE) for line in lines[-OUTPUT_LINES:]],
        log=str(log),
    )
