"""Id and slug rules: readable, safe as file names and git ref components."""

from __future__ import annotations

import subprocess

import pytest

from state_format.ids import FALLBACK_SLUG, SLUG_MAX, is_valid_id, new_id, slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Fix login bug", "fix-login-bug"),
        ("  Crème brûlée!  ", "creme-brulee"),
        ("../../etc/passwd", "etc-passwd"),
        ("$(rm -rf /); `echo`", "rm-rf-echo"),
        ('quote "x" \'y\'\nnext', "quote-x-y-next"),
        ("🚀🔥", FALLBACK_SLUG),
        ("日本語", FALLBACK_SLUG),
        ("---", FALLBACK_SLUG),
        ("a.lock", "a-lock"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_slug_is_truncated_without_trailing_dash() -> None:
    slug = slugify("word " * 100)
    assert len(slug) <= SLUG_MAX
    assert not slug.endswith("-")


@pytest.mark.parametrize(
    "name", ["x" * 5000, "../..", "a\x00b", "🚀", "feature/branch", "CON", "-rf", "..\\..\\x"]
)
def test_new_ids_are_valid_and_safe_git_ref_components(name: str) -> None:
    record_id = new_id(name)
    assert is_valid_id(record_id)
    assert "/" not in record_id and ".." not in record_id and len(record_id) <= 47
    # git itself agrees that the id can be a branch name component.
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", f"synthetic/{record_id}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_new_ids_differ() -> None:
    assert len({new_id("same") for _ in range(200)}) == 200


@pytest.mark.parametrize("bad", ["", "-a", "a-", "A", "a b", "a/b", "a..b", "a.b", "é", "x" * 81])
def test_invalid_ids(bad: str) -> None:
    assert not is_valid_id(bad)
