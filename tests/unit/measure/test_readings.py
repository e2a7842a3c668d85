"""A Prometheus probe's readings judged per window, per reading and for recovery (pure, made-up readings)."""

from __future__ import annotations

import pytest

from chaoskit.measure.detection import Limit
from chaoskit.measure.judge import judge_values
from chaoskit.measure.readings import (
    SCALAR,
    Reading,
    judge_readings,
    limits_for,
    reading_result,
    time_to_detect,
    time_to_recover,
)
from chaoskit.model.prometheus_probe import PrometheusProbe
from chaoskit.model.tolerance import AllOf, Relative, Threshold, Tolerance
from chaoskit.verdict import Phase

A, B = 'rate{instance="a"}', 'rate{instance="b"}'
NOISE = (0.0, 1.5, -1.0, 2.0, -2.5, 0.5, 1.0, -0.5, 2.5, -1.5)


def probe(tolerance: Tolerance) -> PrometheusProbe:
    return PrometheusProbe("rate", "http://p", "rate(x[5s])", tolerance, every_s=1.0)


def readings(start: int, values: list[dict[str, float]]) -> list[Reading]:
    return [Reading(start + i, 1000.0 + start + i, 50.0 + start + i, v) for i, v in enumerate(values)]


def level(start: int, a: float, b: float | None = None, n: int = 10) -> list[Reading]:
    return readings(start, [{A: a + NOISE[i % 10], **({B: b + NOISE[i % 10]} if b is not None else {})}
                            for i in range(n)])


BASELINE = level(0, 100.0, 100.0)


def test_judge_values_mean_against_a_limit_and_shift_against_the_baseline():
    """The window's mean meets the SLO; the typical reading's shift decides a ratio."""
    base, low = [100.0 + n for n in NOISE], [50.0 + n for n in NOISE]
    assert judge_values("x", Threshold(min=90.0), base, low).decision == "violated"
    judged = judge_values("x", Relative(min_ratio=0.8), base, low)
    assert judged.decision == "violated"
    assert judged.shift is not None and judged.shift.estimate == pytest.approx(-50.0)
    assert "per-reading shift" in judged.reason and judged.fault_value == pytest.approx(50.2)
    assert judge_values("x", Relative(min_ratio=0.8), base, [99.0 + n for n in NOISE]).decision == "within"


def test_every_series_is_judged_and_the_worst_decides():
    """One replica's drop breaks the probe even though the other held."""
    judged = judge_readings(probe(Relative(min_ratio=0.8)), "fault", BASELINE, level(10, 100.0, 40.0))
    assert judged.decision == "violated"
    assert [c.metric for c in judged.checks] == [A, B]
    assert [c.decision for c in judged.checks] == ["within", "violated"]
    result = judged.as_result(20.0, "steady")
    assert (result.ok, result.phase, result.value) == (False, Phase.FAULT, pytest.approx(40.2))
    assert result.detail.startswith("whole fault window (10 readings): ")


def test_baseline_is_held_only_to_the_absolute_part():
    """A baseline under the SLO holds; a relative part alone holds against itself."""
    slo = AllOf((Threshold(max=150.0), Relative(max_ratio=1.5)))
    assert judge_readings(probe(slo), "baseline", BASELINE, BASELINE).decision == "within"
    assert judge_readings(probe(Threshold(max=50.0)), "baseline", BASELINE, BASELINE).decision == "violated"
    assert judge_readings(probe(Relative(max_ratio=2.0)), "baseline", BASELINE, BASELINE).checks == ()


def test_a_series_gone_from_the_window_or_no_readings_at_all_is_inconclusive():
    """A series the baseline had with no reading in the window, or failed polls, decide nothing either way."""
    gone = judge_readings(probe(Threshold(max=150.0)), "fault", BASELINE, level(10, 100.0))
    assert gone.decision == "inconclusive"
    assert gone.checks[1].reason == f"{B}: no reading in the fault window"
    failed = [Reading(10 + i, 1010.0 + i, 60.0 + i, {}, "Prometheus did not answer") for i in range(3)]
    judged = judge_readings(probe(Threshold(max=150.0)), "fault", BASELINE, failed)
    assert judged.decision == "inconclusive"
    assert judged.checks[0].reason.endswith("no reading in the fault window (3 of 3 polls failed: Prometheus did not answer)")
    empty = judge_readings(probe(Threshold(max=150.0)), "baseline", [], readings(0, [{}] * 3))
    assert empty.reason == "no readings in the baseline window (the query gave no series)"


def test_a_scalar_is_one_series():
    """A scalar query's readings are the series 'scalar'."""
    base = readings(0, [{SCALAR: 1.0}] * 5)
    window = readings(5, [{SCALAR: 0.0}] * 5)
    judged = judge_readings(probe(Threshold(min=1.0)), "fault", base, window)
    assert (judged.decision, judged.checks[0].metric) == ("violated", SCALAR)


def test_per_reading_detection_and_time_to_detect():
    """A reading beyond the limit is flagged; the first one after the fault dates the detection."""
    p = probe(Relative(min_ratio=0.8))
    limits = limits_for(p, BASELINE)
    assert limits[A].low == pytest.approx(0.8 * 100.25)
    fault = level(10, 100.0, n=2) + level(12, 50.0, n=5)
    flagged = reading_result(p, fault[3], limits, Phase.FAULT, 3.0, "steady")
    assert (flagged.ok, flagged.detection) == (False, True) and flagged.detail.startswith("beyond the limit: ")
    assert reading_result(p, fault[0], limits, Phase.FAULT, 0.0, "steady").ok
    # Applied at wall 1010.5: the reading at 1012 is the first below 80.
    assert time_to_detect(p, BASELINE, fault, applied_at=1010.5) == pytest.approx(1.5)
    assert time_to_detect(p, BASELINE, fault, applied_at=60.5, clock="mono") == pytest.approx(1.5)
    assert time_to_detect(p, BASELINE, level(10, 100.0), applied_at=1010.5) is None


def test_a_series_new_since_the_baseline_meets_the_shared_absolute_limit():
    """A series the baseline never had (a new replica) is still held to the SLO."""
    p = probe(AllOf((Threshold(max=150.0), Relative(max_ratio=2.0))))
    limits = limits_for(p, level(0, 100.0))
    reading = Reading(20, 1020.0, 70.0, {B: 500.0})
    assert limits[""] == Limit("", 150.0, None)
    assert not reading_result(p, reading, limits, Phase.FAULT, 0.0, "steady").ok


def test_failed_poll_is_an_inconclusive_detection():
    """A poll with no answer neither holds nor breaks."""
    p = probe(Threshold(max=1.0))
    result = reading_result(p, Reading(0, 1.0, 1.0, {}, "did not answer"), limits_for(p, []), Phase.FAULT, 0.0, "h")
    assert (result.ok, result.inconclusive, result.detail) == (False, True, "did not answer")


def test_time_to_recover_waits_for_every_series_to_hold():
    """Recovered once each baseline series stayed in its band for ``hold`` readings; never, if one does not."""
    p = probe(Relative(min_ratio=0.8))
    after = level(20, 50.0, 100.0, n=3) + level(23, 100.0, 100.0, n=6)
    assert time_to_recover(p, BASELINE, after, reverted_at=1019.5, hold=5) == pytest.approx(3.5)
    assert time_to_recover(p, BASELINE, level(20, 50.0, 100.0), reverted_at=1019.5) is None
