"""Fan-out completeness: the decision from what was seen (pure), and the asking, against fakes of Postgres and HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaoskit.measure.fanout_complete import CACHE_LIMIT, Sighting, check_fanout, judge_fanout
from chaoskit.testing import FakeClock


def test_absent_is_lost_present_is_unconfirmed_and_celebrities_are_skipped():
    """Pending and absent from the follower's cache: lost; pending but cached: only noted; no audience: skipped."""
    seen = {1: Sighting.ABSENT, 2: Sighting.PRESENT, 3: Sighting.CELEBRITY, 4: Sighting.NO_FOLLOWER, 5: Sighting.ABSENT}
    result = judge_fanout(10, [1, 2, 3, 4, 5], seen, 2.0)
    assert (result.acknowledged, result.pending, result.checked, result.lost, result.unconfirmed, result.skipped,
            result.unverified) == (10, 5, 5, 2, 1, 2, 0)
    assert result.lost_ids == (1, 5) and not result.ok
    assert result.notes == ("1 tweet(s) pending in Postgres but in the follower's cache (fanned out, not marked), "
                            "e.g. [2]",)


def test_unknown_and_unsampled_are_unverified_never_lost():
    """A follower side that could not be told, or a pending tweet not looked at, is unverified."""
    result = judge_fanout(4, [1, 2, 3], {1: Sighting.UNKNOWN, 2: Sighting.PRESENT}, 1.0, ["tweet 1: boom"])
    assert (result.lost, result.unconfirmed, result.unverified, result.checked) == (0, 1, 2, 1)
    assert not result.ok and result.notes[0] == "tweet 1: boom"
    assert result.notes[-1] == "1 pending tweet(s) beyond the sample were not looked for"


def test_nothing_pending_is_complete():
    """Every tweet fanned out: nothing lost, nothing unverified."""
    result = judge_fanout(7, [], {}, 0.0)
    assert result.ok and result.to_dict()["ok"] and result.counts() == {
        "acknowledged": 7, "pending": 0, "checked": 0, "lost": 0, "unconfirmed": 0, "unverified": 0}


class FakeOutbox:
    """Postgres's pending set: tweet ``i`` is fanned out at time ``done_at[i]`` (never if absent)."""

    def __init__(self, clock: FakeClock, done_at: dict[int, float], fails: bool = False) -> None:
        self.clock = clock
        self.done_at = done_at
        self.fails = fails
        self.asked: list[list[int]] = []

    def __call__(self, ids: Any) -> set[int]:
        self.asked.append(list(ids))
        if self.fails:
            raise LookupError("psql exited 2")
        return {i for i in ids if self.done_at.get(i, float("inf")) > self.clock.now}


class FakeApi:
    """Tweet ``i`` is by user ``i * 10``; users' followers and followers' cached timelines are given."""

    def __init__(self, followers: dict[int, list[int]], cached: dict[int, list[int]], celebrities: frozenset[int] =
                 frozenset()) -> None:
        self.followers = followers
        self.cached = cached
        self.celebrities = celebrities
        self.urls: list[str] = []

    def __call__(self, method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        self.urls.append(url)
        path = url.removeprefix("http://stack")
        parts = path.split("?")[0].strip("/").split("/")
        if parts[0] == "tweets":
            return 200, json.dumps({"id": int(parts[1]), "user_id": int(parts[1]) * 10}).encode()
        if parts[0] == "users":
            user = int(parts[1])
            return 200, json.dumps({"celebrity": user in self.celebrities,
                                    "followers": self.followers.get(user, [])[:1]}).encode()
        follower = int(parts[1])
        if follower not in self.cached:
            return 503, b'{"error": "cache_miss"}'
        return 200, json.dumps({"tweets": [{"id": i} for i in self.cached[follower]]}).encode()


def check(api: FakeApi, outbox: FakeOutbox, clock: FakeClock, ids: list[int], **kw: Any):
    return check_fanout(ids, "http://stack/", pending=outbox, http=api, clock=clock, sleep=clock.sleep, **kw)


def test_waits_for_the_outbox_then_confirms_what_is_left_from_a_follower():
    """Tweets fanned out during the wait are fine; one still pending and not cached is lost, one cached is not."""
    clock = FakeClock()
    outbox = FakeOutbox(clock, {1: 0.0, 2: 1.5})  # 3 and 4 never marked
    api = FakeApi({30: [7], 40: [8]}, {7: [5, 2, 1], 8: [9, 4]})
    result = check(api, outbox, clock, [1, 2, 3, 4, 3], budget_s=3.0, poll_every_s=1.0)
    assert (result.acknowledged, result.pending, result.lost, result.unconfirmed, result.lost_ids) == (4, 2, 1, 1, (3,))
    assert result.waited_s == 3.0 and result.unverified == 0
    # The query shrinks to what is still pending; a follower is asked for each pending tweet.
    assert outbox.asked[0] == [1, 2, 3, 4] and outbox.asked[-1] == [3, 4]
    assert api.urls == ["http://stack/tweets/3", "http://stack/users/30/followers?limit=1",
                        f"http://stack/timeline/7?limit={CACHE_LIMIT}&source=cache",
                        "http://stack/tweets/4", "http://stack/users/40/followers?limit=1",
                        f"http://stack/timeline/8?limit={CACHE_LIMIT}&source=cache"]


def test_ends_as_soon_as_nothing_is_pending():
    """No wait and no HTTP once the outbox has caught up."""
    clock = FakeClock()
    api = FakeApi({}, {})
    result = check(api, FakeOutbox(clock, {1: 0.4, 2: 0.9}), clock, [1, 2], budget_s=30.0, poll_every_s=0.5)
    assert result.ok and result.pending == 0 and result.waited_s == 1.0 and api.urls == []


def test_the_sample_bounds_the_follower_checks():
    """Only ``sample`` pending tweets are looked for; the rest are unverified, so never a silent pass."""
    clock = FakeClock()
    api = FakeApi({10 * i: [99] for i in range(1, 6)}, {99: [1000]})
    result = check(api, FakeOutbox(clock, {}), clock, [1, 2, 3, 4, 5], budget_s=0.0, sample=2)
    assert (result.pending, result.lost, result.unverified) == (5, 2, 3) and len(api.urls) == 6


@pytest.mark.parametrize("api, why", [
    (FakeApi({10: [7]}, {}), "user 7's cached timeline: GET /timeline/7?limit=800&source=cache answered 503"),
    (FakeApi({10: [7]}, {7: list(range(2000, 2000 - CACHE_LIMIT, -1))}),
     f"user 7's cached timeline ({CACHE_LIMIT} tweets) does not reach back to it"),
])
def test_a_follower_side_that_cannot_tell_is_unverified(api: FakeApi, why: str):
    """A cold cache, or a full one that ends after the tweet, says nothing about the fan-out."""
    clock = FakeClock()
    result = check(api, FakeOutbox(clock, {}), clock, [1], budget_s=0.0)
    assert (result.lost, result.unverified) == (0, 1) and result.notes[0].startswith(f"tweet 1: {why}")


def test_celebrities_and_lonely_authors_are_skipped():
    """A celebrity's tweet is not fanned out by design; nobody misses one whose author has no follower."""
    clock = FakeClock()
    api = FakeApi({}, {}, celebrities=frozenset({10}))
    result = check(api, FakeOutbox(clock, {}), clock, [1, 2], budget_s=0.0)
    assert (result.skipped, result.lost, result.unverified) == (2, 0, 0) and result.ok


def test_postgres_that_cannot_be_asked_leaves_everything_unverified():
    """No answer about what is pending: nothing shown, nothing lost."""
    clock = FakeClock()
    result = check(FakeApi({}, {}), FakeOutbox(clock, {}, fails=True), clock, [1, 2])
    assert (result.pending, result.unverified, result.lost) == (2, 2, 0)
    assert result.notes[0] == "Postgres could not be asked which tweets are pending (psql exited 2)"
