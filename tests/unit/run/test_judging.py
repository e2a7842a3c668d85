"""Load probes judged over whole windows: baseline on its SLOs, fault by SLO and statistical comparison."""

from __future__ import annotations

from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import AllOf, Check, Relative, Threshold
from chaoskit.run.judging import absolute_part, judge_window
from tests.unit.measure.factory import bucket, steady

BASELINE = [steady(i, 0.010 * (1 + 0.03 * ((i * 7) % 5 - 2))) for i in range(20)]
SLO_AND_RATIO = AllOf((Threshold(max=0.5), Relative(max_ratio=2.0)))
P99 = LoadProbe("p99", "p99", (Check("p99", SLO_AND_RATIO),))


def window(p99s: list[float]) -> list:
    return [steady(100 + i, v) for i, v in enumerate(p99s)]


def test_absolute_part_drops_relative_tolerances():
    assert absolute_part(SLO_AND_RATIO) == Threshold(max=0.5)
    assert absolute_part(Relative(max_ratio=2.0)) is None
    assert absolute_part(Threshold(max=1.0)) == Threshold(max=1.0)


def test_baseline_is_held_to_its_slo_only():
    """Against itself only the SLO is judged: a slow baseline breaks it; its p99's interval, and no shift, is reported."""
    calm = judge_window(P99, "baseline", BASELINE, BASELINE)
    assert calm.decision == "within"
    assert [c["label"] for c in calm.comparisons()] == ["p99 of the window"]
    slow = [steady(i, 0.6) for i in range(10)]
    assert judge_window(P99, "baseline", slow, slow).decision == "violated"


def test_a_slow_second_of_few_requests_does_not_fail_a_relative_tolerance():
    """5 requests at 10x among 1,500: under 1 % of them, so the window's p99 holds (no false alarm)."""
    judged = judge_window(P99, "fault", BASELINE, window([0.010] * 14) + [bucket(200, [0.010] * 95 + [0.1] * 5)])
    assert judged.decision == "within", judged.reason


def test_a_slow_second_of_many_requests_fails_while_the_typical_second_holds():
    """One second of fifteen at 10x is 6.7 % of the requests: the window's p99 is beyond 2x baseline,
    though the typical second did not change (and the reason says both)."""
    judged = judge_window(P99, "fault", BASELINE, window([0.010] * 14 + [0.1]))
    assert judged.decision == "violated", judged.reason
    assert "typical second: shift +0 " in judged.reason


def test_a_sustained_shift_is_violated_with_its_interval_in_the_comparisons():
    """The comparisons the journal gets: the deciding interval (the change of the window p99s), then the typical
    second's shift, labelled and deciding nothing."""
    judged = judge_window(P99, "fault", BASELINE, window([0.031, 0.030, 0.033] * 4))
    assert judged.decision == "violated"
    by_label = {c["label"]: c for c in judged.comparisons()}
    assert set(by_label) == {"change vs baseline", "typical shift"}  # the ratio part decided the SLO-and-ratio check
    change = by_label["change vs baseline"]
    assert change["probe"] == "p99" and change["phase"] == "fault" and change["decision"] == "violated"
    assert change["allowed_shift"] < change["ci_low"] <= change["estimate"] <= change["ci_high"]
    assert change["confidence"] == 0.98
    typical = by_label["typical shift"]
    assert typical["decision"] == "" and 0.015 < typical["ci_low"] <= typical["shift"] <= typical["ci_high"]


def test_a_change_near_the_tolerance_is_inconclusive():
    """80 requests around 2x baseline: the interval of the p99's change straddles the tolerated change."""
    judged = judge_window(P99, "fault", BASELINE, [steady(100 + i, 0.021, n=10) for i in range(8)])
    assert judged.decision == "inconclusive", judged.reason


def test_slo_breach_over_the_window_decides_even_when_the_ratio_holds():
    """The worst check decides: 0.6 s everywhere is beyond the SLO whatever the baseline."""
    slow_base = [steady(i, 0.4) for i in range(10)]
    judged = judge_window(P99, "fault", slow_base, window([0.6] * 8))
    assert judged.decision == "violated" and judged.decisive.metric == "p99"
    assert judged.decisive.bound == 0.5


def test_an_empty_window_is_inconclusive():
    errors = LoadProbe("errors", "error_rate", (Check("error_rate", Threshold(max=0.01)),))
    assert judge_window(errors, "fault", BASELINE, []).decision == "inconclusive"
    assert judge_window(errors, "fault", BASELINE, [bucket(100, [0.01] * 100, failed=5)]).decision == "violated"
