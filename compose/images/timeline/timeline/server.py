"""The api's HTTP/1.1 server: keep-alive connections, one request at a time on each, on any asyncio loop.

Why not aiohttp's server: the home-timeline read is the hot path (1,000 req/s
on two shared cores), and aiohttp's request, router, response and signal
machinery cost about as much CPU as everything else the api does for a read.
This server does what nginx in front of it needs and no more: Content-Length
bodies (bounded by ``max_body``; a larger one is answered 413 and skipped),
keep-alive, HEAD, HTTP/1.0 for the health check, an idle timeout above
nginx's, and a graceful stop (in-flight requests are answered, idle
connections closed).

A handler is never cancelled when its client goes away: it runs to the end
(every call it makes is bounded by its own timeout) and its answer is dropped.
Cancelling it mid-call is what leaves pooled connections half-used.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .http1 import MAX_HEAD, HttpError, Request, Response, parse_head, render_response

__all__ = ["ErrorAnswer", "Handler", "Server"]

log = logging.getLogger("timeline.server")

Handler = Callable[[Request], Awaitable[Response]]
# Builds the answer to a request the server refuses itself: (status, code, message) -> response.
ErrorAnswer = Callable[[int, str, str], Response]

# Above nginx's upstream keepalive_timeout (60 s), so nginx is the one that closes idle
# connections: a server closing one just as nginx reuses it would fail that request.
IDLE_TIMEOUT_S = 75.0
# A larger body than this is not even skipped: the connection is closed after the 413.
MAX_SKIPPED_BODY = 1 << 20
# While a request is being served, at most this much of the next ones is buffered.
MAX_BUFFERED = 64 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self._server = server
        self._transport: Any = None  # uvloop's transports do not subclass asyncio.Transport
        self._buffer = bytearray()
        self._busy = False  # a request is being served
        self._skip = 0  # bytes of a refused body still to drop
        self._eof = False
        self._paused = False
        self._closing = False  # answer what is in flight, then close
        self.idle_since = time.monotonic()

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._closing = True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()
        elif len(self._buffer) > MAX_BUFFERED and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        # The client will send no more; answer what is in flight (keep the write side open), then close.
        self._eof = True
        if not self._busy:
            self._next()
        return True

    # --- requests ------------------------------------------------------------------------

    def _next(self) -> None:
        """Start serving the next complete request in the buffer, if there is one."""
        buffer = self._buffer
        while not self._closing:
            if self._skip:
                dropped = min(self._skip, len(buffer))
                del buffer[:dropped]
                self._skip -= dropped
                if self._skip:
                    break
            end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    self._refuse(HttpError(431, "request_header_fields_too_large",
                                           f"the request head is over {MAX_HEAD} bytes"), close=True)
                break
            try:
                request = parse_head(bytes(buffer[:end]))
            except HttpError as exc:
                self._refuse(exc, close=True)
                break
            start = end + 4
            length = request.content_length
            if length > self._server.max_body:
                del buffer[:start]
                self._skip = length
                self._refuse(HttpError(413, "request_entity_too_large",
                                       f"the body has {length} bytes, at most {self._server.max_body} allowed"),
                             close=length > MAX_SKIPPED_BODY or not request.keep_alive)
                continue
            if len(buffer) < start + length:
                break  # the body is still coming
            request.body = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._busy = True
            self._server.serve(self, request)
            return
        if self._eof and not self._busy:
            self._close()

    def _refuse(self, error: HttpError, close: bool) -> None:
        response = self._server.error_answer(error.status, error.code, error.message)
        self._write(render_response(response, self._server.date(), keep_alive=not close))
        if close:
            self._close()

    def respond(self, request: Request, response: Response) -> None:
        """Write the answer to the request being served, then go on with the next one."""
        keep_alive = request.keep_alive and not self._closing
        self._write(render_response(response, self._server.date(), keep_alive, request.version,
                                    head_only=request.method == "HEAD"))
        self._busy = False
        self.idle_since = time.monotonic()
        if not keep_alive:
            self._close()
            return
        if self._paused:
            self._paused = False
            self._transport.resume_reading()
        if self._buffer or self._skip or self._eof:
            self._next()

    def _write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def _close(self) -> None:
        self._closing = True
        self._transport.close()

    def close_when_idle(self) -> None:
        """Close now if no request is in flight, else right after its answer."""
        self._closing = True
        if not self._busy:
            self._transport.close()

    def abort(self) -> None:
        self._transport.abort()

    @property
    def busy(self) -> bool:
        return self._busy


class Server:
    def __init__(self, handler: Handler, error_answer: ErrorAnswer, max_body: int) -> None:
        self.handler = handler
        self.error_answer = error_answer
        self.max_body = max_body
        self.connections: set[_Connection] = set()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._date_second = -1
        self._date = ""

    async def listen(self, host: str | None, port: int, backlog: int = 1024) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, backlog=backlog)
        self._sweeper = loop.create_task(self._close_idle_connections())

    @property
    def port(self) -> int:
        assert self._server is not None, "listen() first"
        return int(self._server.sockets[0].getsockname()[1])

    def serve(self, connection: _Connection, request: Request) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(connection, request))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _answer(self, connection: _Connection, request: Request) -> None:
        try:
            response = await self.handler(request)
        except Exception:  # noqa: BLE001 - the handler answers its own errors; this is the last resort
            log.exception("unhandled error on %s %s", request.method, request.path[:100])
            response = self.error_answer(500, "internal_error", "unexpected error (a bug): see the replica's log")
            request.keep_alive = False
        connection.respond(request, response)

    def date(self) -> str:
        """The Date header's value, formatted once a second."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = email.utils.formatdate(now, usegmt=True)
        return self._date

    async def _close_idle_connections(self) -> None:
        while True:
            await asyncio.sleep(IDLE_TIMEOUT_S / 5)
            cutoff = time.monotonic() - IDLE_TIMEOUT_S
            for connection in list(self.connections):
                if not connection.busy and connection.idle_since < cutoff:
                    connection.close_when_idle()

    async def stop(self, grace_s: float) -> None:
        """Stop accepting, close idle connections, answer what is in flight (for up to ``grace_s``), close the rest."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close_when_idle()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_s)
        for connection in list(self.connections):
            connection.abort()
