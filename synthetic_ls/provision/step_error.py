"""The error of a creation step that failed, after the steps begun were undone."""

from __future__ import annotations

from state_format.errors import CodedError
from synthetic_ls.errors import SyntheticError


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
            # Ctrl-C stays Ctrl-C for the shell, after the rollback ran.
            self.code = "interrupted"
        elif isinstance(cause, CodedError):
            # The step's own failure is what the person must act on.
            self.code = cause.code
            self.extra_fields = {**cause.fields, **self.extra_fields}
