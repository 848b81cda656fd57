"""Helpers for the state_format unit tests: real git repositories in tmp folders."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


# -- running a state operation in a guarded child process ------------------------

#: The child's address-space limit: a reader that slurps /dev/zero fails fast
#: with MemoryError instead of eating the machine.
CHILD_MEMORY_LIMIT = 1 << 30
#: Seconds before a child that blocks (e.g. on a FIFO) counts as hung.
CHILD_TIMEOUT = 20.0

_CHILD = r"""
import json, os, sys, traceback
# Everything a lazy import may need, loaded before privileges are dropped (the
# interpreter's own files may not be readable by the unprivileged user).
import errno, hashlib, importlib, pkgutil, secrets, stat, tomllib, tomlkit, filelock, pydantic
import state_format
for module in pkgutil.iter_modules(state_format.__path__):
    importlib.import_module(f"state_format.{module.name}")
from state_format import listing
from state_format.errors import StateError
from state_format.listing import list_constructs
from state_format.records import Construct, utc_now
from state_format.store import Store
from synthetic_ls.cli.exit_codes import exit_code

repo, actions = sys.argv[1], json.loads(sys.argv[2])
listing.RACY_NS = int(os.environ.get("SF_RACY_NS", listing.RACY_NS))
user = os.environ.get("SF_CHILD_UID")
if user:
    os.setgroups([])
    os.setgid(int(os.environ["SF_CHILD_GID"]))
    os.setuid(int(user))

def broken(items):
    return [{"path": b.path, "line": b.line, "detail": b.detail} for b in items]

def run(action, *rest):
    if action == "ls":  # the listing with its cache, called directly
        result = list_constructs(Store.open(repo).root)
        return {"rows": [r.id for r in result.records], "broken": broken(result.broken)}
    if action == "list":
        result = Store.open(repo).list_constructs()
        return {"rows": [r.id for r in result.records], "broken": broken(result.broken)}
    if action == "get":
        return {"rows": [Store.open(repo).get_construct(rest[0]).id], "broken": []}
    if action == "create":
        store = Store.open(repo)
        now = utc_now()
        with store.lock():
            record = Construct(id=store.new_id(Construct, rest[0]), name=rest[0],
                               template_id="impl", status="pending", created_at=now,
                               updated_at=now)
            store.create(record)
        return {"rows": [record.id], "broken": []}
    if action == "update":
        Store.open(repo).update(Construct, rest[0], lambda c: {"name": "changed"})
        return {"rows": [rest[0]], "broken": []}
    if action == "delete":
        Store.open(repo).delete(Construct, rest[0])
        return {"rows": [], "broken": []}
    raise SystemExit(f"unknown action {action}")

outs = []
for action in actions:
    try:
        outs.append(run(*action))
    except StateError as exc:
        outs.append({"error": type(exc).__name__, "message": str(exc),
                     "exit_code": int(exit_code(exc))})
print(json.dumps(outs))
"""


def run_guarded(
    repo: Path, *actions: list[str], as_user: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """Run state operations in one child process with a memory cap and a timeout.

    Each action is a list: ``["ls"]`` (the fast listing), ``["list"]``,
    ``["get", ID]``, ``["create", NAME]``, ``["update", ID]`` or ``["delete",
    ID]``. Returns one JSON result per action: ``rows`` and ``broken``, or
    ``error``/``message``/``exit_code`` for a StateError. A traceback, a
    MemoryError or a hang fails the calling test. ``as_user`` (uid, gid) drops
    root's privileges in the child before it touches the state, so permission
    checks are real although the tests run as root (setpriv or runuser cannot
    be used: the interpreter lives under /root, which other users cannot enter).
    """
    import json
    import os
    import resource
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_LIMIT, CHILD_MEMORY_LIMIT))

    env = dict(os.environ)
    env["SF_RACY_NS"] = "0"  # the test's files are fresh: let the child cache them
    if as_user is not None:
        env["SF_CHILD_UID"], env["SF_CHILD_GID"] = str(as_user[0]), str(as_user[1])
        # root's HOME is unreadable for that user (git would fail on its config).
        env["HOME"] = "/nonexistent"
        env.pop("XDG_CONFIG_HOME", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(repo), json.dumps(actions)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            preexec_fn=limit,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{list(actions)} hung for more than {CHILD_TIMEOUT:g} s")
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        pytest.fail(f"{list(actions)} crashed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "64k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on the (empty) folder ``path``: a disk that fills up.

    Skips the calling test, with mount's reason, where mounting is not allowed
    (not root, or no CAP_SYS_ADMIN in a container).
    """
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
