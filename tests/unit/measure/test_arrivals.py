"""The arrival schedule: intended send times as a pure function of rate and ramp."""

from __future__ import annotations

import math

import pytest

from chaoskit.measure.arrivals import ArrivalSchedule


def test_constant_rate_spaces_arrivals_evenly():
    """Without a ramp, arrival k is due at k / rate."""
    schedule = ArrivalSchedule(rate=4.0)
    assert [schedule.time_of(k) for k in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_each_second_holds_rate_arrivals():
    """Every whole second of a constant schedule targets exactly `rate` arrivals."""
    schedule = ArrivalSchedule(rate=20_000.0)
    assert [schedule.target_between(s, s + 1) for s in range(5)] == [20_000] * 5


def test_fractional_rate_targets_add_up():
    """A rate of 2.5/s alternates 3 and 2 arrivals a second and totals rate x seconds."""
    schedule = ArrivalSchedule(rate=2.5)
    per_second = [schedule.target_between(s, s + 1) for s in range(4)]
    assert per_second == [3, 2, 3, 2]
    assert sum(per_second) == 10


def test_ramp_climbs_linearly_to_the_rate():
    """During a ramp the per-second targets grow linearly; the ramp holds rate x ramp / 2 arrivals."""
    schedule = ArrivalSchedule(rate=1000.0, ramp_s=4.0)
    assert schedule.count_before(4.0) == 2000
    per_second = [schedule.target_between(s, s + 1) for s in range(6)]
    assert per_second == [125, 375, 625, 875, 1000, 1000]
    assert schedule.time_of(2000) == pytest.approx(4.0)
    assert schedule.rate_at(1.0) == pytest.approx(250.0)
    assert schedule.rate_at(10.0) == 1000.0


@pytest.mark.parametrize("rate,ramp", [(3.0, 0.0), (7.3, 2.5), (20_000.0, 1.0), (0.5, 0.0)])
def test_count_before_and_time_of_agree(rate: float, ramp: float):
    """count_before(t) is exactly the number of arrivals whose time_of is before t."""
    schedule = ArrivalSchedule(rate=rate, ramp_s=ramp)
    for t in [0.0, 0.1, 0.5, 1.0, ramp, ramp + 0.3, 3.0, 7.77]:
        count = schedule.count_before(t)
        assert count == 0 or schedule.time_of(count - 1) < t
        assert schedule.time_of(count) >= t


def test_times_are_increasing():
    """Arrival times never go backwards, across the end of the ramp too."""
    schedule = ArrivalSchedule(rate=100.0, ramp_s=1.5)
    times = [schedule.time_of(k) for k in range(400)]
    assert all(a < b for a, b in zip(times, times[1:]))


@pytest.mark.parametrize("rate,ramp", [(0.0, 0.0), (-1.0, 0.0), (math.inf, 0.0), (10.0, -1.0)])
def test_rejects_nonsense(rate: float, ramp: float):
    """A rate that is not positive and finite, or a negative ramp, is refused."""
    with pytest.raises(ValueError):
        ArrivalSchedule(rate=rate, ramp_s=ramp)
