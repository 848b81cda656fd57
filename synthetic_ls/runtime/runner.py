"""The runner: "run this command for this construct", wherever the construct lives.

Setup and teardown commands run to completion; a service is launched and
supervised (its output into a capped log, its process group recorded before
it may run). Both go through a :class:`Runner`, so that where they run is
one object's business: :class:`LocalRunner` runs them as local process
groups today; a sandbox (bubblewrap), a container engine or an SSH host is
another implementation of the same two calls, with nothing above it
changed. The operation context (:class:`~synthetic_ls.provision.context.Context`)
carries the runner its steps use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from synthetic_ls.runtime import service_process
from synthetic_ls.runtime.service_process import Launched


class Runner(Protocol):
    """Where and how a construct's commands run."""

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
        """Run shell ``commands`` one after another until one fails (raising, quoting ``log``).

        Each runs in a process group whose id goes to ``on_start`` before the
        command may run (so that a journal records it).
        """
        ...

    def launch(
        self, command: str, *, cwd: Path, env: Mapping[str, str], log: Path
    ) -> Launched:
        """Start a long-running shell ``command`` under a supervisor that logs its output.

        It waits for :meth:`Launched.go` (sent once the caller has recorded
        it) before it runs anything; :meth:`Launched.cancel` lets it exit
        without running.
        """
        ...


class LocalRunner:
    """Commands as local process groups of this machine, as the person who runs Synthetic."""

    #: See :meth:`Runner.run_commands`.
    run_commands = staticmethod(service_process.run_commands)
    #: See :meth:`Runner.launch`.
    launch = staticmethod(service_process.launch)


#: The runner of constructs on this machine (it keeps no state, so one serves all).
LOCAL = LocalRunner()
