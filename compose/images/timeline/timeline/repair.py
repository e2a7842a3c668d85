"""Read repair: warm one user's cache from Postgres after a miss.

A restarted Redis comes back empty; rather than a stampede of bulk reloads,
each user's cache is rebuilt from the source of truth the first time it is
missed, in the background, while that read is answered from SQL. Rebuilding
merges with what fan-out pushed meanwhile (see lua/warm.lua), so no tweet
fanned out during a repair is lost.
"""

from __future__ import annotations

import asyncio

from .cache import TimelineCache
from .db import Database
from .fanout import is_celebrity
from .render import tweet_json

__all__ = ["Repairer"]

# Repairs run in the background, off any request's path: they may wait longer than a read.
REPAIR_TIMEOUT_S = 2.0


class Repairer:
    """At most ``concurrency`` repairs at once; a user already being repaired is skipped."""

    def __init__(self, db: Database, cache: TimelineCache, threshold: int, concurrency: int = 2) -> None:
        self.db = db
        self.cache = cache
        self.threshold = threshold
        self.concurrency = concurrency
        self._running: dict[int, asyncio.Task[None]] = {}
        self.repaired = 0
        self.failed = 0

    def request(self, user_id: int) -> bool:
        """Start repairing ``user_id`` unless busy; True if a repair started."""
        if user_id in self._running or len(self._running) >= self.concurrency:
            return False
        task = asyncio.get_running_loop().create_task(self._repair(user_id))
        self._running[user_id] = task
        task.add_done_callback(lambda _: self._running.pop(user_id, None))
        return True

    async def _repair(self, user_id: int) -> None:
        try:
            await self.warm_user(user_id)
            self.repaired += 1
        except Exception:  # noqa: BLE001 - a failed repair is retried by the next miss
            self.failed += 1

    async def warm_user(self, user_id: int) -> None:
        followees = await self.db.followees(user_id)
        celebrities = sorted(f for f, count in followees if is_celebrity(count, self.threshold))
        ordinary = [f for f, count in followees if not is_celebrity(count, self.threshold)]
        # Ids only, then the bodies Redis lacks: rows of text are what loading costs (psycopg
        # here is the pure-Python build), and most bodies are shared with other users' timelines.
        timeline = await self.db.tweet_ids_by(ordinary, self.cache.cap)
        cold = await self.cache.cold_celebrities(celebrities, timeout_s=REPAIR_TIMEOUT_S)
        own = {c: await self.db.tweet_ids_by([c], self.cache.cap) for c in cold}
        wanted = set(timeline).union(*own.values())
        missing = await self.cache.missing_bodies(sorted(wanted), timeout_s=REPAIR_TIMEOUT_S)
        rows = await self.db.tweets_with_ids(missing)
        # Bodies first: a list entry whose body is missing would read as a miss.
        await self.cache.store_bodies({r[0]: tweet_json(*r) for r in rows}, timeout_s=REPAIR_TIMEOUT_S)
        commands = [self.cache.warm_own_command(c, own[c]) for c in cold]
        commands.append(self.cache.warm_timeline_command(user_id, celebrities, timeline))
        await self.cache.run_warm(commands, timeout_s=REPAIR_TIMEOUT_S)
