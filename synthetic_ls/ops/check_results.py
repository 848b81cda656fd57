"""The recorded results of a construct's checks, as every face shows them.

Kept apart from :mod:`synthetic_ls.ops.checks` (which runs them) so that
showing a construct reads its results without loading the config reader.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from state_format.records import CheckRun, Construct


class CheckRunJson(TypedDict):
    """One check's last run: pass or fail, its exit status (null when stopped), whether it
    ran out of time, how long it took, when it ended, the HEAD it ran on, the last lines of
    its output and the log with all of it."""

    name: str
    command: str
    passed: bool
    exit_code: int | None
    timed_out: bool
    duration_ms: int
    finished_at: str
    head: str | None
    output: list[str]
    log: str | None


def run_json(name: str, run: CheckRun) -> CheckRunJson:
    """The JSON form of a recorded run."""
    return {
        "name": name, "command": run.command, "passed": run.passed, "exit_code": run.exit_code,
        "timed_out": run.timed_out, "duration_ms": run.duration_ms,
        "finished_at": run.finished_at, "head": run.head, "output": list(run.output),
        "log": run.log,
    }


def recorded_checks(construct: Construct) -> list[CheckRunJson]:
    """The last recorded run of each check of a construct (a read: nothing runs)."""
    return [run_json(n, r) for n, r in (construct.checks or {}).items()]
