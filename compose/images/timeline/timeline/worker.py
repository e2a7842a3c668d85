"""The fan-out worker: moves new tweets into followers' cached timelines, at least once.

Delivery (TIMELINE_FANOUT_RECOVERY=on, the default):

* Consumers take jobs with BLMOVE from ``fanout:queue`` to this worker's
  processing list and remove them only when the fan-out is written, so a job
  in flight when the worker dies is still in Redis; at start the worker puts
  its processing list back on the queue.
* Postgres is the outbox: a tweet stays ``fanned_out = false`` until a job for
  it succeeded. A sweep re-fans out tweets still pending after
  TIMELINE_OUTBOX_DELAY_MS, which covers what Redis forgot (a killed Redis
  loses its queue) and posts whose job could not be queued at all.

Replays are harmless: the cache insert is idempotent (lua/fanout.lua). With
recovery off, jobs are popped with BRPOP and nothing is swept: a crash or a
Redis restart silently loses fan-outs, which is the failure to demonstrate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from .cache import QUEUE, WORKERS, TimelineCache, processing_list
from .counters import Counters
from .db import Database, DatabaseUnavailable
from .fanout import plan_fanout
from .render import tweet_json
from .resp import CacheError, Redis
from .settings import Settings

__all__ = ["Worker", "main"]

log = logging.getLogger("timeline.worker")
ALIVE_FILE = Path("/tmp/timeline-worker.alive")
BLOCK_S = 1
# How long one job is retried before it is left to the outbox sweep.
JOB_PATIENCE_S = 10.0
WORKER_COUNTERS = (
    "jobs_done", "job_errors", "jobs_malformed", "jobs_redelivered", "outbox_recovered", "queue_errors",
    "cache_writes", "fanned_out_posts", "celebrity_posts",
)


class Worker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = socket.gethostname()
        self.processing = processing_list(self.name)
        self.counters = Counters("worker", self.name, time.time(), WORKER_COUNTERS)
        self.db = Database(settings.db_dsn, settings.db_timeout_s, settings.retries, settings.worker_concurrency + 2)
        # Fan-out is not on a user's request path: give Redis more time than a read gets.
        self.redis_timeout_s = max(1.0, settings.cache_timeout_s)
        self.redis = Redis(settings.redis_host, settings.redis_port, self.redis_timeout_s)
        self.cache = TimelineCache(self.redis, settings.cache_cap)
        self.done: set[int] = set()
        self.lags_ms: deque[float] = deque(maxlen=2000)

    async def run(self) -> None:
        await self.db.open()
        tasks = [self._heartbeat(), self._flush_done()]
        tasks += [self._consume(i) for i in range(self.settings.worker_concurrency)]
        if self.settings.fanout_recovery:
            tasks.append(self._sweep_outbox())
        log.info("worker %s started (recovery %s)", self.name, "on" if self.settings.fanout_recovery else "off")
        await asyncio.gather(*tasks)

    # --- consuming the queue -----------------------------------------------------------

    async def _consume(self, index: int) -> None:
        blocking = Redis(self.settings.redis_host, self.settings.redis_port, BLOCK_S + self.redis_timeout_s)
        registered = False
        while True:
            try:
                if self.settings.fanout_recovery:
                    if not registered:
                        await self.redis.execute("SADD", WORKERS, self.name)
                        if index == 0:
                            await self._requeue_processing()
                        registered = True
                    job = await blocking.execute("BLMOVE", QUEUE, self.processing, "RIGHT", "LEFT", BLOCK_S)
                else:
                    popped = await blocking.execute("BRPOP", QUEUE, BLOCK_S)
                    job = popped[1] if isinstance(popped, list) else None
            except CacheError as exc:
                # Redis is down or slow; a restarted Redis has forgotten our registration.
                registered = False
                self.counters.add("queue_errors")
                log.debug("queue unavailable: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if not isinstance(job, bytes):
                continue
            await self.fan_out(job)
            if self.settings.fanout_recovery:
                # Done, or given up to the outbox sweep (the tweet is still pending in Postgres).
                try:
                    await self.redis.execute("LREM", self.processing, 1, job)
                except CacheError:
                    pass  # replayed after a restart at worst: harmless

    async def _requeue_processing(self) -> None:
        """Put back what a previous run of this worker took but did not finish."""
        moved = 0
        while await self.redis.execute("LMOVE", self.processing, QUEUE, "RIGHT", "RIGHT") is not None:
            moved += 1
        if moved:
            self.counters.add("jobs_redelivered", moved)
            log.info("requeued %d unfinished jobs", moved)

    async def fan_out(self, body: bytes) -> bool:
        """Write one tweet into the caches, retrying for a while; True once done."""
        try:
            tweet = json.loads(body)
            tweet_id, sender_id = int(tweet["id"]), int(tweet["user_id"])
        except (ValueError, KeyError, TypeError):
            self.counters.add("jobs_malformed")
            return True  # retrying cannot fix it: drop it
        deadline = time.monotonic() + JOB_PATIENCE_S
        delay = 0.05
        while True:
            try:
                followers = await self.db.followers(sender_id)
                plan = plan_fanout(tweet_id, sender_id, followers, self.settings.celebrity_threshold)
                writes = await self.cache.apply_fanout(plan, body)
            except (CacheError, DatabaseUnavailable) as exc:
                self.counters.add("job_errors")
                if time.monotonic() + delay > deadline:
                    log.warning("giving tweet %d up to the outbox sweep: %s", tweet_id, exc)
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self.counters.add("jobs_done")
            self.counters.add("cache_writes", writes)
            self.counters.add("celebrity_posts" if plan.own_list else "fanned_out_posts")
            self.done.add(tweet_id)
            self._record_lag(tweet.get("created_at"))
            return True

    def _record_lag(self, created_at: object) -> None:
        if isinstance(created_at, str):
            try:
                created = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return
            self.lags_ms.append((time.time() - created) * 1000)

    # --- the outbox ---------------------------------------------------------------------

    async def _flush_done(self) -> None:
        """Mark finished tweets in Postgres, in batches (one UPDATE per 200 ms, not per post)."""
        while True:
            await asyncio.sleep(0.2)
            if not self.done:
                continue
            batch = list(self.done)
            try:
                await self.db.mark_fanned_out(batch)
            except DatabaseUnavailable:
                continue
            self.done.difference_update(batch)

    async def _sweep_outbox(self) -> None:
        while True:
            await asyncio.sleep(1)
            try:
                rows = await self.db.pending_fanout(self.settings.outbox_delay_ms, 500)
            except DatabaseUnavailable:
                continue
            # Done but not yet marked ones are skipped; the rest go as many at a time as
            # there are consumers (after a long Redis outage the backlog can be thousands).
            pending = [row for row in rows if row[0] not in self.done]
            step = self.settings.worker_concurrency
            for start in range(0, len(pending), step):
                chunk = pending[start : start + step]
                results = await asyncio.gather(*(self.fan_out(tweet_json(*row)) for row in chunk))
                self.counters.add("outbox_recovered", sum(results))
                if not all(results):
                    break  # Redis or Postgres is down: the next sweep tries again

    # --- liveness and counters ----------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            lags = sorted(self.lags_ms)
            if lags:
                self.counters.gauges["lag_p99_ms"] = round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 1)
                self.counters.gauges["lag_max_ms"] = round(lags[-1], 1)
            try:
                self.counters.write(self.settings.metrics_dir)
                ALIVE_FILE.touch()
            except OSError:
                log.warning("cannot write counters or heartbeat")
            await asyncio.sleep(1)


async def _run_until_signalled(worker: Worker) -> int:
    """Run until SIGTERM or SIGINT; as PID 1 in a container, unhandled signals would be ignored."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        assert main_task is not None
        main_task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        await worker.run()
    except asyncio.CancelledError:
        if not received:
            raise
    await worker.db.close()
    # 128 + signal, as a shell reports it: "on-failure" restart policies treat it as a crash.
    return 128 + received[0] if received else 0


def main() -> None:
    import uvloop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env(os.environ)
    uvloop.install()
    sys.exit(asyncio.run(_run_until_signalled(Worker(settings))))


if __name__ == "__main__":
    main()
