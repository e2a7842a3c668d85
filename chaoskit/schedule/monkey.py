"""The Chaos Monkey controller: the loop that lists, decides, kills, watches, restarts and judges.

Policy lives in :mod:`chaoskit.schedule.monkey_policy` (what to kill, pure)
and :mod:`chaoskit.schedule.monkey_verdict` (how a kill went, pure); this
module only sequences them against the world. Each tick:

1. observe the steady state when a round is due (every ``probe_interval``);
   its latest round is the outage check (a load probe's one-second reading
   only *detects*, as in a run: it dates a violation, makes an outage and
   breaks a recovery streak; the kill's verdict judges its whole window, from
   the kill to its recovery, as :mod:`chaoskit.run.windows` judges a fault
   phase);
2. list the opted-in containers (one engine call, the sparse list);
3. restart killed containers whose downtime is over, note which are back,
   and judge the kills that recovered or ran out of recovery budget;
4. decide (pure) and carry the decisions out: kills run in parallel (bounded),
   each recorded in the ledger before it is applied.

A kill is a SIGKILL either through the engine's API (a *manual stop*: the
restart policy leaves the container down for chaoskit to start after
``kill.downtime``) or, where that makes no difference or a crash is wanted
(``kill.restart: policy``), straight to the container's main process from the
host, which is instant; see :meth:`Monkey._plan_kill`. Either way the ledger
holds a fault whose revert starts the container if it is not running, so
``chaoskit rollback`` can undo a monkey that died.

Invariants, the run loop's: a kill is in the ledger (fsync'd) before the
signal is sent, and marked reverted only once the container was started
again; whatever ends the monkey (``--duration``, SIGINT, SIGTERM, an error),
every container it killed is started again and the journal is written.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.host import container_process, signal_container_process
from chaoskit.errors import Aborted, ApplyFailed, ChaoskitError, TargetNotFound
from chaoskit.faults.base import Fault, TargetRef
from chaoskit.faults.catalogue import build
from chaoskit.log import get_logger
from chaoskit.model.probes import Hypothesis, LoadProbe, SampleProbe
from chaoskit.model.tolerance import evaluate_checks
from chaoskit.run.interrupts import signals_abort
from chaoskit.run.ledger import FaultRecord, Ledger
from chaoskit.run.observe import observe
from chaoskit.measure.window import seconds_of
from chaoskit.verdict import Phase, ProbeResult, Verdict, combine
from chaoskit.run.windows import judge_window
from chaoskit.schedule.monkey_config import MonkeyConfig, Schedule
from chaoskit.schedule.monkey_journal import MonkeyJournal, plain
from chaoskit.schedule.monkey_policy import Action, Decision, MonkeyState, Tick, TickPlan, advance, decide
from chaoskit.schedule.monkey_verdict import KillFacts, KillOutcome, Round, classify, recovered_at, settled
from chaoskit.targets.container import COMPOSE_PROJECT_LABEL, Container

__all__ = ["KillRecord", "Monkey", "MonkeyReport", "NoProbes", "Observer", "SteadyStateObserver"]

log = get_logger("chaoskit.monkey")

# Kills and restarts run this many at a time. The engine does most of the work (an API
# SIGKILL returns once the exit is processed, ~0.1 s each on 2 cores); measured with 50
# kills: 8 at a time 7.6 s, 16 at a time 5.8 s, 50 at a time 5.5 s (bench/monkey_bench.py).
PARALLEL = 16
_GLOB = set("*?[")


class Observer(Protocol):
    """Where rounds of steady-state observations come from (a seam: tests pass a scripted one)."""

    def start(self) -> None: ...
    def observe(self, t: float, phase: Phase) -> Round: ...
    def fix_baseline(self) -> None: ...
    def judge_kill(self, start: float, end: float) -> tuple[ProbeResult, ...]: ...
    def stop(self) -> None: ...
    def journal(self) -> dict[str, Any] | None: ...


class SteadyStateObserver:
    """Observes every probe of the hypothesis once per round: http/container/command/toxiproxy, and load windows."""

    def __init__(self, hypothesis: Hypothesis, backends: Backends, project: str | None, load: Any = None):
        for probe in hypothesis.probes:
            if isinstance(probe, SampleProbe):
                raise ChaoskitError(f"probe {probe.name!r}: {probe.type} probes run in experiments (chaoskit run), "
                                    "not under the monkey")
        self.hypothesis = hypothesis
        self.backends = backends
        self.project = project
        self.load = load  # a chaoskit.measure LoadGenerator, or None
        self._baseline_values: dict[str, dict[str, list[float]]] = {}
        self._baseline: dict[str, dict[str, float]] = {}
        self._baseline_seconds: tuple[Any, ...] = ()

    def start(self) -> None:
        if self.load is not None:
            self.load.start()

    def stop(self) -> None:
        if self.load is not None:
            self.load.stop()

    def journal(self) -> dict[str, Any] | None:
        return self.load.journal() if self.load is not None else None

    def observe(self, t: float, phase: Phase) -> Round:
        results = []
        for probe in self.hypothesis.probes:
            baseline = self._baseline.get(probe.name)
            if isinstance(probe, LoadProbe):
                window = self.load.latest_window() if self.load is not None else None
                if window is None or window.sent == 0:
                    continue  # no completed second of load yet: nothing to judge
                subjects: dict[str, Any] = {probe.metric: window.metric(probe.metric)}
                judgement = evaluate_checks(probe.checks, subjects, baseline)
            else:
                reading = observe(probe, self.backends, self.project, baseline)
                subjects, judgement = dict(reading.subjects), reading.judgement
            numeric = {k: float(v) for k, v in subjects.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if phase is Phase.BASELINE:
                for subject, number in numeric.items():
                    self._baseline_values.setdefault(probe.name, {}).setdefault(subject, []).append(number)
            value: Any = next(iter(numeric.values())) if len(numeric) == 1 else numeric
            base: Any = next(iter(baseline.values())) if baseline and len(baseline) == 1 else baseline
            results.append(ProbeResult(probe=probe.name, phase=phase, t=t, ok=judgement.ok, value=value, baseline=base,
                                       detail=judgement.reason, hypothesis=self.hypothesis.title,
                                       inconclusive=judgement.inconclusive, detection=isinstance(probe, LoadProbe)))
        return Round(t, tuple(results))

    def fix_baseline(self) -> None:
        """Medians of the baseline rounds: what relative tolerances compare with from now on.

        The load's seconds so far, past the ramp, are the baseline window that kill windows are compared with.
        """
        self._baseline = {probe: {s: statistics.median(v) for s, v in subjects.items()}
                          for probe, subjects in self._baseline_values.items()}
        if self.load is not None:
            seconds = self.load.buckets()
            self._baseline_seconds = tuple(seconds[math.ceil(self.load.spec.ramp_s):] or seconds)

    def judge_kill(self, start: float, end: float) -> tuple[ProbeResult, ...]:
        """Each load probe over the kill's whole window, [start, end) on the load's (monotonic) clock."""
        if self.load is None:
            return ()
        window = seconds_of(self.load.buckets(), start, end)
        if not window or not self._baseline_seconds:
            return ()  # nothing measured: the per-second rounds (or their absence) decide
        return tuple(judge_window(probe, "fault", self._baseline_seconds, window).as_result(end, self.hypothesis.title)
                     for probe in self.hypothesis.probes if isinstance(probe, LoadProbe))


class NoProbes:
    """An observer with nothing to observe: every round holds (benches, and tests of the controller)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def fix_baseline(self) -> None: ...
    def judge_kill(self, start: float, end: float) -> tuple[ProbeResult, ...]:
        return ()

    def journal(self) -> dict[str, Any] | None:
        return None

    def observe(self, t: float, phase: Phase) -> Round:
        return Round(t, ())


@dataclass
class KillRecord:
    """One kill as the controller tracks it, from the decision to its verdict (controller-private, mutable)."""

    number: int
    decision: Decision
    container: Container
    virtual_at: datetime
    fault: Fault | None = None
    how: str = ""  # how the signal was sent: through the engine's API or from the host
    killed_pid: int = 0  # the main process killed (host PID namespace): "back" means another one runs
    ledger_id: str | None = None
    killed_at: float | None = None
    apply_error: str | None = None
    revert_due: float | None = None
    restarted_at: float | None = None
    back_at: float | None = None
    reverted: bool = False
    revert_error: str | None = None
    rounds: list[Round] = field(default_factory=list)
    windows: tuple[ProbeResult, ...] = ()  # the load probes judged over the kill's whole window
    overlapped: set[int] = field(default_factory=set)
    stopped: str | None = None
    outcome: KillOutcome | None = None
    vanished: str | None = None  # the container was gone before anything was recorded: not a kill at all

    @property
    def open(self) -> bool:
        return self.outcome is None

    def facts(self, budget_s: float) -> KillFacts:
        return KillFacts(killed_at=self.killed_at if self.killed_at is not None else 0.0, rounds=tuple(self.rounds),
                         budget_s=budget_s, restarted_at=self.restarted_at, back_at=self.back_at,
                         apply_error=self.apply_error, stopped=self.stopped, windows=self.windows)

    def to_journal(self) -> dict[str, Any]:
        outcome = self.outcome
        return {
            "number": self.number, "group": self.decision.group, "container": self.container.name,
            "container_id": self.container.id, "fault": self.fault.describe() if self.fault else None,
            "kind": self.fault.kind if self.fault else None, "how": self.how, "virtual_at": self.virtual_at,
            "draw": round(self.decision.draw, 6), "probability": round(self.decision.probability, 6),
            "killed_at": _r(self.killed_at), "restarted_at": _r(self.restarted_at), "back_at": _r(self.back_at),
            "verdict": outcome.verdict.name if outcome else None, "reasons": list(outcome.reasons) if outcome else [],
            "time_to_detect_s": _r(outcome.time_to_detect_s) if outcome else None,
            "time_to_recover_s": _r(outcome.time_to_recover_s) if outcome else None,
            "downtime_s": _r(self.back_at - self.killed_at) if self.back_at is not None and self.killed_at is not None else None,
            "overlapped_with": sorted(self.overlapped), "stopped": self.stopped, "revert_error": self.revert_error,
            "windows": [{"probe": w.probe, "ok": w.ok, "inconclusive": w.inconclusive, "detail": w.detail}
                        for w in self.windows],
            "violations": [{"t": _r(r.t), "probe": v.probe, "detail": v.detail, "detection": v.detection}
                           for r in self.rounds for v in r.violations][:20],
        }


@dataclass(frozen=True)
class MonkeyReport:
    verdict: Verdict
    reasons: tuple[str, ...]
    kills: tuple[dict[str, Any], ...]
    would_kills: int
    skipped: Mapping[str, int]
    stopped_by: str | None
    journal_path: Path | None

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


class Monkey:
    """One monkey run. Cheap to construct; :meth:`run` does everything, and always cleans up."""

    def __init__(
        self,
        config: MonkeyConfig,
        backends: Backends,
        ledger: Ledger,
        journal: MonkeyJournal,
        *,
        seed: int,
        leashed: bool | None = None,
        time_scale: float = 1.0,
        duration_s: float | None = None,
        ignore_schedule: bool = False,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        parallel: int = PARALLEL,
        host_kills: bool = True,
    ):
        if time_scale <= 0:
            raise ValueError(f"time scale must be > 0, got {time_scale}")
        policy = config.policy
        if leashed is not None:
            policy = replace(policy, leashed=leashed)
        if ignore_schedule:
            policy = replace(policy, schedule=Schedule(timezone=policy.schedule.timezone))
        self.config = config
        self.policy = policy
        self.backends = backends
        self.ledger = ledger
        self.journal = journal
        self.seed = seed
        self.time_scale = time_scale
        self.duration_s = duration_s
        self.observer: Observer = observer if observer is not None else SteadyStateObserver(
            config.steady_state, backends, config.environment.compose_project)
        self.clock = clock
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.parallel = max(1, parallel)
        self.host_kills = host_kills  # False: every kill through the engine's API (the bench compares both)
        self.kills: list[KillRecord] = []
        self.state = MonkeyState()
        self._t0 = clock()
        self._loop_t0 = self._t0
        self._wall0 = wall_clock()
        self._window_open: bool | None = None
        self._outage: str | None = None
        self._would_kills = 0
        self._skipped: Counter[str] = Counter()
        self._stopped_by: str | None = None
        journal.bind_clock(self.elapsed)

    def elapsed(self) -> float:
        return self.clock() - self._t0

    # -- the pieces (the bench times these) ---------------------------------------------

    def list_containers(self) -> list[Container]:
        """Opted-in containers of the project, any state: one sparse list call, filtered by label on the engine."""
        labels = {k: v for k, v in self.policy.opt_in.items()}
        if self.policy.project:
            labels[COMPOSE_PROJECT_LABEL] = self.policy.project
        # Glob values cannot be filtered by the engine: ask for the key only and let the selector match.
        engine_labels: dict[str, str | None] = {k: (None if _GLOB & set(v) else v) for k, v in labels.items()}
        return [Container.from_summary(s) for s in self.backends.engine.list_summaries(engine_labels)]

    def tick_at(self, index: int) -> Tick:
        """Tick ``index`` on the monkey's clock: wall time at the loop's start plus index x tick x time scale."""
        span = self.policy.tick_s * self.time_scale
        return Tick(index, datetime.fromtimestamp(self._wall0 + index * span, tz=timezone.utc), span)

    def plan_tick(self, index: int, containers: Sequence[Container] | None = None) -> TickPlan:
        """List (unless given), select and decide: one scheduling tick, nothing carried out."""
        if containers is None:
            containers = self.list_containers()
        return decide(self.policy, self.seed, self.tick_at(index), containers, self._state_now())

    def execute(self, plan: TickPlan) -> list[KillRecord]:
        """Log every decision and carry out the kills: ledger first, then the signal; in parallel, bounded."""
        for decision in plan.decisions:
            self._log_decision(plan, decision)
        chosen = [d for d in plan.kills if d.container is not None]
        if not chosen:
            return []
        open_before = [k for k in self.kills if k.open]
        records = []
        for decision in chosen:
            record = KillRecord(len(self.kills) + 1, decision, decision.container, plan.tick.now)  # type: ignore[arg-type]
            self.kills.append(record)  # tracked before anything happens, so a stop reverts it whatever comes next
            records.append(record)
        self._parallel(self._kill, records)
        gone = [r for r in records if r.vanished]
        for record in gone:
            # Stopped or removed since the list was taken: nothing was recorded or killed, so no kill.
            self.kills.remove(record)
            self._skipped["gone"] += 1
            log.info("monkey.skipped", group=record.decision.group, container=record.container.name, reason="gone",
                     detail=record.vanished)
            self.journal.event("monkey.skipped", group=record.decision.group, container=record.container.name,
                               reason="gone", detail=record.vanished)
        records = [r for r in records if not r.vanished]
        first = len(self.kills) - len(records) + 1
        for offset, record in enumerate(records):
            record.number = first + offset
        for record in records:
            others = [k for k in open_before + records if k is not record]
            record.overlapped.update(k.number for k in others)
            for other in open_before:
                other.overlapped.add(record.number)
            if record.apply_error is not None:
                log.error("monkey.kill_failed", container=record.container.name, error=record.apply_error)
                self.journal.event("monkey.kill_failed", number=record.number, container=record.container.name,
                                   error=record.apply_error)
                self._revert_many([record])  # a half-applied kill is undone like any other
                self._close(record)
        return records

    def revert_open(self) -> list[KillRecord]:
        """Start every killed container that was not started again yet (the stop path, and the bench)."""
        due = [k for k in self.kills if not k.reverted]
        self._revert_many(due)
        return due

    # -- the run ---------------------------------------------------------------------

    def run(self) -> MonkeyReport:
        """Baseline, then ticks until ``duration_s`` or a signal; reverts what is in flight and writes the journal."""
        error: str | None = None
        drain = False
        with signals_abort():
            try:
                self._preflight()
                self.observer.start()
                self._baseline()
                self._loop()
                drain = True
            except Aborted as exc:
                self._stopped_by = str(exc)
            except ChaoskitError as exc:
                error = str(exc)
                self._stopped_by = "error"
                log.error("monkey.error", error=error)
            finally:
                self._stop(drain)
        return self._finish(error)

    def _preflight(self) -> None:
        if not self.policy.leashed:
            self.ledger.require_clean()
        containers = self.list_containers()  # fails here, with the engine's address, if it does not answer
        plan = self.plan_tick(0, containers)
        self.journal.event("monkey.started", eligible=plan.eligible, groups=plan.groups, excluded=plan.excluded)
        log.info("monkey.started", title=self.config.title, leashed=self.policy.leashed, seed=self.seed,
                 time_scale=self.time_scale, eligible=plan.eligible, groups=plan.groups, excluded=plan.excluded,
                 probability_per_tick=round(plan.probability, 6), schedule=str(self.policy.schedule))
        if not plan.eligible:
            log.warning("monkey.no_eligible", opt_in=dict(self.policy.opt_in), project=self.policy.project)

    def _baseline(self) -> None:
        """Observe the steady state before any kill; relative tolerances compare with these rounds."""
        end = self.elapsed() + self.config.baseline_s
        while True:
            self._round(Phase.BASELINE)
            if self.elapsed() + self.config.probe_interval_s > end:
                break
            self.sleep(self.config.probe_interval_s)
        self.observer.fix_baseline()
        held = self._outage is None
        self.journal.event("monkey.baseline", held=held, outage=self._outage)
        log.info("monkey.baseline", held=held, outage=self._outage)

    def _loop(self) -> None:
        tick_s, interval = self.policy.tick_s, self.config.probe_interval_s
        self._loop_t0 = self.elapsed()
        self._wall0 = self.wall_clock()
        next_round = self._loop_t0 + interval
        next_tick = self._loop_t0
        index = -1
        while True:
            now = self.elapsed()
            if self.duration_s is not None and now >= self.duration_s:
                self._stopped_by = "duration"
                break
            if now >= next_round:
                self._round(Phase.FAULT)
                # Late rounds are skipped, not bunched.
                next_round += interval * (int((self.elapsed() - next_round) // interval) + 1)
            if self.elapsed() >= next_tick:
                # Late ticks are skipped too: the schedule clock stays tied to the wall clock.
                index = max(index + 1, int((self.elapsed() - self._loop_t0) // tick_s))
                containers = self.list_containers()
                self._service(containers)
                plan = self.plan_tick(index, containers)
                self._transitions(plan)
                self.execute(plan)
                self.state = advance(self.state, plan)
                next_tick = self._loop_t0 + (index + 1) * tick_s
            wake = min(next_tick, next_round)
            if self.duration_s is not None:
                wake = min(wake, self.duration_s)
            self.sleep(max(0.0, wake - self.elapsed()))

    def _stop(self, drain: bool) -> None:
        """Start every killed container again; after --duration, wait (at most the budget) for open kills' verdicts."""
        self._revert_with_retry_on_abort()
        if drain and any(k.open for k in self.kills):
            try:
                deadline = self.elapsed() + self.config.recovery_budget_s + self.config.probe_interval_s
                while any(k.open for k in self.kills) and self.elapsed() < deadline:
                    self.sleep(self.config.probe_interval_s)
                    self._round(Phase.FAULT)
                    self._service(self.list_containers())
            except Aborted as exc:
                self._stopped_by = f"{self._stopped_by}; then {exc}"
            except ChaoskitError as exc:
                log.error("monkey.error", error=str(exc))
        for record in self.kills:
            if record.open:
                record.stopped = self._stopped_by or "stopped"
                self._close(record)
        try:
            self.observer.stop()
        except ChaoskitError as exc:
            log.error("monkey.error", error=str(exc))

    def _revert_with_retry_on_abort(self) -> None:
        # A second, different signal while reverting must not leave a container down.
        for _ in range(3):
            try:
                self.revert_open()
                return
            except Aborted:
                continue

    def _finish(self, error: str | None) -> MonkeyReport:
        judged = [k for k in self.kills if k.outcome is not None
                  and not (k.stopped and k.outcome.verdict is Verdict.INCONCLUSIVE)]
        reasons: tuple[str, ...]
        if error is not None:
            verdict, reasons = Verdict.ERROR, (f"the monkey could not go on: {error}",)
        elif judged:
            verdict = combine(k.outcome.verdict for k in judged)  # type: ignore[union-attr]
            counts = Counter(k.outcome.verdict.name for k in judged)  # type: ignore[union-attr]
            worst = [k for k in judged if k.outcome.verdict is verdict]  # type: ignore[union-attr]
            reasons = (", ".join(f"{n} {name}" for name, n in sorted(counts.items())) + f" of {len(self.kills)} kill(s)",
                       *(f"kill {k.number} ({k.container.name}): {k.outcome.reasons[0]}"  # type: ignore[union-attr]
                         for k in (worst[:5] if verdict is not Verdict.TOLERATED else [])))
        else:
            verdict = Verdict.TOLERATED
            leash = f" (leashed: {self._would_kills} would-be kill(s))" if self.policy.leashed else ""
            reasons = (f"no kill was judged{leash}",)
        unreverted = [k for k in self.kills if not k.reverted]
        if unreverted:
            verdict = Verdict.ERROR
            reasons = (f"{len(unreverted)} killed container(s) could not be started again: "
                       + ", ".join(f"{k.container.name} ({k.revert_error})" for k in unreverted)
                       + "; run `chaoskit rollback`", *reasons)
        kills = tuple(plain(k.to_journal()) for k in self.kills)
        summary = {"kills": sum(1 for k in self.kills if k.apply_error is None), "would_kills": self._would_kills,
                   "skipped": dict(self._skipped),
                   "verdicts": dict(Counter(k.outcome.verdict.name for k in self.kills if k.outcome))}
        path = self.journal.finish(stopped_by=self._stopped_by, summary=summary, verdict=verdict.name,
                                   reasons=list(reasons), load=self.observer.journal())
        log.info("monkey.stopped", stopped_by=self._stopped_by, verdict=verdict.name, **summary)
        return MonkeyReport(verdict, tuple(reasons), kills, self._would_kills, dict(self._skipped), self._stopped_by, path)

    # -- steps -------------------------------------------------------------------------

    def _round(self, phase: Phase) -> Round:
        round_ = self.observer.observe(self.elapsed(), phase)
        for record in self.kills:
            if record.open and record.killed_at is not None and round_.t >= record.killed_at:
                record.rounds.append(round_)
        outage = round_.outage()
        if (outage is None) != (self._outage is None):
            event = "monkey.outage_started" if outage else "monkey.outage_ended"
            (log.warning if outage else log.info)(event, reason=outage)
            self.journal.event(event, reason=outage)
        self._outage = outage
        return round_

    def _service(self, containers: Sequence[Container]) -> None:
        """Restart containers whose downtime is over, note which are back, judge the kills that are done."""
        now = self.elapsed()
        due = [k for k in self.kills if k.open and not k.reverted and k.revert_due is not None and now >= k.revert_due]
        self._revert_many(due)
        by_id = {c.id: c for c in containers}
        for record in self.kills:
            if not record.open or record.restarted_at is None:
                continue
            if record.back_at is None:
                seen = by_id.get(record.container.id)
                # The list is only a cheap first look: right after a kill from the host the engine may
                # not have processed the exit yet, so "back" also needs a new main process.
                if seen is not None and seen.state == "running" and seen.health in (None, "healthy") \
                        and self._restarted(record):
                    record.back_at = self.elapsed()
                    if not record.reverted:  # restart policy: it came back by itself; close the ledger entry
                        self._revert_many([record])
            if settled(record.facts(self.config.recovery_budget_s), self.elapsed()):
                if not record.reverted:  # out of budget and the restart policy did not bring it back
                    self._revert_many([record])
                self._close(record)

    def _close(self, record: KillRecord) -> None:
        if record.killed_at is not None and record.apply_error is None:
            # The window ends where the steady state settled again, or now (out of budget, or stopped).
            end = recovered_at(record.facts(self.config.recovery_budget_s))
            end = self.elapsed() if end is None else end
            # The observer's load runs on the monkey's clock (time.monotonic): elapsed + t0 is its time.
            record.windows = self.observer.judge_kill(self._t0 + record.killed_at, self._t0 + end)
        record.outcome = classify(record.facts(self.config.recovery_budget_s))
        outcome = record.outcome
        fields = dict(number=record.number, group=record.decision.group, container=record.container.name,
                      verdict=outcome.verdict.name, reasons=list(outcome.reasons),
                      time_to_detect_s=_r(outcome.time_to_detect_s), time_to_recover_s=_r(outcome.time_to_recover_s))
        (log.info if outcome.verdict is Verdict.TOLERATED else log.warning)("monkey.classified", **fields)
        self.journal.event("monkey.classified", **fields)
        self.journal.kill(record.to_journal())

    def _transitions(self, plan: TickPlan) -> None:
        if plan.window_open != self._window_open:
            event = "monkey.window_opened" if plan.window_open else "monkey.window_closed"
            log.info(event, at=plan.tick.now.astimezone(self.policy.schedule.zone()).isoformat(),
                     schedule=str(self.policy.schedule))
            self.journal.event(event, virtual_at=plan.tick.now)
            self._window_open = plan.window_open
        log.debug("monkey.tick", tick=plan.tick.index, eligible=plan.eligible, groups=plan.groups,
                  fired=len(plan.decisions), window_open=plan.window_open)

    def _log_decision(self, plan: TickPlan, decision: Decision) -> None:
        fields: dict[str, Any] = dict(group=decision.group, container=decision.container.name if decision.container else None,
                                      tick=plan.tick.index, virtual_at=plan.tick.now.isoformat(),
                                      draw=round(decision.draw, 6), probability=round(decision.probability, 6))
        if decision.action is Action.SKIPPED:
            assert decision.skip is not None
            self._skipped[decision.skip.value] += 1
            fields.update(reason=decision.skip.value, detail=decision.detail)
        elif decision.action is Action.WOULD_KILL:
            self._would_kills += 1
        event = f"monkey.{decision.action.value}"
        log.info(event, **fields)
        self.journal.event(event, **fields)

    def _state_now(self) -> MonkeyState:
        open_kills = [k for k in self.kills if k.open]
        return replace(self.state, groups_in_flight=frozenset(k.decision.group for k in open_kills),
                       in_flight=len(open_kills), outage=self._outage)

    # -- side effects, one container each (run in parallel) ---------------------------

    def _plan_kill(self, container: Container) -> tuple[Fault, Any, int]:
        """The fault to record for this kill, and the main process to signal from the host (None: use the API).

        Through the API a SIGKILL is a *manual stop*: the restart policy ignores it,
        which the downtime needs, and the call returns only once the engine has
        processed the exit (~0.1 s each, engine-bound). A signal to the main process
        from the host is a *crash*: instant (the engine records the exit by itself
        moments later), and the restart policy reacts to it,
        which ``restart: policy`` needs. So the host is used for ``restart: policy``,
        and for containers whose restart policy is "no" (where the two are the same
        thing, only faster); the API otherwise, or when the main process cannot be
        reached from here (a remote engine, chaoskit in its own PID namespace).
        """
        target = container.ref()
        signal = self.config.kill.signal
        attrs = self.backends.engine.inspect(container.id)
        state = attrs.get("State") or {}
        if not state.get("Running"):
            raise TargetNotFound(f"{container.name} is not running any more")
        restart_policy = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
        crash = self.config.kill.restart == "policy"
        from_host = self.host_kills and self._local_engine() and (crash or restart_policy == "no")
        main = container_process(container.id, state.get("Pid") or 0) if from_host else None
        if crash:
            if main is None:
                raise ApplyFailed(f"{container.name}: restart: policy crashes the main process from the host, which "
                                  f"needs chaoskit on the Docker host (root, host PID namespace, Linux >= 5.3)")
        elif main is None:
            return build("container.kill", {"signal": signal}, target), None, state.get("Pid") or 0
        fault = build("process.kill", {"name": main.name(), "signal": signal}, target)
        fault.state["pids"] = [main.pid]
        return fault, main, main.pid

    def _local_engine(self) -> bool:
        where = self.backends.docker_host or os.environ.get("DOCKER_HOST") or "unix://"
        return where.startswith("unix://")

    def _kill(self, record: KillRecord) -> None:
        try:
            fault, main, record.killed_pid = self._plan_kill(record.container)
            record.fault = fault
            record.how = f"host: {self.config.kill.signal} to the main process (pid {main.pid})" if main else \
                f"engine API: {self.config.kill.signal}"
            revert = {**fault.record(), "docker_host": self.backends.docker_host,
                      "toxiproxy_url": self.backends.toxiproxy_url}
            record.ledger_id = self.ledger.record_pending(FaultRecord(
                run_id=self.journal.run_id, fault=fault.kind, revert=revert, target=fault.target_label))
            record.killed_at = self.elapsed()
            if main is not None:
                # The main process only: when a PID namespace's init dies the kernel kills the rest.
                # Checked again as it is signalled: its PID may have gone to another process since the plan.
                if not signal_container_process(record.container.id, main.pid, self.config.kill.signal):
                    raise TargetNotFound(f"{record.container.name}: its main process (pid {main.pid}) "
                                         f"was gone before the signal")
            else:
                fault.apply(self.backends)
        except TargetNotFound as exc:
            if record.ledger_id is None:
                record.vanished = str(exc)
            else:
                record.apply_error = str(exc)
            return
        except ChaoskitError as exc:
            record.apply_error = str(exc)
            return
        if self.config.kill.restart == "policy":
            record.restarted_at = record.killed_at  # the restart policy reacts at once
        else:
            record.revert_due = record.killed_at + self.config.kill.downtime_s
        log.info("monkey.killed", number=record.number, container=record.container.name, how=record.how)

    def _restarted(self, record: KillRecord) -> bool:
        """Whether the container runs a main process other than the one killed (and is healthy, if it checks)."""
        try:
            state = self.backends.engine.inspect(record.container.id).get("State") or {}
        except ChaoskitError:
            return False
        health = (state.get("Health") or {}).get("Status")
        return bool(state.get("Running")) and (state.get("Pid") or 0) not in (0, record.killed_pid) \
            and health in (None, "healthy")

    def _exit_seen(self, record: KillRecord, timeout_s: float = 10.0) -> None:
        """Wait (bounded) until the engine has processed the killed process's exit.

        After a kill from the host the engine still says "running" for a moment;
        a revert in that moment would find nothing to start and the container
        would then stay down. (An API kill returns after the exit, so this is
        immediate; a signal the process ignored times out, and nothing needs reverting.)
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                state = self.backends.engine.inspect(record.container.id).get("State") or {}
            except ChaoskitError:
                return
            if not state.get("Running") or (state.get("Pid") or 0) != record.killed_pid:
                return
            time.sleep(0.05)

    def _revert_one(self, record: KillRecord) -> None:
        if record.reverted:
            return
        if record.fault is not None:
            if record.killed_at is not None and record.killed_pid:
                self._exit_seen(record)
            try:
                record.fault.revert(self.backends)
            except TargetNotFound as exc:
                # Removed meanwhile (compose down): nothing is left to start, nothing stays broken by us.
                log.warning("monkey.revert_gone", container=record.container.name, error=str(exc))
            except ChaoskitError as exc:
                record.revert_error = str(exc)
                if record.ledger_id is not None:
                    self.ledger.record_revert_failure(record.ledger_id, str(exc))
                log.error("monkey.revert_failed", container=record.container.name, error=str(exc))
                return
            if record.ledger_id is not None:
                self.ledger.mark_reverted(record.ledger_id)
        record.reverted = True
        record.revert_error = None
        if record.restarted_at is None:
            record.restarted_at = self.elapsed()
        log.info("monkey.reverted", number=record.number, container=record.container.name)

    def _revert_many(self, records: Sequence[KillRecord]) -> None:
        pending = [r for r in records if not r.reverted]
        self._parallel(self._revert_one, pending)
        for record in pending:
            if record.reverted:
                self.journal.event("monkey.reverted", number=record.number, container=record.container.name)

    def _parallel(self, work: Callable[[KillRecord], None], records: Sequence[KillRecord]) -> None:
        if len(records) <= 1:
            for record in records:
                work(record)
            return
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(records)), thread_name_prefix="chaoskit-monkey") as pool:
            for future in [pool.submit(work, r) for r in records]:
                future.result()


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

