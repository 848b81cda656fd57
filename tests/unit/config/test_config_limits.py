"""Bounded static evaluation: a small hostile config can neither exhaust memory nor the stack.

A repository a person clones is untrusted; its synthetic.config.ts is read
by ``config check``, ``new`` and ``doctor``. Each input below is a real file
in a temporary folder, checked the way the commands check it. Each must
come back with a diagnostic at the construct that crossed a limit, quickly,
and without using more than a bounded depth of Python's stack.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cfg_helpers import at, check, codes, only, wrap

from synthetic_ls.config import Range, check_config_file

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
    started = time.process_time()
    with shallow_stack():
        result = check_config_file(path)
    elapsed = time.process_time() - started
    assert code in codes(result), [d.to_lsp() for d in result.diagnostics[:5]]
    assert result.has_errors
    # Generous: well under a second on a laptop; only a blow-up would miss it.
    # CPU time of this process, so that other jobs on a shared machine do not count.
    assert elapsed < 5, f"{name} took {elapsed:.1f} s"


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
def test_file_checks_are_bounded(checkout: Path, shape: str) -> None:
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
    started = time.process_time()
    result = check_config_file(path, checkout)
    elapsed = time.process_time() - started
    assert "no-match" in codes(result)
    assert elapsed < 5, f"{shape} took {elapsed:.1f} s"


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


def test_many_problems_on_one_long_line_stay_fast() -> None:
    # 150,000 duplicate keys on one line after a non-ASCII character: each
    # message names the line of the first one, and each position counts
    # UTF-16 units from the start of the line.
    source = "export default { é: 1, " + ", ".join(["a: 1"] * 150_000) + " };\n"
    started = time.process_time()
    result = check(source)
    elapsed = time.process_time() - started
    assert codes(result).count("duplicate-key") == 200
    assert elapsed < 5, f"took {elapsed:.1f} s"
