"""Bounded static evaluation: a small hostile config can neither exhaust memory nor the stack.

A repository a person clones is untrusted; its synthetic.config.ts is read
by ``config check``, ``new`` and ``doctor``. Each input below is a real file
in a temporary folder, checked the way the commands check it. Each must
come back with a diagnostic at the construct that crossed a limit, without
using more than a bounded depth of Python's stack, and with the work the
checks do counted and bounded. How long each takes is measured in
``bench/bench_config_limits.py``, never asserted here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cfg_helpers import at, check, codes, only, wrap

from synthetic_ls.config import Range, check_config_file
from synthetic_ls.config import source as text_source
from synthetic_ls.config.diagnostics import Position
from synthetic_ls.config.source import SourceText
from synthetic_ls.repo_files import CHECK_WALK_BUDGET

NESTING = 100_000


def doubling_arrays() -> str:
    # 39 lines, about 1.3 KB: a38 would hold 2^38 numbers.
    lines = ["const a0 = [1];"]
    lines += [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 39)]
    lines.append("export default { templates: {}, promptSources: a38 };")
    return "\n".join(lines) + "\n"


def doubling_objects() -> str:
    # Each object copies every key of the one before and holds it once more.
    lines = ["const p0 = { k0: 1 };"]
    lines += [f"const p{i} = {{ ...p{i - 1}, k{i}: p{i - 1} }};" for i in range(1, 20_001)]
    lines.append("export default { templates: { t: { env: p20000 } } };")
    return "\n".join(lines) + "\n"


def chain_same_key() -> str:
    lines = ["const p0 = { k: 1 };"]
    lines += [f"const p{i} = {{ ...p{i - 1}, k: p{i - 1} }};" for i in range(1, 20_001)]
    lines.append("export default { templates: { t: { env: p20000 } } };")
    return "\n".join(lines) + "\n"


def shared_references() -> str:
    # No spread: every array holds the one before twice, by reference.
    lines = ["const a0 = ['x.md'];"]
    lines += [f"const a{i} = [a{i - 1}, a{i - 1}];" for i in range(1, 60)]
    lines.append("export default { templates: { t: { prompts: a59 } } };")
    return "\n".join(lines) + "\n"


def many_copies() -> str:
    # An array of 65,536 numbers built cheaply (well within the limit), then
    # copied again and again.
    lines = ["const a0 = [1];"]
    lines += [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 17)]
    lines += [f"const c{i} = [...a16];" for i in range(2_000)]
    lines.append("export default { templates: {} };")
    return "\n".join(lines) + "\n"


def deep_reference_chain() -> str:
    lines = ["const p0 = [1];"]
    lines += [f"const p{i} = [p{i - 1}];" for i in range(1, 20_001)]
    lines.append("export default { templates: { t: { prompts: p20000 } } };")
    return "\n".join(lines) + "\n"


def forward_reference_chain() -> str:
    # Each const names the next one: evaluating p0 would follow 20,000 names.
    lines = [f"const p{i} = [p{i + 1}];" for i in range(20_000)]
    lines.append("const p20000 = 1;")
    lines.append("export default { templates: { t: { prompts: p0 } } };")
    return "\n".join(lines) + "\n"


def forward_alias_chain() -> str:
    lines = [f"const p{i} = p{i + 1};" for i in range(20_000)]
    lines.append('const p20000 = "x";')
    lines.append("export default { templates: { t: { label: p0 } } };")
    return "\n".join(lines) + "\n"


def nested(opener: str, closer: str) -> Callable[[], str]:
    # 100,000 levels, or as many as fit in the 1 MB size limit.
    count = min(NESTING, (1024 * 1024 - 100) // (len(opener) + len(closer)))

    def make() -> str:
        return f"export default {{ templates: {opener * count}1{closer * count} }};\n"

    return make


HOSTILE: dict[str, tuple[Callable[[], str], str]] = {
    "doubling-arrays": (doubling_arrays, "too-large"),
    "doubling-objects": (doubling_objects, "too-large"),
    "chain-same-key": (chain_same_key, "too-large"),
    "shared-references": (shared_references, "too-large"),
    "many-copies": (many_copies, "too-large"),
    "deep-reference-chain": (deep_reference_chain, "too-deep"),
    "forward-reference-chain": (forward_reference_chain, "too-deep"),
    "forward-alias-chain": (forward_alias_chain, "too-deep"),
    "nested-arrays": (nested("[", "]"), "too-deep"),
    "nested-objects": (nested("{ a: ", " }"), "too-deep"),
    "nested-parentheses": (nested("(", ")"), "too-deep"),
    "nested-calls": (nested("defineSyntheticConfig(", ")"), "too-deep"),
    "nested-env-defaults": (nested("process.env.A ?? (", ")"), "too-deep"),
}

# Frames the check may use on top of the caller's: the evaluation is bounded
# by its depth limit, not by the input.
STACK_HEADROOM = 400


@contextmanager
def shallow_stack() -> Iterator[None]:
    """Lower Python's recursion limit to the current depth plus ``STACK_HEADROOM``."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + STACK_HEADROOM)
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_is_bounded(name: str, tmp_path: Path) -> None:
    make, code = HOSTILE[name]
    path = tmp_path / "synthetic.config.ts"
    path.write_text(make())
    assert path.stat().st_size <= 1024 * 1024
    with shallow_stack():
        result = check_config_file(path)
    assert code in codes(result), [d.to_lsp() for d in result.diagnostics[:5]]
    assert result.has_errors


def test_too_large_points_at_the_spread_that_crossed() -> None:
    source = doubling_arrays()
    diagnostic = only(check(source), "too-large")
    line = source.splitlines()[diagnostic.range.start.line]
    start, end = diagnostic.range.start.character, diagnostic.range.end.character
    assert line[start:end].startswith("a") and line[start - 3 : start] == "..."
    assert "1,000,000" in diagnostic.message


def test_too_deep_points_at_the_bracket_that_crossed() -> None:
    source = wrap("templates: " + "[" * 70 + "1" + "]" * 70 + ",")
    diagnostic = only(check(source), "too-deep")
    # The export's object is level 1: the 64th `[` is level 65, one past the
    # limit of 64. Only its opening bracket is marked.
    column = len("templates: ") + 63
    assert diagnostic.range == Range.of(1, column, 1, column + 1)
    assert "64" in diagnostic.message


def test_too_deep_through_a_reference_points_at_the_name() -> None:
    # `deep` alone is 61 levels (the const, then 60 arrays); used 6 arrays
    # deep inside the export's object it would be 68.
    source = "const deep = " + "[" * 60 + "1" + "]" * 60 + ";\n" + wrap(
        "templates: [[[[[[deep]]]]]],"
    )
    diagnostic = only(check(source), "too-deep")
    assert diagnostic.range == at(source, "deep", 2)


def test_a_normal_config_is_far_below_the_limits() -> None:
    source = "const base = " + "{ a: " * 20 + "1" + " }" * 20 + ";\n" + wrap(
        "templates: { t: { env: { A: process.env.X ?? (((\"d\"))) }, summary: base } },\n"
        "promptSources: [" + ", ".join(['"x.md"'] * 5000) + "],"
    )
    result = check(source)
    assert not {"too-large", "too-deep"} & set(codes(result))


def test_large_literal_file_is_not_too_large() -> None:
    # The byte limit governs literal size: a 1 MB literal file never reaches
    # the value limit, however it is written.
    items = ", ".join(["[]"] * 300_000)
    result = check(wrap(f"promptSources: [{items}],"))
    assert "too-large" not in codes(result)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder of 2,000 files in 40 folders, standing in for a repository checkout."""
    for folder in range(40):
        sub = tmp_path / f"pkg{folder}"
        sub.mkdir()
        for index in range(50):
            (sub / f"mod{index}.py").write_text("")
    return tmp_path


@pytest.mark.parametrize("shape", ["distinct", "repeated"])
def test_file_checks_are_bounded(
    checkout: Path, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each pattern that matches nothing walks the checkout to say so. Tens of
    # thousands of patterns fit in a 1 MB file (or come from one spread):
    # the walks share one budget, and a pattern seen before is not walked
    # again.
    if shape == "distinct":
        patterns = "[" + ", ".join(f'"**/*.n{i}"' for i in range(50_000)) + "]"
        source = f"export default {{ templates: {{ t: {{ includePatterns: {patterns} }} }} }};\n"
    else:
        lines = ['const a0 = ["**/*.nope"];']
        lines += [f"const a{i} = [...a{i - 1}, ...a{i - 1}];" for i in range(1, 16)]
        source = "\n".join(lines) + "\nexport default { templates: { t: { prompts: a15 } } };\n"
    assert len(source) < 1024 * 1024
    path = checkout / "synthetic.config.ts"
    path.write_text(source)
    # 50,000 patterns would each be worth a whole walk: they share one
    # budget, crossed at most by the folder being looked at when it ran
    # out (51 entries here). 32,768 uses of one pattern are one walk. The
    # counting walk fails as soon as a bound is crossed, rather than let
    # an unbounded check run on.
    most_walks = 1 if shape == "repeated" else CHECK_WALK_BUDGET
    most_entries = CHECK_WALK_BUDGET + 51
    walks: list[int] = []
    real_walk = os.walk

    def counted_walk(top: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """os.walk, counting the walks and the entries they look at (as the budget does)."""
        walks.append(0)
        assert len(walks) <= most_walks, "a pattern was walked again"
        for folder, dirs, files in real_walk(top, *args, **kwargs):
            walks[-1] += len(dirs) + len(files) + 1
            assert sum(walks) <= most_entries, f"{len(walks)} walks, {sum(walks)} entries"
            yield folder, dirs, files

    monkeypatch.setattr(os, "walk", counted_walk)
    result = check_config_file(path, checkout)
    monkeypatch.undo()
    assert "no-match" in codes(result)
    # Again, should the check have caught the counter's failure.
    assert 0 < len(walks) <= most_walks and sum(walks) <= most_entries


@pytest.mark.parametrize(
    "pattern",
    ["(" * 5000 + ")" * 5000, "(?:" * 30_000 + ")" * 30_000, "a{4294967296}", "[a]{99999999999}"],
    ids=["groups", "non-capturing-groups", "repeat", "class-repeat"],
)
def test_hostile_ready_pattern_is_an_invalid_regex(pattern: str) -> None:
    # Python's regex parser recurses once per group (RecursionError) and
    # refuses huge repeat counts with OverflowError: both were tracebacks.
    source = wrap(
        f'templates: {{ t: {{ services: {{ s: {{ run: "x", readyPattern: "{pattern}" }} }} }} }},'
    )
    with shallow_stack():
        diagnostic = only(check(source), "invalid-regex")
    assert diagnostic.message.isprintable() and len(diagnostic.message) < 300


@pytest.mark.parametrize("spread", [False, True], ids=["together", "spread"])
def test_many_problems_on_one_long_line_stay_linear(
    monkeypatch: pytest.MonkeyPatch, spread: bool
) -> None:
    # Duplicate keys on one line after a non-ASCII character: each message
    # names the line of the first one, and each position counts UTF-16
    # units from the start of the line. 150,000 of them together, or 250
    # spread 4 KB apart along the line.
    pairs = [f'a: "{"x" * 4000}"'] * 250 if spread else ["a: 1"] * 150_000
    source = "export default { é: 1, " + ", ".join(pairs) + " };\n"
    positions: list[int] = []
    decoded: list[int] = []
    real_position, real_length = SourceText.position, text_source._utf16_length

    def counted_position(self: SourceText, offset: int) -> Position:
        positions.append(offset)
        return real_position(self, offset)

    def counted_length(data: bytes) -> int:
        decoded.append(len(data))
        return real_length(data)

    monkeypatch.setattr(SourceText, "position", counted_position)
    monkeypatch.setattr(text_source, "_utf16_length", counted_length)
    result = check(source)
    assert codes(result).count("duplicate-key") == 200
    # Only the problems reported (at most 200) get positions, the others
    # are only counted; and each position counts on from the one before on
    # the same line, so the line is decoded about once in all (not once
    # per position: 400 prefixes of up to 1 MB).
    assert len(positions) <= 2 * len(result.diagnostics)
    assert sum(decoded) <= len(source.encode()), f"{sum(decoded)} bytes decoded"
