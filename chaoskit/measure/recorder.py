"""The second being recorded: the generator thread's mutable side of :mod:`chaoskit.measure.buckets`.

Its hot path appends floats to flat arrays; at the end of each tenth the
tenth's outcomes are published as a :class:`~chaoskit.measure.buckets.Slice`,
and at the end of each second everything is flushed into histograms in one
vectorised step (:func:`~chaoskit.measure.buckets.record_many`) and published
as a :class:`~chaoskit.measure.buckets.Bucket`.
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import (
    FAILED,
    LAG_HIGHEST_US,
    OK,
    SLICE_S,
    SLICES_PER_SECOND,
    Bucket,
    KindStats,
    Slice,
    new_histogram,
    record_many,
)

__all__ = ["BucketRecorder"]


def _no_steal() -> float:
    return 0.0


@dataclass
class _KindAccumulator:
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))


class BucketRecorder:
    """The second being recorded; only the generator's thread touches it.

    Times are in the generator's monotonic clock (seconds). ``pending_info`` is
    asked at the end of each tenth for (in flight, waiting, oldest intended send time
    or None) of the requests still outstanding.
    """

    def __init__(
        self,
        kinds: Sequence[str],
        schedule: ArrivalSchedule,
        t0: float,
        wall_t0: float,
        highest_latency_us: int,
        store: Any,  # a chaoskit.measure.store.BucketStore (append, append_slice)
        pending_info: Callable[[], tuple[int, int, float | None]] = lambda: (0, 0, None),
        thread_time: Callable[[], float] = time.thread_time,
        steal_time: Callable[[], float] | None = None,  # None: no steal recorded
    ):
        self.kinds = tuple(kinds)
        self.schedule = schedule
        self.t0 = t0
        self.wall_t0 = wall_t0
        self.highest_latency_us = highest_latency_us
        self.store = store
        self.pending_info = pending_info
        self.thread_time = thread_time
        self.steal_time = steal_time or _no_steal
        self.cpus = os.cpu_count() or 1
        self.schedule_stop: float | None = None  # seconds since t0 after which nothing is scheduled
        self.index = 0
        self.second_end = t0 + 1.0
        self.end = t0 + SLICE_S  # hot path: record calls compare `now` against this (the tenth's end)
        self._tenth = 0  # tenths of the current second already closed
        self._cpu_mark = thread_time()
        self._steal_mark = self.steal_time()
        self._reset()

    def _reset(self) -> None:
        # Flat arrays of doubles, not lists: numpy reads them without a copy at the
        # second's close, and no float object per request stays alive until then.
        self.latencies: array[float] = array("d")
        self.lags: array[float] = array("d")
        self.kind_acc = [_KindAccumulator() for _ in self.kinds]
        self.sent_count = 0
        self.ok_count = 0
        self.failed_count = 0
        self.timed_out_count = 0
        self.errors: dict[str, int] = {}
        self._tenth_marks = (0, 0, 0, 0, 0)  # sent, succeeded, failed, timed out, latencies at the tenth's start

    # -- hot path ------------------------------------------------------------

    def sent(self, kind: int, lag_s: float, now: float) -> None:
        if now >= self.end:
            self.rotate(now)
        self.sent_count += 1
        self.kind_acc[kind].sent += 1
        self.lags.append(lag_s)

    def outcome(self, kind: int, outcome: int, latency_s: float, now: float, error: str | None = None) -> None:
        if now >= self.end:
            self.rotate(now)
        acc = self.kind_acc[kind]
        self.latencies.append(latency_s)
        if len(self.kinds) > 1:
            acc.latencies.append(latency_s)
        if outcome == OK:
            self.ok_count += 1
            acc.succeeded += 1
        elif outcome == FAILED:
            self.failed_count += 1
            acc.failed += 1
            if error is not None:
                # Bounded: a server inventing new error strings must not grow this without limit.
                if error in self.errors or len(self.errors) < 32:
                    self.errors[error] = self.errors.get(error, 0) + 1
                else:
                    self.errors["other"] = self.errors.get("other", 0) + 1
        else:
            self.timed_out_count += 1
            acc.timed_out += 1

    # -- every tenth, and once a second ---------------------------------------

    def rotate(self, now: float) -> None:
        """Close every tenth, and every second, that ended at or before ``now`` (empty ones included)."""
        while now >= self.end:
            self._close_tenth(self.end)

    def close_partial(self, now: float) -> None:
        """Close the current bucket at ``now`` (the end of the load), even though its second is not over."""
        self.rotate(now)
        if now > self.second_end - 1.0:
            self._close_tenth(now, last=True)

    def _close_tenth(self, end: float, last: bool = False) -> None:
        second_start = self.second_end - 1.0
        start = second_start + self._tenth * SLICE_S
        sent, ok, failed, timed_out, recorded = self._tenth_marks
        latency = new_histogram(self.highest_latency_us)
        overflow = record_many(latency, self.latencies[recorded:])
        pending = self.pending_info()
        in_flight, _, oldest = pending
        self.store.append_slice(Slice(
            start_mono=start, duration_s=end - start, sent=self.sent_count - sent, succeeded=self.ok_count - ok,
            failed=self.failed_count - failed, timed_out=self.timed_out_count - timed_out, latency=latency,
            overflow=overflow, in_flight=in_flight,
            oldest_pending_s=max(0.0, end - oldest) if oldest is not None else 0.0))
        self._tenth += 1
        if last or self._tenth == SLICES_PER_SECOND:
            self._close(end, pending)
            self.second_end += 1.0
            self._tenth = 0
        else:
            self._tenth_marks = (self.sent_count, self.ok_count, self.failed_count, self.timed_out_count,
                                 len(self.latencies))
        # The last tenth ends exactly at the second's end (no float drift across seconds).
        self.end = self.second_end if self._tenth == SLICES_PER_SECOND - 1 else \
            self.second_end - 1.0 + (self._tenth + 1) * SLICE_S

    def _close(self, end: float, pending: tuple[int, int, float | None]) -> None:
        start = self.second_end - 1.0
        rel_start, rel_end = start - self.t0, end - self.t0
        stop = self.schedule_stop
        target = self.schedule.target_between(rel_start, min(rel_end, stop) if stop is not None else rel_end) \
            if stop is None or rel_start < stop else 0
        latency = new_histogram(self.highest_latency_us)
        lag = new_histogram(LAG_HIGHEST_US)
        overflow = record_many(latency, self.latencies)
        lag_overflow = record_many(lag, self.lags)
        by_kind: dict[str, KindStats] = {}
        for name, acc in zip(self.kinds, self.kind_acc):
            kind_hist = None
            if len(self.kinds) > 1:
                kind_hist = new_histogram(self.highest_latency_us)
                record_many(kind_hist, acc.latencies)
            by_kind[name] = KindStats(acc.sent, acc.succeeded, acc.failed, acc.timed_out, kind_hist)
        in_flight, waiting, oldest = pending
        cpu = self.thread_time()
        stolen = self.steal_time()
        bucket = Bucket(
            index=self.index, start=self.wall_t0 + rel_start, start_mono=start, duration_s=end - start,
            target=target, sent=self.sent_count, succeeded=self.ok_count, failed=self.failed_count,
            timed_out=self.timed_out_count, latency=latency, lag=lag, overflow=overflow, lag_overflow=lag_overflow,
            in_flight=in_flight, waiting=waiting,
            oldest_pending_s=max(0.0, end - oldest) if oldest is not None else 0.0,
            cpu_s=max(0.0, cpu - self._cpu_mark),
            steal=min(1.0, max(0.0, stolen - self._steal_mark) / (max(end - start, 1e-3) * self.cpus)),
            errors=dict(self.errors), by_kind=by_kind,
        )
        self._cpu_mark = cpu
        self._steal_mark = stolen
        self.store.append(bucket)
        self.index += 1
        self._reset()
