"""The generator's event-loop side: start the schedule, keep time, stop and drain.

An :class:`Engine` runs inside the generator's own uvloop loop (started by
:class:`chaoskit.measure.loadgen.LoadGenerator` in its thread) and wires the
parts: :class:`~.pool.Pool` per host:port, the :class:`~.dispatch.Dispatcher`,
the :class:`~.outcomes.Outcomes` sink and a per-second
:class:`~.recorder.BucketRecorder`. A request's latency is measured from its
*intended* send time, so time spent waiting for the generator, for a free
connection or for the server all count (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from chaoskit.errors import LoadGeneratorFailed
from chaoskit.log import get_logger
from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.dispatch import Dispatcher
from chaoskit.measure.mix import RequestMix
from chaoskit.measure.outcomes import Outcomes
from chaoskit.measure.pool import Links, Pool
from chaoskit.measure.recorder import BucketRecorder
from chaoskit.measure.store import BucketStore
from chaoskit.measure.tls import client_context, is_tls_error
from chaoskit.measure.wakeup import make_timer
from chaoskit.model.load import LoadSpec

__all__ = ["Engine", "TICK_S"]

log = get_logger("chaoskit.measure")

# How often timeouts are swept (and empty seconds closed when nothing else happens).
TICK_S = 0.01


class Engine:
    """Everything that runs inside the generator's event loop, wired together."""

    def __init__(self, spec: LoadSpec, mix: RequestMix, store: BucketStore, clock: Callable[[], float],
                 wall_clock: Callable[[], float], max_duration_s: float,
                 steal_time: Callable[[], float] | None = None):
        self.spec = spec
        self.mix = mix
        self.store = store
        self.clock = clock
        self.wall_clock = wall_clock
        self.max_duration_s = max_duration_s
        self.steal_time = steal_time
        self.schedule = ArrivalSchedule(spec.rate, spec.ramp_s)
        self.outcomes = Outcomes(mix.requests, clock)
        self.links = Links(self.outcomes, [r.method == "HEAD" for r in mix.requests], spec.timeout_s,
                           max(0, spec.connections), spec.max_connections)
        pools: dict[tuple[bool, str, int], Pool] = {}
        for r in mix.requests:
            if (r.https, r.host, r.port) not in pools:
                # One context per server: a TLS session belongs to the server that issued it.
                tls = client_context(spec.tls) if r.https else None
                pools[(r.https, r.host, r.port)] = Pool(r.host, r.port, tls, self.links,
                                                        spec.tls.server_name or r.host)
        self.pools = list(pools.values())
        self.dispatcher = Dispatcher(self.schedule, mix, [pools[(r.https, r.host, r.port)] for r in mix.requests],
                                     clock, self._schedule_ended)
        self.links.after_answer = self.dispatcher.after_answer
        self.recorder: BucketRecorder | None = None
        self.stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tick_handle: asyncio.TimerHandle | None = None

    # -- lifecycle -----------------------------------------------------------

    async def run(self, ready: Callable[[], None]) -> None:
        self.loop = self.links.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        for pool in self.pools:
            # Resolve once: a name lookup per reconnect would cost more than the request.
            infos = await self.loop.getaddrinfo(pool.host, pool.port, type=socket.SOCK_STREAM)
            pool.host = infos[0][4][0]
        await self._warm_up()
        self.dispatcher.prime()
        timer = make_timer(self.loop, self.dispatcher.on_timer, self.clock)
        now = self.clock()
        t0 = now + 0.002  # a breath, so arrival 0 is not born late
        wall_t0 = self.wall_clock() + (t0 - now)
        self.recorder = self.outcomes.recorder = BucketRecorder(
            self.mix.names, self.schedule, t0, wall_t0, int((self.spec.timeout_s * 2 + 1.0) * 1e6), self.store,
            self.pending_info, steal_time=self.steal_time)
        self.dispatcher.start(self.loop, timer, t0, t0 + self.max_duration_s, self.recorder)
        self.tick_handle = self.loop.call_later(TICK_S, self.tick)
        ready()
        if self.links.stop_requested:  # stop() came while connections were being opened
            self.request_stop()
        await self.stopping.wait()
        await self._drain()

    async def _warm_up(self) -> None:
        """Open the warm pools; a TLS failure fails the load (it would fail every request the same way)."""
        opens = []
        for pool in self.pools:
            for _ in range(self.links.warm):
                pool.opening += 1
                opens.append((pool, pool.connect()))
        results = await asyncio.gather(*(o for _, o in opens), return_exceptions=True)
        failures = [(pool, r) for (pool, _), r in zip(opens, results) if isinstance(r, BaseException)]
        tls_failures = [(pool, exc) for pool, exc in failures if is_tls_error(exc)]
        if tls_failures:
            for pool in self.pools:
                pool.close_all()
            pool, exc = tls_failures[0]
            raise LoadGeneratorFailed(pool.describe(exc)) from exc
        if failures:
            pool, exc = failures[0]
            log.warning("load.connect_failed", failed=len(failures), of=len(results), error=pool.describe(exc))
        now = self.clock()
        for pool in self.pools:
            for conn in pool.conns:
                conn.idle_since = now
                pool.idle.append(conn)

    def request_stop(self) -> None:
        """Stop dispatching now (thread-safe through ``call_soon_threadsafe``)."""
        self.links.stop_requested = True
        self.dispatcher.stop(self.clock())
        if self.recorder is not None:
            stop_s = self.dispatcher.stop_at - self.dispatcher.t0
            self.recorder.schedule_stop = min(self.recorder.schedule_stop or float("inf"), stop_s)
        if self.stopping is not None:
            self.stopping.set()

    def _schedule_ended(self) -> None:
        if self.stopping is not None and not self.stopping.is_set():
            self.request_stop()

    async def _drain(self) -> None:
        """Wait for outstanding requests (each ends by its timeout at the latest), then close the last bucket."""
        deadline = self.clock() + self.spec.timeout_s + 0.5
        while self.clock() < deadline and any(p.waiting or p.busy for p in self.pools):
            await asyncio.sleep(TICK_S)
        if self.tick_handle is not None:
            self.tick_handle.cancel()
        self.dispatcher.timer.close()
        assert self.recorder is not None
        self.recorder.close_partial(self.clock())
        connecting = self.links.connecting
        for task in list(connecting):
            task.cancel()
        if connecting:
            await asyncio.gather(*connecting, return_exceptions=True)
        for pool in self.pools:
            pool.close_all()
        await asyncio.sleep(0)  # let the transports deliver their connection_lost

    # -- housekeeping ---------------------------------------------------------------

    def tick(self) -> None:
        """Every TICK_S: time out what waited too long, close finished seconds, keep the schedule alive."""
        now = self.outcomes.now()
        for pool in self.pools:
            pool.sweep(now)
        dispatcher = self.dispatcher
        if now >= dispatcher.next_t:
            dispatcher.dispatch_due()
        if now >= dispatcher.stop_at and self.stopping is not None and not self.stopping.is_set():
            self.request_stop()
        self.tick_handle = self.loop.call_later(TICK_S, self.tick)  # type: ignore[union-attr]

    def pending_info(self) -> tuple[int, int, float | None]:
        """(in flight, waiting for a connection, oldest intended time among them)."""
        in_flight = waiting = 0
        oldest: float | None = None
        for pool in self.pools:
            busy, queued, first = pool.pending()
            in_flight += busy
            waiting += queued
            if first is not None and (oldest is None or first < oldest):
                oldest = first
        return in_flight + waiting, waiting, oldest
