"""Fan-out on write with the celebrity exception (DDIA's hybrid)."""

from __future__ import annotations

from timeline.fanout import is_celebrity, plan_fanout


def test_ordinary_tweet_goes_to_every_follower():
    """A tweet by a user below the threshold is inserted into each follower's timeline."""
    plan = plan_fanout(101, sender_id=1, followers=[4, 2, 3], threshold=10)
    assert plan.timelines == (2, 3, 4)
    assert plan.own_list is False


def test_celebrity_tweet_is_not_fanned_out():
    """A tweet by a user at the threshold goes only to the celebrity's own list."""
    plan = plan_fanout(102, sender_id=1, followers=range(2, 12), threshold=10)
    assert plan.timelines == ()
    assert plan.own_list is True


def test_threshold_boundary():
    """One follower short of the threshold is still fanned out."""
    assert is_celebrity(10, 10) and not is_celebrity(9, 10)
    assert plan_fanout(1, 1, range(2, 11), threshold=10).own_list is False


def test_repeated_followers_and_self_follow_are_ignored():
    """Duplicates in the follower list and the sender itself get no extra write."""
    plan = plan_fanout(7, sender_id=5, followers=[6, 6, 5, 8], threshold=100)
    assert plan.timelines == (6, 8)


def test_cache_writes_count_the_body_too():
    """A post costs one list insert per follower plus one body write; a celebrity's costs two."""
    assert plan_fanout(1, 1, [2, 3, 4], threshold=100).cache_writes == 4
    assert plan_fanout(1, 1, range(2, 500), threshold=100).cache_writes == 2
    assert plan_fanout(1, 1, [], threshold=100).cache_writes == 1


def test_planning_twice_gives_the_same_plan():
    """Planning is deterministic, so a replayed job writes exactly what the first did."""
    followers = [9, 3, 7, 3]
    assert plan_fanout(5, 1, followers, 100) == plan_fanout(5, 1, list(reversed(followers)), 100)
