"""Stop conditions during the fault phase: when to end it early (pure, fed by the run loop each tick).

A metric condition holds once the load's trailing window of ``for``
(:attr:`~chaoskit.model.stop.MetricStop.window_s`, read in tenths of a second)
is beyond it with enough outcomes to say so (:data:`~chaoskit.model.stop.MIN_OUTCOMES`);
a probe condition once the named probe failed ``failures`` times in the
fault phase (in a row when ``consecutive``).
An inconclusive observation is no failure: it does not count, and it ends a
streak as a pass does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaoskit.model.stop import MIN_OUTCOMES, MetricStop, ProbeStop, StopCondition
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["Stop", "StopWatch"]


@dataclass(frozen=True)
class Stop:
    """A stop condition that fired: what, when (run clock), and how long after the first fault was applied."""

    reason: str
    at: float
    fault_applied_at: float | None

    @property
    def time_to_detect_s(self) -> float | None:
        return self.at - self.fault_applied_at if self.fault_applied_at is not None else None

    def fields(self) -> dict[str, Any]:
        """The ``run.stopped`` event's fields."""
        return {"reason": self.reason, "time_to_detect_s": _rounded(self.time_to_detect_s)}

    def cut(self, reverted_at: float) -> dict[str, Any]:
        """The ``run.harm_cut`` event's fields, once every fault was reverted at ``reverted_at``: time to stop
        runs from the first fault applied to the last one reverted."""
        stop = reverted_at - self.fault_applied_at if self.fault_applied_at is not None else None
        return self.fields() | {"time_to_stop_s": _rounded(stop)}


def _rounded(seconds: float | None) -> float | None:
    return round(seconds, 3) if seconds is not None else None


class StopWatch:
    """The experiment's stop conditions over one fault phase."""

    def __init__(self, conditions: Sequence[StopCondition]):
        self.conditions = tuple(conditions)

    def check(self, trailing: Callable[[float], Any] | None, observations: Sequence[ProbeResult], now: float,
              fault_applied_at: float | None) -> Stop | None:
        """The stop, if a condition holds ``now`` (run clock, as ``fault_applied_at``)."""
        reason = self.reason(trailing, observations)
        return Stop(reason, now, fault_applied_at) if reason is not None else None

    def reason(self, trailing: Callable[[float], Any] | None, observations: Sequence[ProbeResult]) -> str | None:
        """The first condition that holds now, said as written; None while none does.

        ``trailing(span_s)``: the load's window over its last ``span_s`` seconds
        (None without load, or before any); ``observations``: the run's so far.
        """
        for condition in self.conditions:
            if isinstance(condition, MetricStop) and trailing is not None:
                window = trailing(condition.window_s)
                if window is not None and _judged(condition, window):
                    return str(condition)
            if isinstance(condition, ProbeStop):
                recent = [o for o in observations if o.probe == condition.probe and o.phase is Phase.FAULT]
                failed = [o for o in recent if not o.ok and not o.inconclusive]
                count = _trailing_failures(recent) if condition.consecutive else len(failed)
                if count >= condition.failures:
                    return str(condition)
        return None


def _judged(condition: MetricStop, window: Any) -> bool:
    """Whether the window holds enough requests to judge and is beyond the condition.

    An error rate needs MIN_OUTCOMES outcomes; a latency or a rate can also
    be judged on MIN_OUTCOMES requests sent while none completed (a stall:
    its value is then the age of the oldest request in flight, or no throughput).
    """
    stalled = window.completed == 0 and window.sent >= MIN_OUTCOMES and condition.metric != "error_rate"
    if window.completed < MIN_OUTCOMES and not stalled:
        return False
    value = window.metric(condition.metric)
    return value is not None and condition.breached(value)


def _trailing_failures(observations: list[ProbeResult]) -> int:
    count = 0
    for o in reversed(observations):
        if o.ok or o.inconclusive:
            break
        count += 1
    return count
