"""Run named steps and undo the finished ones, newest first, when a later one fails.

Creation must either complete or leave nothing behind; each step that makes
something registers how to take it away again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from synthetic_ls.errors import ExitCode, SyntheticError


class StepFailedError(SyntheticError):
    """A step failed; the message names it, says why, and what was undone."""

    def __init__(self, step: str, cause: BaseException, undone: list[str], leftovers: list[str]):
        self.step = step
        self.cause = cause
        self.undone = undone
        self.leftovers = leftovers
        interrupted = isinstance(cause, KeyboardInterrupt)
        detail = "interrupted" if interrupted else (str(cause) or type(cause).__name__)
        msg = f"{step} failed: {detail}"
        if undone:
            msg += f"; rolled back: {', '.join(undone)}"
        if leftovers:
            msg += f"; could NOT clean up: {'; '.join(leftovers)}"
        super().__init__(
            msg,
            fields={"step": step, "rolled_back": list(undone), "leftovers": list(leftovers)},
        )
        if interrupted:
            # Ctrl-C stays Ctrl-C for the shell (130), after the rollback ran.
            self.exit_code = ExitCode.INTERRUPTED
            self.code = "interrupted"
        elif isinstance(cause, SyntheticError):
            self.exit_code = cause.exit_code
            self.code = cause.code or ""
            self.fields = {**cause.fields, **self.fields}
        elif isinstance(getattr(cause, "exit_code", None), int):
            self.exit_code = ExitCode(cause.exit_code)  # type: ignore[attr-defined]


class Rollback:
    """Collects undo actions while steps succeed; :meth:`undo_all` runs them in reverse."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []
        self.step = ""

    def on_failure(self, description: str, undo: Callable[[], object]) -> None:
        """Register ``undo`` (described as ``description``) for the step just done."""
        self._undo.append((description, undo))

    @contextmanager
    def run(self, step: str) -> Iterator[None]:
        """Mark the start of ``step`` so a failure inside it is reported by that name."""
        self.step = step
        yield

    def undo_all(self) -> tuple[list[str], list[str]]:
        """Run every undo action, newest first; return (done, failed) descriptions."""
        done: list[str] = []
        failed: list[str] = []
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # keep undoing the rest; report this one
                failed.append(f"{description} ({exc})")
            else:
                done.append(description)
        return done, failed

    def fail(self, cause: BaseException) -> StepFailedError:
        """Undo everything and build the error to raise for ``cause``."""
        undone, leftovers = self.undo_all()
        return StepFailedError(self.step or "setup", cause, undone, leftovers)
