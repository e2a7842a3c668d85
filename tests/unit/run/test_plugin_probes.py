"""Plugin probes in the run loop: read each round, numbers judged per window, pass/fail per round, a broken plugin
an ERROR in one line (fake plugins, fake clock; the example plugin's real probe is exercised in tests/integration)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.probe_plugins import PluginProbe, ProbeCatalogue, _probe_problem, assemble
from chaoskit.errors import BackendError
from chaoskit.model.experiment import Experiment, FaultStep, Phases
from chaoskit.model.params import ParamSpec
from chaoskit.model.plugin_probe import PluginProbeSpec, ProbeSignature
from chaoskit.model.probes import PROBE_TYPES, Hypothesis
from chaoskit.model.tolerance import Relative, Threshold, Tolerance
from chaoskit.plugins import PROBE_GROUP, discover
from chaoskit.run.ledger import Ledger
from chaoskit.run.runner import Runner
from chaoskit.run.wiring import plan_experiment
from chaoskit.testing import FakeClock, FakeFaults, FakeProbes, JournalCapture
from chaoskit.verdict import Outcome, Phase, Verdict
from tests.unit.faults.test_plugins import Dist, EntryPoint


@dataclass
class World:
    """What the fake plugins read: ``value(faults, n)`` for the n-th reading (n from 1); calls are counted."""

    value: Callable[[FakeFaults, int], Any]
    faults: FakeFaults | None = None
    reads: int = 0
    closed: int = 0
    refuse: Exception | None = None


WORLD = World(lambda faults, n: 0.01)


class Latency(PluginProbe):
    type = "acme.latency"
    signature = ProbeSignature(params=(ParamSpec("host", "str", required=True),
                                       ParamSpec("tries", "int", default=3)), reading="duration", doc="latency")

    def describe(self) -> str:
        return f"latency of {self.params['host']} ({self.params['tries']} tries)"

    def prepare(self) -> None:
        if WORLD.refuse is not None:
            raise WORLD.refuse

    def read(self) -> Any:
        WORLD.reads += 1
        value = WORLD.value(WORLD.faults, WORLD.reads)  # type: ignore[arg-type]
        if isinstance(value, Exception):
            raise value
        return value

    def close(self) -> None:
        WORLD.closed += 1


class Reachable(Latency):
    type = "acme.reachable"
    signature = ProbeSignature(params=(ParamSpec("host", "str", required=True),), reading="pass_fail")


PLUGINS = assemble(discover(PROBE_GROUP, _probe_problem, PROBE_TYPES, [
    EntryPoint("acme.latency", Latency, Dist("acme-probes")), EntryPoint("acme.reachable", Reachable,
                                                                         Dist("acme-probes"))]))


def latency(tolerance: Tolerance = Threshold(max=0.05), every_s: float | None = None) -> PluginProbeSpec:
    return PluginProbeSpec("db latency", "acme.latency", Latency.signature.parse({"host": "db"}), "duration",
                           tolerance, every_s)


def reachable() -> PluginProbeSpec:
    return PluginProbeSpec("db reachable", "acme.reachable", Reachable.signature.parse({"host": "db"}), "pass_fail")


def experiment(spec: PluginProbeSpec) -> Experiment:
    return Experiment("plugin", Hypothesis("db fine", (spec,)), (FaultStep("fake.fault"),),
                      phases=Phases(warmup=1.0, baseline=5.0, fault=6.0, recovery=6.0))


def run(tmp_path: Path, spec: PluginProbeSpec, value: Callable[[FakeFaults, int], Any],
        refuse: Exception | None = None) -> tuple[Outcome, FakeFaults, JournalCapture]:
    """A plugin-probe-only experiment: 5 s of baseline, 6 s of fault, 6 s of recovery, 1 s rounds."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    faults = FakeFaults(ledger)
    WORLD.value, WORLD.faults, WORLD.reads, WORLD.closed, WORLD.refuse = value, faults, 0, 0, refuse
    clock = FakeClock(100.0)
    journal = JournalCapture()
    runner = Runner(experiment(spec), Backends(), ledger, journal, seed=1, clock=clock, sleep=clock.sleep,  # type: ignore[arg-type]
                    build_fault=faults, observe_probe=FakeProbes(lambda p: {}), probe_plugins=PLUGINS)
    journal.bind_clock(runner.elapsed)
    return runner.run(), faults, journal


def noisy(faulted: Any) -> Callable[[FakeFaults, int], Any]:
    """10 ms +- a little at rest, ``faulted`` while the fault is applied."""
    return lambda faults, n: faulted if faults.active else 0.010 + 0.001 * (n % 3)


def test_a_slow_reading_during_the_fault_is_a_failure_judged_on_the_window(tmp_path: Path) -> None:
    """Numbers beyond the max during the fault: the fault window decides FAILURE; the first reading dates it."""
    outcome, faults, journal = run(tmp_path, latency(), noisy(0.5))
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert "whole fault window" in outcome.reasons[0]
    assert outcome.time_to_detect_s is not None and outcome.time_to_detect_s <= 1.0
    decisive = [o for o in journal.observations if not o.detection]
    assert [(o.phase, o.ok) for o in decisive] == [(Phase.BASELINE, True), (Phase.FAULT, False)]
    assert [c.action for c in faults.calls] == ["apply", "revert"] and WORLD.closed == 1


def test_unchanged_readings_are_tolerated_and_journaled_with_their_type(tmp_path: Path) -> None:
    """A relative tolerance the fault does not break: TOLERATED; the journal keeps the readings and comparisons."""
    outcome, _, journal = run(tmp_path, latency(Relative(max_ratio=3.0)), noisy(0.012))
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    assert journal.finished is not None
    (record,) = journal.finished["prometheus"]
    assert record["probe"] == "db latency" and record["type"] == "acme.latency" and "query" not in record
    assert record["readings"][0]["values"] == {"value": 0.011}
    assert {c["phase"] for c in record["comparisons"]} == {"fault", "recovery"}


def test_no_reading_from_the_world_is_a_violation(tmp_path: Path) -> None:
    """read() raising BackendError (refused, timed out) is a failed observation, as an unanswered http probe's."""
    outcome, _, journal = run(tmp_path, latency(), noisy(BackendError("connect to db:5432: Connection refused")))
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    assert any("Connection refused" in reason for reason in outcome.reasons)
    failed = [o for o in journal.observations if o.phase is Phase.FAULT and not o.ok and not o.detection]
    assert failed and failed[0].detail == "connect to db:5432: Connection refused"


def test_a_plugin_that_raises_is_an_error_naming_it_in_one_line(tmp_path: Path) -> None:
    """Any other exception from read() is the plugin's bug: ERROR, one line naming probe, type and distribution."""
    outcome, faults, _ = run(tmp_path, latency(), noisy(KeyError("port")))
    assert outcome.verdict is Verdict.ERROR
    (reason,) = [r for r in outcome.reasons if "plugin probe" in r]
    assert "plugin probe 'db latency' (acme.latency, from acme-probes 1.0) failed: KeyError: 'port'" in reason
    assert "\n" not in reason and "Traceback" not in reason
    assert [c.action for c in faults.calls] == ["apply", "revert"]  # what was applied is still reverted


def test_a_reading_of_the_wrong_kind_is_an_error(tmp_path: Path) -> None:
    """A numeric probe reading a string (or NaN) says what it read and what was expected."""
    outcome, _, _ = run(tmp_path, latency(), lambda faults, n: "fast")
    assert outcome.verdict is Verdict.ERROR
    assert "read 'fast': expected a finite number" in " ".join(outcome.reasons)


def test_a_refusing_prepare_stops_the_run_before_any_fault(tmp_path: Path) -> None:
    """prepare() raising is an ERROR of the preflight: nothing is injected, and the probe is closed."""
    outcome, faults, _ = run(tmp_path, latency(), noisy(0.01), refuse=BackendError("db: no such host"))
    assert outcome.verdict is Verdict.ERROR and "db: no such host" in outcome.reasons[0]
    assert faults.calls == [] and WORLD.closed == 1


def test_pass_fail_readings_are_observations_each_round(tmp_path: Path) -> None:
    """A pass/fail probe: each reading holds or not, decisively; False during the fault is a FAILURE."""
    outcome, _, journal = run(tmp_path, reachable(), lambda faults, n: not faults.active)
    assert outcome.verdict is Verdict.FAILURE, outcome.reasons
    baseline = [o for o in journal.observations if o.phase is Phase.BASELINE]
    assert len(baseline) >= 4 and all(o.ok and not o.detection for o in baseline)
    assert journal.finished is not None and journal.finished["prometheus"] is None  # no numbers to chart


def test_pass_fail_holding_throughout_is_tolerated(tmp_path: Path) -> None:
    outcome, _, _ = run(tmp_path, reachable(), lambda faults, n: True)
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons


def test_a_pass_fail_probe_reading_a_number_is_an_error(tmp_path: Path) -> None:
    outcome, _, _ = run(tmp_path, reachable(), lambda faults, n: 1)
    assert outcome.verdict is Verdict.ERROR and "expected True or False" in " ".join(outcome.reasons)


def test_every_spaces_the_reads(tmp_path: Path) -> None:
    """every: 2s with 1 s rounds reads every other round."""
    outcome, _, journal = run(tmp_path, latency(every_s=2.0), noisy(0.011))
    assert outcome.verdict is Verdict.TOLERATED, outcome.reasons
    assert journal.finished is not None
    times = [r["t"] for r in journal.finished["prometheus"][0]["readings"]]
    assert len(times) >= 5 and all(later - earlier >= 1.9 for earlier, later in zip(times, times[1:]))


def test_the_dry_run_shows_and_prepares_the_plugin_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--dry-run prepares each plugin probe, lists what it reads, and closes it."""
    from chaoskit.adapters import probe_plugins
    from chaoskit.run import wiring

    monkeypatch.setattr(probe_plugins, "probe_catalogue", lambda: PLUGINS)
    monkeypatch.setattr(wiring, "Runner", functools.partial(Runner, build_fault=FakeFaults()))
    monkeypatch.setattr(wiring, "environment_versions", lambda backends: {})
    WORLD.refuse, WORLD.closed = None, 0
    lines = plan_experiment(experiment(latency(every_s=2.0)), seed=1, ledger_path=str(tmp_path / "ledger.jsonl"))
    assert "  probe 'db latency' (acme.latency): latency of db (3 tries), every 2s" in lines
    assert WORLD.closed == 1


@pytest.mark.parametrize(("entry_point", "why"), [
    (EntryPoint("acme.thing", 3), "acme.thing names 3, not a subclass of chaoskit.adapters.probe_plugins.PluginProbe"),
    (EntryPoint("acme.other", Latency), "Latency.type is 'acme.latency': it must be the entry point's name"),
    (EntryPoint("latency", Latency), "'latency' is not namespaced: name it after the package, like acme.latency"),
    (EntryPoint("http", Latency), "'http' is a built-in name"),
])
def test_probe_plugins_that_cannot_be_used_are_refused_in_one_line(entry_point: EntryPoint, why: str) -> None:
    found: ProbeCatalogue = assemble(discover(PROBE_GROUP, _probe_problem, PROBE_TYPES, [entry_point]))
    assert not found.probes
    (problem,) = found.problems
    assert problem.endswith(f"refused: {why}") and problem.startswith("plugin acme-chaos 1.0 (entry point ")
