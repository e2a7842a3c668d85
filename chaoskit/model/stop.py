"""Stop conditions: when the fault phase ends early, before the damage grows.

Two kinds, written in ``stop_conditions:``::

    - error_rate > 50% for 300ms       # a load metric beyond a threshold over a trailing window
    - p99 > 2s                         # (no ``for``: the last second)
    - probe: api ready                 # a steady-state probe failing N times
      failures: 3                      # in a row unless consecutive: false

A metric condition is judged every tenth of a second on the load's trailing
``for`` window (its tenths of a second, so harm is cut within a few tenths),
and only once that window holds at least ``MIN_OUTCOMES`` outcomes (or, for a
latency or rate while nothing completes, as many requests sent): a handful of
requests cannot trip it. ``for`` is at most ``MAX_FOR_S``.

Ending the fault early is not a verdict by itself: the run reverts, still
measures recovery, and the verdict says the stop condition fired.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from chaoskit.model.probes import LATENCY_METRICS, LOAD_METRICS
from chaoskit.model.units import parse_duration, parse_fraction

__all__ = ["MAX_FOR_S", "MIN_OUTCOMES", "MetricStop", "ProbeStop", "StopCondition", "parse_metric_stop"]

# Fewer outcomes than this in a window decide nothing (20 is 100 ms at 200 req/s).
MIN_OUTCOMES = 20
# Longer windows than the load keeps in memory (seconds) could not be read.
MAX_FOR_S = 600.0
# The window of a condition written without ``for``.
DEFAULT_WINDOW_S = 1.0

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_EXPRESSION = re.compile(r"\s*(\w+)\s*(>=|<=|>|<)\s*(\S+)\s*(?:for\s+(\S+)\s*)?$")


@dataclass(frozen=True)
class MetricStop:
    """``metric op threshold`` over the trailing ``for_s`` seconds of load (0: the last second) stops the fault."""

    metric: str
    op: str
    threshold: float
    for_s: float = 0.0

    @property
    def window_s(self) -> float:
        """The trailing span the metric is judged over."""
        return self.for_s or DEFAULT_WINDOW_S

    def breached(self, value: float) -> bool:
        """Whether one observation of the metric is beyond the threshold."""
        return _OPS[self.op](value, self.threshold)

    def __str__(self) -> str:
        text = f"{self.metric} {self.op} {self.threshold:g}"
        return f"{text} for {self.for_s:g}s" if self.for_s else text


@dataclass(frozen=True)
class ProbeStop:
    """The named steady-state probe failing ``failures`` times (in a row when ``consecutive``)."""

    probe: str
    failures: int = 1
    consecutive: bool = True

    def __str__(self) -> str:
        return f"probe {self.probe!r} fails {self.failures}x{' in a row' if self.consecutive else ''}"


StopCondition = MetricStop | ProbeStop


def parse_metric_stop(text: str) -> MetricStop:
    """``error_rate > 50% for 3s`` -> MetricStop; ``ValueError`` says what was expected."""
    match = _EXPRESSION.match(text)
    if match is None:
        raise ValueError(f"expected 'METRIC OP VALUE [for DURATION]' like 'error_rate > 0.5 for 3s', got {text!r}")
    metric, op, raw, sustained = match.groups()
    if metric not in LOAD_METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(LOAD_METRICS)}")
    if metric in LATENCY_METRICS:
        threshold = parse_duration(raw)
    elif metric == "error_rate":
        threshold = parse_fraction(raw)
    else:
        try:
            threshold = float(raw)
        except ValueError:
            raise ValueError(f"expected a number of requests per second, got {raw!r}") from None
    window = parse_duration(sustained) if sustained else 0.0
    if window > MAX_FOR_S:
        raise ValueError(f"'for' is at most {MAX_FOR_S:g}s (the load keeps that much in memory), got {sustained!r}")
    return MetricStop(metric, op, threshold, window)
