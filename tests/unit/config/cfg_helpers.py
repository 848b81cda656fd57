"""Helpers for the config tests: check a snippet, find diagnostics, locate text."""

from __future__ import annotations

from pathlib import Path

from synthetic_ls.config import ConfigResult, Diagnostic, Range, check_config_text

DATA = Path(__file__).parent / "data"


def check(source: str, root: Path | None = None) -> ConfigResult:
    """Check ``source`` as an in-memory synthetic.config.ts."""
    path = (root or Path("/nonexistent")) / "synthetic.config.ts"
    return check_config_text(source, path, root)


def wrap(body: str) -> str:
    """A config whose default export is ``{ body }``."""
    return "export default {\n" + body + "\n};\n"


def codes(result: ConfigResult) -> list[str]:
    """The codes of all diagnostics, in order."""
    return [d.code for d in result.diagnostics]


def only(result: ConfigResult, code: str) -> Diagnostic:
    """The single diagnostic with ``code`` (fails if there are 0 or several)."""
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, f"expected one {code}, got {[d.to_lsp() for d in result.diagnostics]}"
    return found[0]


def at(source: str, needle: str, occurrence: int = 1, length: int | None = None) -> Range:
    """The 0-based range of the ``occurrence``-th ``needle`` in ``source`` (ASCII lines)."""
    index = -1
    for _ in range(occurrence):
        index = source.index(needle, index + 1)
    line = source.count("\n", 0, index)
    col = index - (source.rfind("\n", 0, index) + 1)
    size = len(needle) if length is None else length
    return Range.of(line, col, line, col + size)
