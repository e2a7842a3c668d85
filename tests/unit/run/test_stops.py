"""Stop conditions: a metric breached for long enough, a probe failing often enough (in a row, or at all)."""

from __future__ import annotations

from types import SimpleNamespace

from chaoskit.model.stop import MIN_OUTCOMES, MetricStop, ProbeStop
from chaoskit.run.stops import StopWatch
from chaoskit.verdict import Phase, ProbeResult


def window(value: float, completed: int = 100, sent: int = 100) -> SimpleNamespace:
    return SimpleNamespace(sent=sent, completed=completed, metric=lambda name: value)


def trailing(value: float, completed: int = 100, sent: int = 100) -> tuple[list[float], object]:
    """A load whose trailing window has ``value``; remembers the spans asked for."""
    spans: list[float] = []

    def read(span_s: float) -> SimpleNamespace:
        spans.append(span_s)
        return window(value, completed, sent)
    return spans, read


def result(ok: bool, inconclusive: bool = False, phase: Phase = Phase.FAULT) -> ProbeResult:
    return ProbeResult("api", phase, 0.0, ok=ok, inconclusive=inconclusive)


def test_a_metric_is_judged_over_its_trailing_for_window() -> None:
    """error_rate > 0.5 for 300ms reads the last 0.3 s of load; without ``for``, the last second."""
    watch = StopWatch([MetricStop("error_rate", ">", 0.5, 0.3), MetricStop("p99", ">", 2.0)])
    spans, read = trailing(0.9)
    assert watch.reason(read, []) == "error_rate > 0.5 for 0.3s"
    spans, read = trailing(0.1)
    assert watch.reason(read, []) is None
    assert spans == [0.3, 1.0]
    assert watch.reason(None, []) is None  # no load: nothing to read
    assert watch.reason(lambda span: None, []) is None  # no tenth of load yet


def test_a_handful_of_requests_cannot_trip_a_metric() -> None:
    """19 outcomes, all failed, decide nothing; 20 do."""
    watch = StopWatch([MetricStop("error_rate", ">", 0.5, 0.1)])
    assert watch.reason(trailing(1.0, completed=MIN_OUTCOMES - 1)[1], []) is None
    assert watch.reason(trailing(1.0, completed=MIN_OUTCOMES)[1], []) is not None


def test_a_stall_trips_latency_but_not_the_error_rate() -> None:
    """Nothing completed while requests were sent: the oldest one's age is a latency, no error rate."""
    stalled = trailing(3.0, completed=0, sent=MIN_OUTCOMES)[1]
    assert StopWatch([MetricStop("p99", ">", 2.0, 0.5)]).reason(stalled, []) == "p99 > 2 for 0.5s"
    assert StopWatch([MetricStop("error_rate", ">", 0.5, 0.5)]).reason(stalled, []) is None


def test_a_probe_failing_in_a_row_or_in_all() -> None:
    """In a row, an inconclusive observation ends the streak; not in a row, only fault-phase failures count."""
    in_a_row = StopWatch([ProbeStop("api", 2)])
    anywhere = StopWatch([ProbeStop("api", 2, consecutive=False)])
    broken = [result(False), result(True, inconclusive=True), result(False), result(False, phase=Phase.BASELINE)]
    assert in_a_row.reason(None, broken) is None
    assert anywhere.reason(None, broken) == "probe 'api' fails 2x"
    assert in_a_row.reason(None, [*broken, result(False)]) == "probe 'api' fails 2x in a row"
