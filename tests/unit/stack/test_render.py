"""The JSON answers are identical whichever path (cache or SQL) served them."""

from __future__ import annotations

import json

from timeline.render import error_json, followers_json, timeline_json, tweet_json


def test_cached_bodies_join_into_valid_json():
    """A timeline built by joining cached tweet bodies parses to the same tweets."""
    tweets = [
        tweet_json(2, 7, 'say "hi"\n', "2026-01-01T00:00:00.000Z"),
        tweet_json(1, 8, "ü", "2025-12-31T00:00:00.000Z"),
    ]
    parsed = json.loads(timeline_json(5, "cache", tweets))
    assert parsed["user_id"] == 5 and parsed["source"] == "cache" and parsed["count"] == 2
    first = {"id": 2, "user_id": 7, "text": 'say "hi"\n', "created_at": "2026-01-01T00:00:00.000Z"}
    assert parsed["tweets"][0] == first
    assert parsed["tweets"][1]["text"] == "ü"


def test_empty_timeline():
    """A user who follows nobody gets an empty list, not an error."""
    assert json.loads(timeline_json(1, "sql", [])) == {"user_id": 1, "source": "sql", "count": 0, "tweets": []}


def test_error_body():
    """Errors carry a stable code and a message."""
    assert json.loads(error_json("unknown_user", "no user 9")) == {"error": "unknown_user", "message": "no user 9"}


def test_followers_body():
    """A user's follower count, whether fan-out skips them (a celebrity), and a first page of follower ids."""
    assert json.loads(followers_json(7, 120, False, [3, 9])) == {
        "user_id": 7, "followers_count": 120, "celebrity": False, "followers": [3, 9]}
