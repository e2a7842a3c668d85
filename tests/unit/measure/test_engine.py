"""The generator's event-loop core with fake connections and a fake clock: no network, no timing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from chaoskit.measure.recorder import BucketRecorder
from chaoskit.measure.store import BucketStore
from chaoskit.measure.engine import Engine
from chaoskit.measure.pool import Connection
from chaoskit.measure.mix import RequestMix
from chaoskit.model.load import LoadSpec, RequestSpec

OK_200 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborted = self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_extra_info(self, name: str) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


class NoTimer:
    def arm(self, when: float) -> None:
        pass

    def arm_by(self, when: float) -> None:
        pass

    def every(self, period: float, start: float) -> None:
        pass

    def disarm(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def make_engine(loop: asyncio.AbstractEventLoop, connections: int = 2, rate: float = 100.0,
                timeout_s: float = 1.0) -> tuple[Engine, Clock, list[Connection], BucketStore]:
    """An engine whose schedule started at the clock's now, with `connections` fake idle connections (the cap)."""
    spec = LoadSpec(rate=rate, timeout_s=timeout_s, connections=connections, max_connections=connections,
                    requests=(RequestSpec("read", "http://10.0.0.1/timeline/{user}"),))
    clock, store = Clock(), BucketStore()
    mix = RequestMix(spec.requests, spec.users, seed=1)
    engine = Engine(spec, mix, store, clock, lambda: 1e9, max_duration_s=60)
    engine.loop = engine.links.loop = loop
    engine.recorder = engine.outcomes.recorder = BucketRecorder(
        mix.names, engine.schedule, clock.now, 1e9, 3_000_000, store, engine.pending_info, thread_time=lambda: 0.0)
    engine.dispatcher.prime()
    engine.dispatcher.start(loop, NoTimer(), clock.now, float("inf"), engine.recorder)
    engine.dispatcher.answer_dispatch_after = 0.0
    pool = engine.pools[0]
    conns = []
    for _ in range(connections):
        conn = Connection(pool)
        conn.connection_made(FakeTransport())  # type: ignore[arg-type]
        pool.conns.add(conn)
        pool.idle.append(conn)
        conns.append(conn)
    return engine, clock, conns, store


def busy(conns: list[Connection]) -> list[Connection]:
    return [c for c in conns if c.req is not None]


def test_due_arrivals_go_out_as_rendered_requests(loop):
    """Arrivals due by now are written to idle connections, with their user filled in, and counted as sent."""
    engine, clock, conns, _ = make_engine(loop)
    clock.now += 0.015  # arrivals 0 and 1 (at +0 and +10 ms) are due
    engine.dispatcher.dispatch_due()
    assert engine.dispatcher.k == 2 and len(busy(conns)) == 2
    written = [c.transport.written[0] for c in conns]
    assert all(w.startswith(b"GET /timeline/") and w.endswith(b"\r\n\r\n") for w in written)
    assert engine.recorder.sent_count == 2
    assert list(engine.recorder.lags) == [pytest.approx(0.015), pytest.approx(0.005)]


def test_an_answer_is_an_outcome_timed_from_the_intended_send(loop):
    """A 200 completes the request with latency from its intended time and frees the connection."""
    engine, clock, conns, _ = make_engine(loop)
    engine.dispatcher.dispatch_due()  # arrival 0, due now
    (conn,) = busy(conns)
    clock.now += 0.004
    conn.data_received(OK_200)
    assert engine.recorder.ok_count == 1 and list(engine.recorder.latencies) == [pytest.approx(0.004)]
    assert conn.req is None and conn in engine.pools[0].idle


@pytest.mark.parametrize("after_s, overdue_s, sent_by_the_answer",
                         [(0.0, 0.002, 1), (0.0005, 0.0002, 0), (0.0005, 0.002, 1)])
def test_an_answer_sends_what_fell_due_unless_the_periodic_wake_up_is_on_time(loop, after_s, overdue_s,
                                                                               sent_by_the_answer):
    """At low rates an answer also dispatches; at high rates only the periodic wake-up does,
    unless the answer finds an arrival overdue by more than a wake-up period (a burst of answers)."""
    engine, clock, conns, _ = make_engine(loop)
    engine.dispatcher.answer_dispatch_after = after_s
    engine.dispatcher.dispatch_due()  # arrival 0
    clock.now += 0.010 + overdue_s  # arrival 1 (+10 ms) is this overdue when arrival 0 is answered
    busy(conns)[0].data_received(OK_200)
    assert engine.dispatcher.k == 1 + sent_by_the_answer


def test_arrivals_beyond_the_connection_cap_wait_and_are_served_in_order(loop):
    """With every connection busy, arrivals wait (still timed from their intended time), then take freed ones."""
    engine, clock, conns, _ = make_engine(loop, connections=2)
    clock.now += 0.035  # four arrivals due, two connections
    engine.dispatcher.dispatch_due()
    pool = engine.pools[0]
    assert len(busy(conns)) == 2 and [r[0] for r in pool.waiting] == [pytest.approx(1000.02), pytest.approx(1000.03)]
    assert engine.pending_info() == (4, 2, pytest.approx(1000.0))
    first = next(c for c in conns if c.req[0] == pytest.approx(1000.0))
    clock.now += 0.001
    first.data_received(OK_200)
    assert first.req[0] == pytest.approx(1000.02)  # the oldest waiting request took the connection
    assert list(engine.recorder.latencies) == [pytest.approx(0.036)]


def test_error_status_is_a_failure_named_by_status(loop):
    """A status outside ok_status is a failed outcome, counted under "status 503"."""
    engine, clock, conns, _ = make_engine(loop)
    engine.dispatcher.dispatch_due()
    busy(conns)[0].data_received(UNAVAILABLE)
    assert engine.recorder.failed_count == 1 and engine.recorder.errors == {"status 503": 1}


def test_lost_connection_fails_its_request(loop):
    """A connection reset with a request in flight fails that request and drops the connection."""
    engine, clock, conns, _ = make_engine(loop)
    engine.dispatcher.dispatch_due()
    conn = busy(conns)[0]
    conn.connection_lost(ConnectionResetError())
    assert engine.recorder.errors == {"connection reset": 1}
    assert conn not in engine.pools[0].conns


def test_tick_times_out_late_requests_and_aborts_their_connection(loop):
    """Unanswered past the timeout: a timeout outcome with its latency, and the connection is aborted."""
    engine, clock, conns, _ = make_engine(loop, connections=1, timeout_s=0.5)
    clock.now += 0.015  # two due, one connection: one in flight, one waiting
    engine.dispatcher.dispatch_due()
    conn = busy(conns)[0]
    engine.dispatcher.stop_at = clock.now  # the schedule ends here: the tick has nothing new to send
    clock.now = 1000.0 + 0.5 + 0.012  # both are past their deadline now
    engine.tick()
    assert engine.recorder.timed_out_count == 2
    assert sorted(engine.recorder.latencies) == [pytest.approx(0.502), pytest.approx(0.512)]
    assert conn.transport.aborted and conn not in engine.pools[0].conns
    engine.tick_handle.cancel()


def test_a_second_closes_as_time_passes(loop):
    """Recording after the second's end first closes that second into the store."""
    engine, clock, conns, store = make_engine(loop, rate=10.0)
    engine.dispatcher.dispatch_due()
    clock.now += 1.2
    busy(conns)[0].data_received(OK_200)
    (first,) = store.snapshot()
    assert first.sent == 1 and first.completed == 0 and first.in_flight == 1
    assert first.oldest_pending_s == pytest.approx(1.0)


CLOSE_200 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


def cancel_connects(loop: asyncio.AbstractEventLoop, engine: Engine) -> None:
    connecting = engine.links.connecting
    if not connecting:
        return
    for task in connecting:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*connecting, return_exceptions=True))


@pytest.mark.parametrize("closed_by", ["answer", "idle"])
def test_a_connection_the_server_closes_is_replaced_before_anyone_waits(loop, closed_by):
    """A warm connection closed by the server (Connection: close, or while idle) is reopened at once."""
    engine, _, conns, _ = make_engine(loop)
    pool = engine.pools[0]
    if closed_by == "answer":
        engine.dispatcher.dispatch_due()
        busy(conns)[0].data_received(CLOSE_200)
    else:
        pool.idle[0].used = True  # it carried requests before going idle
        pool.idle[0].connection_lost(None)
    assert len(pool.conns) == 1 and pool.opening == 1 and not pool.waiting
    cancel_connects(loop, engine)


def test_a_connection_closed_before_it_carried_anything_is_not_replaced(loop):
    """A server that resets every new connection (a reset_peer fault) is not reconnected to in a loop."""
    engine, _, _, _ = make_engine(loop)
    pool = engine.pools[0]
    pool.idle[0].connection_lost(ConnectionResetError())
    assert len(pool.conns) == 1 and pool.opening == 0


def test_no_connection_is_reopened_once_the_load_stops(loop):
    """While the load drains, a closed connection is not replaced."""
    engine, _, conns, _ = make_engine(loop)
    engine.dispatcher.dispatch_due()
    engine.links.stop_requested = True
    busy(conns)[0].data_received(CLOSE_200)
    assert engine.pools[0].opening == 0


def test_a_connection_closed_before_its_waiting_request_was_sent_fails_that_request(loop):
    """The server closed a freshly opened connection at once: the oldest waiting request fails, the next waits on."""
    engine, clock, conns, _ = make_engine(loop, connections=1)
    pool = engine.pools[0]
    clock.now += 0.025  # arrivals 0, 1 and 2: one goes out, two wait
    engine.dispatcher.dispatch_due()
    assert len(pool.waiting) == 2 and not engine.links.connecting  # at the cap
    closed = Connection(pool)
    closed.closed = True
    opened = loop.create_future()
    opened.set_result(closed)
    pool.opened(opened)
    assert engine.recorder.failed_count == 1 and len(pool.waiting) == 1
    assert engine.recorder.errors == {"connection closed before the request was sent": 1}
