"""The Postgres side: the source of truth (users, follows, tweets) and DDIA's approach 1.

Every call is bounded by ``timeout_s`` (client side, for a hung network, and
``statement_timeout`` server side, so a slow query stops using the database).
Calls are retried ``retries`` times on connection errors, within the same
time bound; the insert of a tweet too, made idempotent by a request key.
Library errors leave this module as :class:`DatabaseUnavailable` or
:class:`UnknownUser`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout, TooManyRequests

__all__ = ["Database", "DatabaseUnavailable", "TS", "TweetRow", "UnknownUser"]

T = TypeVar("T")
TweetRow = tuple[int, int, str, str]  # id, sender_id, text, created_at (ISO 8601 UTC)

# Timestamps are formatted by Postgres, identically on every path (see render.py).
TS = """to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

# DDIA's approach 1: look up whom the user follows, each one's newest tweets, merge.
# Written with LATERAL ... LIMIT rather than as DDIA's plain join: given the join, the
# planner may walk all tweets newest first and test each sender against the follows
# (thousands of rows for a user who follows quiet people); this bounds the work to
# (followees x limit) entries of the covering index tweets_by_sender.
TIMELINE_SQL = f"""
SELECT t.id, t.sender_id, t.text, {TS}
FROM follows f
CROSS JOIN LATERAL (
    SELECT id, sender_id, text, created_at FROM tweets
    WHERE sender_id = f.followee_id ORDER BY id DESC LIMIT %(limit)s
) t
WHERE f.follower_id = %(user)s
ORDER BY t.id DESC
LIMIT %(limit)s
"""


INSERT_SQL = f"""
INSERT INTO tweets AS t (sender_id, text, request_key) VALUES (%s, %s, %s)
ON CONFLICT (request_key) DO NOTHING
RETURNING t.id, {TS}
"""


class DatabaseUnavailable(Exception):
    """Postgres did not answer in time, or the connection failed."""


class UnknownUser(Exception):
    pass


class Database:
    def __init__(self, dsn: str, timeout_s: float, retries: int, pool_size: int, max_waiting: int = 0) -> None:
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.retries = retries
        self.pool_size = pool_size
        # A bulkhead: beyond this many callers queued for a connection, fail at once (503)
        # instead of queueing, so an overloaded database sheds load rather than piling it up.
        self.max_waiting = max_waiting
        self._pool: AsyncConnectionPool | None = None

    async def open(self) -> None:
        """Start the pool; it connects in the background, so this never waits on Postgres."""
        statement_ms = max(1, int(self.timeout_s * 1000))
        self._pool = AsyncConnectionPool(
            self.dsn,
            min_size=min(2, self.pool_size),
            max_size=self.pool_size,
            timeout=self.timeout_s,
            max_waiting=self.max_waiting,
            max_idle=60,
            reconnect_timeout=3600 * 24 * 365,  # keep trying while Postgres is down: never give up
            kwargs={
                "autocommit": True,
                "connect_timeout": max(2, int(self.timeout_s + 1)),
                "options": f"-c statement_timeout={statement_ms}",
            },
            open=False,
        )
        await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close(timeout=1)

    async def _connection(self, timeout_s: float) -> AsyncConnection[Any]:
        """A pooled connection, waiting at most ``timeout_s``.

        The wait is shielded from cancellation: psycopg_pool 3.1 (Debian's) loses the
        connection handed to a waiter that was cancelled, and enough of those leave the
        pool empty for good. A cancelled caller's connection is put back when it comes.
        """
        assert self._pool is not None, "open() first"
        pool = self._pool
        waiting = asyncio.ensure_future(pool.getconn(timeout=timeout_s))
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            waiting.add_done_callback(self._put_back_orphan)
            raise

    def _put_back_orphan(self, waiting: asyncio.Future[AsyncConnection[Any]]) -> None:
        if waiting.cancelled() or waiting.exception() is not None or self._pool is None:
            return
        asyncio.ensure_future(self._pool.putconn(waiting.result()))

    async def _attempts(self, work: Callable[[AsyncConnection[Any]], Awaitable[T]], retries: int) -> T:
        """Run ``work`` on a pooled connection, up to 1 + ``retries`` times, all within one ``timeout_s``.

        Retries are for fast failures (a pooled connection that died with a restarted
        Postgres, a reset connection); a slow database uses up the time instead. A
        statement interrupted by the deadline leaves its connection busy: the pool
        closes it when it is returned and opens another.
        """
        assert self._pool is not None, "open() first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        last: BaseException | None = None
        for _ in range(retries + 1):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                conn = await self._connection(remaining)
                try:
                    return await asyncio.wait_for(work(conn), max(0.001, deadline - loop.time()))
                finally:
                    await self._pool.putconn(conn)
            except TooManyRequests as exc:
                raise DatabaseUnavailable("overloaded: too many requests waiting for a connection") from exc
            except (TimeoutError, psycopg.OperationalError, PoolTimeout, OSError) as exc:
                last = exc
            except psycopg.errors.UndefinedTable as exc:
                # Up, but the data set is not loaded yet (stack.sh load): unavailable, not a bug.
                raise DatabaseUnavailable(f"data not loaded: {exc}") from exc
        raise DatabaseUnavailable(_describe(last)) from last

    async def fetch(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = (), retries: int | None = None
    ) -> list[tuple[Any, ...]]:
        async def work(conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

        return await self._attempts(work, self.retries if retries is None else retries)

    async def execute(self, sql: str, params: Sequence[Any] = (), retries: int | None = None) -> None:
        async def work(conn: AsyncConnection[Any]) -> None:
            await conn.execute(sql, params)

        await self._attempts(work, self.retries if retries is None else retries)

    async def insert_tweet(self, user_id: int, text: str) -> tuple[int, str]:
        """Commit the tweet and return (id, created_at); the reply comes only after the commit.

        Each post carries a fresh request key (unique in the table), so a retry after
        an unknown outcome (the connection died after the statement was sent) finds
        the row the first attempt committed instead of posting it twice.
        """
        key = uuid.uuid4()

        async def work(conn: AsyncConnection[Any]) -> tuple[int, str]:
            cur = await conn.execute(INSERT_SQL, (user_id, text, key))
            row = await cur.fetchone()
            if row is None:  # an earlier attempt committed it
                cur = await conn.execute(f"SELECT t.id, {TS} FROM tweets t WHERE t.request_key = %s", (key,))
                row = await cur.fetchone()
            assert row is not None
            return int(row[0]), str(row[1])

        try:
            return await self._attempts(work, self.retries)
        except psycopg.errors.ForeignKeyViolation:
            raise UnknownUser(user_id) from None

    # --- reads -------------------------------------------------------------------------

    async def timeline(self, user_id: int, limit: int) -> list[TweetRow]:
        """Approach 1; raises UnknownUser for a user that does not exist."""
        rows = await self.fetch(TIMELINE_SQL, {"user": user_id, "limit": limit})
        if not rows and not await self.fetch("SELECT 1 FROM users WHERE id = %s", (user_id,)):
            raise UnknownUser(user_id)
        return rows  # type: ignore[return-value]

    async def tweet(self, tweet_id: int) -> TweetRow | None:
        rows = await self.fetch(f"SELECT t.id, t.sender_id, t.text, {TS} FROM tweets t WHERE t.id = %s", (tweet_id,))
        return rows[0] if rows else None  # type: ignore[return-value]

    async def followers(self, user_id: int) -> list[int]:
        rows = await self.fetch("SELECT follower_id FROM follows WHERE followee_id = %s", (user_id,))
        return [r[0] for r in rows]

    async def followers_page(self, user_id: int, limit: int) -> tuple[int, list[int]] | None:
        """(follower count, the first ``limit`` follower ids ascending), or None for an unknown user."""
        rows = await self.fetch(
            "SELECT u.followers_count, ARRAY(SELECT f.follower_id FROM follows f WHERE f.followee_id = u.id"
            " ORDER BY f.follower_id LIMIT %s) FROM users u WHERE u.id = %s",
            (limit, user_id),
        )
        return (int(rows[0][0]), [int(i) for i in rows[0][1]]) if rows else None

    async def followees(self, user_id: int) -> list[tuple[int, int]]:
        """(followee, its follower count) for everyone ``user_id`` follows."""
        rows = await self.fetch(
            "SELECT f.followee_id, u.followers_count FROM follows f JOIN users u ON u.id = f.followee_id"
            " WHERE f.follower_id = %s",
            (user_id,),
        )
        return [(r[0], r[1]) for r in rows]

    async def tweet_ids_by(self, senders: Sequence[int], limit: int) -> list[int]:
        """Ids only of the newest ``limit`` tweets of ``senders``: cheap to load (no text)."""
        if not senders:
            return []
        rows = await self.fetch(
            "SELECT id FROM tweets WHERE sender_id = ANY(%s) ORDER BY id DESC LIMIT %s", (list(senders), limit)
        )
        return [r[0] for r in rows]

    async def tweets_with_ids(self, ids: Sequence[int]) -> list[TweetRow]:
        if not ids:
            return []
        rows = await self.fetch(
            f"SELECT t.id, t.sender_id, t.text, {TS} FROM tweets t WHERE t.id = ANY(%s)", (list(ids),)
        )
        return rows  # type: ignore[return-value]

    async def pending_fanout(self, older_than_ms: int, limit: int) -> list[TweetRow]:
        """Tweets committed but not (yet) fanned out: the outbox a crashed queue is rebuilt from."""
        rows = await self.fetch(
            f"SELECT t.id, t.sender_id, t.text, {TS} FROM tweets t WHERE NOT t.fanned_out"
            " AND t.created_at < now() - make_interval(secs => %s) ORDER BY t.id LIMIT %s",
            (older_than_ms / 1000, limit),
        )
        return rows  # type: ignore[return-value]

    async def mark_fanned_out(self, ids: Sequence[int]) -> None:
        await self.execute("UPDATE tweets SET fanned_out = true WHERE id = ANY(%s) AND NOT fanned_out", (list(ids),))

    async def outbox_pending(self) -> int:
        rows = await self.fetch("SELECT count(*) FROM tweets WHERE NOT fanned_out", retries=0)
        return int(rows[0][0])

    async def ping(self) -> None:
        await self.fetch("SELECT 1", retries=0)


def _describe(exc: BaseException | None) -> str:
    if exc is None or isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".strip()
