"""The person's hosts: ``$XDG_CONFIG_HOME/synthetic/hosts.toml``, outside every repository.

A host is a person's setting, like an entry of ``~/.ssh/config``: nothing
under a repository is read for it, so a cloned repository cannot add one
(a relative ``XDG_CONFIG_HOME`` is ignored, as the XDG specification says,
since it would lead into whatever folder the command runs in). The file is
written whole and atomically under a file lock, like the trust store; a
file that cannot be read is an error naming it (``hosts-file-broken``), never
a traceback and never silently emptied.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from filelock import FileLock

from state_format.atomic import atomic_write, ensure_dir
from state_format.records import utc_now
from synthetic_ls.errors import ConflictError, NotFoundError, SyntheticError
from synthetic_ls.remote.host_url import HostUrl, check_name, parse_url

#: A hosts file larger than this is refused (it is written by hand or by us, and small).
MAX_FILE = 256 * 1024
#: How long a change waits for another process's lock on the file.
LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Host:
    """One host: its name, its address, and when it was added."""

    name: str
    url: HostUrl
    added: str = ""


def hosts_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where the hosts are kept (which need not exist yet)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME") or ""
    if not os.path.isabs(base):
        base = str(Path(environ.get("HOME") or Path.home()).expanduser() / ".config")
    return Path(base) / "synthetic" / "hosts.toml"


def _broken(path: Path, why: str, line: int | None = None) -> SyntheticError:
    fields: dict[str, object] = {"file": str(path)}
    if line is not None:
        fields["line"] = line
    return SyntheticError(f"the hosts file {path} cannot be used: {why}; fix or remove it",
                          code="hosts-file-broken", fields=fields)


def read_hosts(path: Path | None = None) -> list[Host]:
    """Every host in the file, by name; none when there is no file."""
    path = hosts_file() if path is None else path
    try:
        if path.stat().st_size > MAX_FILE:
            raise _broken(path, f"it is larger than {MAX_FILE} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise _broken(path, str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _broken(path, f"not valid TOML ({exc})", getattr(exc, "lineno", None)) from None
    table = data.get("hosts", {})
    if not isinstance(table, dict):
        raise _broken(path, "`hosts` must be a table of [hosts.NAME] entries")
    out: list[Host] = []
    for name, entry in sorted(table.items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise _broken(path, f"[hosts.{name}] needs a url = \"ssh://...\"")
        try:
            check_name(name)
            url = parse_url(entry["url"])
        except SyntheticError as exc:
            raise _broken(path, f"[hosts.{name}]: {exc}") from None
        added = entry.get("added", "")
        out.append(Host(name, url, added if isinstance(added, str) else str(added)))
    return out


def find_host(name: str, path: Path | None = None) -> Host:
    """The host called ``name``; ``unknown-host`` when there is none."""
    hosts = read_hosts(path)
    for host in hosts:
        if host.name == name:
            return host
    known = ", ".join(h.name for h in hosts) or "none"
    raise NotFoundError(f"no host called {name!r} (hosts: {known}); "
                        "`synthetic host add NAME ssh://...` adds one",
                        code="unknown-host", fields={"host": name})


def add_host(name: str, url: str, path: Path | None = None) -> Host:
    """Add a host; the name and address are checked first, and nothing is written on error."""
    check_name(name)
    parsed = parse_url(url)
    path = hosts_file() if path is None else path
    ensure_dir(path.parent)
    with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT):
        hosts = read_hosts(path)
        if any(h.name == name for h in hosts):
            raise ConflictError(f"a host called {name!r} exists already; "
                                "`synthetic host rm` it first", code="host-exists",
                                fields={"host": name})
        host = Host(name, parsed, utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        _write(path, [*hosts, host])
    return host


def remove_host(name: str, path: Path | None = None) -> Host:
    """Remove the host called ``name``; returns it."""
    path = hosts_file() if path is None else path
    if not path.exists():
        return find_host(name, path)  # raises unknown-host
    with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT):
        hosts = read_hosts(path)
        gone = find_host(name, path)
        _write(path, [h for h in hosts if h.name != name])
    return gone


def _write(path: Path, hosts: list[Host]) -> None:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("Your Synthetic hosts (`synthetic host ls|add|rm|check`). "
                            "Connection settings come from ~/.ssh/config."))
    table = tomlkit.table(is_super_table=True)
    for host in sorted(hosts, key=lambda h: h.name):
        entry = tomlkit.table()
        entry["url"] = str(host.url)
        if host.added:
            entry["added"] = host.added
        table[host.name] = entry
    doc["hosts"] = table
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))
