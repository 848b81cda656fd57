"""Reading a config file (from disk or from an editor buffer) into a :class:`ConfigResult`.

Every input gives a result, never an exception: a missing file, a folder, a
named pipe or a device, a link out of the repository, a binary or non-UTF-8
file, an empty file or one far too large to be a config all become a
diagnostic at the start of the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from synthetic_ls.config.checks import check_config
from synthetic_ls.config.diagnostics import Code, Diagnostic
from synthetic_ls.config.evaluate import Evaluator
from synthetic_ls.config.reporter import Reporter
from synthetic_ls.config.schema import SyntheticConfig
from synthetic_ls.config.source import SourceText, Span, excerpt
from synthetic_ls.config.syntax import parse, report_syntax_errors
from synthetic_ls.config.validate import Validator
from synthetic_ls.config.values import Value

CONFIG_FILENAME = "synthetic.config.ts"

# A config is a few hundred lines; anything above this is not one, and
# parsing it would only make the editor or the command hang.
MAX_CONFIG_BYTES = 1024 * 1024

_BOM = b"\xef\xbb\xbf"


@dataclass
class ConfigResult:
    """The outcome of checking a config: the model (if any) and the diagnostics.

    For an editor it also keeps what the file said and where: ``value`` is the
    evaluated default export (located values with byte spans, see
    :mod:`synthetic_ls.config.values`), ``source`` the text those spans index,
    ``bindings`` where each top-level ``const`` is declared and ``references``
    every use of one. :mod:`synthetic_ls.config.locate` maps a position to
    its key path and schema field with them. They are empty for a file that
    was not parsed (missing, unreadable, too large, binary).
    """

    config: SyntheticConfig | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: Path | None = None
    exists: bool = True
    value: Value | None = None
    source: SourceText | None = None
    bindings: dict[str, Span] = field(default_factory=dict)
    references: list[tuple[str, Span]] = field(default_factory=list)

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
    config, evaluator = _check_source(data, reporter, repo_root)
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
    return ConfigResult(
        config,
        diagnostics,
        path,
        value=evaluator.value,
        source=source,
        bindings=evaluator.bindings,
        references=evaluator.references,
    )


@dataclass
class _Evaluated:
    """What the evaluation leaves for the result once the syntax tree is gone."""

    value: Value | None
    bindings: dict[str, Span]
    references: list[tuple[str, Span]]


def _check_source(
    data: bytes, reporter: Reporter, repo_root: Path | None
) -> tuple[SyntheticConfig | None, _Evaluated]:
    """Parse, evaluate, validate and cross-check UTF-8 source; diagnostics go to ``reporter``."""
    tree = parse(data)
    report_syntax_errors(tree, reporter)
    evaluator = Evaluator(tree.root_node, reporter)
    value = evaluator.run()
    validator = Validator(reporter, repo_root)
    config = validator.config(value)
    if config is not None:
        check_config(config, validator)
    return config, _Evaluated(value, evaluator.bindings, evaluator.references)


def check_config_text(text: str, path: Path, repo_root: Path | None) -> ConfigResult:
    """Check in-memory text (an editor buffer) as if it were the file at ``path``."""
    return check_config_bytes(text.encode("utf-8", errors="replace"), path, repo_root)


def check_config_file(path: Path, repo_root: Path | None = None) -> ConfigResult:
    """Check the file at ``path``; ``repo_root`` defaults to its folder.

    Only a regular file is read, and at most one byte past the size limit: a
    named pipe, a device or a socket would block or never end. A file found
    through a repository (``repo_root`` given, or a ``.git`` above ``path``)
    must resolve inside that repository; one that a symbolic link takes out
    of it is refused unread. A cloned repository is untrusted, and a link to
    the person's own files would otherwise have their text quoted in
    diagnostics. Every outcome is a :class:`ConfigResult`, never an exception.
    """
    root = repo_root if repo_root is not None else path.parent
    fence = repo_root if repo_root is not None else find_repo_root(path.absolute().parent)
    data = _read_regular_file(path, fence)
    if isinstance(data, ConfigResult):
        return data
    return check_config_bytes(data, path, root)


def _read_regular_file(path: Path, fence: Path | None) -> bytes | ConfigResult:
    """The bytes of ``path`` (at most the limit plus one), or the result explaining why not."""
    if not os.path.lexists(path):
        return ConfigResult(None, [], path, exists=False)
    # Resolve every link first and decide on the real path, so that a file
    # outside the repository (possibly a device or a pipe) is never opened.
    real = os.path.realpath(path)
    if fence is not None and not Path(real).is_relative_to(os.path.realpath(fence)):
        return _refused(
            path,
            Code.SYMLINK_ESCAPES_REPO,
            f"{path} resolves to {excerpt(real, 80)}, outside the repository at {fence}, "
            "through a symbolic link. It is not read: a cloned repository could point it at "
            "any of your files. Replace the link with the file itself.",
        )
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        target = excerpt(os.readlink(path), 80) if os.path.islink(path) else real
        return _unreadable(path, f"is a symbolic link to {target}, which does not exist")
    except OSError as exc:
        return _unreadable(path, f"cannot be read: {exc.strerror or exc}")
    if not stat.S_ISREG(mode):
        return _unreadable(path, _not_regular(mode))
    try:
        # O_NONBLOCK: should the file have been replaced by a named pipe since
        # the stat above, opening it returns at once instead of waiting for a
        # writer. O_NOFOLLOW: ``real`` has no links left; a new one is refused.
        fd = os.open(real, _OPEN_FLAGS)
    except OSError as exc:
        return _unreadable(path, f"cannot be read: {exc.strerror or exc}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between the stat and the open
            return _unreadable(path, _not_regular(info.st_mode))
        if info.st_size > MAX_CONFIG_BYTES:
            return _refused(
                path,
                Code.FILE_TOO_LARGE,
                f"The file is {info.st_size / 1024 / 1024:.1f} MB; a synthetic.config.ts is at "
                f"most {MAX_CONFIG_BYTES // 1024} KB. Is this the right file?",
            )
        # One byte past the limit: enough to know the file is too large (it
        # may have grown since fstat) without reading all of it.
        return _read_at_most(fd, MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        return _unreadable(path, f"cannot be read: {exc.strerror or exc}")
    finally:
        os.close(fd)


_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd`` (fewer at end of file)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _not_regular(mode: int) -> str:
    """Why a file of this mode is not read, for a message."""
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")
    return f"is {kind}; only a regular file is read as a config"


_SPECIAL_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def load_config(repo_root: Path) -> ConfigResult:
    """Read ``repo_root/synthetic.config.ts``; ``exists=False`` (no diagnostics) when absent."""
    return check_config_file(config_path(repo_root), Path(repo_root))


def config_path(repo_root: Path | str) -> Path:
    """Where the config of the repository whose top is ``repo_root`` lives (it may not exist).

    The one place that says where a repository's config is; every face and
    operation asks here.
    """
    return Path(repo_root) / CONFIG_FILENAME


def find_repo_root(start: Path | str) -> Path | None:
    """The nearest folder at or above ``start`` holding ``.git`` (a folder or a file).

    The top of the work tree (the main checkout or a linked worktree) that
    holds ``start``, found without running git: the config lives there (see
    :func:`config_path`). Never reads anything in the repository.
    """
    current = Path(start).absolute()
    for folder in (current, *current.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _unreadable(path: Path, why: str) -> ConfigResult:
    return _refused(path, Code.UNREADABLE, f"{path} {why}.")


def _refused(path: Path, code: Code, message: str) -> ConfigResult:
    """A result with one error at the start of the file, which was not parsed."""
    reporter = Reporter(SourceText(b""))
    reporter.error(code, Span(0, 0), message)
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
