"""The timeline stack's API, end to end through nginx: fan-out, celebrity merge, bad input."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.stack.conftest import CELEBRITY_THRESHOLD
from tests.support import wait_until

pytestmark = pytest.mark.stack


def test_post_reaches_followers_cached_timelines(stack):
    """A posted tweet is committed (201), then appears in each follower's cached timeline."""
    author = stack.ordinary_user_with_followers()
    text = f"fan-out check {uuid.uuid4().hex[:8]}"
    answer = stack.post("/tweets", {"user_id": author, "text": text})
    assert answer.status == 201, answer
    tweet_id = answer.body["id"]
    assert stack.sql(f"SELECT text FROM tweets WHERE id = {tweet_id}") == [[text]]

    for follower in stack.followers(author):
        def visible(follower: int = follower) -> bool:
            source, ids = stack.timeline_ids(follower, limit=20)
            return source == "cache" and tweet_id in ids

        wait_until(visible, what=f"tweet {tweet_id} in follower {follower}'s cached timeline", timeout_s=5)
    # Its own timeline does not hold it (DDIA's query: tweets of the people one follows).
    assert tweet_id not in stack.timeline_ids(author, limit=20, source="sql")[1]

    fetched = stack.get(f"/tweets/{tweet_id}")
    assert fetched.status == 200 and fetched.body["text"] == text


def test_celebrity_tweet_is_merged_at_read_time_not_fanned_out(stack):
    """A celebrity's tweet reaches followers' timelines through the read-time merge, with no fan-out writes."""
    celebrity = stack.celebrity()
    answer = stack.post("/tweets", {"user_id": celebrity, "text": "a celebrity speaks"})
    assert answer.status == 201, answer
    tweet_id = answer.body["id"]
    follower = stack.followers(celebrity, n=1)[0]

    def merged() -> bool:
        source, ids = stack.timeline_ids(follower, limit=10)
        return source == "cache" and ids[0] == tweet_id

    wait_until(merged, what=f"celebrity tweet {tweet_id} on top of follower {follower}'s timeline", timeout_s=5)
    # Not in the follower's fanned-out list, only in the celebrity's own one.
    assert stack.redis("LPOS", f"tl:{follower}", str(tweet_id)) == ""
    assert stack.redis("LPOS", f"ut:{celebrity}", str(tweet_id)) == "0"


@pytest.mark.parametrize("user", [3, 250, 1024, 1999])
def test_cache_path_matches_approach_one(stack, user):
    """The cached timeline plus the celebrity merge equals the SQL join over follows (DDIA approach 1)."""
    stack.warm(user)
    cache = stack.get(f"/timeline/{user}?limit=60&source=cache")
    sql = stack.get(f"/timeline/{user}?limit=60&source=sql")
    assert (cache.status, sql.status) == (200, 200)
    assert (cache.source, sql.source) == ("cache", "sql")
    assert cache.body["count"] == 60
    assert cache.body["tweets"] == sql.body["tweets"]


def test_followers_endpoint_agrees_with_the_follow_graph(stack):
    """GET /users/{id}/followers: the count and the first ids as in SQL, and who is a celebrity (not fanned out)."""
    author = stack.ordinary_user_with_followers()
    answer = stack.get(f"/users/{author}/followers?limit=3")
    assert answer.status == 200, answer
    count = int(stack.sql(f"SELECT count(*) FROM follows WHERE followee_id = {author}")[0][0])
    assert answer.body == {"user_id": author, "followers_count": count, "celebrity": False,
                           "followers": stack.followers(author, n=3)}
    celebrity = stack.get(f"/users/{stack.celebrity()}/followers?limit=1").body
    assert celebrity["celebrity"] is True and celebrity["followers_count"] >= CELEBRITY_THRESHOLD
    assert stack.get("/users/999999/followers").status == 404
    assert stack.get(f"/users/{author}/followers?limit=1001").status == 400


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/tweets", b"{not json", 400),
        ("POST", "/tweets", b'{"user_id": 1}', 422),
        ("POST", "/tweets", b'{"user_id": 1, "text": ""}', 422),
        ("POST", "/tweets", b'{"user_id": 1, "text": "' + b"x" * 281 + b'"}', 422),
        ("POST", "/tweets", b'{"user_id": 999999, "text": "who am i"}', 422),
        ("POST", "/tweets", b'{"user_id": "1", "text": "hi"}', 422),
        ("POST", "/tweets", b"x" * 10_000, 413),
        ("GET", "/timeline/999999", None, 404),
        ("GET", "/timeline/abc", None, 400),
        ("GET", "/timeline/1?limit=0", None, 400),
        ("GET", "/timeline/1?limit=801", None, 400),
        ("GET", "/timeline/1?limit=ten", None, 400),
        ("GET", "/tweets/999999999", None, 404),
        ("DELETE", "/tweets", None, 405),
        ("GET", "/no/such/thing", None, 404),
    ],
)
def test_bad_input_is_a_json_4xx_and_writes_nothing(stack, method, path, body, status):
    """Malformed JSON, unknown users, empty or oversized text, bad limits: 4xx with a JSON error, no row written."""
    before = stack.sql("SELECT count(*) FROM tweets")
    answer = stack.request(method, path, body)
    assert answer.status == status, answer
    assert isinstance(answer.body, dict) and answer.body["error"], answer
    assert stack.sql("SELECT count(*) FROM tweets") == before


def test_health_readiness_and_metrics(stack):
    """/healthz and /readyz answer 200 with both dependencies up; /metrics sums the whole stack."""
    assert stack.get("/healthz").status == 200
    ready = stack.get("/readyz")
    assert ready.status == 200 and ready.body["postgres"] == "ok" and ready.body["redis"] == "ok"
    metrics = stack.metrics()
    assert set(metrics["queue"]) >= {"queued", "processing", "outbox_pending"}
    total = metrics["stack"]["total"]
    for name in ("cache_hits", "cache_misses", "fallbacks", "errors", "jobs_done"):
        assert name in total
    assert total["internal_errors"] == 0
    assert len([p for p in metrics["stack"]["live"] if p.startswith("api:")]) == 2
