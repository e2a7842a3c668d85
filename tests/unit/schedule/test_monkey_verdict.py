"""Judging one kill: tolerated, failure, not recovered, inconclusive, error; time to detect and to recover."""

from __future__ import annotations

from chaoskit.verdict import Phase, ProbeResult, Verdict
from chaoskit.schedule.monkey_verdict import KillFacts, Round, classify, recovered_at, settled


def round_at(t: float, ok: bool = True, inconclusive: bool = False) -> Round:
    result = ProbeResult(probe="error rate", phase=Phase.FAULT, t=t, ok=ok, value=0.0 if ok else 0.4,
                         detail="" if ok else "0.4 > max 0.01", inconclusive=inconclusive)
    return Round(t, (result,))


def facts(oks: list[bool], **kw) -> KillFacts:
    """A kill at t=10, restarted at 20 and back at 22, observed every second from 10."""
    defaults = dict(killed_at=10.0, restarted_at=20.0, back_at=22.0, budget_s=30.0)
    return KillFacts(rounds=tuple(round_at(10.0 + i, ok) for i, ok in enumerate(oks)), **{**defaults, **kw})


def test_tolerated_with_time_to_recover_from_the_restart():
    """Every round held: TOLERATED, recovered at the first settled round after the container is back."""
    outcome = classify(facts([True] * 16))
    assert outcome.verdict is Verdict.TOLERATED
    assert outcome.recovered_at == 22.0 and outcome.time_to_recover_s == 2.0
    assert outcome.time_to_detect_s is None
    assert "container down 12.0s" in outcome.reasons[1]


def test_failure_with_time_to_detect():
    """A violation 3 s after the kill is a FAILURE detected after 3 s, and recovery is still measured."""
    oks = [True, True, True, False, False] + [True] * 15
    outcome = classify(facts(oks))
    assert outcome.verdict is Verdict.FAILURE
    assert outcome.time_to_detect_s == 3.0
    assert outcome.time_to_recover_s == 2.0
    assert "'error rate' violated 3.0s after the kill" in outcome.reasons[0]


def test_a_break_while_coming_back_says_so():
    """A violation after the restart is still the kill's, and the reason places it after the restart."""
    oks = [True] * 11 + [False] + [True] * 8  # t=21: one second after the restart at 20
    outcome = classify(facts(oks))
    assert outcome.verdict is Verdict.FAILURE and "11.0s after the kill, 1.0s after the restart" in outcome.reasons[0]


def test_violation_after_recovery_is_not_the_kills():
    """A violation after the kill had settled is not blamed on it."""
    oks = [True] * 15 + [False]
    assert classify(facts(oks)).verdict is Verdict.TOLERATED


def test_recovery_needs_settled_rounds_after_the_container_is_back():
    """A broken streak restarts the count; rounds before the container was back do not count."""
    oks = [True] * 12 + [False] + [True] * 5  # t=10..21 ok, t=22 bad, t=23.. ok
    assert recovered_at(facts(oks)) == 23.0
    assert recovered_at(facts([True] * 20, back_at=None)) is None
    assert recovered_at(facts([True] * 14)) is None  # back at 22, only 22 and 23 observed: 2 of 3 rounds


def test_not_recovered_within_budget():
    """Not back within the budget after the restart: NOT_RECOVERED, and settled() lets the kill close."""
    stuck = facts([True] * 10, back_at=None, budget_s=5.0)
    assert not settled(stuck, now=24.0) and settled(stuck, now=25.5)
    outcome = classify(stuck)
    assert outcome.verdict is Verdict.NOT_RECOVERED and "container was not back" in outcome.reasons[0]


def test_late_recovery_is_not_recovered():
    """Back, but later than the budget: NOT_RECOVERED with the time it took."""
    outcome = classify(facts([True] * 30, back_at=28.0, budget_s=5.0))
    assert outcome.verdict is Verdict.NOT_RECOVERED and outcome.time_to_recover_s == 8.0


def test_stopped_before_recovery_is_inconclusive():
    """The monkey stopped while the container was still down and nothing broke: INCONCLUSIVE, not a pass."""
    outcome = classify(facts([True] * 5, back_at=None, stopped="interrupted by SIGTERM"))
    assert outcome.verdict is Verdict.INCONCLUSIVE and "SIGTERM" in outcome.reasons[0]


def test_no_observation_is_inconclusive_and_apply_error_is_error():
    """Without a round after the kill nothing can be said; a kill that failed is an ERROR."""
    assert classify(facts([])).verdict is Verdict.INCONCLUSIVE
    assert classify(facts([True] * 20, apply_error="engine refused")).verdict is Verdict.ERROR


def test_inconclusive_probe_makes_an_inconclusive_kill():
    """A probe that cannot be judged (no baseline) does not pass the kill."""
    rounds = tuple(round_at(10.0 + i, ok=False, inconclusive=True) for i in range(16))
    outcome = classify(KillFacts(killed_at=10.0, rounds=rounds, budget_s=30.0, restarted_at=20.0, back_at=22.0))
    assert outcome.verdict is Verdict.INCONCLUSIVE


# -- load probes: one second detects, the kill's whole window decides ------------------------


def second_at(t: float, ok: bool) -> Round:
    """One second of load as the monkey's observer reads it: a detection, not a judgement."""
    result = ProbeResult(probe="error rate", phase=Phase.FAULT, t=t, ok=ok, value=0.0 if ok else 0.03,
                         detail="" if ok else "0.03 > max 0.01", detection=True)
    return Round(t, (result,))


def window(ok: bool, inconclusive: bool = False, t: float = 25.0) -> ProbeResult:
    return ProbeResult(probe="error rate", phase=Phase.FAULT, t=t, ok=ok, inconclusive=inconclusive,
                       detail="whole fault window (15 s): error_rate 0.002 <= 0.01" if ok else
                       "whole fault window (15 s): error_rate 0.02 > 0.01")


def load_facts(oks: list[bool], windows: tuple[ProbeResult, ...]) -> KillFacts:
    return KillFacts(killed_at=10.0, restarted_at=20.0, back_at=22.0, budget_s=30.0, windows=windows,
                     rounds=tuple(second_at(10.0 + i, ok) for i, ok in enumerate(oks)))


ONE_BAD_SECOND = [True] * 11 + [False] + [True] * 8  # t=21, as a replica comes back


def test_one_bad_second_inside_a_window_that_held_is_tolerated():
    """1-3% errors for the second a replica comes back, under 1% over the kill's window: not a FAILURE."""
    outcome = classify(load_facts(ONE_BAD_SECOND, (window(ok=True),)))
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    assert outcome.recovered_at == 22.0


def test_a_window_that_broke_is_a_failure_dated_by_its_first_bad_second():
    outcome = classify(load_facts(ONE_BAD_SECOND, (window(ok=False),)))
    assert outcome.verdict is Verdict.FAILURE
    assert outcome.time_to_detect_s == 11.0  # the first failing second, not the window's end at 25
    assert "whole fault window" in outcome.reasons[0]


def test_a_window_that_cannot_be_judged_is_inconclusive():
    outcome = classify(load_facts([True] * 20, (window(ok=False, inconclusive=True),)))
    assert outcome.verdict is Verdict.INCONCLUSIVE and "'error rate'" in outcome.reasons[0]


def test_without_a_window_the_seconds_decide():
    """No load measured over the kill (the observer had none): a failing second is still a FAILURE."""
    assert classify(load_facts(ONE_BAD_SECOND, ())).verdict is Verdict.FAILURE
