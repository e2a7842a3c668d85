"""Window summaries: merged histograms over any span of buckets, and selecting whole seconds."""

from __future__ import annotations

import random

import numpy as np
import pytest

from chaoskit.measure.buckets import Slice, histogram_figures, new_histogram, record_many
from chaoskit.measure.window import select, summarize, summarize_slices

from .factory import MONO0, WALL0, bucket, steady


def test_quantiles_come_from_merged_histograms():
    """The window p99 is the p99 of all its requests, not an average of per-second p99s."""
    fast = [bucket(i, [0.001] * 100) for i in range(9)]
    slow = bucket(9, [0.001] * 80 + [0.4] * 20)
    window = summarize([*fast, slow])
    values = [0.001] * 980 + [0.4] * 20
    assert window.p99 == pytest.approx(float(np.percentile(values, 99, method="higher")), rel=0.01)
    assert window.p50 == pytest.approx(0.001, rel=0.01)
    assert window.max == pytest.approx(0.4, rel=0.01)


def test_counts_and_rates_add_up():
    """Counts are summed and rates divide by the window's seconds."""
    window = summarize([bucket(0, [0.01] * 10, failed=1, target=12), bucket(1, [0.01] * 10, timed_out=2, target=12)])
    assert (window.sent, window.target, window.succeeded, window.failed, window.timed_out) == (20, 24, 17, 1, 2)
    assert window.error_rate == pytest.approx(3 / 20)
    assert window.throughput == pytest.approx(8.5)
    assert window.achieved_rate == 10 and window.target_rate == 12
    assert window.metric("p999") == window.p999 and window.metric("p99.9") == window.p999
    assert window.to_dict()["error_rate"] == window.error_rate


def test_lag_is_summarised():
    """Dispatch lag p99 and max come from the merged lag histograms."""
    window = summarize([bucket(0, [0.01], lags_s=[0.0001] * 99 + [0.02]), bucket(1, [0.01], lags_s=[0.0001] * 100)])
    assert window.lag_p99 == pytest.approx(0.0001, rel=0.02)
    assert window.lag_max == pytest.approx(0.02, rel=0.01)


def test_steal_is_averaged_over_the_windows_time():
    """A window's steal weighs each second by its length (a short last second counts less)."""
    window = summarize([bucket(0, [0.01], steal=0.04), bucket(1, [0.01], steal=0.01, duration_s=0.5)])
    assert window.steal == pytest.approx(0.03) and window.to_dict()["steal"] == window.steal


def test_empty_window():
    """No buckets: an empty window whose metrics are None, not an error."""
    window = summarize([])
    assert window.buckets == 0 and window.p99 is None and window.error_rate is None and window.throughput is None


def test_select_keeps_whole_seconds_only():
    """A second straddling a window edge belongs to neither side."""
    buckets = [bucket(i, [0.01]) for i in range(10)]
    assert [b.index for b in select(buckets, WALL0 + 2.5, WALL0 + 6.0)] == [3, 4, 5]
    assert [b.index for b in select(buckets, MONO0 + 2.0, MONO0 + 4.0, clock="mono")] == [2, 3]
    with pytest.raises(ValueError):
        select(buckets, 0, 1, clock="utc")


def test_latency_figures_by_numpy_match_hdrh():
    """Quantiles and mean read by numpy are hdrh's own, for one value, a few and many, short and long ranges."""
    rng = random.Random(3)
    for count, highest in ((1, 5_000_000), (7, 60_000_000), (5_000, 5_000_000)):
        hist = new_histogram(highest)
        record_many(hist, [rng.lognormvariate(-5, 1.5) for _ in range(count)])
        percentiles = [50.0, 90.0, 99.0, 99.9]
        figures = histogram_figures(hist, percentiles)
        assert figures is not None
        values, mean = figures
        assert values == [hist.get_value_at_percentile(p) for p in percentiles]
        assert mean == pytest.approx(hist.get_mean_value(), rel=1e-12)
    assert histogram_figures(new_histogram(1_000), [50.0]) is None


def test_a_trailing_window_of_tenths():
    """Tenths summarise like seconds: outcomes, rates and quantiles; a stall reports the oldest request's age."""
    def tenth(start: float, latencies: list[float], failed: int = 0, **kw: object) -> Slice:
        hist = new_histogram(5_000_000)
        record_many(hist, latencies)
        return Slice(start, 0.1, sent=len(latencies), succeeded=len(latencies) - failed, failed=failed,
                     timed_out=0, latency=hist, **kw)  # type: ignore[arg-type]

    window = summarize_slices([tenth(10.0, [0.01] * 20), tenth(10.1, [0.02] * 20, failed=10)])
    assert (window.start, window.end, window.seconds, window.completed) == (10.0, pytest.approx(10.2), pytest.approx(0.2), 40)
    assert window.error_rate == 0.25 and window.p99 == pytest.approx(0.02, rel=0.01)
    stalled = summarize_slices([tenth(10.0, []), tenth(10.1, [], in_flight=5, oldest_pending_s=0.7)])
    assert stalled.p99 == 0.7 and stalled.error_rate is None
    assert summarize_slices([]).buckets == 0


def test_a_window_summarises_the_same_from_an_iterator():
    """Read once, as a day of spilled seconds is, a span gives the window its list gives."""
    seconds = [steady(i, 0.010 * (1 + i % 3), failed=i % 2) for i in range(6)]
    assert summarize(iter(seconds)).to_dict() == summarize(seconds).to_dict()
    assert summarize(iter(())).buckets == 0
