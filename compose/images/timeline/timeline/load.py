"""Load the seed data into Postgres and warm every cache in Redis; idempotent.

    python3 -m timeline.load [--users 10000] [--seed 42] [--force] [--rewarm] [--cache-only]

Postgres keeps a marker of the data set it holds (users and seed): when it
matches, the database is left alone (``--force`` reloads it). Redis keeps a
marker too (data set, celebrity threshold, cap): when it is missing (a
restarted Redis) or differs, every user's timeline is rebuilt from Postgres,
which includes tweets posted since the load. The loader is a set-up tool: it
talks to Postgres and Redis directly, not through Toxiproxy, so an experiment
left running cannot break a reload. Prints one JSON line with timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import psycopg

from .cache import TimelineCache
from .datagen import Dataset, generate
from .db import TS
from .merge import merge_timelines
from .render import tweet_json
from .resp import CacheError, Redis
from .schema import CREATE_TABLES, DROP_TABLES, INDEXES, SCHEMA_VERSION
from .settings import Settings

__all__ = ["main"]

WARM_MARKER_KEY = "meta:warm"
BATCH = 200


async def dataset_present(conn: psycopg.AsyncConnection) -> str | None:
    cur = await conn.execute("SELECT to_regclass('meta') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return None
    cur = await conn.execute("SELECT value FROM meta WHERE key = 'dataset'")
    row = await cur.fetchone()
    return row[0] if row else None


async def load_database(conn: psycopg.AsyncConnection, data: Dataset) -> dict[str, int]:
    """Replace the tables with ``data`` in one transaction (so a failed load leaves the old data)."""
    counts = data.follower_counts()
    async with conn.transaction():
        await conn.execute(DROP_TABLES)
        await conn.execute(CREATE_TABLES)
        async with conn.cursor() as cur:
            async with cur.copy("COPY users (id, name, followers_count) FROM STDIN") as copy:
                for user in range(1, data.users + 1):
                    await copy.write_row((user, f"user{user}", counts[user - 1]))
            async with cur.copy("COPY follows (follower_id, followee_id) FROM STDIN") as copy:
                chunk: list[str] = []
                for follower, followee in data.follows():
                    chunk.append(f"{follower}\t{followee}\n")
                    if len(chunk) >= 50_000:
                        await copy.write("".join(chunk))
                        chunk.clear()
                await copy.write("".join(chunk))
            async with cur.copy("COPY tweets (id, sender_id, text, created_at, fanned_out) FROM STDIN") as copy:
                for tweet in data.tweets:
                    # Seed tweets are in the caches by the warm-up below, not by fan-out.
                    await copy.write_row((tweet.id, tweet.sender_id, tweet.text, tweet.created_at, True))
            await cur.execute(INDEXES)
            await cur.execute("SELECT setval('tweets_id_seq', %s)", (len(data.tweets),))
            await cur.execute(
                "INSERT INTO meta VALUES ('dataset', %s), ('loaded_at', now()::text)",
            (f"{data.marker},schema={SCHEMA_VERSION}",),
            )
    # VACUUM too, not only ANALYZE: it marks the pages all-visible, which index-only scans need.
    await conn.execute("VACUUM ANALYZE")
    return {"users": data.users, "follows": sum(counts), "tweets": len(data.tweets)}


async def warm_all(conn: psycopg.AsyncConnection, cache: TimelineCache, threshold: int) -> dict[str, int]:
    """Every user's cached timeline, every celebrity's list and the tweets they hold, from Postgres."""
    cap = cache.cap
    cur = await conn.execute("SELECT id FROM users WHERE followers_count >= %s ORDER BY id", (threshold,))
    celebrities = {r[0] for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT sender_id, (array_agg(id ORDER BY id DESC))[1:%s] FROM tweets GROUP BY sender_id", (cap,)
    )
    own = {r[0]: r[1] for r in await cur.fetchall()}
    cur = await conn.execute(
        f"SELECT t.id, t.sender_id, t.text, {TS} FROM (SELECT *, row_number() OVER"
        " (PARTITION BY sender_id ORDER BY id DESC) AS rank FROM tweets) t WHERE t.rank <= %s",
        (cap,),
    )
    bodies = {r[0]: tweet_json(*r) for r in await cur.fetchall()}
    await cache.store_bodies(bodies, timeout_s=60)
    del bodies

    commands = [cache.warm_own_command(c, own.get(c, [])) for c in sorted(celebrities)]
    cur = await conn.execute("SELECT u.id, array_remove(array_agg(f.followee_id), NULL) FROM users u"
                             " LEFT JOIN follows f ON f.follower_id = u.id GROUP BY u.id")
    entries = 0
    for user_id, followees in await cur.fetchall():
        ordinary = [own[f] for f in followees if f not in celebrities and f in own]
        ids = merge_timelines(ordinary, cap)
        entries += len(ids)
        commands.append(cache.warm_timeline_command(user_id, [f for f in followees if f in celebrities], ids))
        if len(commands) >= BATCH:
            await cache.run_warm(commands, timeout_s=60)
            commands = []
    await cache.run_warm(commands, timeout_s=60)
    return {"cached_entries": entries, "celebrities": len(celebrities)}


async def run(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    summary: dict[str, object] = {"dataset": f"users={args.users},seed={args.seed},schema={SCHEMA_VERSION}"}
    started = time.monotonic()
    redis = Redis(args.redis_host, args.redis_port, 10.0)
    cache = TimelineCache(redis, settings.cache_cap)
    async with await psycopg.AsyncConnection.connect(args.dsn, autocommit=True) as conn:
        present = await dataset_present(conn)
        reloaded = args.force or present != summary["dataset"]
        if reloaded and args.cache_only:
            # An experiment's rollback warms caches; it must never reload the source of truth.
            raise ValueError(f"--cache-only: Postgres holds data set {present!r}, not {summary['dataset']!r}; "
                             "run compose/stack.sh load")
        if reloaded:
            data = generate(args.users, args.seed)
            summary["generate_s"] = round(time.monotonic() - started, 2)
            summary.update(await load_database(conn, data))
            summary["database"] = "loaded"
        else:
            summary["database"] = "present"
        summary["database_s"] = round(time.monotonic() - started, 2)

        marker = f"{summary['dataset']},threshold={settings.celebrity_threshold},cap={settings.cache_cap}"
        warm = await redis.execute("GET", WARM_MARKER_KEY)
        if reloaded or args.rewarm or warm != marker.encode():
            warm_started = time.monotonic()
            if reloaded:
                # Lists from an older data set would point at tweet ids that no longer exist.
                await redis.execute("FLUSHDB")
            summary.update(await warm_all(conn, cache, settings.celebrity_threshold))
            await redis.execute("SET", WARM_MARKER_KEY, marker)
            summary["cache"] = "warmed"
            summary["cache_s"] = round(time.monotonic() - warm_started, 2)
        else:
            summary["cache"] = "warm"
    redis.close()
    summary["total_s"] = round(time.monotonic() - started, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m timeline.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("CHAOSKIT_USERS", "10000")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOSKIT_SEED", "42")))
    parser.add_argument("--force", action="store_true", help="reload Postgres even if the data set is there")
    parser.add_argument("--rewarm", action="store_true", help="rebuild the Redis caches even if they are warm")
    parser.add_argument("--cache-only", action="store_true",
                        help="only warm the caches if they are cold (a restarted Redis); never touch Postgres")
    dsn = os.environ.get("TIMELINE_LOAD_DSN", "host=postgres user=postgres dbname=postgres")
    parser.add_argument("--dsn", default=dsn)
    parser.add_argument("--redis-host", default=os.environ.get("TIMELINE_LOAD_REDIS_HOST", "redis"))
    parser.add_argument("--redis-port", type=int, default=6379)
    args = parser.parse_args(argv)
    settings = Settings.from_env(os.environ)
    try:
        summary = asyncio.run(run(args, settings))
    except (psycopg.Error, CacheError, OSError, ValueError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
