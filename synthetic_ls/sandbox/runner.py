"""The runner of an isolated construct: its commands and services inside its sandbox.

The same two calls as :class:`~synthetic_ls.runtime.runner.LocalRunner`, with
each shell command wrapped in the sandbox's command line, so that
supervision, logs, journalled process groups and readiness are unchanged:
the command stays in the recorded process group, so a stop's SIGTERM
reaches it (a grace period, as outside), and ending the group ends
``bwrap`` and its PID namespace, with everything the command started.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from synthetic_ls.runtime import service_process
from synthetic_ls.runtime.service_process import Launched, ServiceError
from synthetic_ls.sandbox.bubblewrap import bwrap_argv
from synthetic_ls.sandbox.plan import SandboxPlan


class SandboxRunner:
    """Commands of one construct, each in a bubblewrap sandbox of its plan."""

    def __init__(self, plan: SandboxPlan) -> None:
        self.plan = plan

    def wrap(self, command: str, cwd: Path) -> str:
        """The shell command line that runs ``command`` in ``cwd`` inside the sandbox."""
        inner = f"cd {shlex.quote(str(cwd))} && {command}"
        return shlex.join(bwrap_argv(self.plan, ["/bin/sh", "-c", inner]))

    def run_commands(
        self,
        commands: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log: Path,
        what: str,
        on_start: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """See :meth:`synthetic_ls.runtime.runner.Runner.run_commands`; each in the sandbox.

        A failure names the command as the person wrote it, not its sandbox's line.
        """
        for command in commands:
            wrapped = self.wrap(command, cwd)
            try:
                service_process.run_commands(
                    [wrapped], cwd=cwd, env=env, log=log, what=f"{what} (in its sandbox)",
                    on_start=on_start, cancelled=cancelled)
            except ServiceError as err:
                raise ServiceError(str(err).replace(wrapped, command), code=err.code,
                                   fields={**err.fields, "command": command}) from None

    def launch(self, command: str, *, cwd: Path, env: Mapping[str, str], log: Path) -> Launched:
        """See :meth:`synthetic_ls.runtime.runner.Runner.launch`; in the sandbox."""
        return service_process.launch(self.wrap(command, cwd), cwd=cwd, env=env, log=log)
