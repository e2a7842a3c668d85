"""Sample-stack probes (fan-out lag, durability) against a fake HTTP seam and a fake clock."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chaoskit.measure.probes_timeline import check_durability, fanout_lag, find_fanout_pair
from chaoskit.testing import FakeClock, FakeStack


def test_fanout_lag_is_measured_from_the_201():
    """The lag runs from the post's acknowledgement to the first poll that shows the tweet."""
    clock = FakeClock()
    stack = FakeStack(clock, visible_after=3)
    result = fanout_lag("http://stack/", poster=1, follower=2, poll_every_s=0.05, http=stack, clock=clock,
                        sleep=clock.sleep)
    assert result.ok and result.tweet_id == 100 and result.polls == 3
    # 3 polls of 10 ms and 2 pauses of 50 ms after the 201.
    assert abs(result.lag_s - 0.13) < 1e-9 and abs(result.post_s - 0.01) < 1e-9
    assert stack.calls[0] == ("POST", "http://stack/tweets", stack.calls[0][2])
    assert stack.calls[1][1] == "http://stack/timeline/2?limit=50"


def test_fanout_that_never_shows_times_out():
    """A tweet that never reaches the timeline fails the probe after the timeout, with the tweet named."""
    clock = FakeClock()
    result = fanout_lag("http://stack", 1, 2, timeout_s=1.0, http=FakeStack(clock, visible_after=10**9),
                        clock=clock, sleep=clock.sleep)
    assert not result.ok and result.lag_s is None
    assert "tweet 100 not in user 2's timeline after 1 s" in result.reason
    assert result.polls < 30


def test_failed_post_fails_the_probe():
    """A post not answered 201 ends the probe at once, saying what came back."""
    clock = FakeClock()
    result = fanout_lag("http://stack", 1, 2, http=FakeStack(clock, post_status=503), clock=clock, sleep=clock.sleep)
    assert not result.ok and result.polls == 0 and "post answered 503" in result.reason


def test_fanout_tells_its_ack_and_can_be_cancelled():
    """on_ack gets the tweet id and the 201's time; cancelled() ends the polling with a reason saying so."""
    clock = FakeClock()
    acks: list[tuple[int, float]] = []
    result = fanout_lag("http://stack", 1, 2, http=FakeStack(clock, visible_after=10**9), clock=clock,
                        sleep=clock.sleep, on_ack=lambda tweet, at: acks.append((tweet, at)),
                        cancelled=lambda: clock.now > 0.5)
    assert acks == [(100, pytest.approx(0.01))]
    assert not result.ok and result.reason.startswith("stopped before tweet 100") and result.polls < 15


def followers_http(pages: dict[int, dict[str, Any]], status: int = 200):
    asked: list[str] = []

    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        asked.append(url)
        user = int(url.split("/users/")[1].split("/")[0])
        page = pages.get(user, {"celebrity": False, "followers": []})
        return status, json.dumps({"user_id": user, **page}).encode()

    http.asked = asked  # type: ignore[attr-defined]
    return http


def test_pair_is_the_first_ordinary_user_with_followers():
    """Celebrities and users nobody follows are passed over; the first follower of the next one is taken."""
    http = followers_http({1: {"celebrity": True, "followers": [5]}, 3: {"celebrity": False, "followers": [9]}})
    assert find_fanout_pair("http://stack/", http=http) == (3, 9)
    assert http.asked == [f"http://stack/users/{u}/followers?limit=1" for u in (1, 2, 3)]


def test_pair_given_is_used_without_asking():
    """poster and follower given: no request at all (works with a stack that lacks the endpoint)."""
    http = followers_http({})
    assert find_fanout_pair("http://stack", 4, 8, http=http) == (4, 8) and http.asked == []


@pytest.mark.parametrize(
    ("pages", "status", "message"),
    [
        ({7: {"celebrity": True, "followers": [1]}}, 200, "user 7 is a celebrity"),
        ({}, 200, "user 7 has no followers: choose another poster"),
        ({}, 404, "GET http://stack/users/7/followers?limit=1 answered 404"),
    ],
)
def test_a_poster_that_cannot_be_timed_is_refused(pages, status, message):
    """A given poster who is a celebrity, followed by nobody, or unknown to the stack: a LookupError says which."""
    with pytest.raises(LookupError, match=re.escape(message)):
        find_fanout_pair("http://stack", 7, http=followers_http(pages, status))


def test_no_candidate_at_all():
    """When no candidate fits, the error says to give the pair."""
    with pytest.raises(LookupError, match="give params poster and follower"):
        find_fanout_pair("http://stack", candidates=range(1, 4), http=followers_http({}))


def durable_http(present: set[int], flaky: set[int] = frozenset()):  # type: ignore[assignment]
    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        tweet_id = int(url.rsplit("/", 1)[1])
        if tweet_id in flaky:
            return 0, b"connection refused"
        return (200, b"{}") if tweet_id in present else (404, b"{}")
    return http


def test_durability_counts_lost_and_checked():
    """Every acknowledged id is checked; 404s are lost and named."""
    result = check_durability([1, 2, 3, 4, 4], "http://stack", http=durable_http({1, 2, 4}))
    assert (result.acknowledged, result.checked, result.lost, result.unverified) == (4, 4, 1, 0)
    assert result.lost_ids == (3,) and not result.ok


def test_unanswered_checks_are_unverified_not_present():
    """An id whose check keeps failing is neither present nor lost: it is unverified, and the run is not ok."""
    result = check_durability([1, 2], "http://stack", http=durable_http({1, 2}, flaky={2}))
    assert (result.checked, result.lost, result.unverified) == (1, 0, 1) and not result.ok


def test_readable_but_not_in_the_database():
    """With a database check, a tweet served only from the cache is flagged."""
    result = check_durability([1, 2, 3], "http://stack", http=durable_http({1, 2, 3}), in_database=lambda ids: {1, 2})
    assert result.not_in_database == 1 and not result.ok and "not in Postgres" in result.notes[0]


def test_all_present_is_ok():
    """Nothing lost, everything checked: ok, and to_dict says how many."""
    result = check_durability(range(1, 51), "http://stack", http=durable_http(set(range(1, 51))))
    assert result.ok and result.to_dict()["checked"] == 50


def test_database_that_cannot_be_asked_leaves_readable_tweets_unverified():
    """in_database raising LookupError: the readable tweets are unverified, not present, and a note says why."""
    def unreachable(ids):
        raise LookupError("psql exited 2")

    result = check_durability([1, 2, 3], "http://stack", http=durable_http({1, 2}), in_database=unreachable)
    assert (result.checked, result.lost, result.unverified) == (1, 1, 2) and not result.ok
    assert "Postgres could not be asked (psql exited 2): 2 readable tweet(s)" in result.notes[0]
