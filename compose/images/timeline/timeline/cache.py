"""The Redis side of the service: cached home timelines, celebrity lists, tweet bodies, the fan-out queue.

Keys (one Redis, no cluster):

    tl:{user}      list of tweet ids, newest first, capped: the fanned-out home timeline
    tlw:{user}     "warm" marker of tl:{user}, holding the celebrities the user follows ("1,7")
    ut:{celeb}     a celebrity's own tweet ids (merged into followers' timelines at read time)
    utw:{celeb}    "warm" marker of ut:{celeb}
    tw:{id}        the tweet's JSON, as the API returns it
    fanout:queue   fan-out jobs (tweet JSON); workers move them to fanout:processing:{worker}

A list without its marker is cold: reads treat it as a miss (served from SQL,
then repaired), because a restarted Redis comes back empty and fan-out may
already have pushed a few new ids into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

from .fanout import FanoutPlan
from .merge import render_celebrities
from .resp import CacheReplyError, Redis, Script

__all__ = ["QUEUE", "TimelineCache", "processing_list"]

QUEUE = "fanout:queue"
WORKERS = "fanout:workers"


def _script(name: str) -> Script:
    return Script(resources.files(__package__).joinpath("lua", name).read_text(encoding="utf-8"))


READ = _script("read.lua")
FANOUT = _script("fanout.lua")
WARM = _script("warm.lua")
MISSING = _script("missing.lua")


def processing_list(worker: str) -> str:
    return f"fanout:processing:{worker}"


class TimelineCache:
    def __init__(self, redis: Redis, cap: int) -> None:
        self.redis = redis
        self.cap = cap

    async def read_timeline(self, user_id: int, limit: int) -> list[bytes] | None:
        """The merged home timeline as tweet JSON bodies, or None on a miss (cold or incomplete).

        The merge runs inside Redis (lua/read.lua, the same rule as merge.merge_timelines)
        so that a read is one round trip: reads are the hot path, 100x more than posts.
        """
        reply = await READ.run(self.redis, (), (user_id, limit))
        if not isinstance(reply, list) or reply[0] != 1:
            return None
        return reply[1:]

    async def tweet(self, tweet_id: int) -> bytes | None:
        body = await self.redis.execute("GET", b"tw:%d" % tweet_id)
        return body if isinstance(body, bytes) else None

    async def enqueue(self, body: bytes) -> None:
        await self.redis.execute("LPUSH", QUEUE, body)

    async def apply_fanout(self, plan: FanoutPlan, body: bytes, timeout_s: float | None = None) -> int:
        """Write the body, then insert the id into the planned lists; idempotent."""
        keys = [f"tl:{u}" for u in plan.timelines]
        if plan.own_list:
            keys.append(f"ut:{plan.sender_id}")
        commands: list[Sequence[bytes | str | int]] = [["SET", b"tw:%d" % plan.tweet_id, body]]
        if keys:
            commands.append(FANOUT.command(keys, [plan.tweet_id, self.cap]))
        try:
            await self.redis.pipeline(commands, timeout_s)
        except CacheReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.redis.execute("SCRIPT", "LOAD", FANOUT.source, timeout_s=timeout_s)
            await self.redis.pipeline(commands, timeout_s)
        return plan.cache_writes

    async def missing_bodies(self, ids: Sequence[int], timeout_s: float | None = None) -> list[int]:
        """Which of these tweets have no cached body."""
        if not ids:
            return []
        reply = await MISSING.run(self.redis, (), ids, timeout_s)
        return [int(i) for i in reply] if isinstance(reply, list) else list(ids)

    async def store_bodies(self, bodies: Mapping[int, bytes], timeout_s: float | None = None) -> None:
        items = list(bodies.items())
        for start in range(0, len(items), 500):
            args: list[bytes | str | int] = ["MSET"]
            for tweet_id, body in items[start : start + 500]:
                args += [b"tw:%d" % tweet_id, body]
            await self.redis.execute(*args, timeout_s=timeout_s)

    def warm_timeline_command(
        self, user_id: int, celebrities: Iterable[int], ids: Iterable[int]
    ) -> list[bytes | str | int]:
        csv = ",".join(str(i) for i in ids)
        return WARM.command([f"tl:{user_id}", f"tlw:{user_id}"], [render_celebrities(celebrities), self.cap, csv])

    def warm_own_command(self, celebrity: int, ids: Iterable[int]) -> list[bytes | str | int]:
        csv = ",".join(str(i) for i in ids)
        return WARM.command([f"ut:{celebrity}", f"utw:{celebrity}"], ["1", self.cap, csv])

    async def run_warm(self, commands: Sequence[Sequence[bytes | str | int]], timeout_s: float | None = None) -> None:
        """Run warm commands as one pipeline (loading the script first if Redis forgot it)."""
        if not commands:
            return
        try:
            await self.redis.pipeline(commands, timeout_s)
        except CacheReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.redis.execute("SCRIPT", "LOAD", WARM.source, timeout_s=timeout_s)
            await self.redis.pipeline(commands, timeout_s)

    async def cold_celebrities(self, celebrities: Sequence[int], timeout_s: float | None = None) -> list[int]:
        """Which of these celebrities' own lists are not warm."""
        if not celebrities:
            return []
        replies = await self.redis.pipeline([["EXISTS", f"utw:{c}"] for c in celebrities], timeout_s)
        return [c for c, warm in zip(celebrities, replies, strict=True) if warm == 0]

    async def queue_depth(self) -> dict[str, int]:
        workers = await self.redis.execute("SMEMBERS", WORKERS)
        assert isinstance(workers, list)
        names = sorted(w.decode() for w in workers)
        replies = await self.redis.pipeline([["LLEN", QUEUE], *[["LLEN", processing_list(n)] for n in names]])
        return {"queued": int(replies[0]), "processing": sum(int(r) for r in replies[1:])}  # type: ignore[call-overload]
