"""The seed data set: users, a heavy-tailed follow graph and tweets, all from one seed.

Pure (stdlib only, no I/O): the loader writes what this produces, and unit
tests check its shape on the host. The same (users, seed) always gives the
same data, so a figure measured on one machine can be reproduced on another.

Shape, after DDIA ch. 1 (Twitter, 2012): each user follows on average about
75 others (``MEAN_FOLLOWS``). Who gets followed is drawn from log-normal
popularity weights, which gives a long tail of moderately popular users, plus
a handful of celebrities that a large share of all users follow. Ordinary
users post a geometric number of tweets (mean ``MEAN_TWEETS``), celebrities
post more, so that home timelines are full (hundreds of entries each).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = [
    "CELEBRITY_SHARES",
    "Dataset",
    "EPOCH",
    "MEAN_FOLLOWS",
    "MEAN_TWEETS",
    "Tweet",
    "generate",
]

MEAN_FOLLOWS = 75.0
MIN_FOLLOWS = 10
MEAN_TWEETS = 10.0
CELEBRITY_TWEETS = 200
# Share of all users that follow each celebrity: "a handful, followed by a large share".
CELEBRITY_SHARES = (0.6, 0.5, 0.4, 0.3, 0.25)
# Spread of the log-normal popularity weights: the tail of ordinary users.
POPULARITY_SIGMA = 0.8
# Seed tweets are spread over the 30 days before this instant (fixed, so data is reproducible).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=30)

_WORDS = (
    "chaos monkey cache fan out timeline latency replica queue follower celebrity tweet "
    "merge join index shard partition lag retry timeout fallback redis postgres nginx "
    "proxy fault failure steady state hypothesis blast radius rollback game day coffee "
    "deploy incident pager graph tail percentile throughput write read hot cold warm"
).split()


@dataclass(frozen=True)
class Tweet:
    """One seed tweet; ``id`` order is time order."""

    id: int
    sender_id: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Dataset:
    """Users are 1..users; ``followees[u - 1]`` is the sorted tuple of the users u follows."""

    users: int
    seed: int
    celebrities: tuple[int, ...]
    followees: tuple[tuple[int, ...], ...]
    tweets: tuple[Tweet, ...] = field(repr=False)

    @property
    def marker(self) -> str:
        """A stable name for this data set, stored with it so a reload can be skipped."""
        return f"users={self.users},seed={self.seed}"

    def follows(self) -> Iterator[tuple[int, int]]:
        """(follower, followee) pairs."""
        for follower, followees in enumerate(self.followees, start=1):
            for followee in followees:
                yield follower, followee

    def follower_counts(self) -> list[int]:
        """``counts[u - 1]`` is how many users follow u."""
        counts = [0] * self.users
        for followees in self.followees:
            for followee in followees:
                counts[followee - 1] += 1
        return counts


def generate(users: int = 10_000, seed: int = 42) -> Dataset:
    """Build the data set for ``users`` users from ``seed`` (deterministic)."""
    if users < 2 * len(CELEBRITY_SHARES):
        raise ValueError(f"need at least {2 * len(CELEBRITY_SHARES)} users, got {users}")
    rng = random.Random(seed)
    celebrities = tuple(rng.sample(range(1, users + 1), len(CELEBRITY_SHARES)))
    celebrity_set = set(celebrities)

    # Ordinary users' popularity: log-normal weights, cumulated for rng.choices.
    ordinary = [u for u in range(1, users + 1) if u not in celebrity_set]
    cumulative: list[float] = []
    total = 0.0
    for _ in ordinary:
        total += rng.lognormvariate(0.0, POPULARITY_SIGMA)
        cumulative.append(total)

    # Out-degree: MIN_FOLLOWS plus an exponential tail, so most follow a few dozen and
    # some follow hundreds (and nobody's timeline is nearly empty); celebrities come on top.
    extra_mean = MEAN_FOLLOWS - sum(CELEBRITY_SHARES) - MIN_FOLLOWS
    max_follows = max(1, min(len(ordinary) - 1, 20 * int(MEAN_FOLLOWS)))
    followees: list[tuple[int, ...]] = []
    for user in range(1, users + 1):
        want = min(max_follows, MIN_FOLLOWS + round(rng.expovariate(1.0 / extra_mean)))
        chosen: set[int] = set()
        # Draw with replacement and drop repeats; a few rounds reach ``want``.
        for _ in range(8):
            missing = want - len(chosen)
            if missing <= 0:
                break
            draws = rng.choices(ordinary, cum_weights=cumulative, k=missing + missing // 4 + 1)
            chosen.update(d for d in draws if d != user)
        # Trim the surplus of the last round at random, not by id, to keep the draw unbiased.
        picked = sorted(chosen) if len(chosen) <= want else rng.sample(sorted(chosen), want)
        shares = zip(celebrities, CELEBRITY_SHARES, strict=True)
        celebs = [c for c, share in shares if c != user and rng.random() < share]
        followees.append(tuple(sorted(set(picked) | set(celebs))))

    tweets = _tweets(rng, users, celebrity_set)
    return Dataset(users, seed, celebrities, tuple(followees), tweets)


def _tweets(rng: random.Random, users: int, celebrities: set[int]) -> tuple[Tweet, ...]:
    drafts: list[tuple[float, int]] = []
    p = 1.0 / MEAN_TWEETS
    for user in range(1, users + 1):
        if user in celebrities:
            count = CELEBRITY_TWEETS
        else:
            # Geometric with mean MEAN_TWEETS (support 1, 2, ...): everyone has posted.
            count = 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - p))
        for _ in range(count):
            drafts.append((rng.random(), user))
    drafts.sort()
    span_s = SPAN.total_seconds()
    start = EPOCH - SPAN
    tweets = []
    for index, (moment, user) in enumerate(drafts, start=1):
        words = rng.choices(_WORDS, k=rng.randint(3, 14))
        created = start + timedelta(seconds=round(moment * span_s, 3))
        tweets.append(Tweet(index, user, " ".join(words), created))
    return tuple(tweets)
