"""A prompt bundle: the fragments in order, with variables filled, then the construct's context.

Tokens are estimated (one per four characters): no tokenizer that works
offline ships with the dependencies we use, and an estimate is enough to
see how much of a model's context a bundle takes. The method is recorded
with the count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing_extensions import TypedDict

from synthetic_ls.prompts.sources import PromptError, Source, read_fragment, resolve
from synthetic_ls.prompts.variables import substitute

#: How token counts are made (recorded beside each count).
TOKEN_METHOD = "estimate (1 token per 4 characters; no offline tokenizer is installed)"
#: Largest bundle (bytes of UTF-8): it is stored in a record, whose limit is 1 MiB.
BUNDLE_MAX = 512 * 1024


def count_tokens(text: str) -> int:
    """Estimated tokens of ``text`` (see :data:`TOKEN_METHOD`)."""
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class ServiceFacts:
    """A service of the construct, with its port once one is allocated."""

    name: str
    port: int | None = None

    @property
    def url(self) -> str | None:
        """``http://127.0.0.1:<port>``, or None without a port."""
        return f"http://127.0.0.1:{self.port}" if self.port is not None else None


@dataclass(frozen=True)
class ConstructFacts:
    """What the bundle tells about the construct (placeholders in a preview)."""

    id: str
    name: str
    workspace_path: str
    branch: str
    repo_root: str
    description: str = ""
    services: tuple[ServiceFacts, ...] = ()

    def values(self) -> dict[str, str]:
        """The ``${...}`` names and their values."""
        out = {
            "constructId": self.id,
            "constructName": self.name,
            "workspacePath": self.workspace_path,
            "branch": self.branch,
        }
        for service in self.services:
            port = str(service.port) if service.port is not None else f"<port of {service.name}>"
            out[f"services.{service.name}.port"] = port
            out[f"services.{service.name}.url"] = service.url or f"<url of {service.name}>"
            out[f"ports.{service.name}"] = port
        return out


class FragmentJson(TypedDict):
    """One file's part of a prompt bundle: the config entry that brought it (``entry``,
    from ``origin``), its ``order`` when given, and its estimated tokens."""

    path: str
    entry: str
    origin: str
    order: int | None
    tokens: int


class BundleJson(TypedDict):
    """A prompt bundle: its fragments, the files left out (empty, or repeats), the
    estimated tokens, and the whole text."""

    fragments: list[FragmentJson]
    dropped: list[str]
    context_tokens: int
    token_count: int
    token_method: str
    content: str


@dataclass(frozen=True)
class Fragment:
    """One file's part of the bundle."""

    source: Source
    text: str
    tokens: int

    def to_dict(self) -> FragmentJson:
        """``{"path", "entry", "origin", "order", "tokens"}`` (no text: the bundle has it)."""
        return {
            "path": self.source.path, "entry": self.source.entry, "origin": self.source.origin,
            "order": self.source.order, "tokens": self.tokens,
        }


@dataclass(frozen=True)
class Bundle:
    """The assembled prompt: its fragments, the context section, the whole text."""

    fragments: list[Fragment]
    context: str
    content: str
    token_count: int
    dropped: list[str] = field(default_factory=list)
    token_method: str = TOKEN_METHOD

    def to_dict(self) -> BundleJson:
        """``{"fragments", "dropped", "context_tokens", "token_count", "token_method",
        "content"}``."""
        return {
            "fragments": [f.to_dict() for f in self.fragments],
            "dropped": list(self.dropped),
            "context_tokens": count_tokens(self.context),
            "token_count": self.token_count,
            "token_method": self.token_method,
            "content": self.content,
        }


def render_context(facts: ConstructFacts) -> str:
    """The construct's own section: who it is, its services, where it may work."""
    lines = [
        "## This construct",
        "",
        f"- Name: {facts.name}",
        f"- Id: {facts.id}",
        f"- Branch: {facts.branch}",
        f"- Worktree: {facts.workspace_path}",
    ]
    if facts.description:
        lines += ["", facts.description]
    if facts.services:
        lines += ["", "### Services", "", "| service | port | url |", "|---|---|---|"]
        for s in facts.services:
            port = str(s.port) if s.port is not None else "-"
            lines.append(f"| {s.name} | {port} | {s.url or '-'} |")
    lines += [
        "",
        "### Boundaries",
        "",
        f"Work only inside {facts.workspace_path}, a git worktree on branch {facts.branch}. "
        f"The main checkout ({facts.repo_root}) and the other constructs' worktrees belong "
        "to others: do not change them, and commit only on your branch.",
    ]
    return "\n".join(lines)


def assemble(
    root: Path,
    entries: Sequence[Source],
    facts: ConstructFacts,
    *,
    env: Mapping[str, str] | None = None,
) -> Bundle:
    """Resolve ``entries`` (the config's prompt entries), read and fill the fragments, drop
    repeats, and append the context."""
    values = facts.values()
    fragments: list[Fragment] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for source in resolve(root, entries):
        text = substitute(read_fragment(root, source.path), values, file=source.path, env=env)
        text = text.strip()
        if not text or text in seen:
            dropped.append(source.path)  # empty, or the same text as an earlier fragment
            continue
        seen.add(text)
        fragments.append(Fragment(source, text, count_tokens(text)))
    context = render_context(facts)
    content = "\n\n".join([*(f.text for f in fragments), context]) + "\n"
    if len(content.encode("utf-8")) > BUNDLE_MAX:
        raise PromptError(
            f"the prompt bundle is larger than {BUNDLE_MAX // 1024} KiB; use fewer or "
            "smaller prompt files", fields={"bytes": len(content.encode("utf-8"))},
        )
    return Bundle(fragments, context, content, count_tokens(content), dropped)
