"""The seed data set: deterministic, heavy-tailed, with a handful of celebrities."""

from __future__ import annotations

import statistics

import pytest
from timeline.datagen import CELEBRITY_SHARES, MEAN_FOLLOWS, generate


@pytest.fixture(scope="module")
def data():
    return generate(users=2000, seed=7)


def test_same_seed_same_data(data):
    """Generating twice from one seed gives identical follows and tweets."""
    again = generate(users=2000, seed=7)
    assert again.followees == data.followees
    assert again.tweets == data.tweets
    assert again.celebrities == data.celebrities


def test_another_seed_other_data(data):
    """A different seed changes the graph."""
    assert generate(users=2000, seed=8).followees != data.followees


def test_mean_follows_near_ddia_figure(data):
    """Users follow about 75 others on average (DDIA's figure), at least a few each."""
    counts = [len(f) for f in data.followees]
    assert abs(statistics.mean(counts) - MEAN_FOLLOWS) < 5
    assert min(counts) >= 10


def test_follower_counts_are_heavy_tailed(data):
    """The most-followed ordinary users have many times the median's followers."""
    counts = data.follower_counts()
    ordinary = sorted((c for u, c in enumerate(counts, 1) if u not in data.celebrities), reverse=True)
    assert ordinary[0] > 5 * statistics.median(ordinary)


def test_celebrities_are_followed_by_a_large_share(data):
    """Each celebrity is followed by roughly its configured share of all users."""
    counts = data.follower_counts()
    for celebrity, share in zip(data.celebrities, CELEBRITY_SHARES, strict=True):
        assert counts[celebrity - 1] == pytest.approx(share * data.users, rel=0.15)


def test_no_self_follows_and_valid_ids(data):
    """Nobody follows themselves and every id is a user."""
    for follower, followee in data.follows():
        assert follower != followee
        assert 1 <= followee <= data.users


def test_tweet_ids_follow_time(data):
    """Tweet ids are 1..n in creation order, so newest first is largest id first."""
    assert [t.id for t in data.tweets] == list(range(1, len(data.tweets) + 1))
    times = [t.created_at for t in data.tweets]
    assert times == sorted(times)
    assert all(0 < len(t.text) <= 280 for t in data.tweets)


def test_too_few_users_is_refused():
    """A data set too small to hold the celebrities is an error, not a silent oddity."""
    with pytest.raises(ValueError):
        generate(users=5)
