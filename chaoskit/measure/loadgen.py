"""The open-model load generator: requests go out on schedule, however slowly the server answers.

A :class:`LoadGenerator` runs its own uvloop event loop in a background
thread; the (synchronous) run loop calls :meth:`~LoadGenerator.start`, reads
completed per-second buckets while the load runs, and calls
:meth:`~LoadGenerator.stop`.

Why not aiohttp: an open-model aiohttp+uvloop generator collapsed at 14k
req/s on this project's machines, and the target is 20k req/s on one core.
The hot path is therefore a raw ``asyncio.Protocol`` speaking HTTP/1.1 on
keep-alive connections: requests rendered from precompiled templates
(:mod:`chaoskit.measure.mix`), responses parsed only as far as framing needs,
with heads already seen answered from a small cache
(:mod:`chaoskit.measure.http1`), and per-request bookkeeping reduced to list
appends flushed into HDR histograms once a second
(:mod:`chaoskit.measure.buckets`). Measured (bench/loadgen_bench.py): about
23-29 us of CPU per request at 20k req/s, of which about half is the kernel's
send and receive; wrk needs 10-15 us.

How time is kept:

* arrival k is due at ``t0 + schedule.time_of(k)`` (:mod:`.arrivals`); a
  timerfd wakes the loop at that instant (:mod:`.wakeup`), and every response
  also checks whether arrivals are due;
* a request's latency is measured from its *intended* send time, so time
  spent waiting for the generator, for a free connection or for the server
  all count (no coordinated omission);
* dispatch lag (actual minus intended dispatch) measures only the generator's
  own lateness; when it grows, the window is invalid, not the system guilty.

Connections: ``spec.connections`` are opened before the schedule starts,
and one the server closes after carrying requests is replaced at once;
when an arrival finds none idle it waits while a new one is opened (real
users do not queue behind each other), at most MAX_CONNECTING at a time and
up to ``spec.max_connections`` in all; the wait is timed from the intended
send time like everything else, and the bucket counts waiting requests in
``waiting``. A connection the server closes before it carried anything
fails the request it was opened for, as a refused connect does. Connections
beyond the warm pool close after IDLE_CLOSE_S idle.
A request not answered ``timeout_s`` after its intended send time is a
timeout: recorded with its latency, and its connection is aborted (a late
answer would put it out of step), as a client that gives up does.

Values of successful answers can be captured (``RequestSpec.capture``, e.g.
the id of each created tweet) for probes that check them afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvloop

from chaoskit.errors import LoadGeneratorFailed, ProtocolError
from chaoskit.log import get_logger
from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import FAILED, OK, TIMED_OUT, Bucket, BucketRecorder, BucketStore
from chaoskit.measure.http1 import ResponseParser
from chaoskit.measure.mix import DRAW_CHUNK, RequestMix
from chaoskit.measure.tuning import (
    CPU_LATENCY_DEVICE,
    keep_cpus_awake,
    let_cpus_sleep,
    lower_process,
    raise_process,
    tune_process,
    untune_process,
)
from chaoskit.measure.validity import ValidityLimits, assess_validity
from chaoskit.measure.wakeup import make_timer
from chaoskit.measure.window import WindowStats, summarize
from chaoskit.model.load import LoadSpec

__all__ = ["LoadGenerator", "LoadGeneratorFailed"]

log = get_logger("chaoskit.measure")

# At most this many overdue arrivals are dispatched before the loop gets to read
# responses again: after a hiccup, catching up must not starve the I/O it measures.
DISPATCH_BATCH = 64
# The timer wakes the loop at most this often; arrivals due in between go out together
# (their lag, at most this, is recorded). Well under the 1 ms lag budget.
MIN_WAKE_GAP_S = 0.0005
# Connections being opened at once, per host (each success starts the next one).
MAX_CONNECTING = 16
# A connection opened for a burst is closed after this long idle (the warm pool is kept).
IDLE_CLOSE_S = 5.0
# How often timeouts are swept (and empty seconds closed when nothing else happens).
TICK_S = 0.01
# A request (intended time, request-kind index, bytes to write).
Request = tuple[float, int, bytes]


def _apply(key: str, setting: bool | str, tune: Callable[[], None], what: str, remedy: str, **fallback: str) -> bool:
    """Apply a ``load.<key>`` tuning set to true, false or auto; whether it was applied.

    Refused, ``true`` fails the load with one line saying what to do, and
    ``auto`` logs ``load.<key>_refused`` and goes on without it.
    """
    if not setting:
        return False
    try:
        tune()
        return True
    except OSError as exc:
        if setting != "auto":
            raise LoadGeneratorFailed(
                f"load.{key} is set but {what} was refused ({exc.strerror}): {remedy}, or set {key}: auto") from exc
        log.warning(f"load.{key}_refused", error=exc.strerror, **fallback)
        return False


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    __slots__ = ("engine", "pool", "transport", "parser", "req", "closed", "idle_since", "used")

    def __init__(self, engine: _Engine, pool: _Pool):
        self.engine = engine
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.req: Request | None = None
        self.closed = False
        self.idle_since = 0.0
        self.used = False  # carried a request: a server closing it is ordinary churn, not refusal

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def send(self, req: Request) -> None:
        self.req = req
        self.used = True
        self.pool.busy.add(self)
        self.parser.reset(self.engine.head_only[req[1]])
        self.transport.write(req[2])  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        if self.req is None:
            self.engine.discard(self, "unsolicited data")
            return
        try:
            status = self.parser.feed(data)
        except ProtocolError:
            self.engine.failed(self, "protocol error")
            return
        if status is not None:
            self.engine.answered(self, status)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost does the bookkeeping

    def connection_lost(self, exc: Exception | None) -> None:
        self.engine.lost(self, exc)


class _Pool:
    """The connections to one host:port."""

    __slots__ = ("host", "port", "idle", "conns", "busy", "waiting", "opening")

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.idle: list[_Connection] = []  # LIFO: the busiest connections stay warm, spare ones age out
        self.conns: set[_Connection] = set()  # open connections, idle or busy
        self.busy: set[_Connection] = set()  # those carrying a request
        self.waiting: collections.deque[Request] = collections.deque()  # in intended-time order
        self.opening = 0


class _Engine:
    """Everything that runs inside the generator's event loop."""

    def __init__(self, spec: LoadSpec, mix: RequestMix, store: BucketStore, clock: Callable[[], float],
                 wall_clock: Callable[[], float], max_duration_s: float):
        self.spec = spec
        self.mix = mix
        self.store = store
        self.clock = clock
        self.wall_clock = wall_clock
        self.max_duration_s = max_duration_s
        self.schedule = ArrivalSchedule(spec.rate, spec.ramp_s)
        self.timeout_s = spec.timeout_s
        self.max_connections = spec.max_connections
        self.requests = mix.requests
        self.ok_status = [r.ok_status for r in mix.requests]
        self.head_only = [r.method == "HEAD" for r in mix.requests]
        # Kinds whose successful answers give up a value (the id of what was created).
        self.capture = [re.compile(rb'"' + re.escape(r.capture.encode()) + rb'"\s*:\s*(-?\d+|"[^"]*")')
                        if r.capture else None for r in mix.requests]
        self.captured: list[list[Any]] = [[] for _ in mix.requests]
        pools: dict[tuple[str, int], _Pool] = {}
        for r in mix.requests:
            pools.setdefault((r.host, r.port), _Pool(r.host, r.port))
        self.pools = list(pools.values())
        self.pool_of_kind = [pools[(r.host, r.port)] for r in mix.requests]
        self.recorder: BucketRecorder | None = None
        self.t0 = 0.0
        self.k = 0
        self.next_t = float("inf")
        self.stop_at = float("inf")  # no arrival is dispatched at or after this time
        self.ramp_k = self.schedule.rate * self.schedule.ramp_s / 2.0  # arrivals during the ramp
        self.draws = mix.chunks()
        self.kinds: list[int] = []
        self.users: list[int] = []
        self.i = DRAW_CHUNK  # index of the next arrival in the current chunk of draws
        self.stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timer: Any = None
        self.tick_handle: asyncio.TimerHandle | None = None
        self.connecting: set[asyncio.Task[_Connection]] = set()
        self.stop_requested = False
        # How overdue an arrival must be before an answer dispatches it instead of the timer (see run).
        self.answer_dispatch_after = 0.0
        # Diagnostics for the journal and the benchmarks.
        self.connects = 0
        self.connect_failures = 0
        self.timer_wakeups = 0
        self.captured_missing = 0  # successful answers without the value to capture

    # -- lifecycle -----------------------------------------------------------

    async def run(self, ready: Callable[[], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        for pool in self.pools:
            # Resolve once: a name lookup per reconnect would cost more than the request.
            infos = await self.loop.getaddrinfo(pool.host, pool.port, type=socket.SOCK_STREAM)
            pool.host = infos[0][4][0]
        await self._warm_up()
        # The first draws cost a few ms (numpy's first calls): pay them before arrival 0 is due.
        self.kinds, self.users = next(self.draws)
        self.i = 0
        self.timer = make_timer(self.loop, self._on_timer, self.clock)
        now = self.clock()
        self.t0 = now + 0.002  # a breath, so arrival 0 is not born late
        wall_t0 = self.wall_clock() + (self.t0 - now)
        self.recorder = BucketRecorder(self.mix.names, self.schedule, self.t0, wall_t0,
                                       int((self.timeout_s * 2 + 1.0) * 1e6), self.store, self.pending_info)
        self.stop_at = self.t0 + self.max_duration_s
        self.k = 0
        self.next_t = self.t0
        if self.schedule.rate * MIN_WAKE_GAP_S >= 1.0:
            # Arrivals come at least as often as the loop may wake: a periodic wake-up
            # replaces a timer system call per wake-up (the ramp's slow start included).
            self.timer.every(MIN_WAKE_GAP_S, self.next_t)
            # And normally only that wake-up dispatches: sending each arrival as an answer
            # happens to come in wakes the server once per request, and on a VM every
            # wake-up is an interrupt to the hypervisor. Ten at a time cost about 15% less
            # CPU per request and far fewer connections opened for bursts
            # (bench/loadgen_bench.py). But when the server answers a burst at once (after
            # a stall of its own), the loop reads every answer before it sees the timer:
            # past one wake-up period overdue, an answer dispatches after all.
            self.answer_dispatch_after = MIN_WAKE_GAP_S
        else:
            self.timer.arm(self.next_t)
        self.tick_handle = self.loop.call_later(TICK_S, self.tick)
        ready()
        if self.stop_requested:  # stop() came while connections were being opened
            self.request_stop()
        await self.stopping.wait()
        await self._drain()

    async def _warm_up(self) -> None:
        opens = []
        for pool in self.pools:
            for _ in range(max(0, self.spec.connections)):
                pool.opening += 1
                opens.append(self._connect(pool))
        results = await asyncio.gather(*opens, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            log.warning("load.connect_failed", failed=len(failures), of=len(results), error=_describe(failures[0]))
        now = self.clock()
        for pool in self.pools:
            for conn in pool.conns:
                conn.idle_since = now
                pool.idle.append(conn)

    async def _connect(self, pool: _Pool) -> _Connection:
        """Open one connection; the caller has counted it in ``pool.opening`` already."""
        self.connects += 1
        try:
            # asyncio.timeout, not wait_for: no extra task per connection.
            async with asyncio.timeout(self.timeout_s):
                _, conn = await self.loop.create_connection(  # type: ignore[union-attr]
                    lambda: _Connection(self, pool), pool.host, pool.port)
        finally:
            pool.opening -= 1
        if not conn.closed:
            pool.conns.add(conn)
        return conn

    def request_stop(self) -> None:
        """Stop dispatching now (thread-safe through ``call_soon_threadsafe``)."""
        self.stop_requested = True
        now = self.clock()
        if now < self.stop_at:
            self.stop_at = now
        if self.recorder is not None:
            self.recorder.schedule_stop = min(self.recorder.schedule_stop or float("inf"), self.stop_at - self.t0)
        if self.timer is not None:
            self.timer.disarm()  # nothing is dispatched any more
        if self.stopping is not None:
            self.stopping.set()

    async def _drain(self) -> None:
        """Wait for outstanding requests (each ends by its timeout at the latest), then close the last bucket."""
        deadline = self.clock() + self.timeout_s + 0.5
        while self.clock() < deadline and any(p.waiting or p.busy for p in self.pools):
            await asyncio.sleep(TICK_S)
        if self.tick_handle is not None:
            self.tick_handle.cancel()
        self.timer.close()
        assert self.recorder is not None
        self.recorder.close_partial(self.clock())
        for task in list(self.connecting):
            task.cancel()
        if self.connecting:
            await asyncio.gather(*self.connecting, return_exceptions=True)
        for pool in self.pools:
            for conn in list(pool.conns):
                conn.closed = True
                if conn.transport is not None:
                    conn.transport.close()
            pool.conns.clear()
            pool.idle.clear()
        await asyncio.sleep(0)  # let the transports deliver their connection_lost

    # -- dispatch --------------------------------------------------------------

    def _on_timer(self) -> None:
        self.timer_wakeups += 1
        self.dispatch_due()

    def dispatch_due(self) -> None:
        """Send every arrival that is due (at most a batch; the rest after the loop reads I/O)."""
        clock = self.clock
        now = clock()
        next_t = self.next_t
        if next_t > now:
            self.timer.arm_by(next_t)
            return
        recorder = self.recorder
        requests = self.requests
        pool_of_kind = self.pool_of_kind
        t0, ramp_s, ramp_k, rate = self.t0, self.schedule.ramp_s, self.ramp_k, self.schedule.rate
        stop_at = self.stop_at
        k, i = self.k, self.i
        kinds, users = self.kinds, self.users
        budget = DISPATCH_BATCH
        while next_t <= now:
            if next_t >= stop_at:
                self.next_t = float("inf")
                self.k, self.i = k, i
                if self.stopping is not None and not self.stopping.is_set():
                    self.request_stop()
                return
            if not budget:
                self.loop.call_soon(self.dispatch_due)  # type: ignore[union-attr]
                break
            budget -= 1
            if i >= DRAW_CHUNK:
                kinds, users = self.kinds, self.users = next(self.draws)
                i = 0
            kind = kinds[i]
            payload = requests[kind].render(users[i], k)
            i += 1
            recorder.sent(kind, now - next_t, now)  # type: ignore[union-attr]
            self._submit(pool_of_kind[kind], (next_t, kind, payload))
            k += 1
            # ArrivalSchedule.time_of, inlined (same float operations, so the same times).
            next_t = t0 + (ramp_s + (k - ramp_k) / rate if k >= ramp_k else math.sqrt(2.0 * k * ramp_s / rate))
            now = clock()
        self.k, self.i = k, i
        self.next_t = next_t
        if budget:
            # At high rates waking for every arrival costs more than the arrival: wake at
            # most every MIN_WAKE_GAP_S and send what fell due (responses also dispatch).
            self.timer.arm_by(max(next_t, now + MIN_WAKE_GAP_S))

    def _submit(self, pool: _Pool, req: Request) -> None:
        if pool.idle:
            pool.idle.pop().send(req)
            return
        pool.waiting.append(req)
        self._grow(pool)

    def _grow(self, pool: _Pool, refill: bool = False) -> None:
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
        open_or_opening = len(pool.conns) + pool.opening
        wanted = pool.waiting or (refill and open_or_opening < self.spec.connections and not self.stop_requested)
        if wanted and pool.opening < MAX_CONNECTING and open_or_opening < self.max_connections:
            self._open(pool)

    def _open(self, pool: _Pool) -> None:
        # Counted before the task runs: a burst of arrivals must not start more
        # connections than max_connections allows while the first ones are pending.
        pool.opening += 1
        task = self.loop.create_task(self._connect(pool))  # type: ignore[union-attr]
        self.connecting.add(task)
        task.add_done_callback(lambda t: self._opened(pool, t))

    def _opened(self, pool: _Pool, task: asyncio.Task[_Connection]) -> None:
        self.connecting.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.connect_failures += 1
            if not pool.conns and not pool.opening and pool.waiting:
                # No connection at all, none coming: what waits would fail the same way for a real client.
                self._fail_waiting(pool, len(pool.waiting), f"connect: {_describe(exc)}")
            return
        conn = task.result()
        if not conn.closed:
            self._release(pool, conn)
        elif pool.waiting:
            # The server closed it before it carried anything. For the request it was opened
            # for that is a failure, as a refused connect is; opening another at once for the
            # same request would reconnect in a loop for as long as the request may wait.
            self._fail_waiting(pool, 1, "connection closed before the request was sent")
        self._grow(pool)

    def _fail_waiting(self, pool: _Pool, count: int, error: str) -> None:
        """Fail the ``count`` oldest requests waiting for a connection, with ``error``."""
        now = self.clock()
        recorder = self.recorder
        if now >= recorder.end:  # type: ignore[union-attr]
            recorder.rotate(now)  # type: ignore[union-attr]
        for _ in range(min(count, len(pool.waiting))):
            intended, kind, _ = pool.waiting.popleft()
            recorder.outcome(kind, FAILED, now - intended, now, error)  # type: ignore[union-attr]

    def _release(self, pool: _Pool, conn: _Connection) -> None:
        if pool.waiting:
            conn.send(pool.waiting.popleft())
        else:
            conn.idle_since = self.clock()
            pool.idle.append(conn)

    # -- outcomes ----------------------------------------------------------------

    def answered(self, conn: _Connection, status: int) -> None:
        now = self.clock()
        recorder = self.recorder
        if now >= recorder.end:  # type: ignore[union-attr]
            recorder.rotate(now)  # type: ignore[union-attr]  # before this request stops being in flight
        intended, kind, _ = conn.req  # type: ignore[misc]
        conn.req = None
        conn.pool.busy.discard(conn)
        if status in self.ok_status[kind]:
            self.recorder.outcome(kind, OK, now - intended, now)  # type: ignore[union-attr]
            if self.capture[kind] is not None:
                self._capture(kind, conn.parser.body())
        else:
            self.recorder.outcome(kind, FAILED, now - intended, now, f"status {status}")  # type: ignore[union-attr]
        pool = conn.pool
        if conn.parser.keep_alive:
            self._release(pool, conn)
        else:
            self._close(conn)
            self._grow(pool, refill=True)
        if now >= self.next_t + self.answer_dispatch_after:
            self.dispatch_due()

    def _capture(self, kind: int, body: bytes) -> None:
        match = self.capture[kind].search(body)  # type: ignore[union-attr]
        if match is None:
            self.captured_missing += 1
            return
        raw = match.group(1)
        self.captured[kind].append(int(raw) if raw[:1] != b'"' else raw[1:-1].decode("utf-8", "replace"))

    def failed(self, conn: _Connection, error: str) -> None:
        """The request on ``conn`` failed for a reason of the connection's own (not a status)."""
        now = self.clock()
        if now >= self.recorder.end:  # type: ignore[union-attr]
            self.recorder.rotate(now)  # type: ignore[union-attr]
        req = conn.req
        conn.req = None
        conn.pool.busy.discard(conn)
        self._close(conn)
        if req is not None:
            self.recorder.outcome(req[1], FAILED, now - req[0], now, error)  # type: ignore[union-attr]
        self._grow(conn.pool)

    def discard(self, conn: _Connection, why: str) -> None:
        self._close(conn)

    def lost(self, conn: _Connection, exc: Exception | None) -> None:
        if conn.closed:
            return  # we closed it ourselves; the bookkeeping is done
        pool = conn.pool
        if conn.req is None:
            conn.closed = True
            pool.conns.discard(conn)
            if conn in pool.idle:
                pool.idle.remove(conn)  # the server closed an idle keep-alive connection
            # One the server closed before it carried anything (a proxy resetting every
            # connection, say) is not replaced: that would reconnect in a tight loop.
            self._grow(pool, refill=conn.used)
            return
        status = conn.parser.eof()
        if status is not None:  # a response delimited by the connection's end
            self.answered(conn, status)
            self._close(conn)
            return
        self.failed(conn, "connection reset" if exc is not None else "connection closed")

    def _close(self, conn: _Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        conn.pool.conns.discard(conn)
        conn.pool.busy.discard(conn)
        if conn.transport is not None:
            conn.transport.close()

    # -- housekeeping ---------------------------------------------------------------

    def tick(self) -> None:
        """Every TICK_S: time out what waited too long, close finished seconds, keep the schedule alive."""
        now = self.clock()
        recorder = self.recorder
        assert recorder is not None
        if now >= recorder.end:
            recorder.rotate(now)
        expired = now - self.timeout_s
        for pool in self.pools:
            waiting = pool.waiting
            while waiting and waiting[0][0] <= expired:
                intended, kind, _ = waiting.popleft()
                recorder.outcome(kind, TIMED_OUT, now - intended, now)
            for conn in [c for c in pool.busy if c.req is not None and c.req[0] <= expired]:
                intended, kind, _ = conn.req  # type: ignore[misc]
                conn.req = None
                recorder.outcome(kind, TIMED_OUT, now - intended, now)
                conn.closed = True
                pool.conns.discard(conn)
                pool.busy.discard(conn)
                if conn.transport is not None:
                    conn.transport.abort()  # a late answer must not be read as the next request's
            self._grow(pool)
            # After a burst, connections beyond the warm pool that stayed idle are closed, as
            # clients do: the server should not keep a thousand sockets for a spike long gone.
            idle = pool.idle
            while len(idle) > self.spec.connections and idle[0].idle_since < now - IDLE_CLOSE_S:
                self._close(idle.pop(0))
        if now >= self.next_t:
            self.dispatch_due()
        if now >= self.stop_at and self.stopping is not None and not self.stopping.is_set():
            self.request_stop()
        self.tick_handle = self.loop.call_later(TICK_S, self.tick)  # type: ignore[union-attr]

    def pending_info(self) -> tuple[int, int, float | None]:
        """(in flight, waiting for a connection, oldest intended time among them)."""
        in_flight = waiting = 0
        oldest: float | None = None
        for pool in self.pools:
            waiting += len(pool.waiting)
            if pool.waiting:
                oldest = pool.waiting[0][0] if oldest is None else min(oldest, pool.waiting[0][0])
            for conn in pool.busy:
                if conn.req is not None:
                    in_flight += 1
                    if oldest is None or conn.req[0] < oldest:
                        oldest = conn.req[0]
        return in_flight + waiting, waiting, oldest


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class LoadGenerator:
    """Open-model HTTP load in a background thread, measured per second.

    ``clock`` must be monotonic (seconds) and ``wall_clock`` epoch seconds;
    both are injectable. With the default clock (``time.monotonic``) buckets'
    ``start_mono`` compares directly with ``time.monotonic()`` in the run loop.
    """

    def __init__(self, spec: LoadSpec, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, max_duration_s: float = 3600.0,
                 validity: ValidityLimits = ValidityLimits()):
        if spec.timeout_s <= 0:
            raise ValueError(f"load timeout must be > 0, got {spec.timeout_s}")
        if spec.max_connections < 1:
            raise ValueError(f"load max_connections must be >= 1, got {spec.max_connections}")
        self.spec = spec
        self.mix = RequestMix(spec.requests, spec.users, spec.seed)
        ArrivalSchedule(spec.rate, spec.ramp_s)  # validates rate and ramp now, not in the thread
        self.validity_limits = validity
        self._clock = clock
        self._wall_clock = wall_clock
        self._max_duration_s = max_duration_s
        self._store = BucketStore()
        self._engine: _Engine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False
        self._realtime = False  # the process was raised for this load (see tuning.raise_process)
        self._cpus_awake = False  # the CPUs are kept awake for this load (see tuning.keep_cpus_awake)

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout_s: float | None = None) -> None:
        """Open connections and start the schedule; returns once the first arrival is due."""
        if self._thread is not None:
            raise RuntimeError("a LoadGenerator starts once")
        # Logged before the thread starts, so rendering the log line does not hold the
        # GIL while the first arrivals are due.
        log.info("load.started", rate=self.spec.rate, ramp_s=self.spec.ramp_s, kinds=list(self.mix.names),
                 connections=self.spec.connections)
        # First: the generator's thread inherits the policy.
        self._realtime = _apply("realtime", self.spec.realtime, raise_process, "real-time scheduling",
                                "run chaoskit as root or with CAP_SYS_NICE", scheduling="normal")
        try:
            self._cpus_awake = _apply("keep_cpus_awake", self.spec.keep_cpus_awake, keep_cpus_awake,
                                      f"the CPU latency request ({CPU_LATENCY_DEVICE})",
                                      f"run chaoskit as root (it writes {CPU_LATENCY_DEVICE})", cpus="normal idle")
        except LoadGeneratorFailed:
            self._untune()
            raise
        tune_process()
        self._thread = threading.Thread(target=self._thread_main, name="chaoskit-loadgen", daemon=True)
        self._thread.start()
        wait = timeout_s if timeout_s is not None else self.spec.timeout_s + 10.0
        if not self._ready.wait(wait):
            self.stop()
            raise LoadGeneratorFailed(f"load generator not ready after {wait:g} s")
        if self._error is not None:
            self.stop()
            raise LoadGeneratorFailed(f"load generator failed to start: {self._error}") from self._error

    def _thread_main(self) -> None:
        loop = uvloop.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._engine = _Engine(self.spec, self.mix, self._store, self._clock, self._wall_clock, self._max_duration_s)
        try:
            loop.run_until_complete(self._engine.run(self._ready.set))
        except BaseException as exc:  # noqa: BLE001 - recorded and surfaced by start()/stop()/error
            self._error = exc
            log.error("load.failed", error=repr(exc))
        finally:
            self._ready.set()
            self._store.wake_all()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def stop(self, timeout_s: float | None = None) -> tuple[Bucket, ...]:
        """Stop dispatching, let outstanding requests end (by their timeout at worst); all buckets."""
        if self._thread is None or self._stopped:
            return self.buckets()
        self._stopped = True
        loop, engine = self._loop, self._engine
        if loop is not None and engine is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(engine.request_stop)
            except RuntimeError:
                pass  # the loop already ended
        self._thread.join(timeout_s if timeout_s is not None else self.spec.timeout_s + 5.0)
        untune_process()
        self._untune()
        buckets = self.buckets()
        total = summarize(buckets)
        log.info("load.stopped", seconds=round(total.seconds, 3), sent=total.sent, succeeded=total.succeeded,
                 failed=total.failed, timed_out=total.timed_out)
        return buckets

    def _untune(self) -> None:
        # The flags stay: the journal says how this load ran.
        if self._realtime:
            lower_process()
        if self._cpus_awake:
            let_cpus_sleep()

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def captured(self, kind: str) -> list[Any]:
        """Values captured from successful answers of request ``kind`` so far (see RequestSpec.capture)."""
        engine = self._engine
        if engine is None:
            return []
        return list(engine.captured[self.mix.names.index(kind)])

    def diagnostics(self) -> dict[str, Any]:
        """Counters about the generator itself: connections opened, connect failures, timer wake-ups."""
        engine = self._engine
        if engine is None:
            return {}
        return {"connects": engine.connects, "connect_failures": engine.connect_failures,
                "scheduling": "SCHED_FIFO" if self._realtime else "normal",
                "cpus": "kept awake" if self._cpus_awake else "normal idle",
                "timer_wakeups": engine.timer_wakeups, "timer": type(engine.timer).__name__,
                "captured": {name: len(values) for name, values in zip(self.mix.names, engine.captured)
                             if self.mix.requests[self.mix.names.index(name)].capture},
                "captured_missing": engine.captured_missing}

    @property
    def error(self) -> BaseException | None:
        """Why the generator's thread died, if it did."""
        return self._error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped

    # -- live reading (any thread) -----------------------------------------------

    def buckets(self) -> tuple[Bucket, ...]:
        """The completed per-second buckets so far (a snapshot)."""
        return self._store.snapshot()

    def wait_for_buckets(self, count: int, timeout_s: float) -> bool:
        """Block until ``count`` buckets are complete (False on timeout or if the generator died)."""
        return self._store.wait_for(count, timeout_s) and len(self._store.snapshot()) >= count

    def latest_window(self, seconds: int = 1) -> WindowStats | None:
        """The last ``seconds`` completed buckets, summarised; None before the first one completes."""
        buckets = self._store.snapshot()
        return summarize(buckets[-seconds:]) if buckets else None

    def invalid_reason(self, buckets: Sequence[Bucket] | None = None) -> str | None:
        """Why the measurement cannot be trusted (all buckets, or the ones given), or None."""
        if self._error is not None:
            return f"load generator failed: {self._error!r}"
        validity = assess_validity(self._store.snapshot() if buckets is None else buckets, self.validity_limits)
        return None if validity.valid else "; ".join(validity.reasons)

    def journal(self) -> dict[str, Any]:
        """The load's record for the journal: its spec, every bucket, the whole-run summary, validity."""
        buckets = self._store.snapshot()
        validity = assess_validity(buckets, self.validity_limits)
        return {
            "spec": {"rate": self.spec.rate, "ramp_s": self.spec.ramp_s, "timeout_s": self.spec.timeout_s,
                     "connections": self.spec.connections, "max_connections": self.spec.max_connections,
                     "seed": self.spec.seed, "realtime": self.spec.realtime,
                     "keep_cpus_awake": self.spec.keep_cpus_awake, "requests": list(self.mix.names)},
            "summary": summarize(buckets).to_dict(),
            "generator": self.diagnostics(),
            "validity": {"valid": validity.valid and self._error is None,
                         "reasons": list(validity.reasons) + ([f"load generator failed: {self._error!r}"]
                                                              if self._error is not None else [])},
            "buckets": [b.to_dict() for b in buckets],
        }
