"""Judging one load metric of a fault window against its tolerance (pure).

Two kinds of threshold, as the experiment model writes them
(:mod:`chaoskit.model.tolerance`):

* **absolute** (:class:`~chaoskit.model.tolerance.Threshold`, an SLO such as
  ``p99 <= 0.25`` s or ``error_rate <= 0.01``): a claim about the window's
  value over all its requests. Its interval is the window's quantile interval
  (order statistics) or error-rate interval (Wilson), from the same requests
  (:mod:`chaoskit.measure.intervals`): *violated* only when the whole interval
  is beyond the limit, *within* when all of it is inside, *inconclusive* when
  it straddles the limit;
* **relative** (:class:`~chaoskit.model.tolerance.Relative`, such as
  ``p99 <= 2 x baseline`` or ``error_rate <= baseline + 0.005``): the
  tolerated difference is ``(ratio - 1) x the baseline window's value`` and/or
  ``increase``; the interval of the difference of the two windows' values
  decides the same way.

Metrics without a per-request interval (throughput, achieved rate) are judged
on their per-second values by the Hodges-Lehmann shift of the typical second.
That Mann-Whitney / Hodges-Lehmann comparison of per-second values is carried
in every judgement, labelled as what it answers: did the typical second change.
Readings of a Prometheus query are judged the same way (:func:`judge_values`):
the mean reading against an absolute limit, the typical reading's shift for
relative tolerances.
"""

from __future__ import annotations

import math

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chaoskit.measure.buckets import LATENCY_QUANTILES, Bucket
from chaoskit.measure.intervals import Interval, component_confidence, difference, proportion_interval, quantile_interval
from chaoskit.measure.stats import DEFAULT_CONFIDENCE, Decision, ShiftEstimate, Worse, compare, decide_shift
from chaoskit.measure.window import WindowTally, tally
from chaoskit.model.tolerance import AllOf, Relative, Threshold, Tolerance
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["MetricJudgement", "WORSE_WHEN_LOWER", "WindowJudgement", "judge_metric", "judge_values", "per_second", "tallied"]

# Metrics where less is worse; for every other metric (latency, errors) more is worse.
WORSE_WHEN_LOWER = frozenset({"throughput", "achieved_rate"})
_SEVERITY: dict[Decision, int] = {"within": 0, "inconclusive": 1, "violated": 2}


def per_second(buckets: Sequence[Bucket], metric: str) -> list[float]:
    """The metric's value for each bucket that has one (seconds without data are left out)."""
    return [v for v in (b.metric(metric) for b in buckets) if v is not None]


@dataclass(frozen=True)
class MetricJudgement:
    """One metric of a fault window, judged against one tolerance."""

    metric: str
    decision: Decision
    reason: str
    fault_value: float | None  # the fault window's value (merged histograms)
    baseline_value: float | None  # the baseline window's value
    bound: float | None = None  # the limit the fault value was held to, in the metric's unit
    allowed_shift: float | None = None  # for relative tolerances: the tolerated difference (fault - baseline)
    shift: ShiftEstimate | None = None  # the typical second's shift (per-second values)
    # What decided: the fault window's interval (absolute) or the difference's (relative); None where the
    # metric has no per-request interval and the typical second's shift decided.
    interval: Interval | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "decision": self.decision, "reason": self.reason,
                "fault_value": self.fault_value, "baseline_value": self.baseline_value, "bound": self.bound,
                "allowed_shift": self.allowed_shift, "shift": self.shift.to_dict() if self.shift else None,
                "interval": self.interval.to_dict() if self.interval else None}


@dataclass(frozen=True)
class WindowJudgement:
    """One probe over one phase's window (a load metric, or each series of a query): the worst check decides."""

    probe: str
    phase: str  # baseline, fault or recovery
    decision: Decision
    checks: tuple[MetricJudgement, ...]
    span: str  # what the window held: "10 s" of load, "40 readings" of a query

    @classmethod
    def of(cls, probe: str, phase: str, checks: Sequence[MetricJudgement], span: str) -> WindowJudgement:
        """The judgement its checks make: the worst of them decides (no checks: within)."""
        decision = max((c.decision for c in checks), key=_SEVERITY.__getitem__, default="within")
        return cls(probe, phase, decision, tuple(checks), span)

    @property
    def reason(self) -> str:
        return "; ".join(c.reason for c in self.checks)

    @property
    def decisive(self) -> MetricJudgement | None:
        """The check that decided (the worst), whose numbers the verdict quotes."""
        return max(self.checks, key=lambda c: _SEVERITY[c.decision], default=None)

    def as_result(self, t: float, hypothesis: str) -> ProbeResult:
        """This judgement as the observation the verdicts read (at ``t``), quoting the check that decided."""
        check = self.decisive
        decided = (check.interval or check.shift) if check is not None else None
        return ProbeResult(probe=self.probe, phase=Phase(self.phase), t=t, ok=self.decision == "within",
                           value=check.fault_value if check else None, baseline=check.baseline_value if check else None,
                           detail=f"whole {self.phase} window ({self.span}): {self.reason}", hypothesis=hypothesis,
                           interval=(decided.low, decided.high) if decided is not None else None,
                           inconclusive=self.decision == "inconclusive")

    def comparisons(self) -> list[dict[str, Any]]:
        """The journal's ``load.comparisons`` entries (the reports read them): for each check, the interval that
        decided it (``label`` says of what), then the typical second's shift, labelled as such and deciding nothing
        unless it was the only interval."""
        out = []
        for check in self.checks:
            common = {"probe": self.probe, "phase": self.phase, "metric": check.metric,
                      "allowed_shift": check.allowed_shift, "fault_value": check.fault_value,
                      "baseline_value": check.baseline_value}
            if check.interval is not None:
                i = check.interval
                out.append({**common, "label": "change vs baseline" if check.allowed_shift is not None
                            else f"{check.metric} of the window", "estimate": i.estimate, "ci_low": _finite(i.low),
                            "ci_high": _finite(i.high), "confidence": i.confidence, "method": i.method, "n": i.n,
                            "decision": check.decision})
            if check.shift is not None:
                s = check.shift
                out.append({**common, "label": "typical shift", "decision": "" if check.interval else check.decision,
                            "shift": s.estimate, "ci_low": s.low, "ci_high": s.high, "confidence": s.confidence,
                            "achieved_confidence": s.achieved_confidence, "p_value": s.p_value, "u": s.u,
                            "baseline_median": s.baseline_median, "fault_median": s.fault_median,
                            "baseline_n": s.baseline_n, "fault_n": s.fault_n, "method": s.method})
        return out


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded end is null."""
    return value if math.isfinite(value) else None


def window_interval(metric: str, window: WindowTally, confidence: float) -> Interval | None:
    """The interval of the window's value of ``metric`` over its requests; None for metrics without one."""
    if not window.buckets:
        return None
    stats = window.stats
    if metric in LATENCY_QUANTILES:
        hist = window.latency
        return quantile_interval(hist, LATENCY_QUANTILES[metric] / 100, confidence, stats.overflow) if hist else None
    if metric == "error_rate":
        return proportion_interval(stats.failed + stats.timed_out, stats.completed, confidence)
    return None


def tallied(window: WindowTally | Iterable[Bucket], metric: str) -> WindowTally:
    """``window`` as a tally holding ``metric``: buckets are read once, one at a time (a day's window included)."""
    return window if isinstance(window, WindowTally) else tally(window, (metric,))


def judge_metric(metric: str, tolerance: Tolerance, baseline: WindowTally | Iterable[Bucket],
                 fault: WindowTally | Iterable[Bucket], confidence: float = DEFAULT_CONFIDENCE,
                 compared: bool = True) -> MetricJudgement:
    """Judge ``metric`` over the ``fault`` window against ``tolerance`` (baseline: the ``baseline`` window).

    Either window is a :class:`~chaoskit.measure.window.WindowTally` or its
    buckets, which are then read once. ``compared=False`` skips the comparisons
    with the baseline (a window judged against itself), which only absolute
    tolerances can do without.
    """
    base, hit = tallied(baseline, metric), tallied(fault, metric)
    half = component_confidence(confidence)
    fault_half, base_half = window_interval(metric, hit, half), window_interval(metric, base, half)
    window = _Window(
        metric, confidence,
        fault_value=hit.stats.metric(metric) if hit.buckets else None,
        baseline_value=base.stats.metric(metric) if base.buckets else None,
        shift=_shift(base.values(metric), hit.values(metric), confidence, compared),
        fault_interval=window_interval(metric, hit, confidence),
        difference=difference(fault_half, base_half, confidence) if compared and fault_half and base_half else None,
    )
    return window.judge(tolerance)


def judge_values(metric: str, tolerance: Tolerance, baseline: Sequence[float], fault: Sequence[float],
                 confidence: float = DEFAULT_CONFIDENCE, compared: bool = True) -> MetricJudgement:
    """Judge a metric known only by its readings (a Prometheus query's, say), like throughput.

    No per-request interval exists: a window's value is the mean of its
    readings (for a rate, the window's average), held directly to an absolute
    limit, and relative tolerances are decided by the Hodges-Lehmann shift of
    the typical reading against the baseline's, with its confidence interval.
    """
    window = _Window(metric, confidence, fault_value=statistics.fmean(fault) if fault else None,
                     baseline_value=statistics.fmean(baseline) if baseline else None,
                     shift=_shift(baseline, fault, confidence, compared), typical="reading")
    return window.judge(tolerance)


def _shift(baseline: Sequence[float], fault: Sequence[float], confidence: float, compared: bool) -> ShiftEstimate | None:
    return compare(baseline, fault, confidence) if compared and len(baseline) and len(fault) else None


@dataclass(frozen=True)
class _Window:
    """The facts one judgement needs, computed once however many tolerances judge them."""

    metric: str
    confidence: float
    fault_value: float | None
    baseline_value: float | None
    shift: ShiftEstimate | None  # the typical second's (or reading's) shift
    fault_interval: Interval | None = None
    difference: Interval | None = None
    typical: str = "second"

    def judge(self, tolerance: Tolerance) -> MetricJudgement:
        """The judgement, its reason ending with the typical second's (or reading's) shift, said once."""
        judged = self._judge(tolerance)
        if self.shift is None:
            return judged
        return replace(judged, reason=f"{judged.reason}; typical {self.typical}: {self.shift}")

    def _judge(self, tolerance: Tolerance) -> MetricJudgement:
        if isinstance(tolerance, AllOf):
            parts = [self._judge(t) for t in tolerance.parts]
            worst = max(parts, key=lambda j: _SEVERITY[j.decision])
            return replace(worst, reason="; ".join(p.reason for p in parts))
        if isinstance(tolerance, Threshold):
            return self._absolute(tolerance)
        if isinstance(tolerance, Relative):
            return self._relative(tolerance)
        raise TypeError(f"a load metric takes a threshold or a relative tolerance, not {type(tolerance).__name__}")

    def _judged(self, decision: Decision, reason: str, bound: float | None, allowed: float | None = None,
                interval: Interval | None = None) -> MetricJudgement:
        return MetricJudgement(self.metric, decision, reason, self.fault_value, self.baseline_value, bound, allowed,
                               self.shift, interval)

    def _absolute(self, tolerance: Threshold) -> MetricJudgement:
        metric, value, interval = self.metric, self.fault_value, self.fault_interval
        if value is None:
            return self._judged("inconclusive", f"{metric}: no data in the fault window", tolerance.max)
        bound = tolerance.max if tolerance.max is not None else tolerance.min
        if interval is None:  # no per-request interval (throughput, or a stall with nothing completed)
            if tolerance.max is not None and value > tolerance.max:
                return self._judged("violated", f"{metric} {value:.4g} > {tolerance.max:g}", tolerance.max)
            if tolerance.min is not None and value < tolerance.min:
                return self._judged("violated", f"{metric} {value:.4g} < {tolerance.min:g}", tolerance.min)
            return self._judged("within", f"{metric} {value:.4g} {tolerance}", bound)
        if tolerance.max is not None and interval.low > tolerance.max:
            return self._judged("violated", f"{metric} {interval} > {tolerance.max:g}", tolerance.max, None, interval)
        if tolerance.min is not None and interval.high < tolerance.min:
            return self._judged("violated", f"{metric} {interval} < {tolerance.min:g}", tolerance.min, None, interval)
        if (tolerance.max is None or interval.high <= tolerance.max) and (
                tolerance.min is None or interval.low >= tolerance.min):
            return self._judged("within", f"{metric} {interval} {tolerance}", bound, None, interval)
        limit = tolerance.max if tolerance.max is not None and interval.high > tolerance.max else tolerance.min
        return self._judged("inconclusive", f"{metric} {interval} straddles the limit {limit:g} ({tolerance})",
                            limit, None, interval)

    def _relative(self, tolerance: Relative) -> MetricJudgement:
        metric = self.metric
        decider: Interval | ShiftEstimate
        if self.difference is not None and self.baseline_value is not None:
            decider, base = self.difference, self.baseline_value
        elif self.shift is not None:
            decider, base = self.shift, self.shift.baseline_median
        else:
            return self._judged("inconclusive", f"{metric}: no values to compare with the baseline", None)
        # An upper bound (value <= ratio x baseline, <= baseline + increase) limits how much worse the
        # window may get; a lower bound (min_ratio: throughput must not drop) how far it may fall.
        bounds: list[tuple[float, Worse]] = []
        upper = ([(tolerance.max_ratio - 1.0) * base] if tolerance.max_ratio is not None else []) + (
            [tolerance.max_increase] if tolerance.max_increase is not None else [])
        if upper:
            bounds.append((min(upper), "higher"))
        if tolerance.min_ratio is not None:
            bounds.append(((tolerance.min_ratio - 1.0) * base, "lower"))
        if not bounds:
            raise ValueError("a relative tolerance needs max_ratio, min_ratio or max_increase")
        decision, allowed = max(((decide_shift(decider, a, worse), a) for a, worse in bounds),
                                key=lambda pair: _SEVERITY[pair[0]])
        words = {"within": "within", "violated": "beyond", "inconclusive": "straddles"}[decision]
        if isinstance(decider, Interval):
            reason = (f"{metric} change vs baseline {self.difference} {words} tolerated {allowed:+.4g} "
                      f"({tolerance}, baseline {base:.4g})")
            return self._judged(decision, reason, base + allowed, allowed, self.difference)
        shift = decider
        reason = (f"{metric} per-{self.typical} shift {shift.estimate:+.4g} [{shift.low:+.4g}, {shift.high:+.4g}] "
                  f"{words} tolerated {allowed:+.4g} ({tolerance}, baseline median {base:.4g})")
        return MetricJudgement(metric, decision, f"{reason}; Mann-Whitney U={shift.u:g} p={shift.p_value:.3g}, "
                               f"{shift.confidence:.0%} CI", self.fault_value, self.baseline_value, base + allowed,
                               allowed, shift, None)
