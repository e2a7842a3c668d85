"""The Chaos Monkey controller: the loop that lists, decides, kills, watches, restarts and judges.

Policy lives in :mod:`chaoskit.schedule.monkey_policy` (what to kill, pure)
and :mod:`chaoskit.schedule.monkey_verdict` (how a kill went, pure); kills
are carried out and undone by :mod:`chaoskit.schedule.monkey_kills`, and the
steady state is observed by :mod:`chaoskit.schedule.monkey_observer`. This
module only sequences them. Each tick:

1. observe the steady state when a round is due (every ``probe_interval``);
   its latest round is the outage check (a load probe's one-second reading
   only *detects*, as in a run: it dates a violation, makes an outage and
   breaks a recovery streak; the kill's verdict judges its whole window, from
   the kill to its recovery, as :mod:`chaoskit.run.judging` judges a fault
   phase);
2. list the opted-in targets (one call to the target backend: containers or pods);
3. restart killed containers whose downtime is over, note which are back,
   and judge the kills that recovered or ran out of recovery budget;
4. decide (pure) and carry the decisions out: kills run in parallel (bounded),
   each recorded in the ledger before it is applied.

Invariants, the run loop's: a kill is in the ledger (fsync'd) before the
signal is sent, and marked reverted only once the container was started
again; whatever ends the monkey (``--duration``, SIGINT, SIGTERM, an error),
every container it killed is started again and the journal is written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.target_backend import TargetScan
from chaoskit.errors import Aborted, ChaoskitError
from chaoskit.log import get_logger
from chaoskit.run.interrupts import signals_abort
from chaoskit.run.ledger import Ledger
from chaoskit.schedule.monkey_config import MonkeyConfig, MonkeySettings
from chaoskit.journal import MonkeyJournal, plain
from chaoskit.schedule.monkey_kills import KillExecutor, KillRecord
from chaoskit.schedule.monkey_observer import Observer, SteadyStateObserver
from chaoskit.schedule.monkey_policy import Action, Decision, MonkeyState, Tick, TickPlan, advance, decide
from chaoskit.schedule.monkey_verdict import ClosedKill, Round, classify, overall, recovered_at, settled
from chaoskit.targets.container import Container
from chaoskit.verdict import Phase, Verdict

__all__ = ["Monkey", "MonkeyReport"]

log = get_logger("chaoskit.monkey")

_GLOB = set("*?[")


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

    def __init__(self, config: MonkeyConfig, backends: Backends, ledger: Ledger, journal: MonkeyJournal,
                 settings: MonkeySettings, *, observer: Observer | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.settings = settings
        self.policy = settings.policy(config.policy)
        self.backends = backends
        self.ledger = ledger
        self.journal = journal
        self.observer: Observer = observer if observer is not None else SteadyStateObserver(
            config.steady_state, backends, config.environment.compose_project)
        self.clock = clock
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.executor = KillExecutor(config.kill, backends, ledger, journal.run_id, self.elapsed, settings.parallel)
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
        """Opted-in targets of the project (or namespace), any state: one list call, filtered by label by the backend."""
        # Glob values cannot be filtered by the backend: ask for the key only and let the selector match.
        labels: dict[str, str | None] = {k: (None if _GLOB & set(v) else v) for k, v in self.policy.opt_in.items()}
        targets = self.backends.targets
        listing = targets.scan_targets if isinstance(targets, TargetScan) else targets.list_targets
        return listing(self.policy.project, labels)

    def tick_at(self, index: int) -> Tick:
        """Tick ``index`` on the monkey's clock: wall time at the loop's start plus index x tick x time scale."""
        span = self.policy.tick_s * self.settings.time_scale
        return Tick(index, datetime.fromtimestamp(self._wall0 + index * span, tz=timezone.utc), span)

    def plan_tick(self, index: int, containers: Sequence[Container] | None = None) -> TickPlan:
        """List (unless given), select and decide: one scheduling tick, nothing carried out."""
        if containers is None:
            containers = self.list_containers()
        return decide(self.policy, self.settings.seed, self.tick_at(index), containers, self._state_now())

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
        self.executor.kill_all(records)
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
        containers = self.list_containers()  # fails here, with the backend's address, if it does not answer
        plan = self.plan_tick(0, containers)
        self.journal.event("monkey.started", eligible=plan.eligible, groups=plan.groups, excluded=plan.excluded)
        log.info("monkey.started", title=self.config.title, leashed=self.policy.leashed, seed=self.settings.seed,
                 time_scale=self.settings.time_scale, eligible=plan.eligible, groups=plan.groups, excluded=plan.excluded,
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
        tick_s, interval, duration = self.policy.tick_s, self.config.probe_interval_s, self.settings.duration_s
        self._loop_t0 = self.elapsed()
        self._wall0 = self.wall_clock()
        next_round = self._loop_t0 + interval
        next_tick = self._loop_t0
        index = -1
        while True:
            now = self.elapsed()
            if duration is not None and now >= duration:
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
            if duration is not None:
                wake = min(wake, duration)
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
        verdict, reasons = overall(
            [ClosedKill(k.number, k.container.name, k.outcome, bool(k.stopped), k.reverted, k.revert_error)
             for k in self.kills], error=error, leashed=self.policy.leashed, would_kills=self._would_kills)
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
        for record in self.kills:
            if not record.open or record.restarted_at is None:
                continue
            if record.back_at is None and self.executor.back(record, containers):
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
        fields = record.classified()
        (log.info if record.outcome.verdict is Verdict.TOLERATED else log.warning)("monkey.classified", **fields)
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

    def _revert_many(self, records: Sequence[KillRecord]) -> None:
        pending = [r for r in records if not r.reverted]
        self.executor.revert_all(pending)
        for record in pending:
            if record.reverted:
                self.journal.event("monkey.reverted", number=record.number, container=record.container.name)

    def _state_now(self) -> MonkeyState:
        open_kills = [k for k in self.kills if k.open]
        return replace(self.state, groups_in_flight=frozenset(k.decision.group for k in open_kills),
                       in_flight=len(open_kills), outage=self._outage)
