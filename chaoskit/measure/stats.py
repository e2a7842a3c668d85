"""Is the fault window different from the baseline, and by how much? (pure statistics)

The samples are per-second values of one metric (a second's p99, its error
rate...), one sample for the baseline window and one for the fault window.
Per-second values are neither normal nor independent of load spikes, so the
comparison is rank-based, as Kayenta's canary judge does:

* **Mann-Whitney U** (scipy) tests whether the two windows differ at all;
* the **Hodges-Lehmann** estimate of the shift (fault minus baseline) is the
  median of all m*n pairwise differences;
* its distribution-free **confidence interval** (98 % by default, Kayenta's
  level) is a pair of order statistics of those differences,
  ``[d(C), d(mn+1-C)]``, where C comes from the null distribution of U:
  exact (computed below) when both samples have fewer than 50 values and no
  ties, otherwise the normal approximation with the tie correction. This is
  the interval R's ``wilcox.test(conf.int=TRUE)`` gives in the exact case.

The estimate and the interval's ends are read from the differences by
:func:`chaoskit.measure.pairwise.pairwise_order_statistics`, which selects
them without forming all m*n past 131,072 of them: a day of seconds against an
hour's baseline is judged exactly, in memory proportional to m + n.

:func:`decide_shift` turns the interval into a decision against a tolerated
shift: *within* when the whole interval is tolerable, *violated* when none of
it is, *inconclusive* when it straddles the tolerance. Never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np
from scipy import stats as _scipy_stats

from chaoskit.measure.pairwise import pairwise_order_statistics

__all__ = [
    "Bounded",
    "DEFAULT_CONFIDENCE",
    "Decision",
    "ShiftEstimate",
    "compare",
    "decide_shift",
    "hodges_lehmann",
    "shift_interval",
    "u_distribution",
]

DEFAULT_CONFIDENCE = 0.98
# Below this size (both samples) and without ties the exact null distribution is used (as R does).
EXACT_LIMIT = 50

Decision = Literal["within", "violated", "inconclusive"]
Worse = Literal["higher", "lower"]
Method = Literal["auto", "exact", "normal"]


@lru_cache(maxsize=64)
def _u_cdf(m: int, n: int) -> tuple[float, ...]:
    """P(U <= u) for u = 0..m*n under H0, U counting pairs (x, y) with x > y, sizes m and n."""
    # Recurrence on the largest of the m+n observations: it is an x with probability
    # m/(m+n) (and then beats all n y's) or a y (and beats nothing). Probabilities,
    # not counts, so floats never overflow; only additions of positives, so no
    # cancellation error.
    prev = [np.ones(1)] * (n + 1)  # i = 0: U is 0 whatever j is
    for i in range(1, m + 1):
        row = [np.ones(1)]  # j = 0: U is 0
        for j in range(1, n + 1):
            p = np.zeros(i * j + 1)
            p[j:j + len(prev[j])] += prev[j] * (i / (i + j))
            p[:len(row[j - 1])] += row[j - 1] * (j / (i + j))
            row.append(p)
        prev = row
    return tuple(np.cumsum(prev[n]).tolist())


def u_distribution(m: int, n: int) -> np.ndarray:
    """The exact null CDF of the Mann-Whitney U statistic for sample sizes m and n (no ties)."""
    if m < 0 or n < 0:
        raise ValueError("sample sizes must be >= 0")
    return np.array(_u_cdf(m, n))


def hodges_lehmann(baseline: Sequence[float], fault: Sequence[float]) -> float:
    """The Hodges-Lehmann shift: the median of every difference fault_i - baseline_j."""
    if len(baseline) == 0 or len(fault) == 0:
        raise ValueError("both samples need at least one value")
    ranks = _median_ranks(len(fault) * len(baseline))
    return _median_of(pairwise_order_statistics(fault, baseline, ranks))


def _median_ranks(mn: int) -> list[int]:
    """The 0-based ranks whose mean is the median of ``mn`` values (one rank when ``mn`` is odd)."""
    return [mn // 2] if mn % 2 else [mn // 2 - 1, mn // 2]


def _median_of(middle: Sequence[float]) -> float:
    """The median from its middle values, as numpy computes it (the mean of the two middle ones)."""
    return middle[0] if len(middle) == 1 else float((middle[0] + middle[1]) / 2.0)


def shift_interval(baseline: Sequence[float], fault: Sequence[float], confidence: float = DEFAULT_CONFIDENCE,
                   method: Method = "auto") -> tuple[float, float, float, str]:
    """(low, high, achieved confidence, method used) of the distribution-free interval for the shift.

    ``method="auto"`` is exact for small samples without ties, else normal;
    ``"exact"`` with ties is refused (the exact null distribution assumes none).
    """
    c, mn, achieved, used = _interval_rule(baseline, fault, confidence, method)
    low, high = pairwise_order_statistics(fault, baseline, [c - 1, mn - c])
    return low, high, achieved, used


def _interval_rule(baseline: Sequence[float], fault: Sequence[float], confidence: float,
                   method: Method) -> tuple[int, int, float, str]:
    """(C, m*n, achieved confidence, method): the interval is the C-th smallest and C-th largest difference."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if method not in ("auto", "exact", "normal"):
        raise ValueError(f"method must be auto, exact or normal, got {method!r}")
    x, y = np.asarray(fault, float), np.asarray(baseline, float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("both samples need at least one value")
    mn = m * n
    alpha = 1.0 - confidence
    pooled = np.concatenate([x, y])
    ties = len(np.unique(pooled)) < len(pooled)
    if method == "exact" and ties:
        raise ValueError("the exact interval assumes no ties; use method='normal'")
    if method == "exact" or (method == "auto" and m < EXACT_LIMIT and n < EXACT_LIMIT and not ties):
        cdf = _u_cdf(m, n)
        # C: the smallest u with P(U <= u) >= alpha/2 (R's qwilcox); at least 1.
        c = next(u for u, p in enumerate(cdf) if p >= alpha / 2 - 1e-12)
        c = max(c, 1)
        return c, mn, 1.0 - 2.0 * cdf[c - 1], "exact"
    big_n = m + n
    _, counts = np.unique(pooled, return_counts=True)
    tie_term = float(np.sum(counts.astype(float) ** 3 - counts)) / (big_n * (big_n - 1))
    sd = math.sqrt(mn / 12.0 * ((big_n + 1) - tie_term))
    z = float(_scipy_stats.norm.ppf(1.0 - alpha / 2))
    # Normal approximation of the same rule, with continuity correction.
    c = math.ceil(mn / 2.0 - 0.5 - z * sd) if sd > 0 else 1
    c = min(max(c, 1), (mn + 1) // 2)
    achieved = 1.0 - 2.0 * float(_scipy_stats.norm.cdf((c - 1 + 0.5 - mn / 2.0) / sd)) if sd > 0 else 1.0
    return c, mn, achieved, "normal"


@dataclass(frozen=True)
class ShiftEstimate:
    """How the fault window's per-second values differ from the baseline's."""

    baseline_n: int
    fault_n: int
    baseline_median: float
    fault_median: float
    u: float  # Mann-Whitney U of the fault sample
    p_value: float  # two-sided
    estimate: float  # Hodges-Lehmann shift, fault minus baseline
    low: float
    high: float
    confidence: float
    achieved_confidence: float  # what the chosen order statistics actually give
    method: str  # "exact" or "normal"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"shift {self.estimate:+.4g} [{self.low:+.4g}, {self.high:+.4g}] "
                f"({self.confidence:.0%} CI, Mann-Whitney U={self.u:g} p={self.p_value:.3g}, "
                f"n={self.baseline_n}/{self.fault_n})")


def compare(baseline: Sequence[float], fault: Sequence[float], confidence: float = DEFAULT_CONFIDENCE,
            method: Method = "auto") -> ShiftEstimate:
    """Mann-Whitney U and the Hodges-Lehmann shift with its confidence interval."""
    x, y = np.asarray(fault, float), np.asarray(baseline, float)
    if len(x) == 0 or len(y) == 0:
        raise ValueError("both samples need at least one value")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("samples must be finite numbers")
    c, mn, achieved, used = _interval_rule(y, x, confidence, method)
    middle = _median_ranks(mn)
    # One selection for the interval's ends and the estimate (the median difference).
    low, high, *median = pairwise_order_statistics(x, y, [c - 1, mn - c, *middle])
    if np.all(x == x[0]) and np.all(y == x[0]):
        u, p = len(x) * len(y) / 2.0, 1.0  # identical samples: no evidence of any difference
    else:
        result = _scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        u, p = float(result.statistic), float(result.pvalue)
    return ShiftEstimate(
        baseline_n=len(y), fault_n=len(x), baseline_median=float(np.median(y)), fault_median=float(np.median(x)),
        u=u, p_value=p, estimate=_median_of(median), low=low, high=high, confidence=confidence,
        achieved_confidence=achieved, method=used,
    )


class Bounded(Protocol):
    """Anything with an interval: a :class:`ShiftEstimate`, or a window's :class:`~chaoskit.measure.intervals.Interval`."""

    @property
    def low(self) -> float: ...

    @property
    def high(self) -> float: ...


def decide_shift(shift: Bounded, allowed: float, worse: Worse = "higher") -> Decision:
    """Judge an interval of a difference against the tolerated difference ``allowed``.

    ``worse="higher"`` (latency, errors): the shift may be at most ``allowed``.
    ``worse="lower"`` (throughput): the shift may be at least ``allowed``
    (a negative number: the tolerated drop).
    """
    if worse == "higher":
        if shift.high <= allowed:
            return "within"
        if shift.low > allowed:
            return "violated"
        return "inconclusive"
    if shift.low >= allowed:
        return "within"
    if shift.high < allowed:
        return "violated"
    return "inconclusive"
