"""Keep-alive connections to one host:port, and the requests waiting for one.

Callbacks of one event loop only (asyncio protocols, tasks and their done
callbacks); nothing here blocks or sleeps.

``links.warm`` connections are opened before the schedule starts, and one
the server closes after carrying requests is replaced at once; when an
arrival finds none idle it waits while a new one is opened (real users do not
queue behind each other), at most MAX_CONNECTING at a time and up to
``links.max_connections`` in all; the wait is timed from the intended send
time like everything else. A connection the server closes before it carried
anything fails the request it was opened for, as a refused connect does.
Connections beyond the warm pool close after IDLE_CLOSE_S idle. A request not
answered ``timeout_s`` after its intended send time is a timeout, and its
connection is aborted (a late answer would put it out of step), as a client
that gives up does.

Over TLS (``https://``) each new connection offers the session the last one
received (:mod:`chaoskit.measure.tls`), so replacing a connection costs an
abbreviated handshake.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable
from typing import Any

from chaoskit.errors import ProtocolError
from chaoskit.measure.http1 import ResponseParser
from chaoskit.measure.outcomes import Outcomes, Request
from chaoskit.measure.tls import ResumingContext, describe_tls_error, is_tls_error

__all__ = ["Connection", "Links", "Pool", "describe_connect_error"]

# Connections being opened at once, per host (each success starts the next one).
MAX_CONNECTING = 16
# A connection opened for a burst is closed after this long idle (the warm pool is kept).
IDLE_CLOSE_S = 5.0


class Links:
    """What the pools of one generator share: the loop, the limits, the outcome sink and counters."""

    def __init__(self, outcomes: Outcomes, head_only: list[bool], timeout_s: float, warm: int, max_connections: int):
        self.outcomes = outcomes
        self.head_only = head_only
        self.timeout_s = timeout_s
        self.warm = warm  # connections kept open while idle
        self.max_connections = max_connections
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connecting: set[asyncio.Task[Connection]] = set()
        self.stop_requested = False
        # Called with the time after every answer (the dispatcher sends what fell due).
        self.after_answer: Callable[[float], None] = lambda now: None
        # Diagnostics for the journal and the benchmarks.
        self.connects = 0
        self.connect_failures = 0
        self.tls_resumed = 0  # TLS connections that resumed a session (an abbreviated handshake)


class Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    __slots__ = ("pool", "transport", "parser", "req", "closed", "idle_since", "used", "ticket_pending")

    def __init__(self, pool: Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.req: Request | None = None
        self.closed = False
        self.idle_since = 0.0
        self.used = False  # carried a request: a server closing it is ordinary churn, not refusal
        self.ticket_pending = False  # TLS: the session is remembered after the first answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.pool.tls is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None and ssl_object.session_reused:
                self.pool.links.tls_resumed += 1
            self.ticket_pending = True

    def send(self, req: Request) -> None:
        self.req = req
        self.used = True
        self.pool.busy.add(self)
        self.parser.reset(self.pool.head_only[req[1]])
        self.transport.write(req[2])  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        if self.req is None:
            self.pool.close(self)  # unsolicited data: out of step
            return
        try:
            status = self.parser.feed(data)
        except ProtocolError:
            self.pool.failed(self, "protocol error")
            return
        if status is not None:
            self.pool.answered(self, status)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost does the bookkeeping

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self, exc)


def describe_connect_error(exc: BaseException, where: str, server_name: str) -> str:
    """One line for a failed connect (timeout, refused, TLS)."""
    if is_tls_error(exc):
        return describe_tls_error(exc, where, server_name)
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class Pool:
    """The connections to one host:port: idle ones (LIFO), busy ones, and the requests waiting."""

    __slots__ = ("host", "port", "server_name", "tls", "links", "head_only", "idle", "conns", "busy", "waiting",
                 "opening")

    def __init__(self, host: str, port: int, tls: ResumingContext | None, links: Links, server_name: str = ""):
        self.host = host
        self.port = port
        self.server_name = server_name or host  # checked against the certificate and sent as SNI
        self.tls = tls
        self.links = links
        self.head_only = links.head_only
        self.idle: list[Connection] = []  # LIFO: the busiest connections stay warm, spare ones age out
        self.conns: set[Connection] = set()  # open connections, idle or busy
        self.busy: set[Connection] = set()  # those carrying a request
        self.waiting: collections.deque[Request] = collections.deque()  # in intended-time order
        self.opening = 0

    def describe(self, exc: BaseException) -> str:
        return describe_connect_error(exc, f"{self.host}:{self.port}", self.server_name)

    # -- opening -----------------------------------------------------------------

    async def connect(self) -> Connection:
        """Open one connection; the caller has counted it in ``opening`` already."""
        links = self.links
        links.connects += 1
        tls: dict[str, Any] = {} if self.tls is None else {"ssl": self.tls, "server_hostname": self.server_name}
        try:
            # asyncio.timeout, not wait_for: no extra task per connection.
            async with asyncio.timeout(links.timeout_s):
                _, conn = await links.loop.create_connection(  # type: ignore[union-attr]
                    lambda: Connection(self), self.host, self.port, **tls)
        finally:
            self.opening -= 1
        if not conn.closed:
            self.conns.add(conn)
        return conn

    def grow(self, refill: bool = False) -> None:
        """Open one more connection if requests wait (or, to ``refill``, the warm pool is short) and the caps allow it.

        At most MAX_CONNECTING at a time: a burst of connects would itself stall
        the loop (and the server's accept queue); each success opens the next.
        Refilling replaces connections the server closed (nginx closes one after
        1,000 requests by default: 20 a second at 20,000 req/s) one at a time as
        they go, instead of letting the pool drain until arrivals wait for a
        burst of connects, whose time would count in their latency. Only the
        close of a connection that carried a request refills, one for one: a
        server that refuses or closes every new connection is not reconnected
        to in a loop.
        """
        links = self.links
        open_or_opening = len(self.conns) + self.opening
        wanted = self.waiting or (refill and open_or_opening < links.warm and not links.stop_requested)
        if wanted and self.opening < MAX_CONNECTING and open_or_opening < links.max_connections:
            self._open()

    def _open(self) -> None:
        # Counted before the task runs: a burst of arrivals must not start more
        # connections than max_connections allows while the first ones are pending.
        self.opening += 1
        task = self.links.loop.create_task(self.connect())  # type: ignore[union-attr]
        self.links.connecting.add(task)
        task.add_done_callback(self.opened)

    def opened(self, task: asyncio.Future[Connection]) -> None:
        self.links.connecting.discard(task)  # type: ignore[arg-type]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.links.connect_failures += 1
            if not self.conns and not self.opening and self.waiting:
                # No connection at all, none coming: what waits would fail the same way for a real client.
                self.fail_waiting(len(self.waiting), f"connect: {self.describe(exc)}")
            return
        conn = task.result()
        if not conn.closed:
            self.release(conn)
        elif self.waiting:
            # The server closed it before it carried anything. For the request it was opened
            # for that is a failure, as a refused connect is; opening another at once for the
            # same request would reconnect in a loop for as long as the request may wait.
            self.fail_waiting(1, "connection closed before the request was sent")
        self.grow()

    # -- requests ----------------------------------------------------------------

    def submit(self, req: Request) -> None:
        if self.idle:
            self.idle.pop().send(req)
            return
        self.waiting.append(req)
        self.grow()

    def release(self, conn: Connection) -> None:
        if self.waiting:
            conn.send(self.waiting.popleft())
        else:
            conn.idle_since = self.links.outcomes.clock()
            self.idle.append(conn)

    def fail_waiting(self, count: int, error: str) -> None:
        """Fail the ``count`` oldest requests waiting for a connection, with ``error``."""
        outcomes = self.links.outcomes
        now = outcomes.now()
        for _ in range(min(count, len(self.waiting))):
            outcomes.failed(self.waiting.popleft(), error, now)

    def answered(self, conn: Connection, status: int) -> None:
        outcomes = self.links.outcomes
        now = outcomes.now()  # before this request stops being in flight
        req = conn.req
        conn.req = None
        self.busy.discard(conn)
        outcomes.answered(req, status, conn.parser, now)  # type: ignore[arg-type]
        if conn.ticket_pending:
            conn.ticket_pending = False
            self.tls.remember(conn.transport.get_extra_info("ssl_object"))  # type: ignore[union-attr]
        if conn.parser.keep_alive:
            self.release(conn)
        else:
            self.close(conn)
            self.grow(refill=True)
        self.links.after_answer(now)

    def failed(self, conn: Connection, error: str) -> None:
        """The request on ``conn`` failed for a reason of the connection's own (not a status)."""
        outcomes = self.links.outcomes
        now = outcomes.now()
        req = conn.req
        conn.req = None
        self.busy.discard(conn)
        self.close(conn)
        if req is not None:
            outcomes.failed(req, error, now)
        self.grow()

    def lost(self, conn: Connection, exc: Exception | None) -> None:
        if conn.closed:
            return  # we closed it ourselves; the bookkeeping is done
        if conn.req is None:
            conn.closed = True
            self.conns.discard(conn)
            if conn in self.idle:
                self.idle.remove(conn)  # the server closed an idle keep-alive connection
            # One the server closed before it carried anything (a proxy resetting every
            # connection, say) is not replaced: that would reconnect in a tight loop.
            self.grow(refill=conn.used)
            return
        status = conn.parser.eof()
        if status is not None:  # a response delimited by the connection's end
            self.answered(conn, status)
            self.close(conn)
            return
        self.failed(conn, "connection reset" if exc is not None else "connection closed")

    def close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.conns.discard(conn)
        self.busy.discard(conn)
        if conn.transport is not None:
            conn.transport.close()

    # -- housekeeping -------------------------------------------------------------

    def sweep(self, now: float) -> None:
        """Time out what waited too long, replace what that closed, close what idled after a burst."""
        outcomes = self.links.outcomes
        expired = now - self.links.timeout_s
        waiting = self.waiting
        while waiting and waiting[0][0] <= expired:
            outcomes.timed_out(waiting.popleft(), now)
        for conn in [c for c in self.busy if c.req is not None and c.req[0] <= expired]:
            outcomes.timed_out(conn.req, now)  # type: ignore[arg-type]
            conn.req = None
            conn.closed = True
            self.conns.discard(conn)
            self.busy.discard(conn)
            if conn.transport is not None:
                conn.transport.abort()  # a late answer must not be read as the next request's
        self.grow()
        # After a burst, connections beyond the warm pool that stayed idle are closed, as
        # clients do: the server should not keep a thousand sockets for a spike long gone.
        idle = self.idle
        while len(idle) > self.links.warm and idle[0].idle_since < now - IDLE_CLOSE_S:
            self.close(idle.pop(0))

    def pending(self) -> tuple[int, int, float | None]:
        """(in flight, waiting, oldest intended time among them)."""
        oldest = self.waiting[0][0] if self.waiting else None
        in_flight = 0
        for conn in self.busy:
            if conn.req is not None:
                in_flight += 1
                if oldest is None or conn.req[0] < oldest:
                    oldest = conn.req[0]
        return in_flight, len(self.waiting), oldest

    def close_all(self) -> None:
        for conn in list(self.conns):
            conn.closed = True
            if conn.transport is not None:
                conn.transport.close()
        self.conns.clear()
        self.idle.clear()
