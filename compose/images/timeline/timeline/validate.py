"""Request validation: bad input is a 4xx with a JSON error, before anything is written.

Pure, so every rejection rule is unit-tested without a server. Postgres
rejects some strings Python accepts (NUL characters, lone surrogates); they are
refused here, otherwise they would surface as a 500 after a round trip.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

__all__ = [
    "InvalidRequest",
    "NewTweet",
    "parse_limit",
    "parse_new_tweet",
    "parse_positive_id",
    "parse_query",
    "parse_source",
]

# Postgres integer and bigint columns: ids beyond them cannot exist.
MAX_USER_ID = 2**31 - 1
MAX_TWEET_ID = 2**63 - 1
SOURCES = ("auto", "cache", "sql")


class InvalidRequest(Exception):
    """The client sent something the API refuses; ``status`` is the 4xx to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewTweet:
    user_id: int
    text: str


def parse_new_tweet(body: bytes, max_text: int) -> NewTweet:
    """``{"user_id": int, "text": str}`` with 1..max_text characters of storable text."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidRequest(400, "malformed_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequest(400, "malformed_json", "the body must be a JSON object")
    user_id = data.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise InvalidRequest(422, "invalid_user_id", "user_id must be an integer")
    if not 1 <= user_id <= MAX_USER_ID:
        raise InvalidRequest(422, "unknown_user", f"no user {user_id}")
    text = data.get("text")
    if not isinstance(text, str):
        raise InvalidRequest(422, "invalid_text", "text must be a string")
    if not text.strip():
        raise InvalidRequest(422, "empty_text", "text must not be empty")
    if len(text) > max_text:
        raise InvalidRequest(422, "text_too_long", f"text has {len(text)} characters, at most {max_text} allowed")
    if "\x00" in text:
        raise InvalidRequest(422, "invalid_text", "text must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(422, "invalid_text", "text must be valid Unicode (no lone surrogates)") from None
    return NewTweet(user_id, text)


def parse_positive_id(raw: str, what: str, maximum: int) -> int:
    """A path segment that must be an id (decimal digits, 1..maximum)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidRequest(400, f"invalid_{what}", f"{what} must be a positive integer, got {raw[:40]!r}")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise InvalidRequest(404, f"unknown_{what.removesuffix('_id')}", f"no {what.removesuffix('_id')} {value}")
    return value


def parse_query(query_string: str) -> dict[str, str]:
    """The first value of each query parameter (cheaper than aiohttp's MultiDict on the hot path)."""
    params: dict[str, str] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = urllib.parse.unquote_plus(name), urllib.parse.unquote_plus(value)
        params.setdefault(name, value)
    return params


def parse_limit(raw: str | None, default: int, maximum: int) -> int:
    """``?limit=N`` with 1 <= N <= maximum (the cache cap); absent means ``default``."""
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidRequest(400, "invalid_limit", f"limit must be an integer from 1 to {maximum}")
    value = int(raw)
    if not 1 <= value <= maximum:
        raise InvalidRequest(400, "invalid_limit", f"limit must be an integer from 1 to {maximum}")
    return value


def parse_source(raw: str | None) -> str:
    """``?source=auto|cache|sql``: force one read path (for benchmarks and demonstrations)."""
    if raw is None:
        return "auto"
    if raw not in SOURCES:
        raise InvalidRequest(400, "invalid_source", f"source must be one of {', '.join(SOURCES)}")
    return raw
