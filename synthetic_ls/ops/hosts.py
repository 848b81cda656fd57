"""The person's hosts (``synthetic host add|ls|rm|check``): other machines, over SSH.

Hosts are kept outside every repository
(:mod:`synthetic_ls.remote.host_store`). :func:`list_hosts`, :func:`add_host`
and :func:`remove_host` read or change that file only and never contact a
host, so ``host ls`` stays instant whatever the network does;
:func:`check_host` asks the host, item by item, whether constructs could
live there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from typing_extensions import TypedDict

from state_format.marker import CURRENT_VERSION
from state_format.text import one_line
from synthetic_ls.git.command import git_text
from synthetic_ls.remote import host_store
from synthetic_ls.remote.host_store import Host
from synthetic_ls.remote.ssh import Completed, posix_script, remote_command, run_remote

CheckStatus = Literal["ok", "failed", "skipped"]


class HostJson(TypedDict):
    """One host: its name, address (and the parts ssh is given), and when it was added."""

    name: str
    url: str
    destination: str
    port: int | None
    path: str
    added: str


class HostListJson(TypedDict):
    """``synthetic host ls``: the person's hosts (no host is contacted) and their file."""

    hosts: list[HostJson]
    file: str


class HostChangeJson(TypedDict):
    """``synthetic host add|rm``: the host added or removed, and the file kept."""

    host: HostJson
    file: str


class HostCheckItemJson(TypedDict):
    """One item of ``synthetic host check``: what was checked, how it went, what was found."""

    item: str
    status: CheckStatus
    detail: str


class HostCheckJson(TypedDict):
    """``synthetic host check``: each item, and whether constructs could live on the host."""

    host: HostJson
    ok: bool
    items: list[HostCheckItemJson]


def _host_json(host: Host) -> HostJson:
    return {"name": host.name, "url": str(host.url), "destination": host.url.destination,
            "port": host.url.port, "path": host.url.path, "added": host.added}


@dataclass(frozen=True)
class HostList:
    """The person's hosts and where they are kept."""

    hosts: list[Host]
    file: str

    def to_dict(self) -> HostListJson:
        """The JSON form."""
        return {"hosts": [_host_json(h) for h in self.hosts], "file": self.file}


@dataclass(frozen=True)
class HostChange:
    """A host just added or removed, and where the hosts are kept."""

    host: Host
    file: str

    def to_dict(self) -> HostChangeJson:
        """The JSON form."""
        return {"host": _host_json(self.host), "file": self.file}


@dataclass(frozen=True)
class CheckItem:
    """One checked item."""

    item: str
    status: CheckStatus
    detail: str

    def to_dict(self) -> HostCheckItemJson:
        """The JSON form."""
        return {"item": self.item, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class HostCheck:
    """What ``host check`` found on a host, item by item."""

    host: Host
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no item failed."""
        return all(i.status != "failed" for i in self.items)

    def to_dict(self) -> HostCheckJson:
        """The JSON form."""
        return {"host": _host_json(self.host), "ok": self.ok,
                "items": [i.to_dict() for i in self.items]}


def list_hosts() -> HostList:
    """The person's hosts, by name; reads the hosts file only (no host is contacted)."""
    return HostList(host_store.read_hosts(), str(host_store.hosts_file()))


def add_host(name: str, url: str) -> HostChange:
    """Add host ``name`` at ``url`` (``ssh://[user@]host[:port]/path``); contacts nothing.

    The name and address are checked first; nothing is written when either is refused.
    """
    return HostChange(host_store.add_host(name, url), str(host_store.hosts_file()))


def remove_host(name: str) -> HostChange:
    """Forget host ``name`` (nothing on the host is touched)."""
    return HostChange(host_store.remove_host(name), str(host_store.hosts_file()))


#: The remote's Synthetic: its command if on PATH, else the Python module.
_SYNTHETIC_VERSION = ("if command -v synthetic >/dev/null 2>&1; then synthetic version --json; "
                      "else python3 -m synthetic_ls version --json; fi")
#: The remote's OpenCode: SYNTHETIC_OPENCODE_BIN there, else opencode on its PATH.
_OPENCODE_VERSION = '"${SYNTHETIC_OPENCODE_BIN:-opencode}" --version'


def _first_line(done: Completed) -> str:
    text = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return one_line(text[0] if text else f"exit status {done.returncode}", 200)


def _roots(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def check_host(host: str, repo_root: Path | None = None) -> HostCheck:
    """Ask host ``host`` (its name) whether constructs could live there, item by item.

    ``reachable`` (ssh logs in), ``git``, ``synthetic`` and ``state-format``
    (the remote's Synthetic, and whether it reads and writes this one's state
    format version), ``opencode``, ``clone`` (a git work tree at the path) and
    ``repository`` (it shares a root commit with the repository at ``repo_root``,
    default the current folder's; skipped outside one). Each call to the
    host is bounded in time; a host that does not answer raises
    ``host-unreachable``, a changed host key ``host-key-changed`` (refused,
    as ssh refuses it).
    """
    found = host_store.find_host(host)
    url = found.url

    def run(command: str) -> Completed:
        return run_remote(found.name, url, command)

    items: list[CheckItem] = []
    run("true")  # raises when ssh cannot log in
    items.append(CheckItem("reachable", "ok", f"ssh logs in to {url.destination}"))
    git = run(remote_command("git", "--version"))
    items.append(CheckItem("git", "ok" if git.ok else "failed",
                           _first_line(git) if git.ok else "git was not found on the host"))
    items += _synthetic_items(run(posix_script(_SYNTHETIC_VERSION)))
    opencode = run(posix_script(_OPENCODE_VERSION))
    items.append(CheckItem("opencode", "ok" if opencode.ok else "failed",
                           f"opencode {_first_line(opencode)}" if opencode.ok else
                           f"no opencode on the host ({_first_line(opencode)}); install "
                           "opencode-ai or set SYNTHETIC_OPENCODE_BIN there"))
    items += _clone_items(run, url.path, repo_root)
    return HostCheck(found, items)


def _synthetic_items(done: Completed) -> list[CheckItem]:
    if not done.ok:
        return [CheckItem("synthetic", "failed", "Synthetic was not found on the host, or is "
                          f"too old for `synthetic version --json` ({_first_line(done)})"),
                CheckItem("state-format", "skipped", "no Synthetic to ask")]
    try:
        data = json.loads(done.stdout)
        version, state = str(data["version"]), int(data["state_format"])
    except (ValueError, KeyError, TypeError):
        return [CheckItem("synthetic", "failed",
                          f"`synthetic version --json` answered {_first_line(done)!r}"),
                CheckItem("state-format", "skipped", "no version to compare")]
    same = state == CURRENT_VERSION
    return [CheckItem("synthetic", "ok", f"synthetic {version}"),
            CheckItem("state-format", "ok" if same else "failed",
                      f"version {state}" + ("" if same else
                                            f", but this Synthetic uses {CURRENT_VERSION}: "
                                            "install the same Synthetic on both machines"))]


def _clone_items(run: Callable[[str], Completed], path: str,
                 local: Path | None) -> list[CheckItem]:
    quoted = remote_command(path)
    done = run(posix_script(
        f"test -d {quoted} || exit 3; "
        f"test \"$(git -C {quoted} rev-parse --is-inside-work-tree 2>/dev/null)\" = true "
        f"|| exit 4; git -C {quoted} rev-list --max-parents=0 HEAD"))
    if done.returncode == 3:
        return [CheckItem("clone", "failed", f"no folder {path} on the host; clone the "
                          "repository there"),
                CheckItem("repository", "skipped", "no clone to compare")]
    if done.returncode == 4:
        return [CheckItem("clone", "failed", f"{path} on the host is not a git work tree"),
                CheckItem("repository", "skipped", "no clone to compare")]
    if not done.ok:
        return [CheckItem("clone", "failed", f"git cannot read {path}: {_first_line(done)}"),
                CheckItem("repository", "skipped", "no clone to compare")]
    items = [CheckItem("clone", "ok", f"a git work tree at {path}")]
    remote_roots = _roots(done.stdout)
    here = git_text(local if local is not None else Path.cwd(),
                    "rev-list", "--max-parents=0", "HEAD")
    if here.returncode != 0:
        items.append(CheckItem("repository", "skipped",
                               "not run in a local repository: nothing to compare with"))
    elif _roots(here.stdout) & remote_roots:
        items.append(CheckItem("repository", "ok", "the same repository (a root commit in "
                               "common)"))
    else:
        items.append(CheckItem("repository", "failed", f"{path} holds another repository "
                               "(no root commit in common with this one)"))
    return items
