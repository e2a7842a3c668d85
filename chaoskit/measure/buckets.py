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

:class:`chaoskit.measure.recorder.BucketRecorder` is the mutable side, used
only by the generator's thread; completed buckets go to a
:class:`chaoskit.measure.store.BucketStore`, the one object shared between threads.

Each second is also cut into :class:`Slice` s of ``SLICE_S`` (100 ms): counts
and a latency histogram of the outcomes known in that tenth, published as it
ends. Stop conditions read trailing windows of slices, so harm is seen within
a few tenths of a second; the seconds stay what windows are judged on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

__all__ = [
    "Bucket",
    "SLICES_PER_SECOND",
    "SLICE_S",
    "Slice",
    "KindStats",
    "LATENCY_QUANTILES",
    "SIGNIFICANT_FIGURES",
    "OK",
    "FAILED",
    "TIMED_OUT",
    "add_histogram",
    "new_histogram",
    "record_many",
]

SIGNIFICANT_FIGURES = 2
# Dispatch lag beyond a minute means the generator is broken; it is still counted (lag_overflow).
LAG_HIGHEST_US = 60_000_000
# Metric name -> percentile, as the experiment model names them.
LATENCY_QUANTILES: Mapping[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p99.9": 99.9}

# Live detection's resolution: each second is published in tenths as well.
SLICE_S = 0.1
SLICES_PER_SECOND = 10

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


def add_histogram(merged: HdrHistogram, hist: HdrHistogram) -> None:
    """Add ``hist``'s counts to ``merged`` as hdrh's ``add`` does, vectorised across word sizes.

    hdrh adds in C only when both histograms have the same word size; a
    second read back from its journal encoding has 64-bit counters while
    merged ones have 32-bit (see :func:`new_histogram`), and hdrh then
    re-records every cell in Python (about 1 ms a second of load). Same
    layout: the counts are added with numpy and the totals updated as hdrh
    does; any other layout takes hdrh's own path.
    """
    target, source = _counts_view(merged), _counts_view(hist)
    if target is None or source is None or (merged.bucket_count, merged.sub_bucket_count, merged.unit_magnitude) != (
            hist.bucket_count, hist.sub_bucket_count, hist.unit_magnitude):
        merged.add(hist)
        return
    target += source.astype(target.dtype)
    merged.total_count += hist.get_total_count()
    merged.max_value = max(merged.max_value, hist.get_max_value())
    merged.min_value = min(merged.get_min_value(), hist.get_min_value())
    merged.start_time_stamp_msec = min(merged.start_time_stamp_msec, hist.start_time_stamp_msec)
    merged.end_time_stamp_msec = max(merged.end_time_stamp_msec, hist.end_time_stamp_msec)


def histogram_figures(hist: HdrHistogram, percentiles: Sequence[float]) -> tuple[list[int], float] | None:
    """Values at ``percentiles`` and the mean of a non-empty histogram, in its unit, by numpy.

    The same definitions as hdrh's ``get_value_at_percentile`` (the first index
    whose cumulative count reaches the target, its highest equivalent value)
    and ``get_mean_value`` (counts times median equivalent values), without
    hdrh's per-value Python loop (tens of ms for a histogram of a few thousand
    values): the run loop reads windows every tenth of a second. None when
    the histogram is empty or its counts are not the layout we know.
    """
    counts = _counts_view(hist)
    if counts is None or not hist.get_total_count():
        return None
    index = np.arange(len(counts), dtype=np.int64)
    half_mag, half_count = hist.sub_bucket_half_count_magnitude, hist.sub_bucket_half_count
    bucket = (index >> half_mag) - 1
    sub = (index & (half_count - 1)) + half_count
    first = bucket < 0
    sub[first] -= half_count
    bucket[first] = 0
    shift = bucket + hist.unit_magnitude
    lowest = sub << shift
    size = np.left_shift(1, shift)
    cumulative = np.cumsum(counts, dtype=np.int64)
    total = int(cumulative[-1])
    at = np.searchsorted(cumulative, [hist.get_target_count_at_percentile(p) for p in percentiles])
    values = [int(lowest[i] + size[i] - 1) for i in np.minimum(at, len(counts) - 1)]
    mean = float(np.dot(counts.astype(np.float64), (lowest + (size >> 1)).astype(np.float64))) / total
    return values, mean


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


@dataclass(frozen=True, eq=False)
class Slice:
    """A tenth of a second of outcomes (the last of a load may be shorter): what live detection reads.

    Counted like a bucket's outcomes (in the tenth they became known); never judged, never journaled.
    """

    start_mono: float
    duration_s: float
    sent: int
    succeeded: int
    failed: int
    timed_out: int
    latency: HdrHistogram
    overflow: int = 0
    in_flight: int = 0
    oldest_pending_s: float = 0.0

    @property
    def end_mono(self) -> float:
        return self.start_mono + self.duration_s
