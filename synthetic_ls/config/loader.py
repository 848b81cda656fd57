"""Reading a config file (from disk or from an editor buffer) into a :class:`ConfigResult`.

Every input gives a result, never an exception: a missing file, a folder, a
binary or non-UTF-8 file, an empty file or one far too large to be a config
all become a diagnostic at the start of the file.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from synthetic_ls.config.checks import check_config
from synthetic_ls.config.diagnostics import Code, Diagnostic
from synthetic_ls.config.evaluate import evaluate
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.schema import SyntheticConfig
from synthetic_ls.config.source import SourceText, Span
from synthetic_ls.config.syntax import parse, report_syntax_errors
from synthetic_ls.config.validate import Validator

CONFIG_FILENAME = "synthetic.config.ts"

# A config is a few hundred lines; anything above this is not one, and
# parsing it would only make the editor or the command hang.
MAX_CONFIG_BYTES = 1024 * 1024

_BOM = b"\xef\xbb\xbf"


@dataclass
class ConfigResult:
    """The outcome of checking a config: the model (if any) and the diagnostics."""

    config: SyntheticConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: Path | None = None
    exists: bool = True

    @property
    def has_errors(self) -> bool:
        """True when at least one diagnostic is an error."""
        return any(d.severity == "error" for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        """Only the error diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]


def check_config_bytes(data: bytes, path: Path, repo_root: Path | None) -> ConfigResult:
    """Check raw file content. ``repo_root`` enables the file-existence warnings."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    source = SourceText(data)
    reporter = Reporter(source)
    if len(data) > MAX_CONFIG_BYTES:
        reporter.error(
            Code.FILE_TOO_LARGE,
            Span(0, 0),
            f"The file is {len(data) / 1024 / 1024:.1f} MB; a synthetic.config.ts is at most "
            f"{MAX_CONFIG_BYTES // 1024} KB. Is this the right file?",
        )
        return ConfigResult(None, reporter.diagnostics, path)
    problem = _binary_problem(data)
    if problem is not None:
        offset, message = problem
        reporter.error(Code.NOT_UTF8, Span(offset, offset), message)
        return ConfigResult(None, reporter.diagnostics, path)
    with _collector_paused():
        # In a function of its own so that the syntax tree and the located
        # values are freed before the collector resumes (see _collector_paused).
        config = _check_source(data, reporter, repo_root)
    diagnostics = sorted(
        reporter.diagnostics, key=lambda d: (d.range.start.line, d.range.start.character)
    )
    if reporter.dropped:
        last = diagnostics[-1].range
        diagnostics.append(
            Diagnostic(
                range=last,
                severity="information",
                code=Code.TOO_MANY.value,
                message=f"{reporter.dropped} more problems not shown; fix the ones above first.",
            )
        )
    return ConfigResult(config, diagnostics, path)


def _check_source(
    data: bytes, reporter: Reporter, repo_root: Path | None
) -> SyntheticConfig | None:
    """Parse, evaluate, validate and cross-check UTF-8 source; diagnostics go to ``reporter``."""
    tree = parse(data)
    report_syntax_errors(tree, reporter)
    value = evaluate(tree.root_node, reporter)
    validator = Validator(reporter, repo_root)
    config = validator.config(value)
    if config is not None:
        check_config(config, validator)
    return config


def check_config_text(text: str, path: Path, repo_root: Path | None) -> ConfigResult:
    """Check in-memory text (an editor buffer) as if it were the file at ``path``."""
    return check_config_bytes(text.encode("utf-8", errors="replace"), path, repo_root)


def check_config_file(path: Path, repo_root: Path | None = None) -> ConfigResult:
    """Check the file at ``path``; ``repo_root`` defaults to its folder."""
    root = repo_root if repo_root is not None else path.parent
    if not path.exists():
        return ConfigResult(None, [], path, exists=False)
    try:
        if path.is_dir():
            return _unreadable(path, "is a folder, not a file")
        size = path.stat().st_size
        with path.open("rb") as handle:
            # Read one byte past the limit: enough to know it is too large
            # without loading a huge file.
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        return _unreadable(path, f"cannot be read: {exc.strerror or exc}")
    if size > MAX_CONFIG_BYTES:
        source = SourceText(b"")
        reporter = Reporter(source)
        reporter.error(
            Code.FILE_TOO_LARGE,
            Span(0, 0),
            f"The file is {size / 1024 / 1024:.1f} MB; a synthetic.config.ts is at most "
            f"{MAX_CONFIG_BYTES // 1024} KB. Is this the right file?",
        )
        return ConfigResult(None, reporter.diagnostics, path)
    return check_config_bytes(data, path, root)


def load_config(repo_root: Path) -> ConfigResult:
    """Read ``repo_root/synthetic.config.ts``; ``exists=False`` (no diagnostics) when absent."""
    return check_config_file(Path(repo_root) / CONFIG_FILENAME, Path(repo_root))


def find_repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder or a file)."""
    current = Path(start).absolute()
    for folder in (current, *current.parents):
        if (folder / ".git").exists():
            return folder
    return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is checked.

    A check allocates tens of thousands of small objects (syntax nodes,
    located values, models) in a burst; every few hundred of them trigger a
    collection pass, and those passes cost about a quarter of the time of
    checking a large file although none of these objects form cycles.
    Reference counting frees them as usual; the collector just resumes
    afterwards. Resume it only once the temporaries are gone: the pending
    pass then sees only the few objects that survive (the result), not all
    of them. If the caller had already disabled it, it stays disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _unreadable(path: Path, why: str) -> ConfigResult:
    reporter = Reporter(SourceText(b""))
    reporter.error(Code.UNREADABLE, Span(0, 0), f"{path} {why}.")
    return ConfigResult(None, reporter.diagnostics, path)


def _binary_problem(data: bytes) -> tuple[int, str] | None:
    nul = data.find(b"\x00")
    if nul != -1:
        return nul, "This is a binary file (it contains NUL bytes), not TypeScript source."
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, (
            f"The file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8."
        )
    return None
