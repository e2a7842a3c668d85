"""The JSON the API answers with, built the same way on the cache path and the SQL path.

A tweet's JSON is rendered once, when it is written, and cached as bytes; a
cached timeline is then answered by joining those bytes, without parsing
them. The SQL path renders rows with the same function, so a client cannot
tell the paths apart except by the ``source`` field and header.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["error_json", "followers_json", "timeline_json", "tweet_json"]


def tweet_json(tweet_id: int, user_id: int, text: str, created_at: str) -> bytes:
    """``created_at`` comes preformatted from Postgres (ISO 8601, UTC, milliseconds)."""
    return json.dumps(
        {"id": tweet_id, "user_id": user_id, "text": text, "created_at": created_at},
        separators=(",", ":"),
    ).encode("ascii")


def timeline_json(user_id: int, source: str, tweets: Sequence[bytes]) -> bytes:
    """The body of ``GET /timeline/{user_id}``: ``tweets`` are already-rendered tweet JSON."""
    head = b'{"user_id":%d,"source":"%s","count":%d,"tweets":[' % (user_id, source.encode("ascii"), len(tweets))
    return head + b",".join(tweets) + b"]}"


def followers_json(user_id: int, followers_count: int, celebrity: bool, followers: Sequence[int]) -> bytes:
    """The body of ``GET /users/{user_id}/followers``: the count, whether fan-out skips the user, a first page."""
    return json.dumps(
        {"user_id": user_id, "followers_count": followers_count, "celebrity": celebrity, "followers": list(followers)},
        separators=(",", ":"),
    ).encode("ascii")


def error_json(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode("utf-8")
