"""The documentation site (issue 22, item 2): generated reference pages are current,
and `mkdocs build --strict` passes, while a broken link fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from synthetic_ls import reference_docs

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(site: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
         "-d", str(site)], capture_output=True, text=True, timeout=300, env=ENV,
    )


def test_the_reference_pages_are_generated_from_the_code_as_it_is() -> None:
    assert reference_docs.main(["--check"]) == 0, "run python -m synthetic_ls.reference_docs"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = build(tmp_path / "site", ROOT / "mkdocs.yml")
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "site" / "reference" / "errors" / "index.html").read_text()
    assert "consent-required" in page  # the registry's codes reach the site


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + "\nSee [the missing page](missing.md).\n")
    broken = build(tmp_path / "site", copy / "mkdocs.yml")
    assert broken.returncode != 0
    assert "missing.md" in broken.stderr


def _slugs(markdown: str) -> set[str]:
    """The anchors of a Markdown file's headings (as GitHub and MkDocs make them)."""
    import re

    return {re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", h.strip().lower()))
            for h in re.findall(r"(?m)^#{1,6} (.+)$", markdown)}


def test_the_readme_is_short_and_every_link_in_it_resolves() -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 300
    for target in re.findall(r"\]\(([^)\s]+)\)", readme):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        file = ROOT / path if path else ROOT / "README.md"
        assert file.exists(), target
        if anchor:
            assert anchor in _slugs(file.read_text()), target
