"""Stop conditions: the metric expression grammar."""

from __future__ import annotations

import pytest

from chaoskit.model.stop import MetricStop, ProbeStop, parse_metric_stop


def test_metric_stop_with_percent_and_sustain() -> None:
    """'error_rate > 50% for 3s' reads as a fraction threshold held for 3 seconds."""
    stop = parse_metric_stop("error_rate > 50% for 3s")
    assert stop == MetricStop("error_rate", ">", 0.5, 3.0)
    assert stop.breached(0.6) and not stop.breached(0.5)


def test_latency_threshold_is_a_duration() -> None:
    """A latency metric's threshold is a duration in seconds, and 'for' is optional."""
    assert parse_metric_stop("p99 >= 2s") == MetricStop("p99", ">=", 2.0, 0.0)
    assert parse_metric_stop("throughput < 10") == MetricStop("throughput", "<", 10.0)


def test_a_sub_second_window() -> None:
    """'for 300ms' is a trailing window of 0.3 s; without 'for', the window is the last second."""
    assert parse_metric_stop("error_rate > 50% for 300ms").window_s == pytest.approx(0.3)
    assert parse_metric_stop("p99 > 1s").window_s == 1.0


@pytest.mark.parametrize(
    "text", ["error_rate > 1% for 11m", "error_rate", "p98 > 1s", "error_rate => 1", "p99 > fast", "throughput < many", "p99 > 1s for ever"]
)
def test_bad_expressions_say_what_was_expected(text: str) -> None:
    """Malformed expressions, unknown metrics and bad values are refused."""
    with pytest.raises(ValueError):
        parse_metric_stop(text)


def test_str_round_trips_for_people() -> None:
    """The conditions print as people wrote them."""
    assert str(MetricStop("error_rate", ">", 0.5, 3.0)) == "error_rate > 0.5 for 3s"
    assert str(ProbeStop("api", 3)) == "probe 'api' fails 3x in a row"
