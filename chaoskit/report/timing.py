"""Wall-clock stamps of journals, read leniently: a stamp that does not parse is no time, not an error."""

from __future__ import annotations

from datetime import datetime

__all__ = ["parse_time", "seconds_between"]


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_between(start: str, end: str) -> float | None:
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None or (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return max(0.0, (b - a).total_seconds())
