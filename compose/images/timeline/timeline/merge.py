"""Read-time merge: a home timeline is the fanned-out cache plus the celebrities' own tweets.

Tweet ids grow with time (one Postgres sequence), so "newest first" is "largest
id first", and merging is a set union cut to ``limit``. Duplicates are
expected, not an error: fan-out is at-least-once, and a tweet can reach a list
both from a replayed job and from a cache warm-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

__all__ = ["merge_timelines", "parse_celebrities", "render_celebrities"]


def merge_timelines(lists: Iterable[Iterable[int]], limit: int) -> list[int]:
    """The ``limit`` largest distinct ids over all ``lists``, newest (largest) first.

    The inputs need not be sorted or disjoint; a user's cached timeline and
    each followed celebrity's list are passed as they were read.
    """
    if limit <= 0:
        return []
    return sorted(set(chain.from_iterable(lists)), reverse=True)[:limit]


def render_celebrities(celebrities: Iterable[int]) -> str:
    """The celebrities a user follows, as stored beside the cached timeline ("" for none)."""
    return ",".join(str(c) for c in sorted(set(celebrities)))


def parse_celebrities(stored: str | bytes) -> list[int]:
    """Inverse of :func:`render_celebrities`."""
    if isinstance(stored, bytes):
        stored = stored.decode("ascii")
    return [int(part) for part in stored.split(",") if part]
