"""The error of a creation step that failed, after the steps begun were undone."""

from __future__ import annotations

from synthetic_ls.errors import ExitCode, SyntheticError


class StepFailedError(SyntheticError):
    """A step failed; the message names it, says why, and what was undone."""

    def __init__(self, step: str, cause: BaseException, undone: list[str], leftovers: list[str]):
        self.step = step
        self.cause = cause
        self.undone = undone
        self.leftovers = leftovers
        interrupted = isinstance(cause, KeyboardInterrupt)
        # (a cancellation is a SyntheticError with its own code, kept below)
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
            self.code = cause.code
            self.extra_fields = {**cause.fields, **self.extra_fields}
        elif isinstance(getattr(cause, "exit_code", None), int):
            self.exit_code = ExitCode(cause.exit_code)  # type: ignore[attr-defined]
