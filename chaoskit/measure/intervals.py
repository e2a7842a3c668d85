"""Confidence intervals for the quantities tolerances judge: a window's latency quantile and its error rate (pure).

A tolerance such as ``p99 <= 500ms`` speaks of the window's p99 over all its
requests, so its interval must too, computed from the same requests the
window's value comes from (every outcome, failed and timed-out requests at the
time they were observed to end):

* **quantile**: the distribution-free interval from order statistics. The
  number of requests at or below the true quantile ``q`` is Binomial(n, q),
  so ranks ``l = F^-1(a/2)`` and ``u = F^-1(1 - a/2) + 1`` give
  ``P(X(l) <= x_q <= X(u)) >= 1 - a`` whatever the distribution. The order
  statistics are read from the window's merged HDR histogram (1 % value
  resolution). Where ``u > n`` the data cannot bound the quantile from above
  (a p99.9 over 2,000 requests, say): the upper end is infinite, and the
  verdict says so instead of guessing. Latencies above the histogram's range
  (``overflow``) count at its top.
* **error rate**: the Wilson score interval for a proportion (good coverage
  down to 0 errors, unlike the normal approximation).
* **difference** of two windows (fault minus baseline, for "vs baseline"
  tolerances): the two intervals at ``1 - a/2`` each, combined as
  ``[low_f - high_b, high_f - low_b]``; by Bonferroni the difference lies in
  it with probability at least ``1 - a``. Conservative, and distribution-free.

All treat requests as independent draws. Within one second they are not quite
(a stall hits consecutive requests), which narrows these intervals; the
verdict's other guards (a window must last several seconds, detection needs
consecutive seconds) are there for that.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hdrh.histogram import HdrHistogram
from scipy import stats as _scipy_stats

__all__ = ["Interval", "component_confidence", "difference", "proportion_interval", "quantile_interval"]


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval, and how it was computed."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str  # "order statistics", "Wilson", "difference (Bonferroni)"
    n: int  # requests behind it (for a difference: the smaller of the two windows)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return f"{self.estimate:.4g} [{_bound(self.low)}, {_bound(self.high)}] ({self.confidence:.0%} CI, {self.method}, n={self.n})"


def _bound(value: float) -> str:
    return "unbounded" if math.isinf(value) else f"{value:.4g}"


def quantile_interval(hist: HdrHistogram, q: float, confidence: float, overflow: int = 0,
                      scale: float = 1e-6) -> Interval | None:
    """The window's ``q``-quantile (0 < q < 1) with its order-statistics interval; None with no values.

    ``scale`` converts the histogram's unit to the result's (microseconds to seconds by default).
    """
    recorded = hist.get_total_count()
    n = recorded + overflow
    if n == 0:
        return None
    alpha = 1.0 - confidence
    lower_rank = int(_scipy_stats.binom.ppf(alpha / 2, n, q))
    upper_rank = int(_scipy_stats.binom.ppf(1 - alpha / 2, n, q)) + 1
    top = hist.highest_trackable_value * scale

    def at_rank(rank: int) -> float:
        if rank > recorded:
            return top  # an overflowed latency: at least the histogram's top
        return hist.get_value_at_percentile(100.0 * rank / recorded) * scale

    # The window's own value, as its summary reads it from the same histogram.
    estimate = hist.get_value_at_percentile(100.0 * q) * scale if recorded else top
    low = at_rank(lower_rank) if lower_rank >= 1 else 0.0
    high = at_rank(upper_rank) if upper_rank <= n else math.inf
    return Interval(estimate, min(low, estimate), max(high, estimate), confidence, "order statistics", n)


def proportion_interval(k: int, n: int, confidence: float) -> Interval | None:
    """``k`` of ``n`` (an error rate) with its Wilson score interval; None when ``n`` is 0."""
    if n <= 0:
        return None
    z = float(_scipy_stats.norm.ppf(1 - (1 - confidence) / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), confidence, "Wilson", n)


def difference(fault: Interval, baseline: Interval, confidence: float) -> Interval:
    """Fault minus baseline, from two intervals each computed at ``1 - (1 - confidence) / 2``."""
    return Interval(fault.estimate - baseline.estimate, fault.low - baseline.high, fault.high - baseline.low,
                    confidence, "difference (Bonferroni)", min(fault.n, baseline.n))


def component_confidence(confidence: float) -> float:
    """The confidence each of two intervals needs for their difference to hold ``confidence``."""
    return 1.0 - (1.0 - confidence) / 2
