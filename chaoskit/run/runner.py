"""The run loop: preflight, warm-up, baseline, fault, revert, recovery. Phases and events, no policy.

Policy lives elsewhere: whether the steady state held is judged by the
probes' tolerances (observed and judged by :mod:`chaoskit.run.steady_state`,
which this module tells when), and the verdict by :mod:`chaoskit.verdict`.
This module only sequences, applies, reverts and records. Two invariants:

* a fault is recorded in the ledger (fsync'd) before it is applied, and
  marked reverted only after its revert returned;
* whatever happens after the first fault is applied (an error, a stop
  condition, SIGINT, SIGTERM), every applied fault is reverted and the
  journal is written.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.errors import Aborted, ChaoskitError, RevertFailed
from chaoskit.faults.base import Fault, TargetRef
from chaoskit.faults.catalogue import build
from chaoskit.log import get_logger
from chaoskit.adapters.probe_plugins import ProbeCatalogue
from chaoskit.measure.window import WindowStats
from chaoskit.model.experiment import Experiment, FaultStep
from chaoskit.model.probes import PrometheusProbe
from chaoskit.journal import RunJournal
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.interrupts import signals_abort
from chaoskit.run.ledger import Ledger
from chaoskit.run.observe import ProbeReading, observe, resolve
from chaoskit.run.readings import ReadingProbes
from chaoskit.run.rollbacks import play
from chaoskit.run.steady_state import SteadyState
from chaoskit.run.stops import Stop, StopWatch
from chaoskit.run.write_probes import WriteProbes
from chaoskit.verdict import Observations, Outcome, decide

__all__ = ["Runner", "PlannedFault"]

log = get_logger("chaoskit.run")

# Recovery counts as done once every probe holds this many observations in a row.
SETTLE_OBSERVATIONS = 3
# How often the fault phase checks its schedule and stop conditions (the load publishes tenths).
FAULT_TICK_S = 0.1


@dataclass
class PlannedFault:
    step: FaultStep
    act: FaultAct
    applied_at: float | None = None
    reverted_at: float | None = None

    @property
    def fault(self) -> Fault:
        return self.act.fault


@dataclass
class Runner:
    experiment: Experiment
    backends: Backends
    ledger: Ledger
    journal: RunJournal
    load: Any = None  # a chaoskit.measure LoadGenerator, or None for probe-only experiments
    seed: int | None = None
    probe_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[str, float, WindowStats | None], None] = lambda phase, elapsed, window: None
    planned: list[PlannedFault] = field(default_factory=list)
    # Seams for tests (chaoskit.testing): how a step's fault is built, how a probe is observed.
    build_fault: Callable[[str, Mapping[str, Any], TargetRef | None], Fault] = build
    observe_probe: Callable[..., ProbeReading] = observe
    prometheus_client: Callable[[PrometheusProbe], Any] | None = None  # None: a real client per probe
    probe_plugins: ProbeCatalogue | None = None  # None: the installed plugins' probes

    def __post_init__(self) -> None:
        self._t0 = self.clock()
        self._stop: Stop | None = None  # the stop condition that ended the fault phase
        # Load buckets before this (warm-up, ramp) are not judged for validity.
        self._measured_from = 0.0
        self._rollbacks_played = False
        self.steady = SteadyState(self.experiment, self.backends, self.journal, self.load, self._t0, self.elapsed,
                                  self.observe_probe)

    def elapsed(self) -> float:
        return self.clock() - self._t0

    # -- preflight ---------------------------------------------------------

    def preflight(self, claim: bool = True) -> None:
        """Everything that can fail before a fault is applied fails here: targets, proxies, the ledger.

        A run claims the ledger (clean, no other run in progress: decided under its lock); a dry run only checks.
        """
        self.ledger.claim(self.journal.run_id) if claim else self.ledger.require_clean()
        self.steady.readings = ReadingProbes.prepare(self.experiment.steady_state, self.clock, self._t0,
                                                     self.prometheus_client, self.probe_plugins)
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**32)
        self.seed = seed
        rng = random.Random(seed)
        project = self.experiment.environment.compose_project
        self.steady.writes = WriteProbes.prepare(self.experiment, self.backends, self.elapsed, self.probe_interval_s)
        for step in self.experiment.method:
            targets: list[TargetRef | None] = [None]
            if step.target is not None:
                selection = resolve(self.backends, step.target, project, rng)
                targets = [c.ref() for c in selection.chosen]
                for note in selection.notes:
                    log.info("target.capped", step=step.label, note=note)
            for target in targets:
                fault = self.build_fault(step.fault, step.params, target)
                fault.prepare(self.backends)
                self.planned.append(PlannedFault(step, FaultAct(fault, self.backends, self.ledger, self.journal.run_id)))
        self.journal.event("run.planned", seed=seed, faults=[p.fault.describe() for p in self.planned])

    # -- the run -----------------------------------------------------------

    def run(self) -> Outcome:
        """Run every phase and return the verdict; the journal is complete whatever happens."""
        error: str | None = None
        aborted: str | None = None
        revert_done_at: float | None = None
        with signals_abort():
            try:
                self.preflight()
                if self.load is not None:
                    self.load.start()
                self._phase("warmup", self.experiment.phases.warmup, judge=False)
                base_start = self._measured_from = self.elapsed()
                self._phase("baseline", self.experiment.phases.baseline)
                self.steady.windows["baseline"] = (base_start, self.elapsed())
                self.steady.judge_window("baseline")
                if self.steady.held_since(base_start):
                    self._fault_phase()
                    revert_done_at = self._revert_all()
                    if self._stop is not None:
                        self.journal.event("run.harm_cut", **self._stop.cut(revert_done_at))
                    self._play_rollbacks()
                    self._recovery()
                    self.steady.windows["recovery"] = (revert_done_at, self.elapsed())
                    self.steady.audit()
            except Aborted as exc:
                aborted = str(exc)
            except ChaoskitError as exc:
                error = str(exc)
                log.error("run.error", error=error)
            finally:
                self.steady.stop()
                try:
                    revert_done_at = self._revert_all() if any(p.applied_at is not None and p.reverted_at is None
                                                               for p in self.planned) else revert_done_at
                except RevertFailed as exc:
                    error = f"{exc}; run `chaoskit rollback` to retry"
                if any(p.applied_at is not None for p in self.planned) and not self._rollbacks_played:
                    self._play_rollbacks()
                if self.load is not None:
                    self.load.stop()
                # Judged once the load is stopped: every second of the windows is complete by then.
                self.steady.judge_window("fault")
                self.steady.judge_window("recovery")
        facts = Observations(
            results=tuple(self.steady.observations), fault_applied_at=self._first_applied(),
            reverted_at=revert_done_at, recovery_budget_s=self.experiment.phases.recovery, error=error,
            interrupted=aborted, stopped_by=self._stop.reason if self._stop else None,
            measurement_problems=self._measurement_problems(),
            time_to_detect_s=self._stop.time_to_detect_s if self._stop else None,
        )
        outcome = decide(facts)
        prometheus = self.steady.readings.record(self.steady.windows, facts.fault_applied_at, revert_done_at)
        self.journal.finish(outcome, facts, load=self._load_record(), prometheus=prometheus or None)
        return outcome

    def _load_record(self) -> dict[str, Any] | None:
        """The load's journal record, each bucket placed on the run's clock (``t``, seconds since start)."""
        if self.load is None:
            return None
        record = self.load.journal(t0=self._t0)
        record["comparisons"] = self.steady.comparisons
        return record

    def _phase(self, name: str, seconds: float, judge: bool = True, on_tick: Callable[[float], bool] | None = None,
               tick_s: float | None = None) -> None:
        """Observe every probe each interval for ``seconds``; ``on_tick`` (each ``tick_s``, else each
        round) returning True ends the phase early."""
        self.journal.event("phase.started", phase=name)
        log.info("phase.started", phase=name, seconds=seconds)
        end = self.clock() + seconds
        next_round = self.clock()
        while (now := self.clock()) < end:
            if now >= next_round:
                if judge:
                    self.steady.observe_round(name, self.probe_interval_s)
                self.progress(name, self.elapsed(), self.steady.latest_window())
                next_round = now + self.probe_interval_s
            if on_tick is not None and on_tick(self.elapsed()):
                break
            self.sleep(max(0.0, min(tick_s or self.probe_interval_s, next_round - self.clock(), end - self.clock())))

    # -- fault, revert, recovery ---------------------------------------------

    def _fault_phase(self) -> None:
        start = self.elapsed()
        stops = StopWatch(self.experiment.stop_conditions)

        def tick(now: float) -> bool:
            offset = now - start
            for planned in self.planned:
                step = planned.step
                if planned.applied_at is None and offset >= step.start:
                    self._apply(planned)
                elif (planned.reverted_at is None and planned.applied_at is not None and step.duration is not None
                      and offset >= step.start + step.duration):
                    self._revert(planned)
            self._stop = stops.check(self.load.trailing if self.load is not None else None, self.steady.observations,
                                     self.elapsed(), self._first_applied())
            if self._stop is not None:
                self.journal.event("run.stopped", **self._stop.fields())
                log.warning("run.stopped", **self._stop.fields())
            return self._stop is not None

        tick(self.elapsed())  # faults at offset 0 go in before the first observation
        # Ticks every tenth: stop conditions read tenths of a second, and faults start and end on time.
        self._phase("fault", self.experiment.phases.fault, on_tick=tick, tick_s=FAULT_TICK_S)
        self.steady.windows["fault"] = (start, self.elapsed())

    def _first_applied(self) -> float | None:
        return min((p.applied_at for p in self.planned if p.applied_at is not None), default=None)

    def _apply(self, planned: PlannedFault) -> None:
        fault = planned.fault
        try:
            planned.act.apply()
        finally:
            if planned.act.recorded:  # even a failed apply may have half-happened: it is reverted like any other
                planned.applied_at = self.elapsed()
        self.journal.event("fault.applied", fault=fault.describe(), kind=fault.kind, token=fault.token)
        log.info("fault.applied", fault=fault.describe())

    def _revert(self, planned: PlannedFault) -> None:
        try:
            planned.act.revert()
        except ChaoskitError as exc:
            raise RevertFailed(f"revert of '{planned.fault.describe()}' failed: {exc}") from exc
        planned.reverted_at = self.elapsed()
        self.journal.event("fault.reverted", fault=planned.fault.describe(), kind=planned.fault.kind,
                           token=planned.fault.token)
        log.info("fault.reverted", fault=planned.fault.describe())

    def _revert_all(self) -> float:
        """Revert every applied fault at once; try all before raising the first failure."""
        pending = [p for p in self.planned if p.applied_at is not None and p.reverted_at is None]
        failures = [e for e in in_parallel(self._revert, pending) if e is not None]
        if failures:
            raise failures[0] if isinstance(failures[0], RevertFailed) else RevertFailed(str(failures[0]))
        return self.elapsed()

    def _play_rollbacks(self) -> None:
        """The experiment's extra rollback actions; a failing one is journaled and the rest still run."""
        self._rollbacks_played = True
        for action in self.experiment.rollbacks:
            try:
                play(action, self.backends, self.experiment.environment.compose_project)
            except ChaoskitError as exc:
                self.journal.event("rollback.failed", action=action.type, error=str(exc))
                log.error("rollback.failed", action=action.type, error=str(exc))
            else:
                self.journal.event("rollback.done", action=action.type)
                log.info("rollback.done", action=action.type)

    def _recovery(self) -> None:
        """Observe until every probe holds SETTLE_OBSERVATIONS rounds in a row, or the budget ends.

        Ending early only saves time: the verdict reads time to recover from the observations.
        """
        streak: list[float] = []
        start = self.elapsed()

        def tick(now: float) -> bool:
            last_round = self.steady.last_round("recovery")
            # A sampled probe (write visibility) holds once a measurement started in recovery held.
            if last_round and all(o.ok for o in last_round) and self.steady.writes.held_since(start):
                streak.append(last_round[0].t)
            else:
                streak.clear()
            return len(streak) >= SETTLE_OBSERVATIONS

        self._phase("recovery", self.experiment.phases.recovery, on_tick=tick)

    def _measurement_problems(self) -> tuple[str, ...]:
        if self.load is None:
            return ()
        reason = self.load.invalid_reason(self.load.seconds_from(self._t0 + self._measured_from))
        return (reason,) if reason else ()

