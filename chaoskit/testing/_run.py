"""Fakes for driving a run without the world: a hand-moved clock, faults that record, scripted probes, a journal."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.errors import Aborted, ApplyFailed, RevertFailed
from chaoskit.faults.base import Fault, TargetRef
from chaoskit.model.params import FaultSignature, Params
from chaoskit.model.probes import Probe
from chaoskit.model.tolerance import evaluate_checks
from chaoskit.run.ledger import Ledger
from chaoskit.run.observe import ProbeReading

__all__ = ["FakeClock", "FakeFault", "FakeFaults", "FakeProbes", "FaultCall", "JournalCapture"]


class FakeClock:
    """A monotonic clock that moves only when slept on: pass it as ``clock`` and its :meth:`sleep` as ``sleep``.

    ``epoch``: what :meth:`wall` (a ``time.time`` stand-in) says at ``now == 0``.
    ``min_sleep``: the least a sleep advances, so a loop that sleeps 0 still
    moves on. ``interrupt_at``: the first sleep that reaches it raises
    :class:`~chaoskit.errors.Aborted`, as SIGTERM does in a real run.
    """

    def __init__(self, now: float = 0.0, *, epoch: float = 0.0, min_sleep: float = 0.0,
                 interrupt_at: float | None = None):
        self.now = now
        self.epoch = epoch
        self.min_sleep = min_sleep
        self.interrupt_at = interrupt_at

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.epoch + self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, self.min_sleep)
        if self.interrupt_at is not None and self.now >= self.interrupt_at:
            self.interrupt_at = None
            raise Aborted("interrupted by SIGTERM")


@dataclass(frozen=True)
class FaultCall:
    """One apply or revert of a :class:`FakeFault`; ``pending`` says whether the ledger held it as pending then."""

    action: str  # "apply" or "revert"
    token: str
    pending: bool | None  # None when the fake was given no ledger to look at


@dataclass
class FakeFault(Fault):
    """A fault that touches nothing: it notes each apply and revert in ``calls`` and fails when told to.

    ``fail_apply``: its apply raises ApplyFailed. ``revert_failures``: that
    many reverts raise RevertFailed before one succeeds.
    """

    kind: ClassVar[str] = "fake.fault"
    signature: ClassVar[FaultSignature] = FaultSignature(target="optional", doc="A fault that touches nothing.")

    calls: list[FaultCall] = field(default_factory=list)
    ledger: Ledger | None = None
    fail_apply: bool = False
    revert_failures: int = 0
    applied: bool = False

    def describe(self) -> str:
        return f"fake fault {self.token} on {self.target_label}"

    def apply(self, backends: Backends) -> None:
        self._note("apply")
        if self.fail_apply:
            raise ApplyFailed(f"{self.describe()}: told to fail")
        self.applied = True

    def revert(self, backends: Backends) -> None:
        self._note("revert")
        if self.revert_failures > 0:
            self.revert_failures -= 1
            raise RevertFailed(f"{self.describe()}: told to fail")
        self.applied = False

    def _note(self, action: str) -> None:
        pending = None
        if self.ledger is not None:
            pending = any(e.revert.get("token") == self.token for e in self.ledger.pending())
        self.calls.append(FaultCall(action, self.token, pending))


class FakeFaults:
    """Builds :class:`FakeFault` instances for every step, whatever its kind: a Runner's ``build_fault``.

    Every fault shares one ``calls`` list, so the order of applies and reverts
    across faults can be checked; with a ``ledger`` each call also notes
    whether the fault was recorded as pending at that moment.
    """

    def __init__(self, ledger: Ledger | None = None, *, fail_apply: bool = False, revert_failures: int = 0):
        self.ledger = ledger
        self.fail_apply = fail_apply
        self.revert_failures = revert_failures
        self.calls: list[FaultCall] = []
        self.built: list[FakeFault] = []

    def __call__(self, kind: str, params: Mapping[str, Any], target: TargetRef | None = None) -> FakeFault:
        fault = FakeFault(Params(params), target, calls=self.calls, ledger=self.ledger, fail_apply=self.fail_apply,
                          revert_failures=self.revert_failures)
        self.built.append(fault)
        return fault

    @property
    def active(self) -> bool:
        """Whether any fault built here is applied now (what a fake probe reads to see the fault)."""
        return any(f.applied for f in self.built)


class FakeProbes:
    """Stands in for :func:`chaoskit.run.observe.observe` (a Runner's ``observe_probe``).

    ``subjects(probe)`` says what the probe sees now (``{"status": 200}``);
    the probe's own checks judge it, as in a real run.
    """

    def __init__(self, subjects: Callable[[Probe], Mapping[str, Any]]):
        self.subjects = subjects
        self.readings: list[ProbeReading] = []

    def __call__(self, probe: Probe, backends: Backends, project: str | None,
                 baseline: Mapping[str, Any] | None = None, self_baseline: bool = False) -> ProbeReading:
        subjects = dict(self.subjects(probe))
        judgement = evaluate_checks(probe.checks, subjects, subjects if self_baseline else baseline)  # type: ignore[union-attr]
        self.readings.append(ProbeReading(probe.name, subjects, judgement))
        return self.readings[-1]


class JournalCapture:
    """An in-memory journal for a Runner: events, observations and the verdict it finished with; writes nothing."""

    def __init__(self, run_id: str = "capture") -> None:
        self.run_id = run_id
        self.events: list[dict[str, Any]] = []
        self.observations: list[Any] = []
        self.finished: dict[str, Any] | None = None
        self._elapsed: Callable[[], float] = lambda: 0.0

    def bind_clock(self, elapsed: Callable[[], float]) -> None:
        self._elapsed = elapsed

    def event(self, name: str, **fields: Any) -> None:
        self.events.append({"t": self._elapsed(), "event": name, **fields})

    def observation(self, observation: Any) -> None:
        self.observations.append(observation)

    def finish(self, verdict: Any, facts: Any, load: dict[str, Any] | None = None,
               prometheus: list[dict[str, Any]] | None = None) -> Path | None:
        self.finished = {"verdict": verdict, "facts": facts, "load": load, "prometheus": prometheus}
        return None

    def names(self) -> list[str]:
        """The events' names, in order."""
        return [e["event"] for e in self.events]
