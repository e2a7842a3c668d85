"""When each request of an open-model load is meant to be sent: a pure function of rate and ramp.

The arrival rate climbs linearly from 0 to ``rate`` over ``ramp_s`` seconds,
then stays constant. Arrivals are evenly spaced in the *cumulative* sense: the
k-th arrival (k = 0, 1, ...) is due at the time t where the expected count of
arrivals so far, N(t), equals k. With

    N(t) = rate * t**2 / (2 * ramp_s)          for t <= ramp_s
    N(t) = rate * ramp_s / 2 + rate * (t - ramp_s)   after the ramp

the schedule is closed form in both directions (time of arrival k, number of
arrivals before t), so the generator never iterates over it and the target
count of any second is exact. Evenly spaced arrivals (not Poisson) keep the
per-second statistics free of sampling noise the system did not cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ArrivalSchedule"]


@dataclass(frozen=True)
class ArrivalSchedule:
    """Intended send times, in seconds from the start of the load."""

    rate: float
    ramp_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be a finite number > 0, got {self.rate!r}")
        if not (self.ramp_s >= 0 and math.isfinite(self.ramp_s)):
            raise ValueError(f"ramp_s must be a finite number >= 0, got {self.ramp_s!r}")

    @property
    def _ramp_arrivals(self) -> float:
        """N(ramp_s): how many arrivals the ramp holds."""
        return self.rate * self.ramp_s / 2.0

    def time_of(self, k: int) -> float:
        """When arrival ``k`` (0-based) is due."""
        if k < 0:
            raise ValueError(f"arrival index must be >= 0, got {k}")
        if k < self._ramp_arrivals:
            return math.sqrt(2.0 * k * self.ramp_s / self.rate)
        return self.ramp_s + (k - self._ramp_arrivals) / self.rate

    def expected(self, t: float) -> float:
        """N(t): the expected number of arrivals in [0, t)."""
        if t <= 0:
            return 0.0
        if t <= self.ramp_s:
            return self.rate * t * t / (2.0 * self.ramp_s)
        return self._ramp_arrivals + self.rate * (t - self.ramp_s)

    def count_before(self, t: float) -> int:
        """How many arrivals are due strictly before ``t`` (k is due before t iff k < N(t))."""
        n = self.expected(t)
        count = math.ceil(n)
        # N(t) computed in floating point can land a hair off an integer; settle
        # the boundary with time_of itself so both directions always agree.
        while count > 0 and self.time_of(count - 1) >= t:
            count -= 1
        while self.time_of(count) < t:
            count += 1
        return count

    def target_between(self, start: float, end: float) -> int:
        """How many arrivals are due in [start, end)."""
        return self.count_before(end) - self.count_before(start)

    def rate_at(self, t: float) -> float:
        """The intended arrival rate at time ``t`` (req/s)."""
        if t < 0:
            return 0.0
        if t < self.ramp_s:
            return self.rate * t / self.ramp_s
        return self.rate
