"""Repository paths and globs: what matches, what escapes, and matching in bounded time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synthetic_ls.repo_files import escapes_repo, glob_matches, glob_segments, matches_any

FILES = [
    "docs/brief.md",
    "docs/prompts/a/deep.md",
    "api/.env.local",
    ".env",
    "config/app.local",
    "x/b.txt",
    "c.txt",
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A checkout holding ``FILES``."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    return tmp_path


@pytest.mark.parametrize(
    ("pattern", "anywhere", "expected"),
    [
        ("docs/*.md", False, True),
        ("*.md", False, False),  # only at the root
        ("*.md", True, True),  # at any depth, .gitignore style
        ("docs/**/*.md", False, True),
        ("docs/**/deep.md", False, True),
        ("docs/**", False, True),
        ("**/deep.md", False, True),
        ("**/*.nope", False, False),
        (".env*", True, True),
        ("/.env", True, True),  # a leading slash anchors at the root
        ("/.env.local", True, False),
        ("/api/.env.local", True, True),
        ("/*.local", True, False),
        ("config/*.local", True, True),
        ("*/app.local", True, True),  # a slash anchors at the root
        ("app.local", True, True),
        ("app.local", False, False),
        ("x/[ab].txt", False, True),
        ("x/[!b].txt", False, False),
        ("?.txt", False, True),
        ("docs/brief.md", False, True),
        ("docs/nope.md", False, False),
        ("docs/", False, True),
        ("d*s/prompts/*/deep.md", False, True),
        ("docs/*/deep.md", False, False),
        # Consecutive asterisks inside a name are plain asterisks (.gitignore).
        ("do**s/brief.md", False, True),
        ("docs**deep.md", False, False),
    ],
)
def test_matches(tree: Path, pattern: str, anywhere: bool, expected: bool) -> None:
    assert matches_any(tree, pattern, anywhere=anywhere) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "**/" * 40 + "zz",
        "*a" * 40 + "z",
        "**/*a" * 20 + "z",
        "a/**/" * 20 + "z",
        "[a]*" * 40 + "z",
        # Folders that all match between twenty `**`: trying every split
        # of the path between them would take 2^13 segment matches here.
        "**/" + "*a/**/" * 20 + "z",
    ],
)
def test_hostile_globs_match_in_bounded_work(tmp_path: Path, pattern: str) -> None:
    # A regex translation backtracks exponentially on these (2 s for ten
    # `**/`, more than doubling with each one more). Names the repository
    # can hold are long and made to almost match. (Timings: bench/bench_config_limits.py.)
    folder = tmp_path
    for _ in range(12):
        folder = folder / ("a" * 40)
    folder.mkdir(parents=True)
    (folder / ("a" * 200)).write_text("")
    assert not matches_any(tmp_path, pattern)
    # The segments are combined without backtracking: at most one segment
    # match per segment and part of the deepest path (the counter fails the
    # test as soon as there would be more, rather than let it run on).
    parts = [("a" * 40)] * 12 + ["a" * 200]
    segments = glob_segments(pattern)
    bound = len(segments) * len(parts)
    counter = _Counter(bound)
    counted = tuple(None if s is None else _Counting(s, counter) for s in segments)
    assert not glob_matches(counted, parts)  # type: ignore[arg-type]
    assert 0 < counter.calls <= bound


class _Counter:
    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.calls = 0


class _Counting:
    """A compiled segment that counts its matches, failing once past the bound."""

    def __init__(self, pattern: re.Pattern[str], counter: _Counter) -> None:
        self.pattern = pattern
        self.counter = counter

    def match(self, name: str) -> re.Match[str] | None:
        self.counter.calls += 1
        assert self.counter.calls <= self.counter.bound, "glob_matches backtracks"
        return self.pattern.match(name)


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../b", "~/x", "C:\\x", "\\x"])
def test_escapes(path: str) -> None:
    assert escapes_repo(path)


@pytest.mark.parametrize("path", ["a", "a/../b", "./a", "", "a/b/.."])
def test_stays_inside(path: str) -> None:
    assert not escapes_repo(path)


@pytest.mark.parametrize("pattern", ["x" * 300, "docs/" + "x" * 300 + "/*.md", "a\0b", "a\0/*.md"])
def test_impossible_names_match_nothing(tree: Path, pattern: str) -> None:
    # A name longer than the filesystem allows made the check raise
    # (ENAMETOOLONG) instead of saying that nothing matches.
    assert not matches_any(tree, pattern)
