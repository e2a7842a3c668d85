"""Prometheus probes in the run loop: polled each round, judged per window, reported in the journal (no server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chaoskit.adapters.prometheus import Sample, Scalar, Vector
from chaoskit.adapters.backends import Backends
from chaoskit.errors import PrometheusUnavailable
from chaoskit.model.experiment import Experiment, FaultStep, Phases
from chaoskit.model.probes import Hypothesis, PrometheusProbe
from chaoskit.model.tolerance import Relative, Threshold, Tolerance
from chaoskit.run.ledger import Ledger
from chaoskit.run.runner import Runner
from chaoskit.testing import FakeClock, FakeFaults, FakeProbes, JournalCapture
from chaoskit.verdict import Outcome, Phase, Verdict


class FakePrometheus:
    """Answers the n-th query with ``value(n)`` (a scalar, or a vector from a dict), or raises what it is told to.

    Each answer takes 10 ms of ``clock``, as a real server's would: a reading comes after what preceded the poll.
    """

    def __init__(self, value: Callable[[int], float | dict[str, float]], clock: FakeClock,
                 error: Exception | None = None):
        self.value, self.clock, self.error = value, clock, error
        self.queries: list[str] = []

    def query(self, promql: str) -> Scalar | Vector:
        if self.error is not None:
            raise self.error
        self.queries.append(promql)
        self.clock.now += 0.01
        value = self.value(len(self.queries))
        if isinstance(value, dict):
            return Vector(tuple(Sample((("replica", k),), v) for k, v in sorted(value.items())), 0.0)
        return Scalar(value, 0.0)


def probe(tolerance: Tolerance, every_s: float | None = None) -> PrometheusProbe:
    return PrometheusProbe("errors", "http://prometheus:9090", "sum(rate(errors_total[5s]))", tolerance, every_s)


def run(tmp_path: Path, spec: PrometheusProbe, value: Callable[[FakeFaults, int], float | dict[str, float]],
        error: Exception | None = None) -> tuple[Outcome, FakeFaults, JournalCapture, FakePrometheus]:
    """A Prometheus-only experiment (no load): 5 s of baseline, 6 s of fault, 6 s of recovery, 1 s rounds."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    faults = FakeFaults(ledger)
    clock = FakeClock(100.0)
    server = FakePrometheus(lambda n: value(faults, n), clock, error)
    exp = Experiment("prom", Hypothesis("few errors", (spec,)), (FaultStep("fake.fault"),),
                     phases=Phases(warmup=1.0, baseline=5.0, fault=6.0, recovery=6.0))
    journal = JournalCapture()
    runner = Runner(exp, Backends(), ledger, journal, seed=1, clock=clock, sleep=clock.sleep,  # type: ignore[arg-type]
                    build_fault=faults, observe_probe=FakeProbes(lambda p: {}),
                    prometheus_client=lambda p: server)  # type: ignore[arg-type,return-value]
    journal.bind_clock(runner.elapsed)
    return runner.run(), faults, journal, server


def noisy(faulted: float) -> Callable[[FakeFaults, int], float]:
    """0.010 +- a little at rest, ``faulted`` while the fault is applied."""
    return lambda faults, n: faulted if faults.active else 0.010 + 0.001 * (n % 3)


def test_a_violated_window_is_a_failure_dated_by_the_first_reading(tmp_path: Path) -> None:
    """Readings above the max during the fault: the fault window is violated, FAILURE, detected at once."""
    outcome, faults, journal, server = run(tmp_path, probe(Threshold(max=0.05)), noisy(0.5))
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert "whole fault window" in outcome.reasons[0]
    assert outcome.time_to_detect_s is not None and outcome.time_to_detect_s <= 1.0
    assert [c.action for c in faults.calls] == ["apply", "revert"]
    decisive = [o for o in journal.observations if not o.detection]
    assert [(o.phase, o.ok) for o in decisive] == [(Phase.BASELINE, True), (Phase.FAULT, False)]
    assert server.queries[0] == "sum(rate(errors_total[5s]))"  # the preflight's question


def test_a_tolerated_fault_and_the_journal_record(tmp_path: Path) -> None:
    """Unchanged readings: TOLERATED; the journal keeps every reading on the run's clock, and the comparisons."""
    spec = probe(Relative(max_increase=0.02))
    outcome, _, journal, server = run(tmp_path, spec, noisy(0.011))
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    assert journal.finished is not None
    (record,) = journal.finished["prometheus"]
    assert record["probe"] == "errors" and record["query"] == spec.query
    # One a round: 5 in the baseline, 6 in the fault, 3 in recovery (it ends once 3 rounds in a row held).
    assert len(record["readings"]) == len(server.queries) - 1 == 14
    assert record["readings"][0]["values"] == {"scalar": 0.012} and 1.0 <= record["readings"][0]["t"] < 2.0
    assert {c["phase"] for c in record["comparisons"]} == {"fault", "recovery"}
    assert record["time_to_detect_s"] is None and record["time_to_recover_s"] is not None


def test_a_relative_tolerance_compares_with_the_baseline(tmp_path: Path) -> None:
    """max_increase: a shift of the typical reading beyond it, by the window comparison, is a FAILURE."""
    outcome, _, journal, _ = run(tmp_path, probe(Relative(max_increase=0.02)), noisy(0.2))
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert journal.finished is not None
    (record,) = journal.finished["prometheus"]
    fault = [c for c in record["comparisons"] if c["phase"] == "fault"]
    assert fault and fault[0]["decision"] == "violated"


def test_each_series_of_a_vector_is_judged(tmp_path: Path) -> None:
    """One replica of two beyond the max is enough: the series is named in the reason."""
    outcome, _, _, _ = run(tmp_path, probe(Threshold(max=0.05)),
                           lambda faults, n: {"a": 0.01, "b": 0.3 if faults.active else 0.01})
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert 'replica="b"' in outcome.reasons[0]


def test_an_unreachable_prometheus_is_an_error_before_any_fault(tmp_path: Path) -> None:
    """The preflight asks each query once: no answer means ERROR, and nothing is injected."""
    outcome, faults, _, _ = run(tmp_path, probe(Threshold(max=0.05)), noisy(0.0),
                                error=PrometheusUnavailable("query 'x' at http://prometheus:9090: did not answer"))
    assert outcome.verdict is Verdict.ERROR
    assert "http://prometheus:9090" in outcome.reasons[0]
    assert faults.calls == []


def test_polls_fail_mid_run_and_the_window_is_inconclusive(tmp_path: Path) -> None:
    """Prometheus gone during the fault: no readings to judge, so INCONCLUSIVE rather than a guess."""

    def value(faults: FakeFaults, n: int) -> float:
        if faults.active:
            raise PrometheusUnavailable("did not answer")
        return 0.01

    outcome, _, _, _ = run(tmp_path, probe(Threshold(max=0.05)), value)
    assert outcome.verdict is Verdict.INCONCLUSIVE, outcome.reasons
    assert "polls failed" in outcome.reasons[0]


def test_every_spaces_the_polls(tmp_path: Path) -> None:
    """every: 2s with 1 s rounds polls every other round."""
    outcome, _, journal, _ = run(tmp_path, probe(Threshold(max=0.05), every_s=2.0), noisy(0.011))
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    assert journal.finished is not None
    times = [r["t"] for r in journal.finished["prometheus"][0]["readings"]]
    assert len(times) >= 5 and all(later - earlier >= 1.9 for earlier, later in zip(times, times[1:]))
