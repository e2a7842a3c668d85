"""The home-timeline HTTP API (timeline.server on uvloop); one process per replica, behind nginx.

    POST /tweets                  {user_id, text} -> 201 once committed in Postgres; fan-out queued
    GET  /timeline/{user_id}      ?limit=N&source=auto|cache|sql; header X-Timeline-Source
    GET  /tweets/{id}
    GET  /users/{user_id}/followers   ?limit=N: count, celebrity or not, the first N follower ids
    GET  /healthz                 alive (no dependency checked)
    GET  /readyz                  Postgres and Redis reachable (200) or not (503)
    GET  /metrics                 counters of this replica and of the whole stack, queue depth (JSON);
                                  Prometheus's text format when Accept asks for it (timeline.exposition)

Reads try the cache (bounded by TIMELINE_CACHE_TIMEOUT_MS, skipped while the
circuit breaker is open) and fall back to DDIA's approach 1 in SQL when the
cache fails, unless TIMELINE_CACHE_FALLBACK=off. A read the open breaker sent
to SQL while the SQL fallback is full asks the cache after all: 503 only when
neither path can answer. Bad input is a 4xx with a JSON body; a dependency
that is down is a 503 with a JSON body; nothing else should ever answer 500.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable

from .breaker import Breaker
from .bulkhead import Bulkhead, Overloaded
from .cache import TimelineCache
from .counters import Counters, read_snapshots, sum_snapshots
from .db import Database, DatabaseUnavailable, UnknownUser
from .exposition import CONTENT_TYPE, render, wants_exposition
from .fanout import is_celebrity
from .http1 import Request, Response, json_response
from .render import error_json, followers_json, timeline_json, tweet_json
from .repair import Repairer
from .resp import CacheError, CacheTimeout, Redis
from .routing import Router
from .server import ErrorAnswer, Server
from .settings import Settings
from .validate import (
    MAX_TWEET_ID,
    MAX_USER_ID,
    InvalidRequest,
    parse_limit,
    parse_new_tweet,
    parse_positive_id,
    parse_query,
    parse_source,
)

__all__ = ["build_handler", "main", "serve"]

log = logging.getLogger("timeline.api")
SOURCE_HEADER = "X-Timeline-Source"
# 4 KiB is ample for {user_id, text<=280 chars}, escaped; larger bodies get a 413.
MAX_BODY = 4096
# Within the container's stop_grace_period (5 s): in-flight requests are answered first.
STOP_GRACE_S = 4.0
MAX_FOLLOWERS_PAGE = 1000
API_COUNTERS = (
    "timeline_reads", "cache_hits", "cache_misses", "fallbacks", "sql_reads", "cache_errors", "cache_timeouts",
    "cache_skipped_breaker_open", "breaker_opened", "read_repairs", "read_repairs_failed", "posts",
    "fanout_deferred", "bad_requests", "errors", "db_errors", "internal_errors", "fallbacks_refused",
    "cache_reads_past_breaker",
)


class Cached(enum.Enum):
    """How a call through the breaker went."""

    ANSWERED = "answered"
    SKIPPED = "skipped"  # the breaker is open: the cache was not asked
    FAILED = "failed"


class CacheRefused(Exception):
    """The cache path failed and the fallback is off (or the cache path was forced)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.replica = socket.gethostname()
        self.counters = Counters("api", self.replica, time.time(), API_COUNTERS)
        self.db = Database(
            settings.db_dsn, settings.db_timeout_s, settings.retries, settings.db_pool_size, settings.db_max_waiting
        )
        self.redis = Redis(settings.redis_host, settings.redis_port, settings.cache_timeout_s)
        self.cache = TimelineCache(self.redis, settings.cache_cap)
        self.breaker = Breaker(settings.breaker_failures, settings.breaker_cooldown_ms / 1000, settings.breaker)
        self.repairer = Repairer(self.db, self.cache, settings.celebrity_threshold)
        self.fallback = Bulkhead(settings.fallback_concurrency, settings.fallback_queue)
        self._publisher: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.db.open()
        self._publisher = asyncio.get_running_loop().create_task(self._publish_counters())

    async def stop(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
        self._write_counters()
        self.redis.close()
        await self.db.close()

    async def _publish_counters(self) -> None:
        while True:
            self._write_counters()
            await asyncio.sleep(1)

    def _write_counters(self) -> None:
        self.counters.gauges["breaker_open"] = float(self.breaker.state(time.monotonic()) != "closed")
        self.counters.counts["breaker_opened"] = self.breaker.opened
        self.counters.counts["read_repairs"] = self.repairer.repaired
        self.counters.counts["read_repairs_failed"] = self.repairer.failed
        try:
            self.counters.write(self.settings.metrics_dir)
        except OSError:
            log.warning("cannot write counters to %s", self.settings.metrics_dir)

    # --- the cache, guarded by the breaker ---------------------------------------------

    async def _cached(
        self, call: Callable[[], Awaitable[object]], forced: bool, past_breaker: bool = False
    ) -> tuple[Cached, object]:
        """(ANSWERED, result) if the cache answered, (SKIPPED or FAILED, None) if the caller should fall back."""
        now = time.monotonic()
        if not forced and not past_breaker and not self.breaker.allow(now):
            self.counters.add("cache_skipped_breaker_open")
            if not self.settings.cache_fallback:
                raise CacheRefused("cache_unavailable", "the cache circuit breaker is open")
            return Cached.SKIPPED, None
        try:
            result = await call()
        except CacheError as exc:
            self.breaker.failure(time.monotonic())
            self.counters.add("cache_timeouts" if isinstance(exc, CacheTimeout) else "cache_errors")
            if forced or not self.settings.cache_fallback:
                raise CacheRefused("cache_unavailable", f"cache failed: {exc}") from exc
            return Cached.FAILED, None
        self.breaker.success()
        return Cached.ANSWERED, result

    # --- handlers ------------------------------------------------------------------------

    async def post_tweet(self, request: Request) -> Response:
        new = parse_new_tweet(request.body, self.settings.max_text)
        try:
            tweet_id, created_at = await self.db.insert_tweet(new.user_id, new.text)
        except UnknownUser:
            raise InvalidRequest(422, "unknown_user", f"no user {new.user_id}") from None
        body = tweet_json(tweet_id, new.user_id, new.text, created_at)
        self.counters.add("posts")
        # The tweet is committed: from here on nothing may turn this into an error. If the
        # queue cannot take the job, the worker's outbox sweep fans it out later.
        try:
            queued = (await self._cached(lambda: self.cache.enqueue(body), forced=False))[0] is Cached.ANSWERED
        except CacheRefused:
            queued = False
        if not queued:
            self.counters.add("fanout_deferred")
        answer = json.loads(body)
        answer["fanout"] = "queued" if queued else "deferred"
        return Response(201, json.dumps(answer).encode())

    async def get_timeline(self, request: Request) -> Response:
        user_id = parse_positive_id(request.match_info["user_id"], "user_id", MAX_USER_ID)
        query = parse_query(request.query_string)
        limit = parse_limit(query.get("limit"), self.settings.default_limit, self.settings.cache_cap)
        source = parse_source(query.get("source"))
        self.counters.add("timeline_reads")
        read = functools.partial(self.cache.read_timeline, user_id, limit)
        outcome = None
        if source != "sql":
            outcome, tweets = await self._cached(read, forced=source == "cache")
            if outcome is Cached.ANSWERED and tweets is not None:
                self.counters.add("cache_hits")
                assert isinstance(tweets, list)
                return self._timeline(user_id, "cache", tweets)
            if outcome is Cached.ANSWERED:
                self.counters.add("cache_misses")
                if source == "cache":
                    raise CacheRefused("cache_miss", f"user {user_id}'s timeline is not cached")
                self.repairer.request(user_id)
            else:
                self.counters.add("fallbacks")
        try:
            async with self.fallback:
                rows = await self._sql(lambda: self.db.timeline(user_id, limit), user_id)
        except Overloaded as exc:
            self.counters.add("fallbacks_refused")
            if outcome is Cached.SKIPPED:
                # The open breaker only predicted that the cache would fail, and SQL has no room:
                # ask the cache after all rather than answer 503 (an answer closes the breaker).
                outcome, tweets = await self._cached(read, forced=False, past_breaker=True)
                if outcome is Cached.ANSWERED and tweets is not None:
                    self.counters.add("cache_reads_past_breaker")
                    self.counters.add("cache_hits")
                    assert isinstance(tweets, list)
                    return self._timeline(user_id, "cache", tweets)
            raise DatabaseUnavailable(f"SQL reads overloaded: {exc}") from exc
        self.counters.add("sql_reads")
        return self._timeline(user_id, "sql", [tweet_json(*row) for row in rows])

    def _timeline(self, user_id: int, source: str, tweets: list[bytes]) -> Response:
        return Response(200, timeline_json(user_id, source, tweets), {SOURCE_HEADER: source})

    async def _sql(self, call: Callable[[], Awaitable[list]], user_id: int) -> list:  # type: ignore[type-arg]
        try:
            return await call()
        except UnknownUser:
            raise InvalidRequest(404, "unknown_user", f"no user {user_id}") from None

    async def get_tweet(self, request: Request) -> Response:
        tweet_id = parse_positive_id(request.match_info["tweet_id"], "tweet_id", MAX_TWEET_ID)
        outcome, body = await self._cached(lambda: self.cache.tweet(tweet_id), forced=False)
        if outcome is Cached.ANSWERED and body is not None:
            assert isinstance(body, bytes)
            return Response(200, body, {SOURCE_HEADER: "cache"})
        row = await self.db.tweet(tweet_id)
        if row is None:
            raise InvalidRequest(404, "unknown_tweet", f"no tweet {tweet_id}")
        return Response(200, tweet_json(*row), {SOURCE_HEADER: "sql"})

    async def get_followers(self, request: Request) -> Response:
        """Read-only, for probes and tests: who sees a user's tweets by fan-out (none if a celebrity)."""
        user_id = parse_positive_id(request.match_info["user_id"], "user_id", MAX_USER_ID)
        limit = parse_limit(parse_query(request.query_string).get("limit"), self.settings.default_limit,
                            MAX_FOLLOWERS_PAGE)
        page = await self.db.followers_page(user_id, limit)
        if page is None:
            raise InvalidRequest(404, "unknown_user", f"no user {user_id}")
        count, followers = page
        celebrity = is_celebrity(count, self.settings.celebrity_threshold)
        return Response(200, followers_json(user_id, count, celebrity, followers))

    async def healthz(self, _: Request) -> Response:
        return json_response({"status": "alive", "replica": self.replica})

    async def readyz(self, _: Request) -> Response:
        db, cache = await asyncio.gather(self._check(self.db.ping()), self._check(self.redis.execute("PING")))
        # Without Redis the service still answers (from SQL) unless the fallback is off.
        ready = db == "ok" and (cache == "ok" or self.settings.cache_fallback)
        status = 200 if ready else 503
        return json_response(
            {"ready": ready, "replica": self.replica, "postgres": db, "redis": cache}, status=status
        )

    @staticmethod
    async def _check(call: Awaitable[object]) -> str:
        try:
            await call
        except (CacheError, DatabaseUnavailable) as exc:
            return f"error: {exc}"
        return "ok"

    async def metrics(self, request: Request) -> Response:
        self._write_counters()
        if wants_exposition(request.headers.get("accept", "")):
            # A scrape every second: memory and the snapshot files only, never a call to Redis or Postgres.
            workers = [s for s in read_snapshots(self.settings.metrics_dir) if s.get("role") == "worker"]
            text = render(self.counters.snapshot(time.time()), workers)
            return Response(200, text.encode("utf-8"), content_type=CONTENT_TYPE)
        queue: dict[str, object] = {}
        try:
            queue.update(await self.cache.queue_depth())
        except CacheError as exc:
            queue["redis_error"] = str(exc)
        try:
            queue["outbox_pending"] = await self.db.outbox_pending()
        except DatabaseUnavailable as exc:
            queue["postgres_error"] = str(exc)
        stack = sum_snapshots(read_snapshots(self.settings.metrics_dir), time.time())
        return json_response(
            {
                "replica": self.replica,
                "counters": dict(self.counters.counts),
                "breaker": self.breaker.state(time.monotonic()),
                "queue": queue,
                "stack": stack,
                "settings": _public_settings(self.settings),
            }
        )


def _public_settings(settings: Settings) -> dict[str, object]:
    return {k: v for k, v in vars(settings).items() if k not in ("db_dsn",)}


Handler = Callable[[Request], Awaitable[Response]]


def answers_json(service: Service, handler: Handler) -> Handler:
    """Turn every way a handler can fail into a JSON answer with the right status.

    Applied once per route when the routes are built, not on every request.
    """

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except InvalidRequest as exc:
            service.counters.add("bad_requests")
            return _error(exc.status, exc.code, exc.message)
        except CacheRefused as exc:
            service.counters.add("errors")
            return _error(503, exc.code, str(exc))
        except DatabaseUnavailable as exc:
            service.counters.add("db_errors")
            service.counters.add("errors")
            return _error(503, "database_unavailable", str(exc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path[:100])
            service.counters.add("errors")
            service.counters.add("internal_errors")
            return _error(500, "internal_error", "unexpected error (a bug): see the replica's log")

    return wrapped


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, error_json(code, message))


def _refused(service: Service) -> ErrorAnswer:
    """The answer to a request the server refuses before any handler (malformed, a body too large: 413)."""

    def answer(status: int, code: str, message: str) -> Response:
        service.counters.add("bad_requests" if status < 500 else "errors")
        return _error(status, code, message)

    return answer


def build_handler(service: Service) -> Handler:
    """Every request's entry point: routed to its handler; an unknown path is a 404, a wrong method a 405."""
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/tweets", service.post_tweet),
        ("GET", "/tweets/{tweet_id}", service.get_tweet),
        ("GET", "/timeline/{user_id}", service.get_timeline),
        ("GET", "/users/{user_id}/followers", service.get_followers),
        ("GET", "/healthz", service.healthz),
        ("GET", "/readyz", service.readyz),
        ("GET", "/metrics", service.metrics),
    ]
    router: Router[Handler] = Router()
    for method, path, handler in routes:
        router.add(method, path, answers_json(service, handler))

    async def dispatch(request: Request) -> Response:
        match = router.resolve(request.method, request.path)
        if match.handler is not None:
            request.match_info = match.params
            return await match.handler(request)
        service.counters.add("bad_requests")
        if not match.allowed:
            return _error(404, "not_found", f"no such endpoint: {request.path[:100]}")
        allowed = ", ".join(match.allowed)
        response = _error(405, "method_not_allowed", f"{request.method} is not allowed here (allowed: {allowed})")
        response.headers = {"Allow": allowed}
        return response

    return dispatch


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; then answer what is in flight and stop."""
    service = Service(settings)
    await service.start()
    server = Server(build_handler(service), _refused(service), MAX_BODY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.listen(None, settings.port, backlog=1024)
        await stop.wait()
    finally:
        await server.stop(STOP_GRACE_S)
        await service.stop()


def main() -> None:
    import uvloop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env(os.environ)
    uvloop.install()
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
