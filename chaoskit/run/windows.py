"""Load probes judged over whole windows: what decides the baseline and the fault phase (pure).

A second's p99 over a few hundred requests is noisy: judging every second on
its own would turn one slow second into a FAILURE (or an ABORTED baseline)
that the next run would not repeat. So per-second readings of load probes
only *detect* (time to detect, stop conditions, the live display), and the
verdict comes from the whole window:

* **baseline**: the absolute parts of each tolerance (the SLOs) against the
  merged histograms of the baseline window. A relative part holds trivially
  against itself, so it is not judged here;
* **fault**: every check over the fault window with
  :func:`chaoskit.measure.judge.judge_metric`: SLOs on the merged window, and
  relative tolerances by the Mann-Whitney / Hodges-Lehmann comparison of the
  per-second values against the baseline's, which is *within*, *violated* or
  *inconclusive* (the interval straddles the tolerance: not a guess);
* **recovery**: the same comparison, for the report only; recovery itself is
  judged second by second (back inside the band and staying there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaoskit.measure.buckets import Bucket
from chaoskit.measure.judge import MetricJudgement, decisive, judge_metric, window_result
from chaoskit.measure.stats import Decision
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import absolute_part
from chaoskit.verdict import ProbeResult

__all__ = ["WindowJudgement", "absolute_part", "judge_window"]

_SEVERITY: dict[Decision, int] = {"within": 0, "inconclusive": 1, "violated": 2}


@dataclass(frozen=True)
class WindowJudgement:
    """One load probe over one phase's window: the worst of its checks decides."""

    probe: str
    phase: str  # baseline, fault or recovery
    decision: Decision
    checks: tuple[MetricJudgement, ...]
    buckets: int  # seconds in the window

    @property
    def reason(self) -> str:
        return "; ".join(c.reason for c in self.checks)

    @property
    def decisive(self) -> MetricJudgement | None:
        """The check that decided (the worst), whose numbers the verdict quotes."""
        return decisive(self.checks)

    def as_result(self, t: float, hypothesis: str) -> ProbeResult:
        """This judgement as the observation the verdicts read (at ``t``), quoting the check that decided."""
        return window_result(self.probe, self.phase, self.decision, self.checks, f"{self.buckets} s", t, hypothesis)

    def comparisons(self) -> list[dict[str, Any]]:
        """The statistical comparisons, as the journal's ``load.comparisons`` entries (the reports read them)."""
        out = []
        for check in self.checks:
            if check.shift is None:
                continue
            s = check.shift
            out.append({
                "probe": self.probe, "phase": self.phase, "metric": check.metric, "decision": check.decision,
                "shift": s.estimate, "ci_low": s.low, "ci_high": s.high, "confidence": s.confidence,
                "achieved_confidence": s.achieved_confidence, "p_value": s.p_value, "u": s.u,
                "baseline_median": s.baseline_median, "fault_median": s.fault_median,
                "baseline_n": s.baseline_n, "fault_n": s.fault_n, "method": s.method,
                "allowed_shift": check.allowed_shift, "fault_value": check.fault_value,
                "baseline_value": check.baseline_value,
            })
        return out


def judge_window(probe: LoadProbe, phase: str, baseline: Sequence[Bucket], window: Sequence[Bucket]) -> WindowJudgement:
    """Judge ``probe`` over ``window`` (the ``baseline`` window itself when ``phase`` is baseline)."""
    checks = []
    for check in probe.checks:
        tolerance = absolute_part(check.tolerance) if phase == "baseline" else check.tolerance
        if tolerance is None:
            continue
        # Against itself the baseline's comparison would say nothing: no interval for it.
        checks.append(judge_metric(probe.metric, tolerance, baseline, window, compared=phase != "baseline"))
    decision: Decision = max((c.decision for c in checks), key=_SEVERITY.__getitem__, default="within")
    return WindowJudgement(probe.name, phase, decision, tuple(checks), len(window))

