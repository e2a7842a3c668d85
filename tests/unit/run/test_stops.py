"""Stop conditions: a metric breached for long enough, a probe failing often enough (in a row, or at all)."""

from __future__ import annotations

from types import SimpleNamespace

from chaoskit.model.stop import MetricStop, ProbeStop
from chaoskit.run.stops import StopWatch
from chaoskit.verdict import Phase, ProbeResult


def window(error_rate: float) -> SimpleNamespace:
    return SimpleNamespace(sent=100, metric=lambda name: error_rate)


def result(ok: bool, inconclusive: bool = False, phase: Phase = Phase.FAULT) -> ProbeResult:
    return ProbeResult("api", phase, 0.0, ok=ok, inconclusive=inconclusive)


def test_a_metric_must_stay_breached_for_its_duration() -> None:
    """error_rate > 0.5 for 3s: not at the first breach, not after a dip, only 3 s into an unbroken breach."""
    watch = StopWatch([MetricStop("error_rate", ">", 0.5, 3.0)])
    assert watch.reason(10.0, window(0.9), []) is None
    assert watch.reason(12.0, window(0.1), []) is None  # the dip resets the clock
    assert watch.reason(13.0, window(0.9), []) is None
    assert watch.reason(16.0, window(0.9), []) == "error_rate > 0.5 for 3s"
    assert watch.reason(20.0, None, []) is None  # no load: nothing to read


def test_a_probe_failing_in_a_row_or_in_all() -> None:
    """In a row, an inconclusive observation ends the streak; not in a row, only fault-phase failures count."""
    in_a_row = StopWatch([ProbeStop("api", 2)])
    anywhere = StopWatch([ProbeStop("api", 2, consecutive=False)])
    broken = [result(False), result(True, inconclusive=True), result(False), result(False, phase=Phase.BASELINE)]
    assert in_a_row.reason(0.0, None, broken) is None
    assert anywhere.reason(0.0, None, broken) == "probe 'api' fails 2x"
    assert in_a_row.reason(0.0, None, [*broken, result(False)]) == "probe 'api' fails 2x in a row"
