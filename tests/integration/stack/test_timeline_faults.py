"""Faults the stack tolerates: a dead or stalled cache, a dead api replica, a crashed worker, jobs delivered twice
or late."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import wait_until

pytestmark = pytest.mark.stack

READERS = range(1, 81)


def job_for(stack, tweet_id: int) -> str:
    """The fan-out job of a tweet: its JSON exactly as the API renders and queues it."""
    answer = stack.get(f"/tweets/{tweet_id}")
    assert answer.status == 200, answer
    return json.dumps(answer.body, separators=(",", ":"))


def test_timelines_served_from_sql_while_redis_is_dead(stack):
    """With Redis killed every read is answered from SQL without an error; once it is back the cache serves again."""
    author = stack.ordinary_user_with_followers(offset=1)
    fallbacks_before = stack.metrics()["stack"]["total"]["fallbacks"]
    redis = stack.container("redis")
    redis.kill()
    try:
        answers = [stack.get(f"/timeline/{user}?limit=20") for user in READERS]
        assert [a.status for a in answers] == [200] * len(READERS)
        assert {a.source for a in answers} == {"sql"}
        assert all(a.body["count"] == 20 for a in answers)
        # Posting still works: committed in Postgres, fan-out deferred to the outbox.
        post = stack.post("/tweets", {"user_id": author, "text": "posted while the cache is dead"})
        assert post.status == 201 and post.body["fanout"] == "deferred", post
        assert stack.metrics()["stack"]["total"]["fallbacks"] > fallbacks_before
    finally:
        redis.start()
        stack.wait_healthy(redis)

    # The restarted Redis is empty: the first read misses and repairs, later ones hit.
    stack.warm(READERS[0])
    tweet_id = post.body["id"]

    def fanned_out() -> bool:
        return stack.sql(f"SELECT fanned_out FROM tweets WHERE id = {tweet_id}") == [["t"]]

    # The worker's outbox sweep fans out what could not be queued.
    wait_until(fanned_out, what=f"deferred tweet {tweet_id} fanned out", timeout_s=15)
    follower = stack.followers(author, n=1)[0]
    stack.warm(follower)
    assert tweet_id in stack.timeline_ids(follower, limit=20, source="cache")[1]


def test_a_restarted_redis_is_warmed_again_by_the_cache_only_load(stack):
    """What cache-down.yaml's rollback runs: every cache rebuilt from Postgres, and Postgres never reloaded."""
    redis = stack.container("redis")
    redis.kill()
    redis.start()
    stack.wait_healthy(redis)
    user = READERS[-1]
    assert stack.get(f"/timeline/{user}?limit=20&source=cache").status == 503  # cold: a miss
    worker = stack.container("worker")

    def load(*args: str) -> tuple[int, str]:
        result = worker.exec_run(["python3", "-m", "timeline.load", "--cache-only", *args], demux=True)
        out, err = result.output
        return result.exit_code, (out or b"").decode() + (err or b"").decode()

    code, output = load()
    assert code == 0, output
    summary = json.loads(output)
    assert summary["database"] == "present" and summary["cache"] == "warmed", summary
    assert stack.timeline_ids(user, limit=20, source="cache") == ("cache", stack.timeline_ids(user, limit=20, source="sql")[1])
    # Another data set asked for: refused, nothing reloaded; and a warm cache is left alone.
    code, output = load("--users", "7")
    assert code == 1 and "--cache-only" in output and "compose/stack.sh load" in output, output
    code, output = load()
    assert code == 0 and json.loads(output)["cache"] == "warm", output


def test_a_redis_stall_fails_only_the_reads_that_outwaited_the_cache_timeout(stack):
    """Redis paused: the first reads time out (SQL); reads sent later on the same connection get the cache.

    Each api replica multiplexes its reads on one Redis connection. A read's timeout (250 ms)
    must fail that read, not the reads waiting behind it, whose own deadlines outlast the pause.
    """
    early, late = [201, 202], [211, 212, 213, 214]
    for user in early + late:
        stack.warm(user)
    # Redis notices the end of a pause at its next tick (up to 100 ms at hz 10): it answers
    # again between 300 and about 400 ms.
    redis = stack.container("redis")
    address = next(iter(redis.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    with socket.create_connection((address, 6379), timeout=5) as conn:
        conn.sendall(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n$3\r\n300\r\n")
        assert conn.recv(16) == b"+OK\r\n"
        paused = time.monotonic()

    def read_at(offset_s: float, user: int) -> tuple[int, str | None]:
        time.sleep(max(0.0, paused + offset_s - time.monotonic()))
        answer = stack.get(f"/timeline/{user}?limit=5")
        return answer.status, answer.source

    # One early read per replica (nginx alternates), timing out at 250 and 260 ms; the late
    # reads are sent before that, at 200-215 ms, and their deadlines (450-465 ms) outlast the pause.
    offsets = [0.0, 0.01, 0.2, 0.205, 0.21, 0.215]
    with ThreadPoolExecutor(len(offsets)) as pool:
        answers = list(pool.map(read_at, offsets, early + late))
    assert answers[:len(early)] == [(200, "sql")] * len(early), answers
    assert answers[len(early):] == [(200, "cache")] * len(late), answers


def test_nginx_keeps_serving_when_an_api_replica_dies(stack):
    """With one api replica killed nginx answers every request from the other; the restarted one is used again."""
    replicas = stack.containers("api")
    assert len(replicas) == 2
    victim = replicas[0]
    victim.kill()
    try:
        answers = [stack.get(f"/timeline/{user}?limit=10") for user in READERS]
        assert [a.status for a in answers] == [200] * len(READERS)
        served_by = {stack.get("/healthz").body["replica"] for _ in range(20)}
        assert served_by == {replicas[1].id[:12]}
    finally:
        victim.start()
        stack.wait_healthy(victim)

    def both_serve() -> bool:
        return {stack.get("/healthz").body["replica"] for _ in range(20)} == {r.id[:12] for r in replicas}

    wait_until(both_serve, what="nginx balancing over both replicas again", timeout_s=15)


def test_fanout_survives_a_worker_crash(stack):
    """Tweets queued while the worker is dead are fanned out when it comes back: the queue loses nothing."""
    author = stack.ordinary_user_with_followers(offset=2)
    follower = stack.followers(author, n=1)[0]
    stack.warm(follower)
    worker = stack.container("worker")
    worker.kill()
    try:
        post = stack.post("/tweets", {"user_id": author, "text": "queued while the worker is down"})
        assert post.status == 201 and post.body["fanout"] == "queued", post
        tweet_id = post.body["id"]
        # Not in the cache yet, but the SQL path (approach 1) already has it.
        assert tweet_id not in stack.timeline_ids(follower, limit=20, source="cache")[1]
        assert tweet_id in stack.timeline_ids(follower, limit=20, source="sql")[1]
    finally:
        worker.start()
        stack.wait_healthy(worker)

    wait_until(
        lambda: tweet_id in stack.timeline_ids(follower, limit=20, source="cache")[1],
        what=f"tweet {tweet_id} fanned out after the worker restart",
        timeout_s=10,
    )


def test_replayed_and_late_fanout_jobs_are_harmless(stack):
    """Jobs delivered twice, or late and out of order, leave each cached list sorted and free of duplicates."""
    author = stack.ordinary_user_with_followers(offset=3)
    follower = stack.followers(author, n=1)[0]
    stack.warm(follower)
    post = stack.post("/tweets", {"user_id": author, "text": "delivered at least once"})
    assert post.status == 201, post
    new_id = post.body["id"]
    wait_until(lambda: new_id in stack.timeline_ids(follower, limit=20, source="cache")[1],
               what=f"tweet {new_id} fanned out", timeout_s=10)
    # An old tweet of the author's that the cache already holds, and the new one: replay both.
    old_id = int(stack.sql(f"SELECT max(id) FROM tweets WHERE sender_id = {author} AND id < {new_id}")[0][0])
    for tweet_id in (new_id, old_id, new_id):
        stack.redis("LPUSH", "fanout:queue", job_for(stack, tweet_id))
    wait_until(lambda: stack.redis("LLEN", "fanout:queue") == "0", what="replayed jobs consumed", timeout_s=10)
    time.sleep(0.5)  # the last job may still be in flight
    cached = [int(i) for i in stack.redis("LRANGE", f"tl:{follower}", "0", "-1").split()]
    assert cached == sorted(set(cached), reverse=True)
    assert cached.count(new_id) == 1


def test_a_lost_fanout_is_restored_in_order_by_its_replay(stack):
    """A tweet missing from a cached list (a lost fan-out) is inserted in its place when its job is replayed."""
    author = stack.ordinary_user_with_followers(offset=4)
    follower = stack.followers(author, n=1)[0]
    stack.warm(follower)
    key = f"tl:{follower}"
    cached = [int(i) for i in stack.redis("LRANGE", key, "0", "-1").split()]
    ids_by_author = {int(r[0]) for r in stack.sql(f"SELECT id FROM tweets WHERE sender_id = {author}")}
    victim = next(i for i in cached[1:] if i in ids_by_author)  # not the newest: a late, out-of-order insert
    assert stack.redis("LREM", key, "0", str(victim)) == "1"
    stack.redis("LPUSH", "fanout:queue", job_for(stack, victim))
    wait_until(lambda: stack.redis("LPOS", key, str(victim)) != "", what="late tweet re-inserted", timeout_s=10)
    after = [int(i) for i in stack.redis("LRANGE", key, "0", "-1").split()]
    assert after == sorted(set(after), reverse=True)
    assert set(cached) <= set(after)
