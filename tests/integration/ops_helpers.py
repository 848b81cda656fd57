"""Shared pieces of the ops-level tests: a real repository, a snapshot, refusals.

The ``test_ops_*`` modules call the functions of :mod:`synthetic_ls.ops`
directly (no CLI, no language server) against real git repositories in
temporary folders, and check the typed result, the state it leaves
(records, journals, branches, worktrees, files) and, for a refusal, the
declared error code with nothing changed.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from state_format.errors import CodedError
from state_format.journal import Journal
from state_format.owner import Owner
from state_format.records import Construct
from state_format.store import Store
from synthetic_ls.error_codes import REGISTRY
from synthetic_ls.ops.constructs import CreateOptions, create_construct
from tests.gitrepo import GIT_ENV, git, make_repo

CONFIG = """export default {
  defaults: { templateId: "dev" },
  templates: { dev: { label: "Dev", includePatterns: [".env"] } },
};
"""


def make_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str = CONFIG,
    files: dict[str, str] | None = None,
) -> Store:
    """A committed repository with ``config`` (and an ignored ``.env``), opened as a store."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNTHETIC_WORKTREES_DIR", str(tmp_path / "wt"))
    all_files = {
        "synthetic.config.ts": config, ".gitignore": ".env\n",
        "src/main.py": "print('hi')\n", "src/util.py": "x = 1\n",
    }
    all_files.update(files or {})
    repo = make_repo(tmp_path / "repo", all_files)
    (repo / ".env").write_text("TOKEN=secret\n")
    return Store.open(repo)


def new(store: Store, name: str = "Fix login", **options: object) -> tuple[str, Path]:
    """Create a construct with a worktree; its id and worktree folder."""
    made = create_construct(store, CreateOptions(name=name, **options))  # type: ignore[arg-type]
    return made.construct.id, Path(made.construct.workspace_path or "")


def branches(repo: Path) -> list[str]:
    return sorted(git(repo, "branch", "--format=%(refname:short)").split())


def worktrees(repo: Path) -> list[str]:
    lines = git(repo, "worktree", "list", "--porcelain").splitlines()
    return [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")][1:]


def record_text(store: Store, cid: str) -> str:
    return (store.root / "constructs" / f"{cid}.toml").read_text()


def snapshot(store: Store, *checkouts: Path) -> dict[str, str]:
    """What a refused operation must leave alone: refs, HEADs, indexes, files, records."""
    repo = store.repo.worktree
    out: dict[str, str] = {
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
    }
    for path in (repo, *checkouts):
        if not path.exists():
            out[f"{path}"] = "absent"
            continue
        out[f"{path}:head"] = git(path, "rev-parse", "HEAD")
        out[f"{path}:status"] = git(path, "status", "--porcelain", "--untracked-files=all")
        out[f"{path}:index"] = git(path, "ls-files", "-s")
        out[f"{path}:files"] = "\n".join(
            f"{p.relative_to(path)}:{p.read_bytes()!r}"
            for p in sorted(path.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(path).parts
        )
    git_dir = repo / ".git"
    out["merge-state"] = " ".join(
        n for n in ("MERGE_HEAD", "SQUASH_MSG", "MERGE_MSG") if (git_dir / n).exists()
    )
    records = store.root / "constructs"
    # Every field but ``updated_at`` (a journalled change that failed wrote its journal).
    out["records"] = "\n".join(
        f"{p.name}:" + "".join(
            line for line in p.read_text().splitlines(True) if not line.startswith("updated_at")
        )
        for p in sorted(records.glob("*.toml"))
    ) if records.is_dir() else ""
    return out


@contextmanager
def refused(code: str) -> Iterator[pytest.ExceptionInfo[CodedError]]:
    """Expect a :class:`CodedError` with ``code``, a code the registry declares."""
    assert code in REGISTRY, f"{code!r} is not a declared error code"
    with pytest.raises(CodedError) as info:
        yield info
    assert info.value.code == code, f"{info.value.code}: {info.value}"


def dead_owner() -> Owner:
    """A process that ran on this host and is gone."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    owner = Owner.of(proc.pid)
    proc.kill()
    proc.wait()
    return owner


def leave_journal(store: Store, cid: str, op: str, steps: list[str], **facts: str) -> None:
    """Write the journal ``op`` leaves after beginning ``steps``, its owner gone."""
    journal = Journal.begin(op, facts=facts)
    for name in steps:
        journal = journal.step(name)
    journal = dataclasses.replace(journal, owner=dead_owner())
    store.update(Construct, cid, lambda _c: {"journal": journal})
