"""The run loop: preflight, warm-up, baseline, fault, revert, recovery. Phases and events, no policy.

Policy lives elsewhere: whether the steady state held is judged by the
probes' tolerances, and the verdict by :mod:`chaoskit.verdict`. This
module only sequences, observes and records. Two invariants:

* a fault is recorded in the ledger (fsync'd) before it is applied, and
  marked reverted only after its revert returned;
* whatever happens after the first fault is applied (an error, a stop
  condition, SIGINT, SIGTERM), every applied fault is reverted and the
  journal is written.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.errors import Aborted, ChaoskitError, RevertFailed
from chaoskit.faults.base import Fault, TargetRef
from chaoskit.faults.catalogue import build
from chaoskit.log import get_logger
from chaoskit.measure.store import Seconds
from chaoskit.measure.window import WindowStats
from chaoskit.model.experiment import Experiment, FaultStep
from chaoskit.model.probes import LoadProbe, Probe, PrometheusProbe, WriteProbe
from chaoskit.journal import RunJournal
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.interrupts import signals_abort
from chaoskit.run.judging import judge_second, judge_window, numeric_subjects, quoted
from chaoskit.run.ledger import Ledger
from chaoskit.run.observe import ProbeReading, observe, resolve
from chaoskit.run.readings import QueryProbes
from chaoskit.run.rollbacks import play
from chaoskit.run.stops import Stop, StopWatch
from chaoskit.run.write_probes import WriteProbes
from chaoskit.verdict import Observations, Outcome, Phase, ProbeResult, decide

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

    def __post_init__(self) -> None:
        self._t0 = self.clock()
        self._observations: list[ProbeResult] = []
        # (phase, probe, numeric subjects) of each observation: what relative tolerances compare with.
        self._subjects: list[tuple[str, str, dict[str, float]]] = []
        self._baseline_subjects: dict[str, dict[str, Any]] = {}
        self._stop: Stop | None = None  # the stop condition that ended the fault phase
        # Load buckets before this (warm-up, ramp) are not judged for validity.
        self._measured_from = 0.0
        # (start, end) of each judged phase on the run's clock: the windows load probes are judged over.
        self._windows: dict[str, tuple[float, float]] = {}
        self._comparisons: list[dict[str, Any]] = []
        self._rollbacks_played = False
        self._stack = WriteProbes()  # the write audits, built by preflight
        self._queries = QueryProbes()  # the Prometheus probes, built by preflight

    def elapsed(self) -> float:
        return self.clock() - self._t0

    # -- preflight ---------------------------------------------------------

    def preflight(self, claim: bool = True) -> None:
        """Everything that can fail before a fault is applied fails here: targets, proxies, the ledger.

        A run claims the ledger (clean, no other run in progress: decided under its lock); a dry run only checks.
        """
        self.ledger.claim(self.journal.run_id) if claim else self.ledger.require_clean()
        self._queries = QueryProbes.prepare(self.experiment.steady_state, self.clock, self._t0, self.prometheus_client)
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**32)
        self.seed = seed
        rng = random.Random(seed)
        project = self.experiment.environment.compose_project
        self._stack = WriteProbes.prepare(self.experiment, self.backends, self.elapsed, self.probe_interval_s)
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
                self._windows["baseline"] = (base_start, self.elapsed())
                self._judge_window("baseline")
                self._baseline_subjects = self._baseline_values()
                if self._held_since(base_start):
                    self._fault_phase()
                    revert_done_at = self._revert_all()
                    if self._stop is not None:
                        self.journal.event("run.harm_cut", **self._stop.cut(revert_done_at))
                    self._play_rollbacks()
                    self._recovery()
                    self._windows["recovery"] = (revert_done_at, self.elapsed())
                    self._audit()
            except Aborted as exc:
                aborted = str(exc)
            except ChaoskitError as exc:
                error = str(exc)
                log.error("run.error", error=error)
            finally:
                self._stack.stop()
                for event, fields in self._stack.summaries():
                    self.journal.event(event, **fields)
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
                self._judge_window("fault")
                self._judge_window("recovery")
        facts = Observations(
            results=tuple(self._observations), fault_applied_at=self._first_applied(),
            reverted_at=revert_done_at, recovery_budget_s=self.experiment.phases.recovery, error=error,
            interrupted=aborted, stopped_by=self._stop.reason if self._stop else None,
            measurement_problems=self._measurement_problems(),
            time_to_detect_s=self._stop.time_to_detect_s if self._stop else None,
        )
        outcome = decide(facts)
        prometheus = self._queries.record(self._windows, facts.fault_applied_at, revert_done_at)
        self.journal.finish(outcome, facts, load=self._load_record(), prometheus=prometheus or None)
        return outcome

    def _load_record(self) -> dict[str, Any] | None:
        """The load's journal record, each bucket placed on the run's clock (``t``, seconds since start)."""
        if self.load is None:
            return None
        record = self.load.journal(t0=self._t0)
        record["comparisons"] = self._comparisons
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
                    self._observe_all(name)
                self.progress(name, self.elapsed(), self._latest_window())
                next_round = now + self.probe_interval_s
            if on_tick is not None and on_tick(self.elapsed()):
                break
            self.sleep(max(0.0, min(tick_s or self.probe_interval_s, next_round - self.clock(), end - self.clock())))

    def _observe_all(self, phase: str) -> None:
        t = self.elapsed()
        for probe in self.experiment.steady_state.probes:
            # While the baseline is being measured, a tolerance relative to it can only judge the
            # observation against itself: the absolute parts (SLOs) are what the baseline must meet.
            baseline = self._baseline_subjects.get(probe.name) if phase != "baseline" else None
            if isinstance(probe, PrometheusProbe):  # judged per window, as a load probe (chaoskit.run.readings)
                for result in self._queries.observe(probe, phase, t, self.probe_interval_s, self.experiment.steady_state.title):
                    self._record(result)
                continue
            if isinstance(probe, LoadProbe):
                judged = judge_second(probe, self._latest_window(), baseline, self_baseline=True)
                if judged is None:
                    continue
                judgement, subjects = judged
            else:
                reading = self._observe(probe, phase, baseline)
                if reading is None:
                    continue
                judgement, subjects = reading.judgement, dict(reading.subjects)
            numeric = numeric_subjects(subjects)
            self._subjects.append((phase, probe.name, numeric))
            # A single-number probe (every load probe) quotes plain numbers in reasons.
            value, base = quoted(numeric), quoted(baseline)
            self._record(ProbeResult(probe=probe.name, phase=Phase(phase), t=t, ok=judgement.ok, value=value,
                                     baseline=base, detail=judgement.reason,
                                     hypothesis=self.experiment.steady_state.title,
                                     inconclusive=judgement.inconclusive,
                                     # The window decides these phases for load probes (chaoskit.run.judging).
                                     detection=isinstance(probe, LoadProbe) and phase in ("baseline", "fault")))

    def _observe(self, probe: Probe, phase: str, baseline: dict[str, Any] | None) -> ProbeReading | None:
        """One probe's reading this round; a sampled one (write visibility) may have none yet, an audit never."""
        if isinstance(probe, WriteProbe):
            return self._stack.observe(probe, baseline, self_baseline=phase == "baseline")
        return self.observe_probe(probe, self.backends, self.experiment.environment.compose_project, baseline,
                                  self_baseline=phase == "baseline")

    def _audit(self) -> None:
        """Checks made once, after recovery, with the load stopped so every acknowledged write is in
        (writes readable, writes pending)."""
        if not self._stack.audits:
            return
        if self.load is not None:
            self.load.stop()
        for audit in self._stack.audits:
            captured = self.load.captured(audit.request) if self.load is not None else []
            reading, result = audit.run(captured)
            self.journal.event(audit.event, probe=audit.probe.name, request=audit.request, **result.to_dict())
            log.info(audit.event, probe=audit.probe.name, **result.counts())
            self._record(ProbeResult(probe=audit.probe.name, phase=Phase.AUDIT, t=self.elapsed(),
                                     ok=reading.judgement.ok, value=reading.subjects["value"],
                                     detail=reading.judgement.reason, hypothesis=self.experiment.steady_state.title,
                                     inconclusive=reading.judgement.inconclusive))

    def _record(self, result: ProbeResult) -> None:
        self._observations.append(result)
        if not result.ok and not result.inconclusive:
            log.warning("hypothesis.violated", phase=result.phase.value, probe=result.probe, reason=result.detail)
        self.journal.observation(result)

    def _latest_window(self) -> WindowStats | None:
        return self.load.latest_window() if self.load is not None else None

    def _held_since(self, start: float) -> bool:
        judged = [o for o in self._observations if o.t >= start and not o.inconclusive and not o.detection]
        return bool(judged) and all(o.ok for o in judged)

    def _judge_window(self, phase: str) -> None:
        """Judge every load and Prometheus probe over the phase's whole window (chaoskit.run.judging, .readings).

        The baseline and fault judgements are decisive observations; the
        recovery's comparison only goes to the journal, for the report.
        """
        if phase not in self._windows or (phase != "baseline" and "fault" not in self._windows):
            return
        for result in self._queries.judge(phase, self._windows, self.experiment.steady_state.title):
            self._record(result)
        if self.load is None:
            return
        baseline = self._buckets_in("baseline")
        window = self._buckets_in(phase)
        end = self._windows[phase][1]
        for probe in self.experiment.steady_state.probes:
            if not isinstance(probe, LoadProbe):
                continue
            judged = judge_window(probe, phase, baseline, window)
            self._comparisons.extend(judged.comparisons())
            if phase != "recovery":
                self._record(judged.as_result(end, self.experiment.steady_state.title))

    def _buckets_in(self, phase: str) -> Seconds:
        """The whole seconds of load inside the phase's window (the seconds it overlaps if it has none)."""
        start, end = (self._t0 + t for t in self._windows[phase])
        return self.load.seconds_between(start, end)

    def _baseline_values(self) -> dict[str, dict[str, Any]]:
        """Median of each probe's numeric subjects over the baseline: what relative tolerances compare with."""
        values: dict[str, dict[str, list[float]]] = {}
        for phase, probe, numeric in self._subjects:
            if phase == "baseline":
                for subject, value in numeric.items():
                    values.setdefault(probe, {}).setdefault(subject, []).append(value)
        return {probe: {s: statistics.median(v) for s, v in subjects.items()} for probe, subjects in values.items()}

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
            self._stop = stops.check(self.load.trailing if self.load is not None else None, self._observations,
                                     self.elapsed(), self._first_applied())
            if self._stop is not None:
                self.journal.event("run.stopped", **self._stop.fields())
                log.warning("run.stopped", **self._stop.fields())
            return self._stop is not None

        tick(self.elapsed())  # faults at offset 0 go in before the first observation
        # Ticks every tenth: stop conditions read tenths of a second, and faults start and end on time.
        self._phase("fault", self.experiment.phases.fault, on_tick=tick, tick_s=FAULT_TICK_S)
        self._windows["fault"] = (start, self.elapsed())

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
            last_round = self._last_round("recovery")
            # A sampled probe (write visibility) holds once a measurement started in recovery held.
            if last_round and all(o.ok for o in last_round) and self._stack.held_since(start):
                streak.append(last_round[0].t)
            else:
                streak.clear()
            return len(streak) >= SETTLE_OBSERVATIONS

        self._phase("recovery", self.experiment.phases.recovery, on_tick=tick)

    def _last_round(self, phase: str) -> list[ProbeResult]:
        """The observations of the latest round in ``phase`` (every probe is observed at one time)."""
        in_phase = [o for o in self._observations if o.phase.value == phase]
        return [o for o in in_phase if o.t == in_phase[-1].t] if in_phase else []

    def _measurement_problems(self) -> tuple[str, ...]:
        if self.load is None:
            return ()
        reason = self.load.invalid_reason(self.load.seconds_from(self._t0 + self._measured_from))
        return (reason,) if reason else ()

