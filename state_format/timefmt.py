"""Timestamps as the files hold them (standard library only)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Current time in UTC, truncated to milliseconds (what the files can hold)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 UTC with ``Z`` and milliseconds, e.g. ``2025-05-01T09:30:00.000Z``."""
    value = value.astimezone(UTC)
    if value.year >= 1000:  # isoformat is ~10x faster than strftime (it pads years < 1000)
        return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" -> "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
