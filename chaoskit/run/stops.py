"""Stop conditions during the fault phase: when to end it early (pure, fed by the run loop each tick).

A metric condition holds once the load's latest one-second window breached
it for ``for_s`` seconds in a row; a probe condition once the named probe
failed ``failures`` times in the fault phase (in a row when ``consecutive``).
An inconclusive observation is no failure: it does not count, and it ends a
streak as a pass does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaoskit.model.stop import MetricStop, ProbeStop, StopCondition
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["StopWatch"]


class StopWatch:
    """The experiment's stop conditions over one fault phase; remembers since when each metric is breached."""

    def __init__(self, conditions: Sequence[StopCondition]):
        self.conditions = tuple(conditions)
        self._breached_since: dict[str, float] = {}

    def reason(self, now: float, window: Any, observations: Sequence[ProbeResult]) -> str | None:
        """The first condition that holds at ``now`` (seconds), said as written; None while none does.

        ``window``: the load's latest window (None without load); ``observations``: the run's so far.
        """
        for condition in self.conditions:
            if isinstance(condition, MetricStop) and window is not None and window.sent:
                key = str(condition)
                if condition.breached(window.metric(condition.metric)):
                    if now - self._breached_since.setdefault(key, now) >= condition.for_s:
                        return key
                else:
                    self._breached_since.pop(key, None)
            if isinstance(condition, ProbeStop):
                recent = [o for o in observations if o.probe == condition.probe and o.phase is Phase.FAULT]
                failed = [o for o in recent if not o.ok and not o.inconclusive]
                count = _trailing_failures(recent) if condition.consecutive else len(failed)
                if count >= condition.failures:
                    return str(condition)
        return None


def _trailing_failures(observations: list[ProbeResult]) -> int:
    count = 0
    for o in reversed(observations):
        if o.ok or o.inconclusive:
            break
        count += 1
    return count
