"""The person's answers, kept outside every repository.

One file per repository, ``$XDG_DATA_HOME/synthetic/trust/<key>.toml``
(``~/.local/share/synthetic/trust/`` by default), where the key is a digest
of the main checkout's real path: a repository cannot write it, and a
clone elsewhere is asked again (as ``direnv`` does). The file lists the
digests of the items the person allowed, with what each ran, for
``synthetic trust --list``. A broken or oversized file trusts nothing.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tomlkit
from filelock import FileLock

from state_format.atomic import atomic_write, ensure_dir
from state_format.records import utc_now
from synthetic_ls.consent.items import RunItem

#: A trust file larger than this is not read (it trusts nothing).
MAX_FILE = 1024 * 1024
#: At most this many answers are kept per repository; the oldest go first.
MAX_ENTRIES = 2000


def trust_folder(environ: Mapping[str, str] | None = None) -> Path:
    """Where the answers live (which need not exist yet)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(
        Path(environ.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "synthetic" / "trust"


def trust_file(root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The file of one repository's answers (``root``: its main checkout)."""
    key = hashlib.sha256(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return trust_folder(environ) / f"{key[:40]}.toml"


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        if path.stat().st_size > MAX_FILE:
            return []
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    trusted = data.get("trusted")
    if not isinstance(trusted, list):
        return []
    return [e for e in trusted if isinstance(e, dict) and isinstance(e.get("digest"), str)]


def trusted_digests(root: Path) -> frozenset[str]:
    """The digests of every item allowed in the repository at ``root``; a read only."""
    return frozenset(e["digest"] for e in _entries(trust_file(root)))


def trusted_entries(root: Path) -> list[dict[str, Any]]:
    """What was allowed in the repository, as recorded (digest, kind, where, text, at)."""
    return _entries(trust_file(root))


def allow(root: Path, items: Iterable[RunItem]) -> list[RunItem]:
    """Remember that the person allowed ``items``; returns those that were new."""
    path = trust_file(root)
    ensure_dir(path.parent)
    with FileLock(str(path) + ".lock", timeout=30):
        entries = _entries(path)
        known = {e["digest"] for e in entries}
        new = [i for i in dict.fromkeys(items) if i.digest not in known]
        if not new:
            return []
        at = utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")
        entries.extend({**i.to_dict(), "at": at} for i in new)
        _write(path, root, entries[-MAX_ENTRIES:])
    return new


def revoke(root: Path) -> int:
    """Forget every answer given in the repository; returns how many there were."""
    path = trust_file(root)
    if not path.exists():
        return 0
    with FileLock(str(path) + ".lock", timeout=30):
        entries = _entries(path)
        _write(path, root, [])
    return len(entries)


def _write(path: Path, root: Path, entries: list[dict[str, Any]]) -> None:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("What you allowed Synthetic to run in this repository "
                            "(`synthetic trust --list`; `--revoke` forgets it)."))
    doc["repository"] = str(root.resolve())
    table = tomlkit.aot()
    for e in entries:
        table.append(tomlkit.item({k: str(v) for k, v in e.items()}))
    doc["trusted"] = table
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))
