"""Judging one load metric of a fault window against its tolerance (pure).

Two kinds of threshold, as the experiment model writes them
(:mod:`chaoskit.model.tolerance`):

* **absolute** (:class:`~chaoskit.model.tolerance.Threshold`, an SLO such as
  ``p99 <= 0.25`` s or ``error_rate <= 0.01``): a fact about the window, so
  the window's value (from its merged histograms) is compared with the
  bound: *within* or *violated*;
* **relative** (:class:`~chaoskit.model.tolerance.Relative`, such as
  ``p99 <= 2 x baseline`` or ``error_rate <= baseline + 0.005``): a claim
  that the fault window is not worse than the baseline beyond a tolerance,
  so it is judged statistically on the per-second values: the tolerated
  shift is ``(ratio - 1) x baseline median`` and/or ``increase``, and the
  Hodges-Lehmann interval decides *within*, *violated* or *inconclusive*
  (:func:`chaoskit.measure.stats.decide_shift`).

Whatever the kind, the Mann-Whitney / Hodges-Lehmann comparison is computed
and carried in the judgement, so every verdict reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaoskit.measure.buckets import Bucket
from chaoskit.measure.stats import DEFAULT_CONFIDENCE, Decision, ShiftEstimate, Worse, compare, decide_shift
from chaoskit.measure.window import summarize
from chaoskit.model.tolerance import AllOf, Relative, Threshold, Tolerance

__all__ = ["MetricJudgement", "WORSE_WHEN_LOWER", "judge_metric", "per_second"]

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
    allowed_shift: float | None = None  # for relative tolerances: the tolerated per-second shift
    shift: ShiftEstimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "decision": self.decision, "reason": self.reason,
                "fault_value": self.fault_value, "baseline_value": self.baseline_value, "bound": self.bound,
                "allowed_shift": self.allowed_shift, "shift": self.shift.to_dict() if self.shift else None}


def judge_metric(metric: str, tolerance: Tolerance, baseline: Sequence[Bucket], fault: Sequence[Bucket],
                 confidence: float = DEFAULT_CONFIDENCE, compared: bool = True) -> MetricJudgement:
    """Judge ``metric`` over the ``fault`` buckets against ``tolerance`` (baseline: the ``baseline`` buckets).

    ``compared=False`` skips the statistical comparison (a window judged against
    itself), which only absolute tolerances can do without.
    """
    fault_value = summarize(fault).metric(metric) if fault else None
    baseline_value = summarize(baseline).metric(metric) if baseline else None
    base_series, fault_series = per_second(baseline, metric), per_second(fault, metric)
    shift = compare(base_series, fault_series, confidence) if compared and base_series and fault_series else None
    return _judge(metric, tolerance, fault_value, baseline_value, shift)


def _judge(metric: str, tolerance: Tolerance, fault_value: float | None, baseline_value: float | None,
           shift: ShiftEstimate | None) -> MetricJudgement:
    if isinstance(tolerance, AllOf):
        parts = [_judge(metric, t, fault_value, baseline_value, shift) for t in tolerance.parts]
        worst = max(parts, key=lambda j: _SEVERITY[j.decision])
        return MetricJudgement(metric, worst.decision, "; ".join(p.reason for p in parts), fault_value,
                               baseline_value, worst.bound, worst.allowed_shift, shift)
    if isinstance(tolerance, Threshold):
        return _absolute(metric, tolerance, fault_value, baseline_value, shift)
    if isinstance(tolerance, Relative):
        return _relative(metric, tolerance, fault_value, baseline_value, shift)
    raise TypeError(f"a load metric takes a threshold or a relative tolerance, not {type(tolerance).__name__}")


def _absolute(metric: str, tolerance: Threshold, value: float | None, baseline_value: float | None,
              shift: ShiftEstimate | None) -> MetricJudgement:
    def judged(decision: Decision, reason: str, bound: float | None) -> MetricJudgement:
        return MetricJudgement(metric, decision, _with_shift(reason, shift), value, baseline_value, bound, None, shift)

    if value is None:
        return judged("inconclusive", f"{metric}: no data in the fault window", tolerance.max)
    if tolerance.max is not None and value > tolerance.max:
        return judged("violated", f"{metric} {value:.4g} > {tolerance.max:g}", tolerance.max)
    if tolerance.min is not None and value < tolerance.min:
        return judged("violated", f"{metric} {value:.4g} < {tolerance.min:g}", tolerance.min)
    return judged("within", f"{metric} {value:.4g} {tolerance}", tolerance.max if tolerance.max is not None
                  else tolerance.min)


def _relative(metric: str, tolerance: Relative, value: float | None, baseline_value: float | None,
              shift: ShiftEstimate | None) -> MetricJudgement:
    if shift is None:
        return MetricJudgement(metric, "inconclusive", f"{metric}: no per-second values to compare with the baseline",
                               value, baseline_value, None, None, None)
    base = shift.baseline_median
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
    decision, allowed = max(((decide_shift(shift, a, worse), a) for a, worse in bounds),
                            key=lambda pair: _SEVERITY[pair[0]])
    words = {"within": "within", "violated": "beyond", "inconclusive": "straddles"}[decision]
    reason = (f"{metric} per-second shift {shift.estimate:+.4g} [{shift.low:+.4g}, {shift.high:+.4g}] "
              f"{words} tolerated {allowed:+.4g} ({tolerance}, baseline median {base:.4g})")
    return MetricJudgement(metric, decision, _with_shift(reason, shift, detail=False), value, baseline_value,
                           base + allowed, allowed, shift)


def _with_shift(reason: str, shift: ShiftEstimate | None, detail: bool = True) -> str:
    if shift is None:
        return reason
    if detail:
        return f"{reason}; {shift}"
    return f"{reason}; Mann-Whitney U={shift.u:g} p={shift.p_value:.3g}, {shift.confidence:.0%} CI"
