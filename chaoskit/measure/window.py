"""A window: any span of per-second buckets summarised as users saw it (pure).

Quantiles come from the *merged* histograms of the span (never from averaging
per-second quantiles). Units follow the experiment model: latencies in
seconds, error rates as fractions (0.01 = 1 %), rates in requests per second.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from chaoskit.measure.buckets import LATENCY_QUANTILES, Bucket, Slice, add_histogram, histogram_figures, new_histogram

__all__ = ["WindowStats", "WindowTally", "merge_histograms", "select", "seconds_of", "summarize", "summarize_slices", "tally"]


def merge_histograms(hists: Iterable[HdrHistogram]) -> HdrHistogram | None:
    """One histogram holding every value of ``hists`` (None when there are none)."""
    hists = list(hists)
    if not hists:
        return None
    merged = new_histogram(max(h.highest_trackable_value for h in hists))
    for hist in hists:
        if hist.get_total_count():
            merged.add(hist)
    return merged


@dataclass(frozen=True)
class WindowStats:
    """The load over a span of buckets."""

    start: float  # wall clock, epoch seconds
    end: float
    seconds: float
    buckets: int
    target: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    overflow: int = 0  # latencies above the histogram's range: counted as outcomes, absent from quantiles
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    mean: float | None = None
    lag_p99: float | None = None
    lag_max: float | None = None
    cpu_s: float = 0.0
    steal: float = 0.0  # share of the machine's CPU time the hypervisor took over the window
    errors: Mapping[str, int] = field(default_factory=dict)

    @property
    def completed(self) -> int:
        return self.succeeded + self.failed + self.timed_out

    @property
    def error_rate(self) -> float | None:
        return (self.failed + self.timed_out) / self.completed if self.completed else None

    @property
    def throughput(self) -> float | None:
        """Successful responses per second."""
        return self.succeeded / self.seconds if self.seconds > 0 else None

    @property
    def achieved_rate(self) -> float | None:
        return self.sent / self.seconds if self.seconds > 0 else None

    @property
    def target_rate(self) -> float | None:
        return self.target / self.seconds if self.seconds > 0 else None

    def metric(self, name: str) -> float | None:
        """A metric by the experiment model's name (``p50`` ``p90`` ``p99`` ``p999`` ``error_rate`` ``throughput``...)."""
        if name == "p99.9":
            name = "p999"
        if name in ("p50", "p90", "p99", "p999", "max", "mean", "lag_p99", "lag_max"):
            return getattr(self, name)
        if name in ("error_rate", "throughput", "achieved_rate", "target_rate"):
            return getattr(self, name)
        raise ValueError(f"unknown load metric {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start, "end": self.end, "seconds": self.seconds, "buckets": self.buckets,
            "target": self.target, "sent": self.sent, "succeeded": self.succeeded, "failed": self.failed,
            "timed_out": self.timed_out, "overflow": self.overflow,
            "p50": self.p50, "p90": self.p90, "p99": self.p99, "p999": self.p999, "max": self.max, "mean": self.mean,
            "error_rate": self.error_rate, "throughput": self.throughput, "achieved_rate": self.achieved_rate,
            "target_rate": self.target_rate, "lag_p99": self.lag_p99, "lag_max": self.lag_max, "cpu_s": self.cpu_s,
            "steal": self.steal, "errors": dict(self.errors),
        }


def _quantiles(latency: HdrHistogram, last: Bucket | Slice) -> dict[str, float | None]:
    """Latency quantiles, max and mean of a window's merged histogram (seconds)."""
    names = ("p50", "p90", "p99", "p999")
    figures = histogram_figures(latency, [LATENCY_QUANTILES[q] for q in names])
    if figures is not None:
        values, mean = figures
        quantiles: dict[str, float | None] = {name: value / 1e6 for name, value in zip(names, values)}
        return quantiles | {"max": latency.get_max_value() / 1e6, "mean": mean / 1e6}
    if latency.get_total_count():
        by_percentile = latency.get_percentile_to_value_dict([LATENCY_QUANTILES[q] for q in names])
        quantiles = {name: by_percentile[LATENCY_QUANTILES[name]] / 1e6 for name in names}
        return quantiles | {"max": latency.get_max_value() / 1e6, "mean": latency.get_mean_value() / 1e6}
    # Nothing completed: if requests are outstanding (a stalled server), their age at the window's
    # end is a lower bound on every quantile, which says more than "no data".
    stalled = last.oldest_pending_s if last.in_flight and last.oldest_pending_s > 0 else None
    return dict.fromkeys(("p50", "p90", "p99", "p999", "max"), stalled) | {"mean": None}


def summarize(buckets: Iterable[Bucket]) -> WindowStats:
    """Summarise a span of buckets (in order) in one pass; an empty span gives an empty window.

    An iterator is read once and not kept: a day of spilled seconds summarises in bounded memory.
    """
    return _summary(buckets)[0]


@dataclass(frozen=True, eq=False)
class WindowTally:
    """A window read once, for judging: its summary, its merged latency histogram, each metric's per-second values.

    What a judgement needs from however many seconds: the histogram's size does
    not grow with the window, and a metric's per-second values take 8 bytes a second.
    """

    stats: WindowStats
    latency: HdrHistogram | None  # every latency of the window; None for an empty window
    per_second: Mapping[str, np.ndarray]  # per metric tallied: the value of each second that has one, in order

    @property
    def buckets(self) -> int:
        return self.stats.buckets

    def values(self, metric: str) -> np.ndarray:
        """The per-second values of ``metric`` (seconds without one left out)."""
        if metric not in self.per_second:
            raise ValueError(f"{metric!r} was not tallied (tallied: {', '.join(self.per_second) or 'none'})")
        return self.per_second[metric]


def tally(buckets: Iterable[Bucket], metrics: Iterable[str]) -> WindowTally:
    """Read a span of buckets (in order) once into a :class:`WindowTally` of ``metrics``; no bucket is kept."""
    columns = {metric: array("d") for metric in metrics}

    def noted() -> Iterator[Bucket]:
        for bucket in buckets:
            for metric, column in columns.items():
                value = bucket.metric(metric)
                if value is not None:
                    column.append(value)
            yield bucket

    stats, latency = _summary(noted())
    return WindowTally(stats, latency, {metric: np.frombuffer(column, dtype=np.float64)
                                        for metric, column in columns.items()})


def _summary(buckets: Iterable[Bucket]) -> tuple[WindowStats, HdrHistogram | None]:
    """The window's summary and its merged latency histogram (None for an empty span), in one pass."""
    latency = lag = first = last = None
    errors: dict[str, int] = {}
    count = target = sent = succeeded = failed = timed_out = overflow = 0
    seconds = cpu_s = stolen = 0.0
    for bucket in buckets:
        first = first or bucket
        last = bucket
        latency, lag = _merged(latency, bucket.latency), _merged(lag, bucket.lag)
        for kind, n in bucket.errors.items():
            errors[kind] = errors.get(kind, 0) + n
        count += 1
        target, sent, succeeded = target + bucket.target, sent + bucket.sent, succeeded + bucket.succeeded
        failed, timed_out, overflow = failed + bucket.failed, timed_out + bucket.timed_out, overflow + bucket.overflow
        seconds, cpu_s, stolen = seconds + bucket.duration_s, cpu_s + bucket.cpu_s, stolen + bucket.steal * bucket.duration_s
    if first is None or last is None or latency is None or lag is None:
        return WindowStats(start=0.0, end=0.0, seconds=0.0, buckets=0), None
    has_lag = lag.get_total_count() > 0
    return WindowStats(
        start=first.start, end=last.end, seconds=seconds, buckets=count, target=target, sent=sent,
        succeeded=succeeded, failed=failed, timed_out=timed_out, overflow=overflow,
        lag_p99=lag.get_value_at_percentile(99.0) / 1e6 if has_lag else None,
        lag_max=lag.get_max_value() / 1e6 if has_lag else None,
        cpu_s=cpu_s, steal=stolen / seconds if seconds > 0 else 0.0, errors=errors, **_quantiles(latency, last),
    ), latency


def _merged(merged: HdrHistogram | None, hist: HdrHistogram) -> HdrHistogram:
    """``merged`` with ``hist`` added (a new histogram when there is none yet or ``hist`` reaches higher)."""
    if merged is None or hist.highest_trackable_value > merged.highest_trackable_value:
        wider = new_histogram(hist.highest_trackable_value)
        if merged is not None:
            add_histogram(wider, merged)
        merged = wider
    if hist.get_total_count():
        add_histogram(merged, hist)
    return merged


def summarize_slices(slices: Sequence[Slice]) -> WindowStats:
    """A trailing window of tenths, as live detection reads it (``start``/``end`` on the ``mono`` clock).

    Outcomes, counts and latency quantiles as :func:`summarize` gives them for
    seconds; what only seconds carry (dispatch lag, CPU, steal, errors by kind) is absent.
    """
    if not slices:
        return WindowStats(start=0.0, end=0.0, seconds=0.0, buckets=0)
    latency = merge_histograms(s.latency for s in slices)
    assert latency is not None
    quantiles = _quantiles(latency, slices[-1])
    return WindowStats(
        start=slices[0].start_mono, end=slices[-1].end_mono, seconds=sum(s.duration_s for s in slices),
        buckets=len(slices), sent=sum(s.sent for s in slices), succeeded=sum(s.succeeded for s in slices),
        failed=sum(s.failed for s in slices), timed_out=sum(s.timed_out for s in slices),
        overflow=sum(s.overflow for s in slices), **quantiles,
    )


def select(buckets: Sequence[Bucket], start: float, end: float, clock: str = "wall") -> list[Bucket]:
    """The buckets lying entirely inside [start, end) on the ``wall`` or ``mono`` clock.

    Only whole buckets count: a second that straddles a phase boundary (a
    fault applied mid-second) belongs to neither phase's window.
    """
    if clock not in ("wall", "mono"):
        raise ValueError(f"clock must be 'wall' or 'mono', got {clock!r}")
    eps = 1e-6  # bucket edges are sums of floats
    if clock == "wall":
        return [b for b in buckets if b.start >= start - eps and b.end <= end + eps]
    return [b for b in buckets if b.start_mono >= start - eps and b.end_mono <= end + eps]


def seconds_of(buckets: Sequence[Bucket], start: float, end: float) -> list[Bucket]:
    """The whole seconds inside [start, end) on the ``mono`` clock; the seconds it overlaps if it holds no whole one."""
    whole = select(buckets, start, end, clock="mono")
    return whole or [b for b in buckets if b.end_mono > start and b.start_mono < end]
