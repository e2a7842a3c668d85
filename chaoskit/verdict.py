"""Verdicts: observations in, a verdict with its reasons out. Pure (no clock, no I/O).

Exit codes (``chaoskit run`` exits with the verdict's; CI gates on them)::

    0  TOLERATED      the steady state held during the fault and after it
    1  FAILURE        a hypothesis was violated while the fault was applied
    2  (usage)        bad command line or invalid experiment file: nothing ran
    3  NOT_RECOVERED  held during the fault, but not back within the recovery budget
    4  ABORTED        the steady state did not hold before the fault (nothing was
                      injected), or a signal / stop condition ended the run
    5  INCONCLUSIVE   the measurement itself was not valid (the load generator fell
                      behind, no observations, a comparison too uncertain to call)
    6  ERROR          chaoskit could not run the experiment (engine down, apply failed...)

The rule, in order (the first that applies decides):

1. chaoskit could not run it -> ERROR.
2. interrupted (signal) -> ABORTED.
3. the baseline did not hold -> ABORTED ("never inject into a system that is
   already failing"); no baseline observation at all -> INCONCLUSIVE.
4. the run's measurement was invalid (``measurement_problems``) -> INCONCLUSIVE,
   unless an audit found data lost (rule 5): a lost write is a fact, not a
   statistic the load generator's lateness could blur.
5. any check violated during the fault, or by the audit made once after the
   recovery phase (``Phase.AUDIT``: acknowledged writes that can no longer be
   read, or that never became visible where they should) -> FAILURE: the earliest violation, naming the
   hypothesis and probe, seconds after the fault was applied (or "after
   recovery" for an audit), and the value against its baseline. A load probe
   is judged over the whole fault window (:mod:`chaoskit.run.judging`, with
   the statistical comparison for relative tolerances); its per-second
   readings (``detection``) only date the violation (time to detect): a noisy
   second alone is no FAILURE.
6. a check whose judgement was itself inconclusive during the fault (a
   confidence interval straddling the tolerance, no baseline for a relative
   tolerance) -> INCONCLUSIVE. A *conclusive* violation by another probe still
   wins (rule 5): uncertainty about one probe does not hide a clear failure.
7. not back within the recovery budget -> NOT_RECOVERED (the steady state must
   hold from some moment on until the end of the recovery observations).
8. an audit that could not check everything (writes left unverified) ->
   INCONCLUSIVE: durability was not shown.
9. otherwise TOLERATED.

Game days combine several verdicts with :func:`combine`: the worst wins, in
this order (worst first): NOT_RECOVERED, FAILURE, ERROR, ABORTED,
INCONCLUSIVE, TOLERATED. A fault that outlasts its revert is the worst finding
about the system; a failure during the fault next; then runs that could not
tell (errors before refusals before uncertain measurements). An empty game day
is INCONCLUSIVE: nothing was checked, so nothing passed.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SEVERITY",
    "Observations",
    "Outcome",
    "Phase",
    "ProbeResult",
    "Verdict",
    "Violation",
    "combine",
    "decide",
    "recovered_after",
    "recovery_text",
]


class Verdict(enum.Enum):
    TOLERATED = 0
    FAILURE = 1
    NOT_RECOVERED = 3
    ABORTED = 4
    INCONCLUSIVE = 5
    ERROR = 6

    @property
    def exit_code(self) -> int:
        return self.value

    @classmethod
    def from_exit_code(cls, code: int) -> Verdict:
        return cls(code)


# Worst first; see the module docstring for why.
SEVERITY: tuple[Verdict, ...] = (
    Verdict.NOT_RECOVERED,
    Verdict.FAILURE,
    Verdict.ERROR,
    Verdict.ABORTED,
    Verdict.INCONCLUSIVE,
    Verdict.TOLERATED,
)


class Phase(enum.StrEnum):
    WARMUP = "warmup"
    BASELINE = "baseline"
    FAULT = "fault"
    RECOVERY = "recovery"
    AUDIT = "audit"  # checks made once after the recovery phase (write audits)


@dataclass(frozen=True)
class ProbeResult:
    """One evaluation of one probe's checks at time ``t`` (seconds on the run's clock).

    ``value`` / ``baseline`` are what the reasons quote (for a load probe, the
    window's p99 and the baseline's). ``interval`` is the confidence interval of
    the shift against the baseline when a statistical comparison was made.
     ``inconclusive`` means the judgement could not be made either way.
    ``detection`` marks a per-second reading of a load probe: it flags a
    violation early, but the judgement of the whole window decides.
    """

    probe: str
    phase: Phase
    t: float
    ok: bool
    value: Any = None
    baseline: Any = None
    detail: str = ""
    hypothesis: str = ""
    interval: tuple[float, float] | None = None
    inconclusive: bool = False
    detection: bool = False


@dataclass(frozen=True)
class Observations:
    """Everything the verdict needs from a run; times are on the same clock as ``ProbeResult.t``."""

    results: tuple[ProbeResult, ...]
    fault_applied_at: float | None = None  # None: no fault was applied
    reverted_at: float | None = None
    recovery_budget_s: float = 0.0
    error: str | None = None  # chaoskit could not run it
    interrupted: str | None = None  # a signal ended the run
    stopped_by: str | None = None  # a stop condition ended the fault early (reported, not a verdict)
    measurement_problems: tuple[str, ...] = ()  # e.g. "load generator behind: 61% of target rate at t=12s"
    # When the measurement module computed these from its own windows, they take precedence.
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None


@dataclass(frozen=True)
class Violation:
    probe: str
    hypothesis: str
    phase: Phase
    after_fault_s: float | None  # seconds after the fault was applied
    value: Any
    baseline: Any
    detail: str
    interval: tuple[float, float] | None = None

    def describe(self) -> str:
        who = f"hypothesis {self.hypothesis!r}, probe {self.probe!r}" if self.hypothesis else f"probe {self.probe!r}"
        when = (f" {self.after_fault_s:.1f}s after the fault was applied" if self.after_fault_s is not None
                else " after recovery" if self.phase is Phase.AUDIT else "")
        text = f"{who} violated{when}"
        against = _against_baseline(self.value, self.baseline)
        if against:
            text += f": {against}"
        if self.detail:
            text += f" ({self.detail})"  # the interval that decided is in it, with what it is an interval of
        return text


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reasons: tuple[str, ...]
    violations: tuple[Violation, ...] = ()
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None
    stopped_by: str | None = None

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def summary(self) -> str:
        return f"{self.verdict.name}: {self.reasons[0]}" if self.reasons else self.verdict.name


def decide(obs: Observations) -> Outcome:
    """Apply the rule of the module docstring to one run's observations, stage by stage."""
    stopped = obs.stopped_by

    def outcome(verdict: Verdict, reasons: Sequence[str], **kw: Any) -> Outcome:
        extra = [f"stop condition fired: {stopped}"] if stopped and verdict is not Verdict.ABORTED else []
        return Outcome(verdict, tuple(reasons) + tuple(extra), stopped_by=stopped, **kw)

    return _before_fault(obs, outcome) or _during_fault(obs, outcome) or _after_fault(obs, outcome)


_OutcomeOf = Callable[..., Outcome]


def _before_fault(obs: Observations, outcome: _OutcomeOf) -> Outcome | None:
    """ERROR, ABORTED or INCONCLUSIVE when the run, or its baseline, gives nothing to judge the fault by."""
    if obs.error:
        return outcome(Verdict.ERROR, [f"chaoskit could not run the experiment: {obs.error}"])
    if obs.interrupted:
        return outcome(Verdict.ABORTED, [f"interrupted: {obs.interrupted}"])
    baseline = [r for r in obs.results if r.phase is Phase.BASELINE]
    broken = _first_per_probe([r for r in baseline if not r.ok and not r.inconclusive and not r.detection])
    if broken:
        reasons = [f"the steady state did not hold before the fault, so none was injected: {_violation(r, obs).describe()}"
                   for r in broken]
        return outcome(Verdict.ABORTED, reasons, violations=tuple(_violation(r, obs) for r in broken))
    if not baseline:
        return outcome(Verdict.INCONCLUSIVE, ["no baseline observation, so nothing to compare the fault with"])
    unjudged = sorted({r.probe for r in baseline if r.inconclusive and not r.detection})
    if unjudged:
        return outcome(Verdict.INCONCLUSIVE, [f"the baseline could not be judged for probe(s) {', '.join(unjudged)}"])
    return None


def _during_fault(obs: Observations, outcome: _OutcomeOf) -> Outcome | None:
    """FAILURE when the fault window (or the audit after it) broke the steady state; INCONCLUSIVE when unjudgeable."""
    lost = [r for r in obs.results if r.phase is Phase.AUDIT and not r.ok and not r.inconclusive]
    if obs.measurement_problems and not lost:
        return outcome(Verdict.INCONCLUSIVE, [f"the measurement is not valid: {p}" for p in obs.measurement_problems])
    during = sorted((r for r in obs.results if r.phase is Phase.FAULT), key=lambda r: r.t)
    flagged = [r for r in during if not r.ok and not r.inconclusive] + lost
    violated = [r for r in flagged if not r.detection]
    if violated:
        violations = tuple(sorted((_violation(r, obs, _first_flag(r.probe, flagged, obs.fault_applied_at)) for r in _first_per_probe(violated)),
                                  key=lambda v: v.after_fault_s if v.after_fault_s is not None else math.inf))
        ttd = obs.time_to_detect_s if obs.time_to_detect_s is not None else violations[0].after_fault_s
        # A failure can still recover after the revert: how long that took belongs in every journal.
        ttr, _ = _time_to_recover(obs)
        return outcome(Verdict.FAILURE, [v.describe() for v in violations], violations=violations,
                       time_to_detect_s=ttd, time_to_recover_s=ttr)
    if not during and obs.fault_applied_at is not None:
        return outcome(Verdict.INCONCLUSIVE, ["no observation while the fault was applied"])
    unsure = _first_per_probe([r for r in during if r.inconclusive and not r.detection])
    if unsure:
        return outcome(Verdict.INCONCLUSIVE, [f"probe {r.probe!r} could not be judged during the fault: {r.detail or 'inconclusive'}"
                                              for r in unsure])
    return None


def _after_fault(obs: Observations, outcome: _OutcomeOf) -> Outcome:
    """NOT_RECOVERED, INCONCLUSIVE (an unchecked audit) or TOLERATED, once the fault window held."""
    ttr, recovery_reason = _time_to_recover(obs)
    if recovery_reason is not None:
        return outcome(Verdict.NOT_RECOVERED, [recovery_reason], time_to_recover_s=ttr)
    audit = [r for r in obs.results if r.phase is Phase.AUDIT]
    unchecked = [r for r in audit if r.inconclusive]
    if unchecked:
        return outcome(Verdict.INCONCLUSIVE, [f"probe {r.probe!r} could not check everything after recovery: {r.detail}"
                                              for r in unchecked], time_to_recover_s=ttr)
    noisy = sorted({r.probe for r in obs.results if r.phase in (Phase.FAULT, Phase.AUDIT) and not r.ok and not r.inconclusive})
    held = "the steady state held during the fault" + (f" and was back {recovery_text(ttr)} after the revert" if ttr is not None else "")
    return outcome(Verdict.TOLERATED,
                   [held] + ([f"probe(s) {', '.join(noisy)} had seconds beyond the tolerance, but the whole fault window held"]
                             if noisy else []),
                   time_to_recover_s=ttr)


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """A game day's verdict: the worst of its experiments' (``SEVERITY``); none at all is INCONCLUSIVE."""
    given = set(verdicts)
    if not given:
        return Verdict.INCONCLUSIVE
    return next(v for v in SEVERITY if v in given)


def recovered_after(evidence: Sequence[tuple[float, bool]], reverted_at: float, hold: int = 1) -> float | None:
    """Time to recover: the one definition behind every reason, table, chart and journal.

    ``evidence`` is ``(t, held)`` after the revert, in time order, on the
    revert's clock; ``t`` is the moment from which that piece shows the steady
    state (a probe round's time, a load second's start). The steady state is
    back at the first piece from which on every piece held, to the end and
    for at least ``hold`` pieces; the time to recover runs from the revert to
    that piece's ``t`` (0 if it started before the revert). None: not back.
    """
    if hold < 1:
        raise ValueError("hold must be >= 1")
    last_bad = max((i for i, (_, held) in enumerate(evidence) if not held), default=-1)
    if len(evidence) - (last_bad + 1) < hold:
        return None
    return max(0.0, evidence[last_bad + 1][0] - reverted_at)


def recovery_text(seconds: float) -> str:
    """A time to recover as every report and reason writes it (to the tenth: rounds are a second apart)."""
    return f"{seconds:.1f} s"


def _time_to_recover(obs: Observations) -> tuple[float | None, str | None]:
    """(time to recover, reason it did not) from recovery-phase results (:func:`recovered_after` over rounds).

    A round holds when every result in it is ok; within budget if it is no
    later than ``recovery_budget_s`` after the revert. A recovery probe that
    stayed inconclusive counts as not recovered.
    """
    recovery = sorted((r for r in obs.results if r.phase is Phase.RECOVERY), key=lambda r: r.t)
    if obs.time_to_recover_s is not None:
        ttr = obs.time_to_recover_s
    elif not recovery:
        if obs.recovery_budget_s > 0:
            return None, f"no observation in the {obs.recovery_budget_s:g}s recovery phase, so recovery is not shown"
        return None, None
    else:
        rounds: dict[float, bool] = {}
        for r in recovery:
            rounds[r.t] = rounds.get(r.t, True) and r.ok
        start = obs.reverted_at if obs.reverted_at is not None else recovery[0].t
        found = recovered_after(sorted(rounds.items()), start)
        if found is None:
            r = next(r for r in reversed(recovery) if not r.ok)
            budget = f"{obs.recovery_budget_s:g}s budget" if obs.recovery_budget_s else "recovery phase"
            return None, (f"not back within the {budget}: probe {r.probe!r} still failing at the end "
                          f"({r.detail or _against_baseline(r.value, r.baseline) or 'not ok'})")
        ttr = found
    if obs.recovery_budget_s and ttr > obs.recovery_budget_s:
        return ttr, (f"the steady state came back {recovery_text(ttr)} after the revert, "
                     f"over the {obs.recovery_budget_s:g}s budget")
    return ttr, None


def _first_per_probe(results: Iterable[ProbeResult]) -> list[ProbeResult]:
    """The earliest result of each probe, ordered by time (so the first reason is the first break)."""
    first: dict[str, ProbeResult] = {}
    for r in sorted(results, key=lambda r: r.t):
        first.setdefault(r.probe, r)
    return list(first.values())


def _first_flag(probe: str, flagged: Sequence[ProbeResult], applied_at: float | None) -> ProbeResult:
    """The earliest failing result of ``probe`` once a fault was in (a per-second detection, or the judgement)."""
    mine = [r for r in flagged if r.probe == probe]
    after = [r for r in mine if applied_at is None or r.t >= applied_at]
    return min(after or mine, key=lambda r: r.t)


def _violation(r: ProbeResult, obs: Observations, first: ProbeResult | None = None) -> Violation:
    """``r`` decided the violation; ``first`` (default ``r``) is when it was first seen."""
    seen = first or r
    after = (seen.t - obs.fault_applied_at
             if obs.fault_applied_at is not None and r.phase not in (Phase.BASELINE, Phase.AUDIT) else None)
    return Violation(r.probe, r.hypothesis, r.phase, after, r.value, r.baseline, r.detail, r.interval)


def _against_baseline(value: Any, baseline: Any) -> str:
    """``0.84 vs baseline 0.12 (x7.00, +0.72)``, or just the value when there is no numeric baseline."""
    if value is None:
        return ""
    if _is_number(value) and _is_number(baseline):
        text = f"{value:.4g} vs baseline {baseline:.4g}"
        if baseline != 0:
            text += f" (x{value / baseline:.2f}, {value - baseline:+.4g})"
        else:
            text += f" ({value - baseline:+.4g})"
        return text
    if baseline is not None:
        return f"{value!r} vs baseline {baseline!r}"
    return f"{value!r}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
