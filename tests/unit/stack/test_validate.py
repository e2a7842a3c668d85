"""Request validation: every bad input is refused with a 4xx before anything is written."""

from __future__ import annotations

import json

import pytest
from timeline.validate import (
    InvalidRequest,
    parse_limit,
    parse_new_tweet,
    parse_positive_id,
    parse_query,
    parse_source,
)


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_accepts_a_valid_tweet():
    """A user id and 1..max_text characters of text are accepted as they are."""
    tweet = parse_new_tweet(body(user_id=3, text="héllo 👋"), max_text=280)
    assert (tweet.user_id, tweet.text) == (3, "héllo 👋")


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"\xff\xfe", 400, "malformed_json"),
        (b"[1, 2]", 400, "malformed_json"),
        (body(text="hi"), 422, "invalid_user_id"),
        (body(user_id="3", text="hi"), 422, "invalid_user_id"),
        (body(user_id=True, text="hi"), 422, "invalid_user_id"),
        (body(user_id=1.5, text="hi"), 422, "invalid_user_id"),
        (body(user_id=0, text="hi"), 422, "unknown_user"),
        (body(user_id=2**31, text="hi"), 422, "unknown_user"),
        (body(user_id=3), 422, "invalid_text"),
        (body(user_id=3, text=5), 422, "invalid_text"),
        (body(user_id=3, text=""), 422, "empty_text"),
        (body(user_id=3, text="   \n"), 422, "empty_text"),
        (body(user_id=3, text="x" * 281), 422, "text_too_long"),
        (body(user_id=3, text="a\x00b"), 422, "invalid_text"),
        (b'{"user_id": 3, "text": "\\ud800"}', 422, "invalid_text"),
    ],
)
def test_refuses_bad_tweets(raw: bytes, status: int, code: str):
    """Malformed JSON, wrong types, empty, oversized or unstorable text: a 4xx with a code."""
    with pytest.raises(InvalidRequest) as caught:
        parse_new_tweet(raw, max_text=280)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_limit_defaults_and_bounds():
    """An absent limit is the default; 1..maximum is accepted; anything else is a 400."""
    assert parse_limit(None, 50, 800) == 50
    assert parse_limit("1", 50, 800) == 1
    assert parse_limit("800", 50, 800) == 800
    for bad in ("0", "801", "-1", "abc", "1.5", "", "٣", "9" * 40):
        with pytest.raises(InvalidRequest) as caught:
            parse_limit(bad, 50, 800)
        assert caught.value.status == 400


def test_path_ids():
    """A path id must be decimal digits; out of range is an unknown thing (404), garbage a 400."""
    assert parse_positive_id("42", "user_id", 100) == 42
    with pytest.raises(InvalidRequest) as caught:
        parse_positive_id("abc", "user_id", 100)
    assert caught.value.status == 400
    with pytest.raises(InvalidRequest) as caught:
        parse_positive_id("101", "user_id", 100)
    assert (caught.value.status, caught.value.code) == (404, "unknown_user")
    with pytest.raises(InvalidRequest):
        parse_positive_id("1" * 30, "tweet_id", 2**63 - 1)


def test_source_parameter():
    """The read path can be forced to cache or sql; other values are refused."""
    assert parse_source(None) == "auto"
    assert parse_source("sql") == "sql"
    with pytest.raises(InvalidRequest):
        parse_source("disk")


def test_query_string():
    """Query parameters: first value wins, escapes decoded, empty parts ignored."""
    assert parse_query("") == {}
    assert parse_query("limit=5&source=sql&limit=9") == {"limit": "5", "source": "sql"}
    assert parse_query("limit=%31%30&&x") == {"limit": "10", "x": ""}
    assert parse_query("a+b=c+d") == {"a b": "c d"}
