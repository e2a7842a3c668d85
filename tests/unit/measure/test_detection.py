"""Time to detect and time to recover over per-second buckets."""

from __future__ import annotations

import pytest

from chaoskit.measure.detection import Limit, baseline_band, limit_for, time_to_detect, time_to_recover
from chaoskit.model.tolerance import Relative, Threshold

from .factory import MONO0, WALL0, bucket, steady


def series(p99s: list[float]) -> list:
    return [steady(i, v) for i, v in enumerate(p99s)]


LIMIT = Limit("p99", high=0.05)


def test_detect_is_the_end_of_the_first_breaking_second():
    """Fault at 3.4 s, first slow second [4, 5): detected 1.6 s after the fault."""
    buckets = series([0.01] * 4 + [0.3] * 4 + [0.01] * 4)
    assert time_to_detect(buckets, WALL0 + 3.4, LIMIT) == pytest.approx(1.6)
    assert time_to_detect(buckets, MONO0 + 3.4, LIMIT, clock="mono") == pytest.approx(1.6)


def test_detect_ignores_breaches_before_the_fault():
    """A slow second before the fault is not the fault's detection."""
    buckets = series([0.3, 0.01, 0.01, 0.3, 0.3])
    assert time_to_detect(buckets, WALL0 + 1.0, LIMIT) == pytest.approx(3.0)


def test_detect_can_require_consecutive_seconds():
    """With consecutive=2 an isolated slow second is not a detection."""
    buckets = series([0.01, 0.3, 0.01, 0.3, 0.3])
    assert time_to_detect(buckets, WALL0, LIMIT, consecutive=2) == pytest.approx(5.0)


def test_never_detected():
    """A fault that never breaks the limit has no time to detect."""
    assert time_to_detect(series([0.01] * 5), WALL0, LIMIT) is None


def test_recover_is_the_start_of_a_lasting_return():
    """Reverted at 4.5 s; slow until 6, a relapse at 8, back for good from 9: recovery took 4.5 s."""
    buckets = series([0.3] * 6 + [0.01, 0.01, 0.3] + [0.01] * 6)
    assert time_to_recover(buckets, WALL0 + 4.5, LIMIT, hold_s=3) == pytest.approx(4.5)


def test_recover_at_once_is_zero():
    """Already back inside the band when the revert ends: 0 s."""
    assert time_to_recover(series([0.01] * 8), WALL0 + 2.2, LIMIT, hold_s=3) == 0.0


def test_not_recovered():
    """Never back for hold_s seconds: None."""
    assert time_to_recover(series([0.3, 0.01, 0.01, 0.3]), WALL0, LIMIT, hold_s=3) is None


def test_seconds_without_data_do_not_prove_recovery():
    """A second with no value breaks the run of good seconds."""
    buckets = [steady(0, 0.01), bucket(1, []), steady(2, 0.01), steady(3, 0.01)]
    assert time_to_recover(buckets, WALL0, LIMIT, hold_s=3) is None


def test_baseline_band_bounds_the_worse_side():
    """Latency band: max of the baseline +10 %; throughput band: min -10 %."""
    baseline = series([0.010, 0.012, 0.011])
    assert baseline_band("p99", baseline).high == pytest.approx(0.0132 * 1.1, rel=0.02)
    low = baseline_band("throughput", [bucket(0, [0.01] * 90), bucket(1, [0.01] * 100)]).low
    assert low == pytest.approx(81.0)


def test_limit_from_a_tolerance():
    """Threshold gives its bounds; Relative gives ratio x / increase over the baseline's median second."""
    baseline = series([0.010, 0.020, 0.030])
    assert limit_for("p99", Threshold(max=0.2), baseline) == Limit("p99", high=0.2)
    high = limit_for("p99", Relative(max_ratio=2.0, max_increase=0.03), baseline).high
    assert high == pytest.approx(min(2 * 0.022, 0.022 + 0.03), rel=0.02)


def test_recover_is_the_verdicts_definition_over_seconds():
    """The seconds after the revert, as (start, held) evidence, give chaoskit.verdict.recovered_after's answer."""
    from chaoskit.verdict import recovered_after

    buckets = series([0.3] * 6 + [0.01, 0.3] + [0.01] * 5)
    evidence = [(WALL0 + i, b.metric("p99") <= 0.05) for i, b in enumerate(buckets) if i + 1 > 4.5]
    assert time_to_recover(buckets, WALL0 + 4.5, LIMIT, hold_s=3) == recovered_after(evidence, WALL0 + 4.5, 3) == 3.5


def test_min_ratio_bounds_the_bottom():
    """A tolerated drop (throughput >= 0.5 x baseline) is a lower per-second limit."""
    baseline = [bucket(0, [0.01] * 100), bucket(1, [0.01] * 100)]
    assert limit_for("throughput", Relative(min_ratio=0.5), baseline) == Limit("throughput", None, 50.0)
