"""Stop conditions: when the fault phase ends early, before the damage grows.

Two kinds, written in ``stop_conditions:``::

    - error_rate > 50% for 3s          # a load metric beyond a threshold, sustained
    - p99 > 2s                         # (for 0s: the first window beyond it)
    - probe: api ready                 # a steady-state probe failing N times
      failures: 3                      # in a row unless consecutive: false

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

__all__ = ["MetricStop", "ProbeStop", "StopCondition", "parse_metric_stop"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_EXPRESSION = re.compile(r"\s*(\w+)\s*(>=|<=|>|<)\s*(\S+)\s*(?:for\s+(\S+)\s*)?$")


@dataclass(frozen=True)
class MetricStop:
    """``metric op threshold`` holding for ``for_s`` seconds (0 = once) stops the fault."""

    metric: str
    op: str
    threshold: float
    for_s: float = 0.0

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
    return MetricStop(metric, op, threshold, parse_duration(sustained) if sustained else 0.0)
