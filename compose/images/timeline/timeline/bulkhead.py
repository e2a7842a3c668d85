"""A bulkhead: at most ``limit`` calls at once, ``queue`` more waiting, the rest refused at once.

Used for the SQL fallback of timeline reads. Approach 1 costs Postgres (and
the api, parsing rows) many times what a cached read costs; when the cache
fails under load, unbounded fallback reads would make the machine busier,
keep the cache failing and never recover (a fallback storm). With a bound,
the excess is answered 503 at once and the rest of the stack keeps its CPU.
Pure asyncio, no I/O.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["Bulkhead", "Overloaded"]


class Overloaded(Exception):
    """Every slot is busy and the queue is full."""


class Bulkhead:
    def __init__(self, limit: int, queue: int) -> None:
        if limit < 1 or queue < 0:
            raise ValueError(f"limit must be >= 1 and queue >= 0, got {limit} and {queue}")
        self.limit = limit
        self.queue = queue
        self.refused = 0  # a counter for /metrics
        self._slots = asyncio.Semaphore(limit)
        self._waiting = 0

    async def __aenter__(self) -> Bulkhead:
        if self._slots.locked():
            if self._waiting >= self.queue:
                self.refused += 1
                raise Overloaded(f"{self.limit} running and {self._waiting} waiting")
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._slots.release()
