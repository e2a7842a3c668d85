"""A small asyncio Redis client: one multiplexed connection, hard timeouts, no surprises.

Why not redis-py's asyncio client (Debian ships 4.3.4): a command cancelled
mid-flight there can leave its reply on the connection for the next caller
(CVE-2023-28858, fixed in 4.5.4), and chaos experiments cancel and time out
requests all the time. Here replies are matched to callers strictly in order
and a caller that gives up leaves a placeholder that swallows its reply, so a
reply can never reach the wrong caller. Parsing is hiredis.

A broken connection fails every command in flight. A timeout fails only the
call whose deadline passed, and retires the connection: no new command is sent
on it (a proxy may have dropped data, after which replies would no longer line
up with commands), new ones go to a fresh connection, and the retired one
closes once the commands already on it are answered or timed out. So a brief
stall costs the calls that really waited too long, not every call that shared
their connection: on a busy machine those would be dozens, enough to open the
circuit breaker and send a second of reads to the SQL fallback.

Errors: :class:`CacheUnavailable` (cannot connect, connection lost),
:class:`CacheTimeout` (no reply in time), :class:`CacheReplyError` (Redis
answered with an error), all :class:`CacheError`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis

__all__ = ["CacheError", "CacheReplyError", "CacheTimeout", "CacheUnavailable", "Redis", "Script"]

Arg = bytes | str | int | float


class CacheError(Exception):
    """Redis could not answer this command."""


class CacheUnavailable(CacheError):
    pass


class CacheTimeout(CacheError):
    pass


class CacheReplyError(CacheError):
    pass


def encode(args: Sequence[Arg]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if type(arg) is not bytes:
            arg = arg.encode("utf-8") if isinstance(arg, str) else str(arg).encode("ascii")
        parts += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader()
        self._waiters: deque[asyncio.Future[object]] = deque()
        self._transport: Any = None  # uvloop's transports do not subclass asyncio.Transport
        self.closed = False
        self.retired = False  # a call timed out on it: no new commands, close when the last is settled

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as exc:
                self.fail(CacheUnavailable(f"protocol error: {exc}"))
                return
            if reply is False:
                return
            if not self._waiters:
                self.fail(CacheUnavailable("reply without a request"))
                return
            waiter = self._waiters.popleft()
            # A cancelled or timed-out waiter still held its place in the queue: its reply is dropped here.
            if not waiter.done():
                waiter.set_result(reply)
        if self.retired:
            self.close_if_settled()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(CacheUnavailable(f"connection lost: {exc or 'closed by peer'}"))

    def send(self, commands: Sequence[Sequence[Arg]]) -> list[asyncio.Future[object]]:
        if self.closed or self.retired or self._transport is None:
            raise CacheUnavailable("connection closed")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self._waiters.extend(futures)
        self._transport.write(b"".join(encode(c) for c in commands))
        return futures

    def fail(self, error: CacheError) -> None:
        """Drop the connection and fail every command still waiting for a reply."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)
                # The caller may be gone; mark the exception retrieved to avoid log noise.
                waiter.exception()

    def time_out(self, futures: Sequence[asyncio.Future[object]], error: CacheTimeout) -> None:
        """Fail one call's unanswered commands (they stay queued, to swallow their replies) and retire."""
        for future in futures:
            if not future.done():
                future.set_exception(error)
                future.exception()  # its caller may be gone: no "never retrieved" noise
        self.retired = True
        self.close_if_settled()

    def close_if_settled(self) -> None:
        """Close a retired connection once every command on it is answered, timed out or cancelled."""
        if not self.closed and all(w.done() for w in self._waiters):
            self.closed = True
            if self._transport is not None:
                self._transport.close()

    @property
    def in_flight(self) -> int:
        return len(self._waiters)


def _expire(
    loop: asyncio.AbstractEventLoop, conn: _Connection, futures: list[asyncio.Future[object]], timeout: float
) -> None:
    """The deadline passed: fail the call, but only after the loop has read its sockets once more.

    An event loop runs due timers before it polls for I/O, so on a busy loop a
    reply already sitting in the socket would lose to its own timeout: under
    load every read would "time out", open the circuit breaker and send the
    load to the expensive SQL path. A 1 ms grace lets one I/O poll happen first.
    """
    def fail_if_unanswered() -> None:
        if not futures[-1].done():
            conn.time_out(futures, CacheTimeout(f"no reply within {timeout * 1000:.0f} ms"))

    if not futures[-1].done():
        loop.call_later(0.001, fail_if_unanswered)


class Redis:
    """Commands are pipelined on one shared connection; ``timeout_s`` bounds each call end to end."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._conn: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None

    async def _connection(self) -> _Connection:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.retired:
            return conn
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            self._connecting.add_done_callback(self._connected)
        # Shielded: a caller timing out must not cancel the connect others wait on.
        return await asyncio.shield(self._connecting)

    def _connected(self, task: asyncio.Task[_Connection]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._conn = task.result()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), self.timeout_s
            )
        except TimeoutError:
            raise CacheTimeout(f"connect to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise CacheUnavailable(f"connect to {self.host}:{self.port}: {exc}") from exc
        return conn

    async def pipeline(
        self, commands: Sequence[Sequence[Arg]], timeout_s: float | None = None, raise_errors: bool = True
    ) -> list[object]:
        """Send ``commands`` at once; their replies in order (error replies raise unless told not to)."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        conn = self._conn
        if conn is None or conn.closed or conn.retired:
            try:
                conn = await asyncio.wait_for(self._connection(), timeout)
            except TimeoutError:
                raise CacheTimeout(f"connect to {self.host}:{self.port} timed out") from None
        futures = conn.send(commands)
        # Replies come in order: when the last one is in, all are. A timer (cheaper than
        # wait_for, which makes a task per call) fails the call if it is not.
        last = futures[-1]
        timer = loop.call_at(deadline, _expire, loop, conn, futures, timeout)
        try:
            await last
        finally:
            timer.cancel()
            if conn.retired:
                # This call may have been the last one the retired connection was waiting on.
                conn.close_if_settled()
        replies = [f.result() for f in futures]
        if raise_errors:
            for reply in replies:
                if isinstance(reply, hiredis.ReplyError):
                    raise CacheReplyError(str(reply))
        return replies

    async def execute(self, *args: Arg, timeout_s: float | None = None) -> object:
        return (await self.pipeline([args], timeout_s))[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.fail(CacheUnavailable("client closed"))


class Script:
    """A Lua script run with EVALSHA, loaded again when Redis forgot it (a restarted Redis)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def command(self, keys: Sequence[Arg], args: Sequence[Arg]) -> list[Arg]:
        return ["EVALSHA", self.sha, len(keys), *keys, *args]

    async def run(
        self, redis: Redis, keys: Sequence[Arg], args: Sequence[Arg], timeout_s: float | None = None
    ) -> object:
        try:
            return await redis.execute(*self.command(keys, args), timeout_s=timeout_s)
        except CacheReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await redis.execute("EVAL", self.source, len(keys), *keys, *args, timeout_s=timeout_s)
