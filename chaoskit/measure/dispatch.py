"""Sending each arrival when it is due: the schedule, the seeded draws, the wake-up timer.

Arrival k is due at ``t0 + schedule.time_of(k)`` (:mod:`.arrivals`); a
timerfd wakes the loop at that instant (:mod:`.wakeup`), and answers may also
send what fell due. Dispatch lag (actual minus intended dispatch) is recorded
for every arrival: it measures only the generator's own lateness. Callbacks
of one event loop only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from typing import Any

from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.recorder import BucketRecorder
from chaoskit.measure.mix import DRAW_CHUNK, RequestMix
from chaoskit.measure.pool import Pool

__all__ = ["DISPATCH_BATCH", "Dispatcher", "MIN_WAKE_GAP_S"]

# At most this many overdue arrivals are dispatched before the loop gets to read
# responses again: after a hiccup, catching up must not starve the I/O it measures.
DISPATCH_BATCH = 64
# The timer wakes the loop at most this often; arrivals due in between go out together
# (their lag, at most this, is recorded). Well under the 1 ms lag budget.
MIN_WAKE_GAP_S = 0.0005


class Dispatcher:
    """Renders each due arrival and hands it to its host's pool; calls ``on_end`` when the schedule ends."""

    def __init__(self, schedule: ArrivalSchedule, mix: RequestMix, pool_of_kind: Sequence[Pool],
                 clock: Callable[[], float], on_end: Callable[[], None]):
        self.schedule = schedule
        self.requests = mix.requests
        self.pool_of_kind = pool_of_kind
        self.clock = clock
        self.on_end = on_end
        self.draws = mix.chunks()
        self.kinds: list[int] = []
        self.users: list[int] = []
        self.i = DRAW_CHUNK  # index of the next arrival in the current chunk of draws
        self.ramp_k = schedule.rate * schedule.ramp_s / 2.0  # arrivals during the ramp
        self.t0 = 0.0
        self.k = 0
        self.next_t = float("inf")
        self.stop_at = float("inf")  # no arrival is dispatched at or after this time
        self.recorder: BucketRecorder | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.timer: Any = None
        # How overdue an arrival must be before an answer dispatches it instead of the timer (see start).
        self.answer_dispatch_after = 0.0
        self.timer_wakeups = 0

    def prime(self) -> None:
        """The first draws cost a few ms (numpy's first calls): paid before arrival 0 is due."""
        self.kinds, self.users = next(self.draws)
        self.i = 0

    def start(self, loop: asyncio.AbstractEventLoop, timer: Any, t0: float, stop_at: float,
              recorder: BucketRecorder) -> None:
        self.loop, self.timer, self.recorder = loop, timer, recorder
        self.t0 = self.next_t = t0
        self.stop_at = stop_at
        self.k = 0
        if self.schedule.rate * MIN_WAKE_GAP_S >= 1.0:
            # Arrivals come at least as often as the loop may wake: a periodic wake-up
            # replaces a timer system call per wake-up (the ramp's slow start included).
            timer.every(MIN_WAKE_GAP_S, t0)
            # And normally only that wake-up dispatches: sending each arrival as an answer
            # happens to come in wakes the server once per request, and on a VM every
            # wake-up is an interrupt to the hypervisor. Ten at a time cost about 15% less
            # CPU per request and far fewer connections opened for bursts
            # (bench/loadgen_bench.py). But when the server answers a burst at once (after
            # a stall of its own), the loop reads every answer before it sees the timer:
            # past one wake-up period overdue, an answer dispatches after all.
            self.answer_dispatch_after = MIN_WAKE_GAP_S
        else:
            timer.arm(t0)

    def stop(self, now: float) -> None:
        """Dispatch nothing from ``now`` on."""
        if now < self.stop_at:
            self.stop_at = now
        if self.timer is not None:
            self.timer.disarm()

    def on_timer(self) -> None:
        self.timer_wakeups += 1
        self.dispatch_due()

    def after_answer(self, now: float) -> None:
        if now >= self.next_t + self.answer_dispatch_after:
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
                self.on_end()
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
            pool_of_kind[kind].submit((next_t, kind, payload))
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
