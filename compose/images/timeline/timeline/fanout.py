"""Fan-out on write, DDIA's approach 2, with the hybrid's celebrity exception.

A plan says which cached lists a new tweet goes into. An ordinary user's tweet
goes into every follower's home timeline; a celebrity's tweet (at least
``threshold`` followers) goes only into the celebrity's own list, which
readers merge in at read time. Pure: the worker fetches the followers and
applies the plan; applying it twice changes nothing (the cache insert is
idempotent), which is what makes at-least-once delivery safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FanoutPlan", "is_celebrity", "plan_fanout"]


def is_celebrity(follower_count: int, threshold: int) -> bool:
    """Celebrities are not fanned out: their tweets are merged in when timelines are read."""
    return follower_count >= threshold


@dataclass(frozen=True)
class FanoutPlan:
    tweet_id: int
    sender_id: int
    # Users whose cached home timeline receives the tweet id.
    timelines: tuple[int, ...]
    # True when the tweet goes to the sender's own list instead (a celebrity).
    own_list: bool

    @property
    def cache_writes(self) -> int:
        """List inserts plus the one write of the tweet's body: DDIA's cost of a post."""
        return len(self.timelines) + int(self.own_list) + 1


def plan_fanout(tweet_id: int, sender_id: int, followers: Iterable[int], threshold: int) -> FanoutPlan:
    """Where tweet ``tweet_id`` by ``sender_id`` goes, given who follows the sender."""
    audience = sorted({f for f in followers if f != sender_id})
    if is_celebrity(len(audience), threshold):
        return FanoutPlan(tweet_id, sender_id, (), True)
    return FanoutPlan(tweet_id, sender_id, tuple(audience), False)
