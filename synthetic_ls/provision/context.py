"""The context of one operation: what every step of it works with, made once per operation.

A face (the CLI, the language server) starts an operation with the store
of a repository and its own callbacks (progress, cancel); the operation
makes one :class:`Context` and hands it to every step. The context is
immutable: the repository, the store, the clock and the runner do not
change under an operation, and the config is read once, on first use, so
that an operation never sees two versions of it (and ``ls`` parses it once,
not once per construct).
"""

from __future__ import annotations

import difflib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from state_format.protocol import StateStore
from state_format.records import utc_now
from synthetic_ls.consent.gate import NOBODY, Consent
from synthetic_ls.errors import InvalidInputError
from synthetic_ls.runtime.runner import LOCAL, Runner

if TYPE_CHECKING:
    from synthetic_ls.config import ConfigResult, SyntheticConfig, Template
    from synthetic_ls.consent.items import RunItem
    from synthetic_ls.git.repo import GitRepo
    from synthetic_ls.opencode.server import ServerInfo

CONFIG_FILE = "synthetic.config.ts"

#: Told before each step of a long operation: (step number from 1, steps in all, title);
#: (0, 0, title) for a wait before the first step.
Progress = Callable[[int, int, str], None]
#: Seconds between two reports of a long wait.
HEARTBEAT = 2.0


@dataclass(frozen=True)
class Context:
    """One operation's repository, store, config, clock, runner and callbacks.

    ``cancelled`` is asked between steps (and by long waits): True stops the
    operation, and what it began is undone. ``progress`` is told each step
    as it starts. Both None: never cancelled, nobody told. ``consent`` is
    the person's answer about running the repository's code (a flag, or a
    way to ask); by default nothing not yet allowed may run.
    """

    store: StateStore
    progress: Progress | None = None
    cancelled: Callable[[], bool] | None = None
    clock: Callable[[], datetime] = utc_now
    runner: Runner = field(default=LOCAL)
    consent: Consent = NOBODY
    #: The step told last (number, total, title): a long wait within it is told as it.
    _told: list[tuple[int, int, str]] = field(default_factory=list, compare=False, repr=False)

    @property
    def root(self) -> Path:
        """The main checkout of the repository (where ``synthetic.config.ts`` lives)."""
        return self.store.repo.worktree

    def is_cancelled(self) -> bool:
        """Whether the person asked to stop."""
        return self.cancelled is not None and self.cancelled()

    def step(self, number: int, total: int, title: str) -> None:
        """Tell the face a step begins."""
        self._told[:] = [(number, total, title)]
        if self.progress is not None:
            self.progress(number, total, title)

    @contextmanager
    def waiting(self, what: str, limit: float) -> Iterator[None]:
        """Within a wait that may be long (a cold OpenCode loading a folder), tell the
        face every few seconds what is awaited, for how long so far, and the bound."""
        if self.progress is None:
            yield
            return
        progress = self.progress
        number, total, title = self._told[0] if self._told else (0, 0, "")
        done = threading.Event()
        started = time.monotonic()

        def tell() -> None:
            while not done.wait(HEARTBEAT):
                waited = time.monotonic() - started
                text = f"waiting for {what} ({waited:.0f} s; at most {limit:.0f} s)"
                progress(number, total, f"{title}: {text}" if title else text)

        teller = threading.Thread(target=tell, name="progress", daemon=True)
        teller.start()
        try:
            yield
        finally:
            done.set()
            teller.join()

    # -- what is read once, on first use --------------------------------------

    @cached_property
    def config_result(self) -> ConfigResult:
        """``synthetic.config.ts`` checked, read on first use and then kept."""
        # Imported here: the reader pulls in tree-sitter, which operations that
        # never look at the config (ls of records without sessions) do not pay for.
        from synthetic_ls.config import load_config

        return load_config(self.root)

    @property
    def config(self) -> SyntheticConfig | None:
        """The config's model, or None when there is none or it has errors."""
        result = self.config_result
        return None if result.has_errors else result.config

    @property
    def config_as_read(self) -> SyntheticConfig | None:
        """The config's model as read (errors or not); None when there is no config file.

        For reads that only need a setting (the OpenCode server's url): with no
        file, the reader (pydantic models, tree-sitter) is not even imported.
        """
        if not os.path.lexists(self.root / CONFIG_FILE):
            return None
        return self.config_result.config

    @cached_property
    def git(self) -> GitRepo:
        """The repository (pygit2), opened on first use."""
        from synthetic_ls.git.repo import GitRepo

        return GitRepo.discover(self.root)

    @cached_property
    def opencode(self) -> ServerInfo:
        """The repository's OpenCode server: the named one, the running one, or a new one.

        Only an operation the person asked of the agent (creating a session,
        deleting one, sending a prompt) uses it: it may start the server. A
        read asks :func:`~synthetic_ls.opencode.server.running_server` instead.
        """
        from synthetic_ls.opencode.server import START_TIMEOUT, ensure_server

        with self.waiting("the OpenCode server to start", START_TIMEOUT):
            return ensure_server(self.store, self.config_result.config)

    def require_consent(self, items: Sequence[RunItem], *, doing: str) -> None:
        """Return when ``items`` may run (allowed before, or now); else ``consent-required``."""
        from synthetic_ls.consent.gate import require

        require(self.root, self.consent, items, doing=doing)

    # -- templates ---------------------------------------------------------------

    def choose_template(self, template_id: str | None) -> tuple[str, Template, SyntheticConfig]:
        """The template a new construct (or worktree) uses, with its config; strict.

        ``template_id`` None means the config's ``defaults.templateId``.
        Raises :class:`InvalidInputError` when the config is missing or has
        errors, the id is unknown, or none was given and there is no
        default; the messages list the templates there are.
        """
        result = self.config_result
        if not result.exists:
            raise InvalidInputError(
                f"no {CONFIG_FILE} in {self.root}; run `synthetic init` to create one",
                code="no-config",
            )
        if result.has_errors or result.config is None:
            raise InvalidInputError(
                f"{CONFIG_FILE} has errors; run `synthetic config check` to see them",
                code="config-has-errors",
            )
        config = result.config
        available = sorted(config.templates)
        listing = ", ".join(available) if available else "none defined"
        if template_id is None:
            default = config.default_template_id
            if not default:
                raise InvalidInputError(
                    f"no template given and {CONFIG_FILE} sets no defaults.templateId; "
                    f"name one (available: {listing})",
                    code="no-default-template",
                )
            template_id = str(default)
        if template_id not in config.templates:
            close = difflib.get_close_matches(template_id, available, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidInputError(
                f"unknown template {template_id!r} (available: {listing}){hint}",
                code="unknown-template", fields={"template_id": template_id},
            )
        return template_id, config.templates[template_id], config

    def template_of(self, template_id: str) -> Template | None:
        """An existing construct's template, or None when the config no longer has it.

        Removal, recovery and checks must work with a broken config or a
        template that is gone (and fall back to cautious defaults).
        """
        config = self.config
        return config.templates.get(template_id) if config is not None else None
