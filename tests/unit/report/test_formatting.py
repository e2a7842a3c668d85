"""Units and words for numbers in reports."""

from __future__ import annotations

import pytest

from chaoskit.report.formatting import (
    UNIT_PERCENT,
    UNIT_PLAIN,
    UNIT_RATE,
    UNIT_SECONDS,
    describe_selector,
    describe_tolerance,
    format_duration,
    format_interval,
    format_shift,
    format_value,
    unit_of,
)


@pytest.mark.parametrize("subject, unit", [
    ("p50", UNIT_SECONDS), ("p99", UNIT_SECONDS), ("p99.9", UNIT_SECONDS), ("latency", UNIT_SECONDS),
    ("fanout_lag", UNIT_SECONDS), ("error_rate", UNIT_PERCENT), ("throughput", UNIT_RATE), ("status", UNIT_PLAIN),
    ("exit_code", UNIT_PLAIN), ("toxics", UNIT_PLAIN),
])
def test_unit_is_inferred_from_the_subject_name(subject, unit):
    """Latency-like names are seconds, error rates are ratios, status codes and counts are plain."""
    assert unit_of(subject) == unit


def test_values_are_shown_in_the_unit_people_read():
    """Seconds become ms, fractions become %, ints stay ints, None is a dash, long text is cut."""
    assert format_value(0.0123, UNIT_SECONDS) == "12.3 ms"
    assert format_value(0.8, UNIT_SECONDS) == "800 ms"
    assert format_value(12.5, UNIT_SECONDS) == "12.5 s"
    assert format_value(0.0052, UNIT_PERCENT) == "0.52 %"
    assert format_value(200) == "200"
    assert format_value(None) == "\u2014"
    assert format_value(True) == "True"
    assert format_value("x" * 100).endswith("...") and len(format_value("x" * 100)) == 60


def test_shifts_are_signed_and_rates_are_points():
    """A shift says its direction; an error-rate shift is in percentage points, not percent of percent."""
    assert format_shift(0.788, UNIT_SECONDS) == "+788 ms"
    assert format_shift(-0.002, UNIT_SECONDS) == "-2 ms"
    assert format_shift(0.004, UNIT_PERCENT) == "+0.4 points"


def test_interval_names_its_confidence():
    """A CI shows both bounds as shifts and its confidence level as a percentage."""
    assert format_interval(0.7, 0.85, UNIT_SECONDS, 0.98) == "[+700 ms, +850 ms] (98 %)"
    assert format_interval(-0.001, 0.002, UNIT_SECONDS) == "[-1 ms, +2 ms]"


def test_durations_read_naturally():
    """Sub-second in ms, under two minutes in s, longer in minutes; missing as a dash."""
    assert format_duration(0.45) == "450 ms"
    assert format_duration(3.21) == "3.2 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_duration(None) == "\u2014"


@pytest.mark.parametrize("tolerance, unit, text", [
    ({"min": None, "max": 0.15}, UNIT_SECONDS, "<= 150 ms"),
    ({"value": 200}, UNIT_PLAIN, "= 200"),
    ({"values": [200, 201]}, UNIT_PLAIN, "one of 200, 201"),
    ({"low": 0.0, "high": 0.01}, UNIT_PERCENT, "in [0 %, 1 %]"),
    ({"max_ratio": 2.0, "min_ratio": None, "max_increase": None}, UNIT_SECONDS, "<= 2x baseline"),
    ({"max_ratio": None, "min_ratio": None, "max_increase": 0.005}, UNIT_PERCENT, "<= baseline +0.5 points"),
    ({"pattern": "ok"}, UNIT_PLAIN, "matches /ok/"),
    ({"path": "$.lost", "expect": {"value": 0}}, UNIT_PLAIN, "$.lost = 0"),
    ({"parts": [{"min": None, "max": 0.01}, {"max_ratio": None, "min_ratio": None, "max_increase": 0.005}]},
     UNIT_PERCENT, "<= 1 % and <= baseline +0.5 points"),
])
def test_tolerances_as_the_journal_stores_them_are_described(tolerance, unit, text):
    """Every tolerance kind, made plain by the journal (no class name), reads back in words."""
    assert describe_tolerance(tolerance, unit) == text


def test_selector_reads_like_the_targets_command():
    """A plain selector prints its set criteria as key=value, skipping defaults."""
    selector = {"name": None, "service": "api", "project": "chaoskit", "labels": {"tier": "web"}, "state": "running",
                "count": 1, "percent": None, "max_fraction": 0.5, "max_count": None}
    assert describe_selector(selector) == "service=api project=chaoskit label:tier=web count=1 max_fraction=0.5"
