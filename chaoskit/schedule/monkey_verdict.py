"""Judging one kill: tolerated, failure, not recovered, with time to detect and time to recover. Pure.

The controller observes the steady state in *rounds* (every probe at one
time) and hands the rounds taken while a kill was open to :func:`classify`.
Times are seconds on the controller's clock.

* the kill happened at ``killed_at``; the container was started again at
  ``restarted_at`` (by chaoskit after the downtime, or at once by its restart
  policy) and was *back* (running, and healthy if it has a healthcheck) at
  ``back_at``;
* it has *recovered* once it is back and every probe held for ``settle``
  rounds in a row; the first of those rounds is the recovery time, and time
  to recover is counted from the restart (the downtime chaoskit chose is not
  the system's fault);
* a load probe's reading in a round is one second of load: it only
  *detects* (it dates a violation and breaks a recovery streak), because one
  noisy second must not make a kill a FAILURE. Its verdict is the judgement
  of the kill's whole window (``windows``: from the kill to its recovery,
  judged as a run's fault window is); a kill with no window judged falls back
  on the seconds;
* the rule, first match wins, in the run verdict's order
  (:mod:`chaoskit.verdict`): the kill could not be applied -> ERROR; a
  probe clearly violated while the kill was open -> FAILURE; no observation
  at all -> INCONCLUSIVE; not recovered within ``budget_s`` of the restart ->
  NOT_RECOVERED (or INCONCLUSIVE when the monkey stopped before the budget
  ran out); a probe that could not be judged -> INCONCLUSIVE; else TOLERATED.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from chaoskit.verdict import ProbeResult, Verdict, combine

__all__ = ["ClosedKill", "KillFacts", "KillOutcome", "Round", "classify", "overall", "recovered_at", "settled"]

SETTLE_ROUNDS = 3


@dataclass(frozen=True)
class Round:
    """Every steady-state probe observed once, at ``t``."""

    t: float
    results: tuple[ProbeResult, ...]

    @property
    def violations(self) -> tuple[ProbeResult, ...]:
        return tuple(r for r in self.results if not r.ok and not r.inconclusive)

    @property
    def holds(self) -> bool:
        """No probe clearly violated (a probe that cannot be judged does not break a streak)."""
        return not self.violations

    @property
    def inconclusive(self) -> tuple[ProbeResult, ...]:
        return tuple(r for r in self.results if r.inconclusive)

    def outage(self) -> str | None:
        """Why the steady state is violated in this round, in a few words; None when it holds."""
        if self.holds:
            return None
        return "; ".join(f"probe {r.probe!r}: {r.detail or 'violated'}" for r in self.violations)


@dataclass(frozen=True)
class KillFacts:
    killed_at: float
    rounds: tuple[Round, ...]  # rounds observed at or after killed_at while the kill was open
    budget_s: float
    restarted_at: float | None = None
    back_at: float | None = None
    settle: int = SETTLE_ROUNDS
    apply_error: str | None = None
    # Set when the monkey stopped (signal, duration) and closed the kill before it settled or ran out of budget.
    stopped: str | None = None
    windows: tuple[ProbeResult, ...] = ()  # load probes judged over the kill's whole window (see the module doc)


@dataclass(frozen=True)
class KillOutcome:
    verdict: Verdict
    reasons: tuple[str, ...]
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None
    recovered_at: float | None = None


def recovered_at(facts: KillFacts) -> float | None:
    """The first round of ``settle`` holding rounds in a row once the container is back; None if not yet."""
    if facts.back_at is None:
        return None
    streak: list[Round] = []
    for round_ in sorted(facts.rounds, key=lambda r: r.t):
        if round_.t < facts.back_at:
            continue
        if round_.holds:
            streak.append(round_)
            if len(streak) >= facts.settle:
                return streak[0].t
        else:
            streak.clear()
    return None


def settled(facts: KillFacts, now: float) -> bool:
    """Whether the kill can be closed: recovered, or out of recovery budget since the restart."""
    if recovered_at(facts) is not None:
        return True
    return facts.restarted_at is not None and now - facts.restarted_at > facts.budget_s


def classify(facts: KillFacts) -> KillOutcome:
    """The verdict on one kill; see the module docstring."""
    if facts.apply_error:
        return KillOutcome(Verdict.ERROR, (f"the kill could not be applied: {facts.apply_error}",))
    rounds = sorted(facts.rounds, key=lambda r: r.t)
    back = recovered_at(facts)
    origin = facts.restarted_at if facts.restarted_at is not None else facts.killed_at
    ttr = max(0.0, back - origin) if back is not None else None
    if back is not None and facts.budget_s and ttr is not None and ttr > facts.budget_s:
        back, ttr_late = None, ttr
    else:
        ttr_late = None
    during = [r for r in rounds if back is None or r.t <= back]
    judged_by_window = {w.probe for w in facts.windows}
    decisive = [v for r in during for v in r.results if not (v.detection and v.probe in judged_by_window)]
    decisive += facts.windows
    violated = sorted(((_flagged_at(v, during), v) for v in decisive if not v.ok and not v.inconclusive),
                      key=lambda tv: tv[0])
    if violated:
        t, first = violated[0]
        ttd = max(0.0, t - facts.killed_at)
        # A break after the restart is the container coming back, not going away: say so.
        restart = (f", {t - facts.restarted_at:.1f}s after the restart" if facts.restarted_at is not None
                   and facts.restarted_at > facts.killed_at and t >= facts.restarted_at else "")
        reasons = [f"probe {first.probe!r} violated {ttd:.1f}s after the kill{restart} ({first.detail or 'not ok'})"]
        others = sorted({v.probe for _, v in violated} - {first.probe})
        if others:
            reasons.append(f"also violated: {', '.join(repr(p) for p in others)}")
        reasons.append(_recovery_sentence(ttr, facts))
        return KillOutcome(Verdict.FAILURE, tuple(reasons), ttd, ttr, back)
    if not rounds:
        why = f" (stopped: {facts.stopped})" if facts.stopped else ""
        return KillOutcome(Verdict.INCONCLUSIVE, (f"no steady-state observation after the kill{why}",))
    if back is None:
        if ttr_late is not None:
            return KillOutcome(Verdict.NOT_RECOVERED, (
                f"back {ttr_late:.1f}s after the restart, over the {facts.budget_s:g}s recovery budget",), None, ttr_late)
        if facts.stopped:
            return KillOutcome(Verdict.INCONCLUSIVE, (
                f"the monkey stopped ({facts.stopped}) before recovery was observed; the steady state held meanwhile",))
        what = "the container was not back" if facts.back_at is None else "the steady state did not settle"
        return KillOutcome(Verdict.NOT_RECOVERED, (f"{what} within the {facts.budget_s:g}s recovery budget",))
    unsure = sorted({r.probe for r in decisive if r.inconclusive})
    if unsure:
        return KillOutcome(Verdict.INCONCLUSIVE, (f"probe(s) {', '.join(repr(p) for p in unsure)} could not be judged "
                                                  f"after the kill",), None, ttr, back)
    return KillOutcome(Verdict.TOLERATED, ("the steady state held through the kill", _recovery_sentence(ttr, facts)),
                       None, ttr, back)


@dataclass(frozen=True)
class ClosedKill:
    """A kill as the monkey's overall verdict reads it."""

    number: int
    container: str
    outcome: KillOutcome | None
    stopped: bool = False  # closed by a stop (signal, duration) rather than settled or out of budget
    reverted: bool = True  # its container was started again (or needed no start)
    revert_error: str | None = None


def overall(kills: Sequence[ClosedKill], *, error: str | None, leashed: bool,
            would_kills: int) -> tuple[Verdict, tuple[str, ...]]:
    """The monkey's verdict and reasons: the worst judged kill's, ERROR if it could not go on or left one down.

    A kill closed by a stop before anything could be said (INCONCLUSIVE) is
    not judged: stopping the monkey is not the system's fault.
    """
    judged = [k for k in kills if k.outcome is not None
              and not (k.stopped and k.outcome.verdict is Verdict.INCONCLUSIVE)]
    reasons: tuple[str, ...]
    if error is not None:
        verdict, reasons = Verdict.ERROR, (f"the monkey could not go on: {error}",)
    elif judged:
        verdict = combine(k.outcome.verdict for k in judged)  # type: ignore[union-attr]
        counts = Counter(k.outcome.verdict.name for k in judged)  # type: ignore[union-attr]
        worst = [k for k in judged if k.outcome.verdict is verdict]  # type: ignore[union-attr]
        reasons = (", ".join(f"{n} {name}" for name, n in sorted(counts.items())) + f" of {len(kills)} kill(s)",
                   *(f"kill {k.number} ({k.container}): {k.outcome.reasons[0]}"  # type: ignore[union-attr]
                     for k in (worst[:5] if verdict is not Verdict.TOLERATED else [])))
    else:
        verdict = Verdict.TOLERATED
        leash = f" (leashed: {would_kills} would-be kill(s))" if leashed else ""
        reasons = (f"no kill was judged{leash}",)
    unreverted = [k for k in kills if not k.reverted]
    if unreverted:
        verdict = Verdict.ERROR
        reasons = (f"{len(unreverted)} killed container(s) could not be started again: "
                   + ", ".join(f"{k.container} ({k.revert_error})" for k in unreverted)
                   + "; run `chaoskit rollback`", *reasons)
    return verdict, reasons


def _flagged_at(result: ProbeResult, rounds: Sequence[Round]) -> float:
    """When ``result``'s probe was first seen failing: its first failing second, else the judgement's own time."""
    return min((r.t for round_ in rounds for r in round_.violations if r.probe == result.probe), default=result.t)


def _recovery_sentence(ttr: float | None, facts: KillFacts) -> str:
    if ttr is None:
        return "not recovered while observed"
    down = f"; container down {facts.back_at - facts.killed_at:.1f}s" if facts.back_at is not None else ""
    return f"recovered {ttr:.1f}s after the restart{down}"
