"""Helpers for the state_format unit tests: real git repositories in tmp folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

from state_format.records import Construct, utc_now
from state_format.store import Store


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout (raises on failure)."""
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return proc.stdout


def make_repo(path: Path) -> Path:
    """A fresh non-bare repository with one commit on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "commit", "-q", "--allow-empty", "-m", "init")
    return path


def add_construct(
    store: Store, name: str, status: str = "pending", template: str = "impl"
) -> Construct:
    """Create a construct record directly through the store."""
    with store.lock():
        now = utc_now()
        record = Construct(
            id=store.new_id(Construct, name),
            name=name,
            template_id=template,
            status=status,  # type: ignore[arg-type]
            created_at=now,
            updated_at=now,
        )
        return store.create(record)
