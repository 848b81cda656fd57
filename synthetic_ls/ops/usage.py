"""What an agent cost: tokens in and out and money, from OpenCode's session.

OpenCode records on each assistant message the tokens its model reported
(``tokens``: ``input``, ``output``, ``reasoning``, ``cache`` {``read``,
``write``}) and the ``cost`` it computed from the model's price (zero for
a model without one), and keeps their sums on the session itself
(``GET /session/:id``: one small answer, however long the session). A
construct's usage is its session's (summed over its assistant messages for
a server whose sessions do not carry them); the total of a listing is the
sum over its constructs. Computed when a face reads, never stored: the
session is the only record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict


class UsageJson(TypedDict):
    """Tokens and cost of an agent's session (or a sum of them).

    ``input`` and ``output`` are the tokens sent to and produced by the model
    (``reasoning`` and the cache reads and writes counted apart, as OpenCode
    does); ``cost`` is in the provider's currency (USD for the known ones).
    """

    input: int
    output: int
    reasoning: int
    cache_read: int
    cache_write: int
    cost: float


def _int(value: Any) -> int:
    """A token count as sent, or 0 for anything that is not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True)
class Usage:
    """Tokens and cost; adds up with ``+``."""

    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input + other.input, self.output + other.output,
            self.reasoning + other.reasoning, self.cache_read + other.cache_read,
            self.cache_write + other.cache_write, self.cost + other.cost,
        )

    def to_dict(self) -> UsageJson:
        """``{"input", "output", "reasoning", "cache_read", "cache_write", "cost"}``."""
        return {
            "input": self.input, "output": self.output, "reasoning": self.reasoning,
            "cache_read": self.cache_read, "cache_write": self.cache_write,
            # Rounded so that sums print the same on every face (float noise).
            "cost": round(self.cost, 6),
        }

    def summary(self) -> str:
        """``12.3k in 456 out $0.0123``: what a table cell shows."""
        return f"{tokens_text(self.input)} in {tokens_text(self.output)} out {cost_text(self.cost)}"


    @property
    def spent(self) -> bool:
        """Whether anything was spent (a session with no answer yet has not)."""
        return bool(self.input or self.output or self.reasoning or self.cost)


def _counts(info: dict[str, Any]) -> Usage:
    """The ``tokens`` and ``cost`` of a message's or a session's info."""
    tokens = info.get("tokens") if isinstance(info.get("tokens"), dict) else {}
    assert isinstance(tokens, dict)
    cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
    assert isinstance(cache, dict)
    cost = info.get("cost")
    return Usage(
        input=_int(tokens.get("input")), output=_int(tokens.get("output")),
        reasoning=_int(tokens.get("reasoning")), cache_read=_int(cache.get("read")),
        cache_write=_int(cache.get("write")),
        cost=float(cost) if isinstance(cost, int | float) and cost > 0 else 0.0,
    )


def of_session(info: dict[str, Any]) -> Usage | None:
    """The usage a session's info carries (its sums), None when it carries none."""
    return _counts(info) if isinstance(info.get("tokens"), dict) else None


def of_message_info(info: dict[str, Any]) -> Usage:
    """The usage of one message's ``info`` (zero for a person's message)."""
    return _counts(info) if info.get("role") == "assistant" else Usage()


def of_messages(infos: Iterable[dict[str, Any]]) -> Usage:
    """The usage of a session: the sum over its messages' ``info``."""
    return total(of_message_info(info) for info in infos)


def total(usages: Iterable[Usage | None]) -> Usage:
    """The sum of ``usages`` (None, an agent no server told of, counts nothing)."""
    out = Usage()
    for u in usages:
        if u is not None:
            out = out + u
    return out


def tokens_text(count: int) -> str:
    """``456``, ``12.3k``, ``4.5M``: a token count short enough for a column."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.1f}M"


def cost_text(cost: float) -> str:
    """``$0.0123`` (four decimals below a dollar, two above)."""
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.4f}"
