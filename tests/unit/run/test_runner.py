"""The run loop driven by chaoskit.testing's fakes: baseline, fault, revert, recovery, the ledger and the verdict."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.model.experiment import Experiment, FaultStep, Phases
from chaoskit.model.probes import HttpProbe, Hypothesis
from chaoskit.model.stop import MetricStop, ProbeStop
from chaoskit.model.tolerance import Check, Equals
from chaoskit.run.ledger import Ledger
from chaoskit.run.runner import Runner
from chaoskit.testing import FakeClock, FakeFaults, FakeProbes, FaultCall, JournalCapture
from chaoskit.verdict import Outcome, Phase, Verdict

STATUS = HttpProbe("status", "http://service/health", (Check("status", Equals(200)),))


def experiment(*steps: FaultStep) -> Experiment:
    return Experiment("fake", Hypothesis("the service answers", (STATUS,)), steps or (FaultStep("fake.fault"),),
                      phases=Phases(warmup=1.0, baseline=3.0, fault=4.0, recovery=5.0))


def run(tmp_path: Path, faults: FakeFaults | None = None, *, broken_while_faulted: bool = False,
        clock: FakeClock | None = None, exp: Experiment | None = None) -> tuple[Outcome, Ledger, FakeFaults, JournalCapture]:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    faults = faults or FakeFaults()
    faults.ledger = ledger
    probes = FakeProbes(lambda probe: {"status": 500 if broken_while_faulted and faults.active else 200})
    journal = JournalCapture()
    clock = clock or FakeClock()
    runner = Runner(exp or experiment(), Backends(), ledger, journal, seed=1, clock=clock, sleep=clock.sleep,  # type: ignore[arg-type]
                    build_fault=faults, observe_probe=probes)
    journal.bind_clock(runner.elapsed)
    return runner.run(), ledger, faults, journal


def test_a_fault_the_service_tolerates(tmp_path: Path) -> None:
    """Held through the fault: TOLERATED, the fault applied once and reverted once, the ledger clean."""
    outcome, ledger, faults, journal = run(tmp_path)
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    (fault,) = faults.built
    assert [c.action for c in faults.calls] == ["apply", "revert"]
    assert not ledger.pending() and len(ledger.entries()) == 1
    assert ledger.entries()[0].revert["token"] == fault.token
    names = journal.names()
    assert names.index("fault.applied") < names.index("fault.reverted")
    assert journal.finished is not None and journal.finished["verdict"] is outcome


def test_recorded_before_applied_and_marked_only_after_the_revert(tmp_path: Path) -> None:
    """At apply and at revert the fault is pending in the ledger; after the revert returned it is not."""
    outcome, ledger, faults, _ = run(tmp_path)
    token = faults.built[0].token
    assert faults.calls == [FaultCall("apply", token, True), FaultCall("revert", token, True)]
    assert ledger.entries()[0].reverted_at is not None


def test_a_violation_while_faulted_is_a_failure_that_recovers(tmp_path: Path) -> None:
    """The probe fails only while the fault is applied: FAILURE with a time to detect, and it held again after."""
    outcome, ledger, _, journal = run(tmp_path, broken_while_faulted=True)
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert outcome.time_to_detect_s is not None
    phases = {o.phase for o in journal.observations if not o.ok}
    assert phases == {Phase.FAULT}
    assert any(o.phase is Phase.RECOVERY and o.ok for o in journal.observations)
    assert not ledger.pending()


def test_a_failed_revert_stays_pending_with_its_error(tmp_path: Path) -> None:
    """A revert that keeps failing: ERROR pointing at `chaoskit rollback`; the entry stays pending with its error."""
    outcome, ledger, faults, _ = run(tmp_path, FakeFaults(revert_failures=10))
    assert outcome.verdict is Verdict.ERROR
    assert any("chaoskit rollback" in r for r in outcome.reasons), outcome.reasons
    (entry,) = ledger.pending()
    # Tried after the fault phase, and once more on the way out.
    assert entry.revert_attempts_failed == 2 and "told to fail" in (entry.last_error or "")
    assert [c.action for c in faults.calls] == ["apply", "revert", "revert"]


def test_a_revert_that_fails_once_is_retried_on_the_way_out(tmp_path: Path) -> None:
    """The failed attempt is recorded; the retry succeeds, so the ledger ends clean, and the run says ERROR."""
    outcome, ledger, faults, _ = run(tmp_path, FakeFaults(revert_failures=1))
    assert outcome.verdict is Verdict.ERROR
    (entry,) = ledger.entries()
    assert not entry.pending and entry.revert_attempts_failed == 1


def test_a_failed_apply_is_reverted_like_any_other(tmp_path: Path) -> None:
    """An apply that raises may have half-happened: it is still reverted and the ledger ends clean."""
    outcome, ledger, faults, _ = run(tmp_path, FakeFaults(fail_apply=True))
    assert outcome.verdict is Verdict.ERROR
    assert [c.action for c in faults.calls] == ["apply", "revert"]
    assert not ledger.pending() and len(ledger.entries()) == 1


def test_an_interrupt_mid_fault_reverts_and_reports_aborted(tmp_path: Path) -> None:
    """SIGTERM during the fault phase: the fault is reverted, the ledger is clean, the verdict is ABORTED."""
    outcome, ledger, faults, journal = run(tmp_path, clock=FakeClock(interrupt_at=6.0))
    assert outcome.verdict is Verdict.ABORTED, outcome.reasons
    assert [c.action for c in faults.calls] == ["apply", "revert"]
    assert not ledger.pending()
    assert journal.finished is not None


def test_a_timed_fault_is_reverted_after_its_duration_and_each_fault_once(tmp_path: Path) -> None:
    """Two faults, one with a duration: each is applied and reverted exactly once, the timed one mid-phase."""
    exp = experiment(FaultStep("fake.fault", duration=1.0), FaultStep("fake.fault", start=2.0))
    outcome, ledger, faults, journal = run(tmp_path, exp=exp)
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    first, second = (f.token for f in faults.built)
    assert [(c.action, c.token) for c in faults.calls] == [
        ("apply", first), ("revert", first), ("apply", second), ("revert", second)]
    assert all(c.pending for c in faults.calls) and not ledger.pending()


def test_a_stop_condition_ends_the_fault_phase_early(tmp_path: Path) -> None:
    """The probe failing twice in a row stops the fault phase; the fault is reverted and the stop is the verdict's."""
    exp = dataclasses.replace(experiment(), stop_conditions=(ProbeStop("status", 2),),
                              phases=Phases(warmup=1.0, baseline=3.0, fault=30.0, recovery=5.0))
    clock = FakeClock()
    outcome, ledger, faults, journal = run(tmp_path, broken_while_faulted=True, clock=clock, exp=exp)
    assert outcome.stopped_by == "probe 'status' fails 2x in a row"
    assert "run.stopped" in journal.names() and not ledger.pending()
    assert [c.action for c in faults.calls] == ["apply", "revert"]
    assert clock.now < 1.0 + 3.0 + 30.0  # the fault phase did not run its 30 s


class ErrorsAfterOnset:
    """A load whose trailing windows turn to 60% errors from ``onset`` on the run's clock (seconds of tenths)."""

    def __init__(self, clock: FakeClock, onset: float):
        self.clock, self.onset, self.spans = clock, onset, []

    def trailing(self, span_s: float) -> SimpleNamespace:
        self.spans.append(span_s)
        # The window is beyond 25% once more than half of its span lies after the onset.
        share = min(1.0, max(0.0, (self.clock() - self.onset) / span_s)) * 0.6
        return SimpleNamespace(sent=60, completed=60, metric=lambda name: share)

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def latest_window(self) -> None: ...
    def seconds_between(self, start: float, end: float) -> list: return []
    def seconds_from(self, start: float) -> Iterator: return iter(())
    def invalid_reason(self, buckets: object = None) -> None: ...
    def journal(self, t0: float | None = None) -> dict: return {"buckets": []}


def test_a_metric_stop_cuts_the_harm_within_tenths(tmp_path: Path) -> None:
    """Errors from the fault's start trip `error_rate > 25% for 300ms` within tenths; detect and stop are journaled."""
    exp = dataclasses.replace(experiment(FaultStep("fake.fault", start=1.0)),
                              stop_conditions=(MetricStop("error_rate", ">", 0.25, 0.3),))
    clock = FakeClock()
    ledger, journal, faults = Ledger(tmp_path / "ledger.jsonl"), JournalCapture(), FakeFaults()
    load = ErrorsAfterOnset(clock, onset=1.0 + 3.0 + 1.0)  # warm-up, baseline, then the fault's start
    runner = Runner(exp, Backends(), ledger, journal, load=load, seed=1, clock=clock, sleep=clock.sleep,  # type: ignore[arg-type]
                    build_fault=faults, observe_probe=FakeProbes(lambda probe: {"status": 200}))
    journal.bind_clock(runner.elapsed)
    outcome = runner.run()
    stopped = next(e for e in journal.events if e["event"] == "run.stopped")
    cut = next(e for e in journal.events if e["event"] == "run.harm_cut")
    assert outcome.stopped_by == "error_rate > 0.25 for 0.3s" and set(load.spans) == {0.3}
    assert 0.15 < stopped["time_to_detect_s"] <= 0.3  # the tick after half the window is errors
    assert cut["time_to_stop_s"] == pytest.approx(stopped["time_to_detect_s"], abs=1e-6)  # reverting takes no time here
    assert not ledger.pending() and [c.action for c in faults.calls] == ["apply", "revert"]
