"""Labelled statistics: every interval speaks of the quantity its tolerance judges, and agrees with the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chaoskit.measure.buckets import new_histogram, record_many
from chaoskit.measure.intervals import proportion_interval, quantile_interval
from chaoskit.measure.judge import MetricJudgement, judge_metric
from chaoskit.model.tolerance import Relative, Threshold

from .factory import bucket

LIMIT = 0.5  # p99 <= 500 ms, the sample experiments' SLO


def seconds(rng: np.random.Generator, first: int, count: int, per_second: int = 200, slow_share: float = 0.0,
            slow_s: float = 1.0, stalled: frozenset[int] = frozenset()) -> list:
    """``count`` seconds of lognormal latencies around 10 ms; a share of requests (or whole seconds) slow."""
    out = []
    for i in range(count):
        values = rng.lognormal(math.log(0.010), 0.3, per_second)
        slow = rng.random(per_second) < slow_share
        values[slow] = slow_s
        if i in stalled:
            values[:] = 2.0
        out.append(bucket(first + i, values.tolist()))
    return out


def agrees(judged: MetricJudgement, limit: float) -> bool:
    """The verdict and its interval tell the same story about ``limit``."""
    interval = judged.interval
    assert interval is not None, judged.reason
    return {"violated": interval.low > limit, "within": interval.high <= limit,
            "inconclusive": interval.low <= limit < interval.high}[judged.decision]


def test_a_tenth_of_requests_slowing_down_violates_the_p99():
    """10% of requests at 1 s: the window's p99 is 1 s, and its whole interval is beyond 500 ms."""
    rng = np.random.default_rng(1)
    judged = judge_metric("p99", Threshold(max=LIMIT), seconds(rng, 0, 20), seconds(rng, 100, 20, slow_share=0.1))
    assert judged.decision == "violated" and agrees(judged, LIMIT)
    assert judged.interval.low == pytest.approx(1.0, rel=0.02)


def test_a_few_stalled_seconds_violate_the_p99():
    """3 seconds of 30 at 2 s (10% of the requests): violated, whatever the typical second says."""
    rng = np.random.default_rng(2)
    fault = seconds(rng, 100, 30, stalled=frozenset({10, 11, 12}))
    judged = judge_metric("p99", Threshold(max=LIMIT), seconds(rng, 0, 20), fault)
    assert judged.decision == "violated" and agrees(judged, LIMIT)
    assert judged.shift is not None and judged.shift.low <= 0 <= judged.shift.high  # the typical second: no change
    assert "typical second" in judged.reason


def test_nothing_changed_is_within():
    """A/A: the same process before and during: within, with an interval far under the limit."""
    rng = np.random.default_rng(3)
    judged = judge_metric("p99", Threshold(max=LIMIT), seconds(rng, 0, 20), seconds(rng, 100, 20))
    assert judged.decision == "within" and agrees(judged, LIMIT)


def test_a_change_just_at_the_limit_is_inconclusive():
    """1% of 2,000 requests at exactly the limit's neighbourhood: the p99's interval straddles it."""
    rng = np.random.default_rng(4)
    fault = seconds(rng, 100, 10, slow_share=0.01, slow_s=LIMIT * 1.02)
    judged = judge_metric("p99", Threshold(max=LIMIT), seconds(rng, 0, 20), fault)
    assert judged.decision == "inconclusive" and agrees(judged, LIMIT)


def test_error_rate_interval_is_wilson_and_agrees():
    """10, 30 and 60 errors in 3,000 against 1%: within, straddling, beyond, as their Wilson intervals are."""
    base = [bucket(i, [0.01] * 300) for i in range(10)]
    few = [bucket(100 + i, [0.01] * 300, failed=1) for i in range(10)]
    border = [bucket(100 + i, [0.01] * 300, failed=3) for i in range(10)]
    many = [bucket(100 + i, [0.01] * 300, failed=6) for i in range(10)]
    decisions = [judge_metric("error_rate", Threshold(max=0.01), base, w) for w in (few, border, many)]
    assert [d.decision for d in decisions] == ["within", "inconclusive", "violated"]
    assert all(agrees(d, 0.01) for d in decisions) and decisions[0].interval.method == "Wilson"


def test_relative_change_interval_agrees_with_the_verdict():
    """p99 <= baseline + 50 ms: the interval of the change of the window p99s decides."""
    rng = np.random.default_rng(5)
    base = seconds(rng, 0, 20)
    calm = judge_metric("p99", Relative(max_increase=0.05), base, seconds(rng, 100, 20))
    slow = judge_metric("p99", Relative(max_increase=0.05), base, seconds(rng, 100, 20, slow_share=0.05, slow_s=0.3))
    assert calm.decision == "within" and agrees(calm, calm.allowed_shift)
    assert slow.decision == "violated" and agrees(slow, slow.allowed_shift)
    assert slow.interval.method == "difference (Bonferroni)"


def test_aa_false_alarm_rate_is_at_most_nominal():
    """300 A/A pairs against the strictest relative tolerance (no increase at all): violated in at most 2%."""
    rng = np.random.default_rng(6)
    alarms = sum(judge_metric("p99", Relative(max_increase=0.0), seconds(rng, 0, 10, per_second=50),
                              seconds(rng, 100, 10, per_second=50)).decision == "violated" for _ in range(300))
    assert alarms / 300 <= 0.02, alarms


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_quantile_interval_covers_the_true_quantile(q: float):
    """Order statistics: the 98% interval holds the true quantile of the distribution in >= 97% of 400 samples."""
    rng = np.random.default_rng(7)
    truth = -math.log(1 - q) * 0.01  # exponential, mean 10 ms
    covered = 0
    for _ in range(400):
        hist = new_histogram(60_000_000)
        record_many(hist, rng.exponential(0.01, 1000).tolist())
        interval = quantile_interval(hist, q, 0.98)
        # The histogram's 1% value resolution widens the interval by at most that much.
        covered += interval.low * 0.99 <= truth <= interval.high * 1.01
    assert covered / 400 >= 0.97


def test_wilson_interval_covers_the_true_rate():
    """Wilson: the 98% interval holds the true error rate (0.5%) in >= 97% of 2,000 samples of 2,000 requests."""
    rng = np.random.default_rng(8)
    counts = rng.binomial(2000, 0.005, 2000)
    covered = sum(i.low <= 0.005 <= i.high for i in (proportion_interval(int(k), 2000, 0.98) for k in counts))
    assert covered / 2000 >= 0.97


def test_too_few_requests_cannot_bound_a_high_quantile():
    """A p99.9 from 500 requests has no upper bound: the interval says so instead of guessing."""
    hist = new_histogram(60_000_000)
    record_many(hist, [0.01] * 500)
    interval = quantile_interval(hist, 0.999, 0.98)
    assert math.isinf(interval.high) and "unbounded" in str(interval)
