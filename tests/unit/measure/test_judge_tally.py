"""Judging a window read once (a tally, pairwise differences selected) gives what judging it whole in memory gave."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from chaoskit.measure import pairwise
from chaoskit.measure.intervals import component_confidence, difference, proportion_interval, quantile_interval
from chaoskit.measure.judge import _Window, judge_metric, per_second
from chaoskit.measure.buckets import LATENCY_QUANTILES
from chaoskit.measure.stats import EXACT_LIMIT, ShiftEstimate, u_distribution
from chaoskit.measure.window import merge_histograms, summarize, tally
from chaoskit.model.tolerance import AllOf, Relative, Threshold
from chaoskit.run.judging import judge_window
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Check

from .factory import bucket

CONFIDENCE = 0.98


# -- the in-memory judgement, as it was computed before windows were tallied: the oracle ----------------------

def compare_in_memory(baseline: list[float], fault: list[float]) -> ShiftEstimate:
    """Mann-Whitney and Hodges-Lehmann with every pairwise difference formed and sorted."""
    x, y = np.asarray(fault, float), np.asarray(baseline, float)
    m, n = len(x), len(y)
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    mn, alpha = m * n, 1.0 - CONFIDENCE
    pooled = np.concatenate([x, y])
    if m < EXACT_LIMIT and n < EXACT_LIMIT and len(np.unique(pooled)) == len(pooled):
        cdf = u_distribution(m, n)
        c = max(next(u for u, p in enumerate(cdf) if p >= alpha / 2 - 1e-12), 1)
        achieved, used = 1.0 - 2.0 * cdf[c - 1], "exact"
    else:
        _, counts = np.unique(pooled, return_counts=True)
        tie_term = float(np.sum(counts.astype(float) ** 3 - counts)) / ((m + n) * (m + n - 1))
        sd = math.sqrt(mn / 12.0 * ((m + n + 1) - tie_term))
        z = float(scipy_stats.norm.ppf(1.0 - alpha / 2))
        c = min(max(math.ceil(mn / 2.0 - 0.5 - z * sd) if sd > 0 else 1, 1), (mn + 1) // 2)
        achieved = 1.0 - 2.0 * float(scipy_stats.norm.cdf((c - 1 + 0.5 - mn / 2.0) / sd)) if sd > 0 else 1.0
        used = "normal"
    if np.all(x == x[0]) and np.all(y == x[0]):
        u, p = mn / 2.0, 1.0
    else:
        result = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        u, p = float(result.statistic), float(result.pvalue)
    return ShiftEstimate(n, m, float(np.median(y)), float(np.median(x)), u, p,
                         float(np.median(np.subtract.outer(x, y))), float(diffs[c - 1]), float(diffs[mn - c]),
                         CONFIDENCE, achieved, used)


def interval_in_memory(metric: str, buckets: list, confidence: float):
    if not buckets:
        return None
    if metric in LATENCY_QUANTILES:
        hist = merge_histograms(b.latency for b in buckets)
        return quantile_interval(hist, LATENCY_QUANTILES[metric] / 100, confidence, sum(b.overflow for b in buckets))
    if metric == "error_rate":
        return proportion_interval(sum(b.failed + b.timed_out for b in buckets), sum(b.completed for b in buckets),
                                   confidence)
    return None


def judge_in_memory(metric: str, tolerance, baseline: list, fault: list, compared: bool = True):
    half = component_confidence(CONFIDENCE)
    fault_half, base_half = interval_in_memory(metric, fault, half), interval_in_memory(metric, baseline, half)
    base_values, fault_values = per_second(baseline, metric), per_second(fault, metric)
    return _Window(
        metric, CONFIDENCE,
        fault_value=summarize(fault).metric(metric) if fault else None,
        baseline_value=summarize(baseline).metric(metric) if baseline else None,
        shift=compare_in_memory(base_values, fault_values) if compared and base_values and fault_values else None,
        fault_interval=interval_in_memory(metric, fault, CONFIDENCE),
        difference=difference(fault_half, base_half, CONFIDENCE) if compared and fault_half and base_half else None,
    ).judge(tolerance)


# -- random windows ------------------------------------------------------------------------------------------

LATENCY = st.one_of(st.sampled_from([0.004, 0.005, 0.010]), st.floats(0.0005, 0.8), st.just(9.0))  # 9 s: overflow


@st.composite
def seconds(draw, first: int) -> list:
    """A window of 0-60 seconds: a few hundred requests or none (some stalled), a share of them errors."""
    out = []
    scale = draw(st.sampled_from([1.0, 1.5, 3.0]))
    for i in range(draw(st.integers(0, 60))):
        latencies = [v * scale for v in draw(st.lists(LATENCY, max_size=30))]
        errors = draw(st.integers(0, len(latencies)))
        failed = draw(st.integers(0, errors))
        stalled = not latencies and draw(st.booleans())
        out.append(bucket(first + i, latencies, failed=failed, timed_out=errors - failed, sent=len(latencies) + 2,
                          in_flight=3 if stalled else 0, oldest_pending_s=1.5 if stalled else 0.0,
                          highest_us=2_000_000))
    return out


TOLERANCES = st.sampled_from([
    ("p99", Threshold(max=0.5)), ("p50", Relative(max_ratio=1.5)), ("p99", Relative(max_increase=0.05)),
    ("p999", AllOf((Threshold(max=1.0), Relative(max_ratio=2.0)))), ("error_rate", Threshold(max=0.1)),
    ("error_rate", Relative(max_increase=0.01)), ("throughput", Relative(min_ratio=0.9)),
    ("throughput", Threshold(min=5.0)), ("achieved_rate", Relative(min_ratio=0.95)), ("p90", Relative(max_ratio=2.0)),
])


@settings(max_examples=150, deadline=None)
@given(baseline=seconds(0), fault=seconds(100), case=TOLERANCES, compared=st.booleans(),
       limit=st.sampled_from([1, 7, 1 << 20]))
def test_one_pass_judgement_equals_the_in_memory_one(baseline, fault, case, compared, limit):
    """Windows read once as iterators, differences selected a few at a time: the same judgement, to the float."""
    metric, tolerance = case
    if not compared:
        tolerance = tolerance if isinstance(tolerance, Threshold) else Threshold(max=0.5)
    want = judge_in_memory(metric, tolerance, baseline, fault, compared)
    with mock.patch.object(pairwise, "MATERIALIZE_LIMIT", limit):
        got = judge_metric(metric, tolerance, iter(baseline), iter(fault), compared=compared)
    assert got.to_dict() == want.to_dict()
    assert got.reason == want.reason


class Counted:
    """A window that can be read again and again, counting how often it is."""

    def __init__(self, buckets: list):
        self.buckets, self.reads = buckets, 0

    def __iter__(self):
        self.reads += 1
        return iter(self.buckets)


def test_a_window_is_read_once_for_all_the_checks_of_a_probe():
    """judge_window tallies each window once, whatever number of checks read it; the baseline once when judged itself."""
    probe = LoadProbe("p99", "p99", (Check("p99", Threshold(max=0.5)), Check("p99", Relative(max_ratio=2.0))))
    baseline = Counted([bucket(i, [0.01] * 20) for i in range(10)])
    fault = Counted([bucket(100 + i, [0.012] * 20) for i in range(10)])
    judged = judge_window(probe, "fault", baseline, fault)
    assert (baseline.reads, fault.reads) == (1, 1) and judged.span == "10 s" and len(judged.checks) == 2
    assert judged.comparisons() == judge_window(probe, "fault", baseline.buckets, fault.buckets).comparisons()
    judge_window(probe, "baseline", baseline, baseline)
    assert baseline.reads == 2


def test_a_tally_keeps_no_seconds():
    """A day-long window's tally holds a merged histogram and 8 bytes per second per metric, no buckets."""
    seconds_ = (bucket(i, [0.01, 0.02]) for i in range(2000))
    window = tally(seconds_, ("p99", "error_rate"))
    assert window.buckets == 2000 and window.values("p99").nbytes == 2000 * 8
    assert window.latency is not None and window.latency.get_total_count() == 4000
