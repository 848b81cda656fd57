"""What a repository would run, item by item, each with a digest of its content.

An item is one thing the person consents to: a template's setup or
teardown command, a check (its command, folder and environment), a service
(its command, setup, stop command, folder and environment: all of it decides
what runs), an OpenCode plugin or tool file,
or an OpenCode config file that starts programs (MCP servers, formatters,
language servers) or installs plugins. The digest covers the item's kind,
where it is and its whole content, so any change to what would run makes a
new item that has not been consented to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from typing_extensions import TypedDict

from synthetic_ls.consent.sources import (
    CODE_FOLDERS,
    CONFIG_NAMES,
    MAX_CONFIG,
    MAX_FILES,
    FileSource,
    FolderFiles,
)

if TYPE_CHECKING:
    from synthetic_ls.config import Template

ItemKind = Literal["setup", "service", "teardown", "check", "opencode-code", "opencode-config"]
#: Keys of an OpenCode config that make OpenCode start programs or load code.
RUNNING_KEYS = ("mcp", "plugin", "formatter", "lsp")


class RunItemJson(TypedDict):
    """One thing a repository would run: what kind, where it is declared, what it runs
    (for a person to read), and the digest its consent is remembered by."""

    kind: ItemKind
    where: str
    text: str
    digest: str


@dataclass(frozen=True)
class RunItem:
    """One thing a repository would run, as a person is asked about it."""

    kind: ItemKind
    #: Where it is declared: ``template web``, ``service api of template web``,
    #: or a file's path in the repository.
    where: str
    #: What it runs, for a person to read (a command, a summary of a file).
    text: str
    #: SHA-256 over kind, place and whole content: what consent is remembered by.
    digest: str

    def to_dict(self) -> RunItemJson:
        """The JSON form."""
        return {"kind": self.kind, "where": self.where, "text": self.text,
                "digest": self.digest}

    @classmethod
    def from_dict(cls, data: Any) -> RunItem | None:
        """An item sent back by a face; None when it is malformed."""
        if not isinstance(data, dict):
            return None
        kind, where, text, digest = (data.get(k) for k in ("kind", "where", "text", "digest"))
        if not (isinstance(kind, str) and isinstance(where, str) and isinstance(text, str)
                and isinstance(digest, str)):
            return None
        if kind not in ("setup", "service", "teardown", "check", "opencode-code",
                        "opencode-config"):
            return None
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return None
        return cls(cast(ItemKind, kind), where[:500], text[:2000], digest)


def _item(kind: ItemKind, where: str, text: str, content: Any) -> RunItem:
    canonical = json.dumps([kind, where, content], sort_keys=True, separators=(",", ":"))
    return RunItem(kind, where, text, hashlib.sha256(canonical.encode()).hexdigest())


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value


def template_items(template_id: str, template: Template) -> list[RunItem]:
    """The commands ``template`` runs: setup, each service, teardown, each check.

    The template's ``env`` is part of each: it reaches every command.
    """
    env = {k: _dump(v) for k, v in template.env.items()}
    where = f"template {template_id}"
    items = [_item("setup", where, cmd, {"command": cmd, "env": env}) for cmd in template.setup]
    for service in template.services:
        items.append(_item("service", f"service {service.id} of {where}", service_text(service),
                           {"service": _dump(service), "env": env}))
    items.extend(_item("teardown", where, cmd, {"command": cmd, "env": env})
                 for cmd in template.teardown)
    for name, check in template.checks.items():
        items.append(_item("check", f"check {name} of {where}", check.run,
                           {"check": _dump(check), "env": env}))
    return items


def service_text(service: Any) -> str:
    """What a service runs, in a line: its command (or image or compose file), setup and stop."""
    kind = getattr(service, "type", "process")
    if kind == "docker":
        command = " ".join(service.command or [])
        text = f"docker container from image {service.image}" + (f": {command}" if command else "")
    elif kind == "compose":
        text = f"docker compose -f {service.file} up {' '.join(service.services)}".rstrip()
    else:
        text = service.run
        if service.setup:
            text += " (setup: " + "; ".join(service.setup) + ")"
        if service.stop:
            text += f" (stop: {service.stop})"
    return text


def folder_items(folder: str | Path | None) -> list[RunItem]:
    """What OpenCode would load when it serves ``folder`` (nothing when it is not one)."""
    if not folder or not Path(folder).is_dir():
        return []
    return opencode_items(FolderFiles(Path(folder)))


def opencode_items(files: FileSource) -> list[RunItem]:
    """What OpenCode would load from a folder: plugin and tool files, and config files
    that start programs or install plugins (each named with what it starts)."""
    items: list[RunItem] = []
    for folder in CODE_FOLDERS:
        paths = list(files.files_under(folder))
        for path in paths[:MAX_FILES]:
            digest = files.digest(path)
            if digest is not None:
                items.append(_item("opencode-code", path, f"OpenCode loads and runs {path}",
                                   {"sha256": digest}))
        if len(paths) > MAX_FILES:
            rest = [files.digest(p) for p in paths[MAX_FILES:]]
            items.append(_item("opencode-code", f"{folder}/…",
                               f"{len(rest)} more files OpenCode loads from {folder}",
                               {"paths": paths[MAX_FILES:], "sha256": rest}))
    for name in CONFIG_NAMES:
        data = files.read(name, MAX_CONFIG + 1)
        if data is None:
            continue
        config = _parsed(data)
        if config is None:  # unreadable to us: it may still mean something to OpenCode
            what = "too large" if len(data) > MAX_CONFIG else "that Synthetic cannot read"
            items.append(_item("opencode-config", name,
                               f"an OpenCode config {what}: it may start programs",
                               {"file": files.digest(name)}))
            continue
        # What it starts, not its bytes: OpenCode itself adds "$schema" to the file.
        running = {k: config[k] for k in RUNNING_KEYS if config.get(k)}
        if running:
            items.append(_item("opencode-config", name, _config_summary(running), running))
    return items


def _parsed(data: bytes) -> dict[str, Any] | None:
    """The config as JSONC (JSON with comments and trailing commas); None when unreadable."""
    if len(data) > MAX_CONFIG:
        return None
    try:
        import json5

        config = json5.loads(data.decode("utf-8"))
    except Exception:  # json5 raises ValueError, and more on odd input
        return None
    return config if isinstance(config, dict) else {}


def _config_summary(config: dict[str, Any]) -> str:
    """What an OpenCode config starts, in a line."""
    parts: list[str] = []
    for key in RUNNING_KEYS:
        value = config.get(key)
        if not value:
            continue
        if key == "plugin" and isinstance(value, list):
            parts.append("plugins " + ", ".join(str(v) for v in value))
        elif isinstance(value, dict):
            named = [f"{name} ({_command(entry)})" for name, entry in value.items()]
            label = {"mcp": "MCP servers", "formatter": "formatters", "lsp": "language servers"}
            parts.append(f"{label.get(key, key)} " + ", ".join(named))
        else:
            parts.append(f"{key}: {value}")
    return "OpenCode starts " + "; ".join(parts)


def _command(entry: Any) -> str:
    if isinstance(entry, dict):
        command = entry.get("command")
        if isinstance(command, list):
            return " ".join(str(c) for c in command)
        if isinstance(entry.get("url"), str):
            return f"remote {entry['url']}"
        if entry.get("disabled") is True or entry.get("enabled") is False:
            return "disabled"
    return "configured"
