"""Per-second buckets: what the load saw each second, as HDR histograms and counts.

A :class:`Bucket` is one second of the load (the last one may be shorter):

* ``sent`` counts arrivals the generator dispatched during the second and
  ``target`` those the schedule meant it to dispatch (self-monitoring);
* outcomes (``succeeded``, ``failed``, ``timed_out``) and their latencies are
  counted in the second the outcome became known, so a completed second can be
  judged at once (bucketing by send time would delay every judgement by the
  timeout). Latency is always measured from the request's *intended* send
  time, so a stall shows up in full instead of being skipped;
* ``lag`` is the dispatch lag of the arrivals sent in the second (actual minus
  intended send time): the generator's own lateness, never the server's;
* ``steal`` is the share of the machine's CPU time the hypervisor gave to
  other guests during the second: on a virtual machine, the usual reason for
  a generator to fall behind that is nobody's fault in the experiment.

Histograms record microseconds with 2 significant figures (1 % resolution,
about 9 kB each); a value above the highest trackable value is refused by
hdrh, so it is counted in ``overflow`` / ``lag_overflow`` instead of vanishing.

:class:`BucketRecorder` is the mutable side, used only by the generator's
thread. Its hot path appends floats to lists; once a second they are flushed
into histograms in one vectorised step (:func:`record_many`). Completed buckets go
to a :class:`BucketStore`, the one object shared between threads.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from chaoskit.measure.arrivals import ArrivalSchedule

__all__ = [
    "Bucket",
    "BucketRecorder",
    "BucketStore",
    "KindStats",
    "LATENCY_QUANTILES",
    "SIGNIFICANT_FIGURES",
    "OK",
    "FAILED",
    "TIMED_OUT",
    "new_histogram",
    "record_many",
]

SIGNIFICANT_FIGURES = 2
# Dispatch lag beyond a minute means the generator is broken; it is still counted (lag_overflow).
LAG_HIGHEST_US = 60_000_000
# Metric name -> percentile, as the experiment model names them.
LATENCY_QUANTILES: Mapping[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p99.9": 99.9}

# Outcome codes on the hot path (ints compare faster than strings).
OK, FAILED, TIMED_OUT = 0, 1, 2


def new_histogram(highest_us: int) -> HdrHistogram:
    """A latency histogram in microseconds, 1 us .. ``highest_us``.

    32-bit counters (4e9 per cell is years of one cell at 20k req/s) halve the
    memory of an hour of buckets (about 65 MB instead of 130 MB).
    """
    return HdrHistogram(1, max(2, int(highest_us)), SIGNIFICANT_FIGURES, word_size=4)


def record_many(hist: HdrHistogram, seconds: Sequence[float]) -> int:
    """Record durations (in seconds) as microseconds; returns how many hdrh refused (out of range).

    Vectorised: each value's counts index is computed with numpy (hdrh's own
    formula), the indices are counted with ``bincount`` and added to the
    histogram's counts in one go, then total/min/max are updated exactly as
    ``record_value`` would. A second of 20,000 requests costs about a
    millisecond instead of 20,000 Python calls. Histograms whose counts are
    not the layout expected take the slow, public path.
    """
    if not len(seconds):
        return 0
    us = np.asarray(seconds, dtype=np.float64) * 1e6
    np.rint(us, out=us)
    np.maximum(us, 0.0, out=us)
    values = us.astype(np.int64)
    unit, half_mag = hist.unit_magnitude, hist.sub_bucket_half_count_magnitude
    # 64 - clz(v | mask) is the bit length of v | mask; frexp gives it exactly for v < 2**53.
    _, bit_length = np.frexp((values | hist.sub_bucket_mask).astype(np.float64))
    bucket_index = bit_length.astype(np.int64) - unit - (half_mag + 1)
    sub_bucket_index = values >> (bucket_index + unit)
    index = ((bucket_index + 1) << half_mag) + sub_bucket_index - hist.sub_bucket_half_count
    fits = index < hist.counts_len
    refused = int(len(index) - np.count_nonzero(fits))
    if refused:
        index, values = index[fits], values[fits]
    if not len(index):
        return refused
    counts = np.bincount(index)
    target = _counts_view(hist)
    if target is None:
        for i in np.flatnonzero(counts).tolist():
            hist.record_value(hist.get_value_from_index(i), int(counts[i]))
        return refused
    target[:len(counts)] += counts.astype(target.dtype)
    hist.total_count += int(len(index))
    hist.min_value = min(hist.min_value, int(values.min()))
    hist.max_value = max(hist.max_value, int(values.max()))
    return refused



def _counts_view(hist: HdrHistogram) -> np.ndarray | None:
    """hdrh's counts array seen as numpy (no copy), or None when it is not the layout we know."""
    counts = getattr(hist, "counts", None)
    if counts is None or len(counts) != hist.counts_len or hist.word_size not in (4, 8):
        return None
    try:
        view = np.ctypeslib.as_array(counts)
    except (TypeError, ValueError):
        return None
    if view.itemsize != hist.word_size or view.dtype.kind not in "ui":
        return None
    return view


def _encode(hist: HdrHistogram) -> str:
    return hist.encode().decode("ascii")


def _decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


@dataclass(frozen=True)
class KindStats:
    """One request kind's share of a bucket (its latencies only when the mix has several kinds)."""

    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    latency: HdrHistogram | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sent": self.sent, "succeeded": self.succeeded, "failed": self.failed,
                               "timed_out": self.timed_out}
        if self.latency is not None:
            out["latency"] = _encode(self.latency)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindStats:
        latency = data.get("latency")
        return cls(int(data["sent"]), int(data["succeeded"]), int(data["failed"]), int(data["timed_out"]),
                   _decode(latency) if latency else None)


@dataclass(frozen=True, eq=False)
class Bucket:
    """One second of load. Its histograms are never modified once the bucket is complete."""

    index: int  # seconds since the load started
    start: float  # wall clock (epoch seconds) at the bucket's start
    start_mono: float  # CLOCK_MONOTONIC (time.monotonic) at the bucket's start, for the live run loop
    duration_s: float
    target: int
    sent: int
    succeeded: int
    failed: int
    timed_out: int
    latency: HdrHistogram
    lag: HdrHistogram
    overflow: int = 0
    lag_overflow: int = 0
    in_flight: int = 0  # sent, no outcome yet, at the bucket's end (waiting ones included)
    waiting: int = 0  # of those, waiting for a connection (the client's connection cap was reached)
    oldest_pending_s: float = 0.0  # age, from intended send time, of the oldest request in flight at the end
    cpu_s: float = 0.0  # CPU time the generator's thread used during the bucket
    steal: float = 0.0  # share of the machine's CPU time (all CPUs) stolen by the hypervisor during the bucket
    errors: Mapping[str, int] = field(default_factory=dict)
    by_kind: Mapping[str, KindStats] = field(default_factory=dict)

    @property
    def end(self) -> float:
        return self.start + self.duration_s

    @property
    def end_mono(self) -> float:
        return self.start_mono + self.duration_s

    @property
    def completed(self) -> int:
        return self.succeeded + self.failed + self.timed_out

    def metric(self, name: str) -> float | None:
        """This second's value of a load metric (latencies in seconds); None when it has no data.

        ``p50``/``p90``/``p99``/``p999``: latency quantile of the outcomes of the
        second. A second in which nothing completed while requests were
        outstanding (a stalled server) reports the age of the oldest of them:
        a lower bound on what those users will see, instead of no data.
        ``error_rate``: (failed + timed out) / completed. ``throughput``:
        succeeded per second. ``achieved_rate``/``target_rate``: sent and
        scheduled arrivals per second. ``lag_p99``: dispatch lag p99 (s).
        """
        if name in LATENCY_QUANTILES:
            if self.latency.get_total_count() > 0:
                return self.latency.get_value_at_percentile(LATENCY_QUANTILES[name]) / 1e6
            return self.oldest_pending_s if self.in_flight and self.oldest_pending_s > 0 else None
        if name == "error_rate":
            done = self.completed
            return (self.failed + self.timed_out) / done if done else None
        if name == "throughput":
            return self.succeeded / self.duration_s if self.duration_s > 0 else None
        if name == "achieved_rate":
            return self.sent / self.duration_s if self.duration_s > 0 else None
        if name == "target_rate":
            return self.target / self.duration_s if self.duration_s > 0 else None
        if name == "lag_p99":
            return self.lag.get_value_at_percentile(99.0) / 1e6 if self.lag.get_total_count() else None
        raise ValueError(f"unknown load metric {name!r}; expected one of "
                         f"{', '.join([*LATENCY_QUANTILES, 'error_rate', 'throughput', 'achieved_rate', 'target_rate', 'lag_p99'])}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (histograms as hdrh's compressed base64 encoding)."""
        return {
            "index": self.index, "start": self.start, "start_mono": self.start_mono, "duration_s": self.duration_s,
            "target": self.target, "sent": self.sent, "succeeded": self.succeeded, "failed": self.failed,
            "timed_out": self.timed_out, "overflow": self.overflow, "lag_overflow": self.lag_overflow,
            "in_flight": self.in_flight, "waiting": self.waiting, "oldest_pending_s": self.oldest_pending_s,
            "cpu_s": self.cpu_s, "steal": self.steal, "errors": dict(self.errors),
            "latency": _encode(self.latency), "lag": _encode(self.lag),
            "by_kind": {name: stats.to_dict() for name, stats in self.by_kind.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bucket:
        return cls(
            index=int(data["index"]), start=float(data["start"]), start_mono=float(data.get("start_mono", 0.0)),
            duration_s=float(data["duration_s"]), target=int(data["target"]), sent=int(data["sent"]),
            succeeded=int(data["succeeded"]), failed=int(data["failed"]), timed_out=int(data["timed_out"]),
            latency=_decode(data["latency"]), lag=_decode(data["lag"]),
            overflow=int(data.get("overflow", 0)), lag_overflow=int(data.get("lag_overflow", 0)),
            in_flight=int(data.get("in_flight", 0)), waiting=int(data.get("waiting", 0)),
            oldest_pending_s=float(data.get("oldest_pending_s", 0.0)), cpu_s=float(data.get("cpu_s", 0.0)),
            steal=float(data.get("steal", 0.0)),
            errors={str(k): int(v) for k, v in (data.get("errors") or {}).items()},
            by_kind={str(k): KindStats.from_dict(v) for k, v in (data.get("by_kind") or {}).items()},
        )


class BucketStore:
    """Completed buckets, appended by the generator's thread and read by anyone (thread-safe)."""

    def __init__(self) -> None:
        self._buckets: list[Bucket] = []
        self._changed = threading.Condition()

    def append(self, bucket: Bucket) -> None:
        with self._changed:
            self._buckets.append(bucket)
            self._changed.notify_all()

    def snapshot(self) -> tuple[Bucket, ...]:
        with self._changed:
            return tuple(self._buckets)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until at least ``count`` buckets are complete; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._buckets) >= count, timeout=timeout_s)

    def wake_all(self) -> None:
        with self._changed:
            self._changed.notify_all()


@dataclass
class _KindAccumulator:
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))


def _no_steal() -> float:
    return 0.0


class BucketRecorder:
    """The second being recorded; only the generator's thread touches it.

    Times are in the generator's monotonic clock (seconds). ``pending_info`` is
    asked at each rotation for (in flight, waiting, oldest intended send time
    or None) of the requests still outstanding.
    """

    def __init__(
        self,
        kinds: Sequence[str],
        schedule: ArrivalSchedule,
        t0: float,
        wall_t0: float,
        highest_latency_us: int,
        store: BucketStore,
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
        self.end = t0 + 1.0  # hot path: record calls compare `now` against this
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

    # -- once a second ---------------------------------------------------------

    def rotate(self, now: float) -> None:
        """Close every second that ended at or before ``now`` (empty ones included)."""
        while now >= self.end:
            self._close(self.end)

    def close_partial(self, now: float) -> None:
        """Close the current bucket at ``now`` (the end of the load), even though its second is not over."""
        self.rotate(now)
        if now > self.end - 1.0:
            self._close(now)

    def _close(self, end: float) -> None:
        start = self.end - 1.0
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
        in_flight, waiting, oldest = self.pending_info()
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
        self.end += 1.0
        self._reset()
