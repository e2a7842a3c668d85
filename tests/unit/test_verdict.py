"""Verdicts: the rule, in order, with reasons; exit codes; game-day combination."""

from __future__ import annotations

import pytest

from chaoskit.verdict import (
    SEVERITY,
    Observations,
    Phase,
    ProbeResult,
    Verdict,
    combine,
    decide,
    recovered_after,
    recovery_text,
)

B, F, R = Phase.BASELINE, Phase.FAULT, Phase.RECOVERY


def ok(probe: str, phase: Phase, t: float, value: float = 0.1, baseline: float | None = 0.1) -> ProbeResult:
    return ProbeResult(probe, phase, t, True, value, baseline, hypothesis="fast timelines")


def bad(
    probe: str, phase: Phase, t: float, value: float = 0.9, baseline: float | None = 0.1, **kw: object
) -> ProbeResult:
    return ProbeResult(probe, phase, t, False, value, baseline, hypothesis="fast timelines", **kw)  # type: ignore[arg-type]


def observe(*results: ProbeResult, **kw: object) -> Observations:
    defaults = {"fault_applied_at": 100.0, "reverted_at": 130.0, "recovery_budget_s": 30.0}
    return Observations(results=results, **{**defaults, **kw})  # type: ignore[arg-type]


HEALTHY = (
    ok("p99", B, 90),
    ok("p99", B, 95),
    ok("p99", F, 105),
    ok("p99", F, 120),
    ok("p99", R, 135),
    ok("p99", R, 150),
)


def test_exit_codes_are_distinct_and_documented() -> None:
    """TOLERATED exits 0; every other verdict has its own non-zero code, none equal to usage (2)."""
    codes = {v: v.exit_code for v in Verdict}
    assert codes == {
        Verdict.TOLERATED: 0,
        Verdict.FAILURE: 1,
        Verdict.NOT_RECOVERED: 3,
        Verdict.ABORTED: 4,
        Verdict.INCONCLUSIVE: 5,
        Verdict.ERROR: 6,
    }
    assert 2 not in codes.values()  # the command line's usage error (chaoskit.cli.exits)
    assert Verdict.from_exit_code(3) is Verdict.NOT_RECOVERED


def test_tolerated_with_time_to_recover() -> None:
    """Held during the fault and in recovery: TOLERATED, recovered when first looked at after the revert."""
    outcome = decide(observe(*HEALTHY))
    assert outcome.verdict is Verdict.TOLERATED and outcome.exit_code == 0
    assert outcome.time_to_recover_s == pytest.approx(5.0)


def test_failure_names_probe_time_and_baseline() -> None:
    """A violation during the fault is FAILURE naming hypothesis, probe, seconds after the fault and the change vs baseline."""
    outcome = decide(observe(*HEALTHY, bad("p99", F, 101.5, value=0.84, baseline=0.12), bad("p99", F, 110)))
    assert outcome.verdict is Verdict.FAILURE and outcome.exit_code == 1
    [violation] = outcome.violations
    assert violation.after_fault_s == pytest.approx(1.5) and outcome.time_to_detect_s == pytest.approx(1.5)
    assert outcome.reasons[0] == (
        "hypothesis 'fast timelines', probe 'p99' violated 1.5s after the fault was applied: 0.84 vs baseline 0.12 (x7.00, +0.72)"
    )


def test_failure_lists_each_broken_probe_earliest_first() -> None:
    """Each violated probe is listed once, at its first violation, earliest first, with its interval."""
    outcome = decide(
        observe(
            *HEALTHY,
            bad("errors", F, 108, detail="5xx"),
            bad("p99", F, 103, interval=(0.5, 0.9)),
            bad("errors", F, 109),
        )
    )
    assert [v.probe for v in outcome.violations] == ["p99", "errors"]
    assert "CI [0.5, 0.9]" in outcome.reasons[0] and "(5xx)" in outcome.reasons[1]


def test_baseline_violation_aborts() -> None:
    """If the steady state does not hold in the baseline, the verdict is ABORTED whatever follows."""
    outcome = decide(observe(bad("p99", B, 95), *HEALTHY, fault_applied_at=None, reverted_at=None))
    assert outcome.verdict is Verdict.ABORTED and outcome.exit_code == 4
    assert "did not hold before the fault" in outcome.reasons[0] and outcome.violations[0].after_fault_s is None


def test_no_baseline_is_inconclusive() -> None:
    """Without a single baseline observation nothing can be compared: INCONCLUSIVE."""
    assert decide(observe(ok("p99", F, 105))).verdict is Verdict.INCONCLUSIVE


def test_invalid_measurement_is_inconclusive_even_with_violations() -> None:
    """A run whose measurement was invalid (generator behind) is INCONCLUSIVE, not blamed on the system."""
    outcome = decide(
        observe(*HEALTHY, bad("p99", F, 105), measurement_problems=("load generator at 61% of target rate",))
    )
    assert outcome.verdict is Verdict.INCONCLUSIVE and "61%" in outcome.reasons[0]


def test_uncertain_probe_is_inconclusive_but_a_clear_failure_wins() -> None:
    """An inconclusive judgement during the fault gives INCONCLUSIVE, unless another probe clearly failed."""
    unsure = ProbeResult("p99", F, 110, False, 0.3, 0.1, detail="CI straddles the tolerance", inconclusive=True)
    assert decide(observe(*HEALTHY, unsure)).verdict is Verdict.INCONCLUSIVE
    assert decide(observe(*HEALTHY, unsure, bad("errors", F, 111))).verdict is Verdict.FAILURE


def test_not_recovered_when_still_failing_at_the_end() -> None:
    """Held during the fault but still violated at the end of recovery: NOT_RECOVERED naming the probe."""
    outcome = decide(observe(*HEALTHY[:4], ok("p99", R, 135), bad("p99", R, 158, detail="503s")))
    assert outcome.verdict is Verdict.NOT_RECOVERED and outcome.exit_code == 3
    assert "probe 'p99' still failing at the end (503s)" in outcome.reasons[0]


def test_recovered_late_is_not_recovered_and_in_time_is_tolerated() -> None:
    """Back and staying back after the budget is NOT_RECOVERED; within it, TOLERATED with the time to recover."""
    late = decide(
        observe(
            *HEALTHY[:4],
            bad("p99", R, 135),
            bad("p99", R, 150),
            ok("p99", R, 165),
            ok("p99", R, 170),
            recovery_budget_s=30.0,
        )
    )
    assert late.verdict is Verdict.NOT_RECOVERED and late.time_to_recover_s == pytest.approx(35.0)
    in_time = decide(observe(*HEALTHY[:4], bad("p99", R, 135), ok("p99", R, 140), ok("p99", R, 150)))
    assert in_time.verdict is Verdict.TOLERATED and in_time.time_to_recover_s == pytest.approx(10.0)


def test_time_to_recover_counts_rounds_not_results() -> None:
    """A round holds only when every probe in it held: a bad p99 beside a good http probe is not the return."""
    outcome = decide(observe(*HEALTHY[:4], bad("p99", R, 131), ok("http", R, 131), ok("p99", R, 132),
                             ok("http", R, 132), ok("p99", R, 133), ok("http", R, 133)))
    assert outcome.verdict is Verdict.TOLERATED and outcome.time_to_recover_s == pytest.approx(2.0)
    assert outcome.reasons[0] == "the steady state held during the fault and was back 2.0 s after the revert"


def test_recovered_after_is_the_one_definition() -> None:
    """Back at the first piece of evidence from which on all held (at least `hold`), measured from the revert."""
    assert recovered_after([(10.5, False), (11.0, True), (12.0, False), (13.0, True), (14.0, True)], 10.0) == 3.0
    assert recovered_after([(10.002, True), (11.0, True)], 10.0) == pytest.approx(0.002)
    assert recovered_after([(9.5, True), (10.5, True)], 10.0) == 0.0  # evidence from before the revert: 0
    assert recovered_after([(11.0, True), (12.0, False)], 10.0) is None
    assert recovered_after([(11.0, False), (12.0, True)], 10.0, hold=2) is None
    assert recovered_after([], 10.0) is None
    assert recovery_text(0.00239) == "0.0 s" and recovery_text(12.46) == "12.5 s"


def test_given_times_take_precedence() -> None:
    """Time to detect/recover computed by the measurement module are used as given."""
    outcome = decide(observe(*HEALTHY, time_to_recover_s=4.2))
    assert outcome.verdict is Verdict.TOLERATED and outcome.time_to_recover_s == 4.2
    assert decide(observe(*HEALTHY, time_to_recover_s=42.0)).verdict is Verdict.NOT_RECOVERED
    failed = decide(observe(*HEALTHY, bad("p99", F, 110), time_to_detect_s=0.8))
    assert failed.time_to_detect_s == 0.8


def test_no_recovery_observation_with_a_budget_is_not_recovered() -> None:
    """A recovery phase with a budget but no observations cannot show recovery."""
    assert decide(observe(*HEALTHY[:4])).verdict is Verdict.NOT_RECOVERED
    assert decide(observe(*HEALTHY[:4], recovery_budget_s=0.0)).verdict is Verdict.TOLERATED


def test_error_and_interruption_come_first() -> None:
    """chaoskit's own failure is ERROR and a signal is ABORTED, before looking at any probe."""
    assert decide(observe(*HEALTHY, bad("p99", F, 110), error="engine unreachable")).verdict is Verdict.ERROR
    assert decide(observe(*HEALTHY, bad("p99", F, 110), interrupted="SIGINT")).verdict is Verdict.ABORTED


def test_stop_condition_is_reported_with_the_verdict() -> None:
    """A stop condition that ended the fault early is named among the reasons."""
    outcome = decide(observe(*HEALTHY, bad("p99", F, 110), stopped_by="error_rate > 0.5 for 3s"))
    assert outcome.verdict is Verdict.FAILURE and outcome.reasons[-1] == "stop condition fired: error_rate > 0.5 for 3s"
    assert outcome.summary.startswith("FAILURE: hypothesis")


def test_no_observation_during_the_fault_is_inconclusive() -> None:
    """A fault that was applied but never observed proves nothing."""
    assert decide(observe(ok("p99", B, 90), ok("p99", R, 140))).verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.TOLERATED, Verdict.TOLERATED], Verdict.TOLERATED),
        ([Verdict.TOLERATED, Verdict.INCONCLUSIVE], Verdict.INCONCLUSIVE),
        ([Verdict.INCONCLUSIVE, Verdict.ABORTED], Verdict.ABORTED),
        ([Verdict.ABORTED, Verdict.ERROR], Verdict.ERROR),
        ([Verdict.ERROR, Verdict.FAILURE, Verdict.TOLERATED], Verdict.FAILURE),
        ([Verdict.FAILURE, Verdict.NOT_RECOVERED], Verdict.NOT_RECOVERED),
        ([], Verdict.INCONCLUSIVE),
    ],
)
def test_game_day_worst_wins(verdicts: list[Verdict], expected: Verdict) -> None:
    """combine() returns the worst verdict by the documented order; an empty game day is INCONCLUSIVE."""
    assert combine(verdicts) is expected


def test_severity_covers_every_verdict_once() -> None:
    """The severity order lists each verdict exactly once."""
    assert sorted(SEVERITY, key=lambda v: v.name) == sorted(Verdict, key=lambda v: v.name)


def test_per_second_detections_alone_are_no_failure() -> None:
    """Load readings flag seconds beyond the tolerance; the whole window held, so TOLERATED (and said so)."""
    outcome = decide(observe(
        ok("p99", B, 95),
        bad("p99", F, 104, detection=True),
        ok("p99", F, 130, value=0.12),  # the fault window's judgement
        ok("p99", R, 135),
    ))
    assert outcome.verdict is Verdict.TOLERATED
    assert any("had seconds beyond the tolerance" in r for r in outcome.reasons)


def test_window_violation_is_dated_by_its_first_detection() -> None:
    """The window decides FAILURE; time to detect is the first flagged second after the fault went in."""
    outcome = decide(observe(
        ok("p99", B, 95),
        bad("p99", F, 99, detection=True),  # before the fault was applied: not a detection of it
        ProbeResult("p99", F, 101, True, 0.1, 0.1, detection=True),
        bad("p99", F, 101.5, detection=True),
        bad("p99", F, 130, value=0.8, interval=(0.5, 0.9)),
        ok("p99", R, 135),
    ))
    assert outcome.verdict is Verdict.FAILURE
    assert outcome.time_to_detect_s == pytest.approx(1.5)
    (violation,) = outcome.violations
    assert violation.value == 0.8 and violation.interval == (0.5, 0.9)
    assert "CI [0.5, 0.9]" in outcome.reasons[0]


def test_window_straddling_its_tolerance_is_inconclusive() -> None:
    outcome = decide(observe(
        ok("p99", B, 95),
        bad("p99", F, 104, detection=True),
        ProbeResult("p99", F, 130, False, 0.2, 0.1, detail="straddles", inconclusive=True, interval=(0.05, 0.2)),
        ok("p99", R, 135),
    ))
    assert outcome.verdict is Verdict.INCONCLUSIVE and "straddles" in outcome.reasons[0]


def test_baseline_detections_do_not_abort_when_its_window_held() -> None:
    outcome = decide(observe(bad("p99", B, 92, detection=True), ok("p99", B, 95), ok("p99", F, 130),
                             ok("p99", R, 135)))
    assert outcome.verdict is Verdict.TOLERATED


A = Phase.AUDIT


def test_tweets_lost_after_recovery_are_a_failure_said_as_after_recovery() -> None:
    """A durability audit that found acknowledged writes lost makes an otherwise tolerated run a FAILURE."""
    lost = bad("durability", A, 160, value=3, baseline=None, detail="1200 acknowledged, 1200 checked, 3 lost")
    outcome = decide(observe(*HEALTHY, lost))
    assert outcome.verdict is Verdict.FAILURE and outcome.time_to_detect_s is None
    assert outcome.reasons[0].startswith("hypothesis 'fast timelines', probe 'durability' violated after recovery: 3")
    assert "3 lost" in outcome.reasons[0] and outcome.violations[0].phase is A


def test_a_fault_violation_comes_before_a_loss_found_after_recovery() -> None:
    """Both: the fault's violation is first (it has a time), the audit's follows."""
    outcome = decide(observe(*HEALTHY, bad("p99", F, 110), bad("durability", A, 160, value=1, baseline=None)))
    assert [v.probe for v in outcome.violations] == ["p99", "durability"]
    assert outcome.time_to_detect_s == pytest.approx(10.0)


def test_data_lost_is_a_failure_even_when_the_load_measurement_is_invalid() -> None:
    """An invalid load measurement is INCONCLUSIVE, unless writes were lost: that is a fact, not a statistic."""
    behind = {"measurement_problems": ("load generator behind",)}
    assert decide(observe(*HEALTHY, ok("durability", A, 160, 0, None), **behind)).verdict is Verdict.INCONCLUSIVE
    assert decide(observe(*HEALTHY, bad("durability", A, 160, 2, None), **behind)).verdict is Verdict.FAILURE


def test_an_audit_that_could_not_check_everything_is_inconclusive() -> None:
    """Unverified writes: durability is not shown, so not TOLERATED; a run that did not recover stays NOT_RECOVERED."""
    unsure = ProbeResult("durability", A, 160, False, 0, detail="10 unverified", inconclusive=True)
    outcome = decide(observe(*HEALTHY, unsure))
    assert outcome.verdict is Verdict.INCONCLUSIVE and "could not check everything after recovery" in outcome.reasons[0]
    assert decide(observe(*HEALTHY[:-1], bad("p99", R, 150), unsure)).verdict is Verdict.NOT_RECOVERED


def test_an_audit_that_held_leaves_the_verdict_to_the_phases() -> None:
    """Nothing lost, everything checked: the run is judged as without the audit (and recovery ignores it)."""
    assert decide(observe(*HEALTHY, ok("durability", A, 400, 0, None))).verdict is Verdict.TOLERATED
