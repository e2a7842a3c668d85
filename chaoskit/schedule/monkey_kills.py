"""The monkey's kills: what one kill is (:class:`KillRecord`) and how kills are carried out and undone.

:class:`KillExecutor` kills, waits for the engine to see the exit, and starts
containers again; every kill goes through a :class:`~chaoskit.run.acts.FaultAct`,
so it is in the ledger (fsync'd) before the signal is sent and marked
reverted only once the container was started again. When to kill is the
policy's (:mod:`chaoskit.schedule.monkey_policy`), how a kill went the
verdict's (:mod:`chaoskit.schedule.monkey_verdict`).

A kill is a SIGKILL either through the engine's API (a *manual stop*: the
restart policy leaves the container down for chaoskit to start after
``kill.downtime``) or, where that makes no difference or a crash is wanted
(``kill.restart: policy``), straight to the container's main process from the
host, which is instant; see :meth:`KillExecutor.plan`. Either way the ledger
holds a fault whose revert starts the container if it is not running, so
``chaoskit rollback`` can undo a monkey that died.

On a pod backend (Kubernetes) a kill is the config's ``kill.fault``:
``pod.delete`` (the owner replaces the pod) or ``container.kill`` (the node
agent signals the main process, the kubelet restarts it); the cluster brings
the target back by itself, and the revert only waits for that.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.host import container_process, signal_container_process
from chaoskit.adapters.target_backend import PodBackend
from chaoskit.errors import ApplyFailed, ChaoskitError, TargetNotFound
from chaoskit.faults.base import Fault, TargetRef
from chaoskit.faults.catalogue import build
from chaoskit.log import get_logger
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.ledger import Ledger
from chaoskit.schedule.monkey_config import PARALLEL, KillSpec
from chaoskit.schedule.monkey_policy import Decision
from chaoskit.schedule.monkey_verdict import KillFacts, KillOutcome, Round
from chaoskit.targets.container import Container
from chaoskit.verdict import ProbeResult

__all__ = ["KillExecutor", "KillRecord"]

log = get_logger("chaoskit.monkey")


@dataclass
class KillRecord:
    """One kill as the controller tracks it, from the decision to its verdict (controller-private, mutable)."""

    number: int
    decision: Decision
    container: Container
    virtual_at: datetime
    act: FaultAct | None = None  # the fault recorded and applied; None until planned
    how: str = ""  # how the signal was sent: through the engine's API or from the host
    killed_pid: int = 0  # the main process killed (host PID namespace): "back" means another one runs
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

    @property
    def fault(self) -> Fault | None:
        return self.act.fault if self.act is not None else None

    def facts(self, budget_s: float) -> KillFacts:
        return KillFacts(killed_at=self.killed_at if self.killed_at is not None else 0.0, rounds=tuple(self.rounds),
                         budget_s=budget_s, restarted_at=self.restarted_at, back_at=self.back_at,
                         apply_error=self.apply_error, stopped=self.stopped, windows=self.windows)

    def classified(self) -> dict[str, Any]:
        """The kill's verdict in a few fields (the ``monkey.classified`` event); call once it has an outcome."""
        outcome = self.outcome
        assert outcome is not None
        return dict(number=self.number, group=self.decision.group, container=self.container.name,
                    verdict=outcome.verdict.name, reasons=list(outcome.reasons),
                    time_to_detect_s=_r(outcome.time_to_detect_s), time_to_recover_s=_r(outcome.time_to_recover_s))

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




class KillExecutor:
    """Kills containers, waits for the engine to see the exits, and starts them again; many at once, bounded."""

    def __init__(self, kill: KillSpec, backends: Backends, ledger: Ledger, run_id: str,
                 elapsed: Callable[[], float], parallel: int = PARALLEL):
        self.kill = kill
        self.backends = backends
        self.ledger = ledger
        self.run_id = run_id
        self.elapsed = elapsed  # the controller's clock: kill and restart times are read on it
        self.parallel = max(1, parallel)

    def kill_all(self, records: Sequence[KillRecord]) -> None:
        """Kill each record's container: ledger first, then the signal. Failures are noted on the records."""
        self._each(self._kill_one, records)

    def revert_all(self, records: Sequence[KillRecord]) -> None:
        """Start each killed container again, then mark its kill reverted; failures are noted on the records."""
        self._each(self._revert_one, [r for r in records if not r.reverted])

    def plan(self, container: Container) -> tuple[Fault, Any, int]:
        """The fault to record for this kill, the main process to signal from the host (None: the backend), its pid."""
        if isinstance(self.backends.targets, PodBackend):
            return self._pod_plan(container), None, 0
        return self._docker_plan(container)

    def _pod_plan(self, container: Container) -> Fault:
        """On Kubernetes: the pod deleted (its owner replaces it) or its container killed through the node agent
        (the kubelet restarts it); either way the platform brings it back, as ``restart: policy`` says."""
        if container.state != "running":
            raise TargetNotFound(f"{container.name} is not running any more")
        params = {"signal": self.kill.signal} if self.kill.fault == "container.kill" else {}
        fault = build(self.kill.fault, params, container.ref())
        fault.prepare(self.backends)  # pod.delete: how many Ready pods its owner must have again
        return fault

    def back(self, record: KillRecord, containers: Sequence[Container]) -> bool:
        """Whether a killed target is back, from this tick's list (and, on Docker, a look at its main process)."""
        if record.fault is not None and record.fault.kind == "pod.delete":
            # Its owner has as many Ready pods as before the delete, the deleted one not among them.
            owner, wanted = record.container.owner, int(record.fault.state.get("ready_before", 1))
            return sum(1 for c in containers if c.owner == owner and c.namespace == record.container.namespace
                       and c.id != record.container.id and _serving(c)) >= wanted
        seen = next((c for c in containers if c.id == record.container.id), None)
        if seen is None or not _serving(seen):
            return False
        if isinstance(self.backends.targets, PodBackend):  # the kubelet restarted it: another container runs
            return seen.where.get("container_id") not in ("", record.container.where.get("container_id"))
        # The list is only a cheap first look: right after a kill from the host the engine may
        # not have processed the exit yet, so "back" also needs a new main process.
        return self.restarted(record)

    def _docker_plan(self, container: Container) -> tuple[Fault, Any, int]:
        """On Docker: through the API a SIGKILL is a *manual stop*: the restart policy ignores it,
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
        attrs = self.backends.engine.inspect(container.id)
        state = attrs.get("State") or {}
        if not state.get("Running"):
            raise TargetNotFound(f"{container.name} is not running any more")
        restart_policy = ((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no"
        crash = self.kill.restart == "policy"
        from_host = self._local_engine() and (crash or restart_policy == "no")
        main = container_process(container.id, state.get("Pid") or 0) if from_host else None
        if crash:
            if main is None:
                raise ApplyFailed(f"{container.name}: restart: policy crashes the main process from the host, which "
                                  f"needs chaoskit on the Docker host (root, host PID namespace, Linux >= 5.3)")
        elif main is None:
            return build("container.kill", {"signal": self.kill.signal}, target), None, state.get("Pid") or 0
        return build("process.kill", {"name": main.name(), "signal": self.kill.signal}, target), main, main.pid

    def restarted(self, record: KillRecord) -> bool:
        """Whether the container runs a main process other than the one killed (and is healthy, if it checks)."""
        try:
            state = self.backends.engine.inspect(record.container.id).get("State") or {}
        except ChaoskitError:
            return False
        health = (state.get("Health") or {}).get("Status")
        return bool(state.get("Running")) and (state.get("Pid") or 0) not in (0, record.killed_pid) \
            and health in (None, "healthy")

    def _local_engine(self) -> bool:
        where = self.backends.docker_host or os.environ.get("DOCKER_HOST") or "unix://"
        return where.startswith("unix://")

    def _kill_one(self, record: KillRecord) -> None:
        signal = self.kill.signal
        try:
            fault, main, record.killed_pid = self.plan(record.container)
            record.act = FaultAct(fault, self.backends, self.ledger, self.run_id)
            record.how = (f"host: {signal} to the main process (pid {main.pid})" if main
                          else f"engine API: {signal}" if self.backends.targets.kind == "docker"
                          else f"{self.backends.targets.kind}: {fault.describe()}")

            def deliver() -> None:
                record.killed_at = self.elapsed()
                if main is None:
                    fault.apply(self.backends)
                # The main process only: when a PID namespace's init dies the kernel kills the rest.
                # Checked again as it is signalled: its PID may have gone to another process since the plan.
                elif not signal_container_process(record.container.id, main.pid, signal):
                    raise TargetNotFound(f"{record.container.name}: its main process (pid {main.pid}) "
                                         f"was gone before the signal")

            record.act.apply(deliver)
        except TargetNotFound as exc:
            if record.act is None or not record.act.recorded:
                record.vanished = str(exc)
            else:
                record.apply_error = str(exc)
            return
        except ChaoskitError as exc:
            record.apply_error = str(exc)
            return
        if self.kill.restart == "policy":
            record.restarted_at = record.killed_at  # the restart policy reacts at once
        else:
            record.revert_due = record.killed_at + self.kill.downtime_s  # type: ignore[operator]
        log.info("monkey.killed", number=record.number, container=record.container.name, how=record.how)

    def _wait_for_exit(self, record: KillRecord, timeout_s: float = 10.0) -> None:
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
        if record.act is not None:
            if record.killed_at is not None and record.killed_pid:
                self._wait_for_exit(record)

            def gone(exc: TargetNotFound) -> None:
                # Removed meanwhile (compose down): nothing is left to start, nothing stays broken by us.
                log.warning("monkey.revert_gone", container=record.container.name, error=str(exc))

            try:
                record.act.revert(on_gone=gone)
            except ChaoskitError as exc:
                record.revert_error = str(exc)
                log.error("monkey.revert_failed", container=record.container.name, error=str(exc))
                return
        record.reverted = True
        record.revert_error = None
        if record.restarted_at is None:
            record.restarted_at = self.elapsed()
        log.info("monkey.reverted", number=record.number, container=record.container.name)

    def _each(self, work: Callable[[KillRecord], None], records: Sequence[KillRecord]) -> None:
        errors = in_parallel(work, records, self.parallel, thread_name_prefix="chaoskit-monkey")
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first


def _serving(target: Container) -> bool:
    return target.state == "running" and target.health in (None, "healthy")


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
