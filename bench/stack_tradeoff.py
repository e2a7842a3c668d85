"""DDIA ch. 1's trade-off on the sample stack's data: approach 1 (SQL join) vs approach 2 (fan-out cache).

    .venv/bin/python -m bench.stack_tradeoff [--url http://127.0.0.1:8080] [--project chaoskit]

Needs a running stack with its data loaded (compose/stack.sh up). Measures:

* a timeline read by each approach, through nginx (``?source=sql`` forces
  approach 1, ``?source=cache`` approach 2 with the celebrity merge), at a
  modest open-loop rate, with the database and Redis work per read taken
  from pg_stat_database and Redis's commandstats over each run;
* approach 1's plan on a sample of users: EXPLAIN (ANALYZE, BUFFERS);
* a post's cost with fan-out: cache writes per post (the worker's counters)
  for posts by random users, and for a celebrity, next to what fanning the
  celebrity out would have cost.

Prints a Markdown table (and ``--json FILE``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from chaoskit.measure.mix import RequestMix
from chaoskit.model.load import RequestSpec, UserDistribution


from bench.stack_common import Stack, open_load

# The api's counter of reads each approach served.
SERVED_BY = {"cache": "cache_hits", "sql": "sql_reads"}

# The API's approach-1 query (compose/images/timeline/timeline/db.py, TIMELINE_SQL).
TIMELINE_SQL = """
SELECT t.id, t.sender_id, t.text, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM follows f
CROSS JOIN LATERAL (
    SELECT id, sender_id, text, created_at FROM tweets
    WHERE sender_id = f.followee_id ORDER BY id DESC LIMIT {limit}
) t
WHERE f.follower_id = {user}
ORDER BY t.id DESC
LIMIT {limit}
"""


def read_run(stack: Stack, source: str, users: int, rate: float, seconds: float, limit: int) -> dict[str, Any]:
    """Open-model reads by one approach; the database and Redis work per read over the run."""
    read = RequestSpec("read", f"{stack.url}/timeline/{{user}}?limit={limit}&source={source}")
    pg0, redis0, api0 = stack.pg_counters(), stack.command_calls(), stack.metrics()["stack"]["total"]
    summary, _ = open_load((read,), rate, seconds, users=UserDistribution(users, zipf_exponent=0.0), seed=3)
    pg1, redis1 = stack.pg_counters(), stack.command_calls()
    time.sleep(1.2)  # the api publishes its counters once a second
    api1 = stack.metrics()["stack"]["total"]
    n = max(1, summary["sent"])
    # A read the other approach served (a cache miss falls back to SQL) measures the wrong one.
    served = api1.get(SERVED_BY[source], 0) - api0.get(SERVED_BY[source], 0)
    if served < summary["ok"]:
        summary["errors"]["served by the other approach"] = summary["ok"] - served
    summary["db_per_read"] = {k: round((pg1[k] - pg0[k]) / n, 2) for k in pg0}
    summary["redis_calls_per_read"] = {
        k: round((redis1.get(k, 0) - redis0.get(k, 0)) / n, 2)
        for k in sorted(set(redis1) | set(redis0))
        if (redis1.get(k, 0) - redis0.get(k, 0)) / n >= 0.05 and k not in ("info",)
    }
    return summary


def explain(stack: Stack, users: list[int], limit: int) -> dict[str, float]:
    times, hits, reads, rows = [], [], [], []
    for user in users:
        out = stack.sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)" + TIMELINE_SQL.format(user=user, limit=limit))
        plan = json.loads("".join(cell for row in out for cell in row))[0]
        times.append(plan["Execution Time"])
        top = plan["Plan"]
        hits.append(top.get("Shared Hit Blocks", 0))
        reads.append(top.get("Shared Read Blocks", 0))
        # Rows the sort had to look at: every tweet of every followee, before the LIMIT.
        node = top
        while node.get("Node Type") not in ("Sort", "Incremental Sort") and node.get("Plans"):
            node = node["Plans"][0]
        rows.append(node.get("Actual Rows", 0) if node.get("Node Type") != "Sort" else node["Plans"][0]["Actual Rows"])
    return {
        "users_sampled": len(users),
        "execution_ms_mean": round(statistics.mean(times), 3),
        "execution_ms_p90": round(sorted(times)[int(0.9 * (len(times) - 1))], 3),
        "shared_blocks_hit_mean": round(statistics.mean(hits), 1),
        "shared_blocks_read_mean": round(statistics.mean(reads), 1),
        "tweet_rows_sorted_mean": round(statistics.mean(rows), 1),
    }


def post_run(stack: Stack, author: int | None, count: int, users: int, rate: float) -> dict[str, Any]:
    """``count`` open-model posts by ``author`` (or by uniformly drawn users); cache writes per post."""
    post = RequestSpec("post", f"{stack.url}/tweets", method="POST",
                       json={"user_id": author if author is not None else "{user}", "text": "trade-off post {seq}"})
    before = stack.metrics()["stack"]["total"]
    summary, _ = open_load((post,), rate, count / rate, users=UserDistribution(users, zipf_exponent=0.0), seed=5)
    # Wait for the worker to finish and publish its counters (once a second).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(1.2)
        after = stack.metrics()["stack"]["total"]
        if after["jobs_done"] - before["jobs_done"] >= summary["ok"]:
            break
    jobs = after["jobs_done"] - before["jobs_done"]
    writes = after["cache_writes"] - before["cache_writes"]
    return {"posts": summary["ok"], "jobs": jobs, "cache_writes": writes,
            "cache_writes_per_post": round(writes / jobs, 2) if jobs else None,
            "post_latency_ms": summary["latency_ms"]}


def drawn_users(count: int, users: int) -> list[int]:
    """The users post_run's generator draws for its first ``count`` posts (the draws replay from the seed)."""
    spec = RequestSpec("post", "http://unused/")
    return [user for _, user in RequestMix((spec,), UserDistribution(users, zipf_exponent=0.0), seed=5).draw(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--project", default="chaoskit")
    parser.add_argument("--rate", type=float, default=200, help="reads per second for each approach")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--limit", type=int, default=20, help="tweets per timeline read (the API's default page)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    stack = Stack(args.project, args.url)
    rows = stack.sql("SELECT id, followers_count FROM users ORDER BY id")
    followers = {int(r[0]): int(r[1]) for r in rows}
    threshold = int(stack.metrics()["settings"]["celebrity_threshold"])
    celebrities = sorted((u for u, c in followers.items() if c >= threshold), key=lambda u: -followers[u])
    rng = random.Random(3)
    results: dict[str, Any] = {"users": len(followers), "celebrity_threshold": threshold, "limit": args.limit}

    print("approach 2 (cache + celebrity merge) reads ...", flush=True)
    results["approach2"] = read_run(stack, "cache", len(followers), args.rate, args.seconds, args.limit)
    print("approach 1 (SQL join) reads ...", flush=True)
    results["approach1"] = read_run(stack, "sql", len(followers), args.rate, args.seconds, args.limit)
    print("EXPLAIN ANALYZE of approach 1 ...", flush=True)
    results["approach1_plan"] = explain(stack, rng.sample(list(followers), 40), args.limit)

    print(f"{args.posts} posts by random users ...", flush=True)
    authors = drawn_users(args.posts, len(followers))
    results["posts_random"] = post_run(stack, None, args.posts, len(followers), rate=50)
    results["posts_random"]["followers_of_authors_mean"] = round(statistics.mean(followers[a] for a in authors), 1)
    # Expected writes per post if every user posts equally often: followers + 1, or 2 for a celebrity.
    results["cache_writes_per_post_expected"] = round(
        statistics.mean(c + 1 if c < threshold else 2 for c in followers.values()), 1
    )
    top = celebrities[0]
    print(f"10 posts by the top celebrity (user {top}, {followers[top]} followers) ...", flush=True)
    results["posts_celebrity"] = post_run(stack, top, 10, len(followers), rate=10)
    results["posts_celebrity"].update(user=top, followers=followers[top],
                                      writes_if_fanned_out=followers[top] + 1)
    results["celebrities"] = {u: followers[u] for u in celebrities}

    print()
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def markdown(r: dict[str, Any]) -> str:
    a1, a2, plan = r["approach1"], r["approach2"], r["approach1_plan"]
    pr, pc = r["posts_random"], r["posts_celebrity"]

    def lat(x: dict[str, Any]) -> str:
        return f"p50 {x['latency_ms']['p50']:.1f} / p99 {x['latency_ms']['p99']:.1f}"

    def tuples(x: dict[str, Any]) -> float:
        return float(x["db_per_read"]["tuples_returned"] + x["db_per_read"]["tuples_fetched"])

    def redis(x: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:g}" for k, v in x["redis_calls_per_read"].items()) or "0"

    return "\n".join([
        f"Data: {r['users']} users, celebrities (>= {r['celebrity_threshold']} followers): "
        + ", ".join(f"{u} ({c})" for u, c in r["celebrities"].items()),
        "",
        "| | approach 1: SQL join over follows | approach 2: fan-out cache + celebrity merge |",
        "|---|---|---|",
        f"| read latency, ms ({a1['target_rate']:.0f} req/s, through nginx) | {lat(a1)} | {lat(a2)} |",
        f"| errors | {sum(a1['errors'].values())} | {sum(a2['errors'].values())} |",
        f"| Postgres transactions per read | {a1['db_per_read']['transactions']:g}"
        f" | {a2['db_per_read']['transactions']:g} |",
        f"| Postgres blocks touched per read | {a1['db_per_read']['blocks']:g} | {a2['db_per_read']['blocks']:g} |",
        f"| Postgres tuples read per read | {tuples(a1):g} | {tuples(a2):g} |",
        f"| Redis calls per read | {redis(a1)} | {redis(a2)} |",
        f"| EXPLAIN ANALYZE (approach 1, {plan['users_sampled']} users) | {plan['execution_ms_mean']} ms mean, "
        f"{plan['shared_blocks_hit_mean']:g} buffers hit + {plan['shared_blocks_read_mean']:g} read, "
        f"{plan['tweet_rows_sorted_mean']:g} tweets sorted to return {r['limit']} | - |",
        f"| cost of a post (random users, mean {pr['followers_of_authors_mean']:g} followers) | 1 insert | "
        f"1 insert + {pr['cache_writes_per_post']} cache writes (measured over {pr['jobs']} posts) |",
        f"| cost of a celebrity's post (user {pc['user']}, {pc['followers']} followers) | 1 insert | "
        f"1 insert + {pc['cache_writes_per_post']} cache writes"
        f" (fanned out it would be {pc['writes_if_fanned_out']}) |",
    ])


if __name__ == "__main__":
    sys.exit(main())
