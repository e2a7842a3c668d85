"""Time to detect and time to recover, from per-second buckets and event times (pure).

* **Detect**: from the moment the fault was applied to the end of the first
  second whose value breaks the limit (the earliest a live judge, reading
  completed seconds, could flag it).
* **Recover**: :func:`chaoskit.verdict.recovered_after` over the seconds
  after the revert: from the revert to the start of the first second from
  which every second stayed inside the baseline band, at least ``hold_s`` of
  them (0 if the system never left it).

A :class:`Limit` bounds one metric per second; :func:`limit_for` derives it
from a tolerance and the baseline, :func:`baseline_band` from the spread of
the baseline's own seconds. Times are on the buckets' ``wall`` clock (epoch
seconds, as journals record events) or their ``mono`` clock
(``time.monotonic``, as the live run loop measures).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from chaoskit.measure.buckets import Bucket
from chaoskit.measure.judge import WORSE_WHEN_LOWER, per_second
from chaoskit.measure.stats import Worse
from chaoskit.model.tolerance import AllOf, Relative, Threshold, Tolerance
from chaoskit.verdict import recovered_after

__all__ = ["Limit", "baseline_band", "limit_for", "time_to_detect", "time_to_recover"]

Clock = Literal["wall", "mono"]


@dataclass(frozen=True)
class Limit:
    """Per-second bounds on one metric: ``low <= value <= high`` (either may be absent)."""

    metric: str
    high: float | None = None
    low: float | None = None

    def holds(self, bucket: Bucket) -> bool | None:
        """Whether the bucket's value is inside the bounds; None when the bucket has no value."""
        value = bucket.metric(self.metric)
        if value is None:
            return None
        return (self.high is None or value <= self.high) and (self.low is None or value >= self.low)


def limit_for(metric: str, tolerance: Tolerance, baseline: Sequence[Bucket]) -> Limit:
    """The per-second limit a tolerance implies (relative bounds use the baseline's per-second median)."""
    if isinstance(tolerance, Threshold):
        return Limit(metric, tolerance.max, tolerance.min)
    if isinstance(tolerance, Relative):
        values = per_second(baseline, metric)
        if not values:
            raise ValueError(f"no baseline values of {metric} to derive a relative limit from")
        base = statistics.median(values)
        highs = ([tolerance.max_ratio * base] if tolerance.max_ratio is not None else []) + (
            [base + tolerance.max_increase] if tolerance.max_increase is not None else [])
        low = tolerance.min_ratio * base if tolerance.min_ratio is not None else None
        return Limit(metric, min(highs) if highs else None, low)
    if isinstance(tolerance, AllOf):
        limits = [limit_for(metric, t, baseline) for t in tolerance.parts]
        highs = [lim.high for lim in limits if lim.high is not None]
        lows = [lim.low for lim in limits if lim.low is not None]
        return Limit(metric, min(highs) if highs else None, max(lows) if lows else None)
    raise TypeError(f"a load metric takes a threshold or a relative tolerance, not {type(tolerance).__name__}")


def baseline_band(metric: str, baseline: Sequence[Bucket], slack: float = 0.1, absolute_slack: float = 0.0,
                  worse: Worse | None = None) -> Limit:
    """The range the baseline's seconds covered, widened by ``slack`` (relative) and ``absolute_slack``.

    Only the side where the metric gets worse is bounded: the top for
    latency and errors, the bottom for throughput (``worse`` says which for
    a metric the load does not know, such as a Prometheus query's).
    """
    values = per_second(baseline, metric)
    if not values:
        raise ValueError(f"no baseline values of {metric} to make a band from")
    if (worse or ("lower" if metric in WORSE_WHEN_LOWER else "higher")) == "lower":
        return Limit(metric, low=min(values) * (1.0 - slack) - absolute_slack)
    return Limit(metric, high=max(values) * (1.0 + slack) + absolute_slack)


def _start(bucket: Bucket, clock: Clock) -> float:
    return bucket.start if clock == "wall" else bucket.start_mono


def _end(bucket: Bucket, clock: Clock) -> float:
    return bucket.end if clock == "wall" else bucket.end_mono


def time_to_detect(buckets: Sequence[Bucket], applied_at: float, limit: Limit, consecutive: int = 1,
                   clock: Clock = "wall") -> float | None:
    """Seconds from ``applied_at`` until ``consecutive`` seconds in a row broke ``limit``; None if never.

    Seconds that ended before the fault are ignored; a second with no value
    neither breaks nor interrupts a run of breaking seconds.
    """
    if consecutive < 1:
        raise ValueError("consecutive must be >= 1")
    run = 0
    for bucket in sorted(buckets, key=lambda b: b.index):
        if _end(bucket, clock) <= applied_at:
            continue
        holds = limit.holds(bucket)
        if holds is None:
            continue
        run = run + 1 if not holds else 0
        if run >= consecutive:
            return _end(bucket, clock) - applied_at
    return None


def time_to_recover(buckets: Sequence[Bucket], reverted_at: float, band: Limit, hold_s: int = 5,
                    clock: Clock = "wall") -> float | None:
    """Seconds from ``reverted_at`` until the metric was back in ``band`` for good (``hold_s`` seconds); None if not.

    The seconds after the revert are the evidence of
    :func:`chaoskit.verdict.recovered_after`, the one definition of time to
    recover. A second with no value does not hold: recovery is claimed on
    evidence only.
    """
    if hold_s < 1:
        raise ValueError("hold_s must be >= 1")
    after = [b for b in sorted(buckets, key=lambda b: b.index) if _end(b, clock) > reverted_at]
    return recovered_after([(_start(b, clock), bool(band.holds(b))) for b in after], reverted_at, hold_s)
