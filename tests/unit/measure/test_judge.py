"""Judging a load metric of a fault window: absolute SLOs and baseline-relative tolerances."""

from __future__ import annotations

import pytest

from chaoskit.measure.judge import judge_metric, per_second
from chaoskit.model.tolerance import AllOf, Equals, Relative, Threshold

from .factory import bucket, steady

# Per-second p99 values around 10 ms with a little natural jitter.
BASELINE = [steady(i, 0.010 * (1 + 0.03 * ((i * 7) % 5 - 2))) for i in range(20)]


def fault_window(p99s: list[float]) -> list:
    return [steady(100 + i, v) for i, v in enumerate(p99s)]


def test_absolute_slo_is_a_plain_comparison():
    """An SLO judges the window's own value: within when under it, violated when over."""
    calm = judge_metric("p99", Threshold(max=0.05), BASELINE, fault_window([0.011] * 10))
    slow = judge_metric("p99", Threshold(max=0.05), BASELINE, fault_window([0.3] * 10))
    assert calm.decision == "within" and slow.decision == "violated"
    assert slow.fault_value == pytest.approx(0.33, rel=0.02) and slow.bound == 0.05
    assert slow.shift is not None and slow.shift.estimate > 0.25  # the comparison is reported anyway


def test_relative_ratio_within_when_nothing_changed():
    """A fault window like the baseline is within `p99 <= 2 x baseline`."""
    same = fault_window([b.metric("p99") for b in BASELINE[:12]])
    judged = judge_metric("p99", Relative(max_ratio=2.0), BASELINE, same)
    assert judged.decision == "within"
    # 2x the baseline window's own p99 (11.6 ms over its 2,000 requests) allows +11.6 ms.
    assert judged.allowed_shift == pytest.approx(0.0116, rel=0.02)
    assert judged.interval is not None and judged.interval.high <= judged.allowed_shift
    assert "typical second" in judged.reason and "Mann-Whitney" in judged.reason


def test_relative_ratio_violated_by_a_clear_shift():
    """Per-second p99s tripled: the whole interval is beyond the tolerated shift."""
    judged = judge_metric("p99", Relative(max_ratio=2.0), BASELINE, fault_window([0.031, 0.033, 0.030, 0.032] * 3))
    assert judged.decision == "violated"
    assert judged.shift.low > judged.allowed_shift


def test_relative_ratio_straddling_is_inconclusive():
    """80 requests around 2x baseline: their p99's interval straddles the tolerated change, and we say so."""
    judged = judge_metric("p99", Relative(max_ratio=2.0), BASELINE, [steady(100 + i, 0.021, n=10) for i in range(8)])
    assert judged.decision == "inconclusive"
    assert judged.interval.low < judged.allowed_shift < judged.interval.high
    assert "straddles" in judged.reason


def test_error_rate_relative_in_points():
    """error_rate <= baseline + 0.005: 0.2 % errors pass, 3 % errors fail."""
    clean = [bucket(i, [0.01] * 1000) for i in range(10)]
    few = [bucket(20 + i, [0.01] * 1000, failed=2) for i in range(10)]
    many = [bucket(40 + i, [0.01] * 1000, failed=30) for i in range(10)]
    assert judge_metric("error_rate", Relative(max_increase=0.005), clean, few).decision == "within"
    assert judge_metric("error_rate", Relative(max_increase=0.005), clean, many).decision == "violated"


def test_throughput_minimum():
    """A throughput floor is violated when successes per second drop below it."""
    base = [bucket(i, [0.01] * 100) for i in range(5)]
    drop = [bucket(10 + i, [0.01] * 100, failed=60) for i in range(5)]
    judged = judge_metric("throughput", Threshold(min=80), base, drop)
    assert judged.decision == "violated" and judged.fault_value == 40


def test_all_of_takes_the_worst():
    """Several tolerances on one metric: a violation outweighs the rest."""
    fault = fault_window([0.3] * 5)
    judged = judge_metric("p99", AllOf((Threshold(max=1.0), Relative(max_ratio=2.0))), BASELINE, fault)
    assert judged.decision == "violated"


def test_no_fault_data_is_inconclusive():
    """Nothing measured in the fault window decides nothing."""
    assert judge_metric("p99", Relative(max_ratio=2.0), BASELINE, []).decision == "inconclusive"
    assert judge_metric("p99", Threshold(max=1.0), BASELINE, []).decision == "inconclusive"


def test_other_tolerance_kinds_are_refused():
    """Equality makes no sense on a load metric."""
    with pytest.raises(TypeError):
        judge_metric("p99", Equals(1), BASELINE, BASELINE)


def test_per_second_skips_seconds_without_data():
    """Seconds with no value are left out of the per-second series."""
    assert per_second([bucket(0, [0.01]), bucket(1, [])], "p99") == [pytest.approx(0.01, rel=0.01)]


def test_judgement_serialises():
    """to_dict carries the decision and the statistics for the journal."""
    data = judge_metric("p99", Relative(max_ratio=2.0), BASELINE, BASELINE).to_dict()
    assert data["decision"] == "within" and data["shift"]["confidence"] == 0.98


def test_relative_min_ratio_guards_against_a_drop():
    """`throughput >= 0.9 x baseline`: a drop to half is violated, the same rate is within."""
    base = [bucket(i, [0.01] * (100 + i % 3)) for i in range(15)]
    halved = [bucket(100 + i, [0.01] * (50 + i % 3)) for i in range(10)]
    same = [bucket(100 + i, [0.01] * (100 + i % 3)) for i in range(10)]
    assert judge_metric("throughput", Relative(min_ratio=0.9), base, halved).decision == "violated"
    assert judge_metric("throughput", Relative(min_ratio=0.9), base, same).decision == "within"


def test_comparison_can_be_left_out():
    """A window judged against itself carries no interval (it would say nothing)."""
    judged = judge_metric("p99", Threshold(max=0.05), BASELINE, BASELINE, compared=False)
    assert judged.decision == "within" and judged.shift is None and "shift" not in judged.reason
