"""The write audits in the run loop: visibility sampled in the background; readability and pending writes checked
once, after recovery.

* ``writes.visible``: a :class:`VisibilitySampler` keeps one measurement
  (:func:`chaoskit.measure.write_audits.visibility`) in flight in its own
  thread, starting one every ``every``. The run loop reads it each round and
  never waits for it: a late write must not hold back the faults, the stop
  conditions or the other probes. A finished measurement is judged on its
  lag (``value``, seconds); a write not visible within ``within`` is a
  violation that says so. A measurement still polling is reported only once
  the time since its acknowledgement already breaks the tolerance: the lag
  can only grow, so an upper bound already exceeded is a fact, seen when it
  happens rather than at the end of the wait. At the end of the run the lag
  distribution and the never-visible count are journaled (:meth:`WriteProbes.summaries`).
* ``writes.readable``: a :class:`ReadableAudit`, made once after the
  recovery phase with the load stopped: every id the load captured is read
  back and, with ``stored``, looked up in the store by a command run in its
  container. ``value`` is how many were lost; unverified ones make it
  inconclusive.
* ``writes.pending``: a :class:`PendingAudit`, made at the same time on the
  same ids: which the store still lists as not done after ``within``.

:meth:`WriteProbes.prepare` (the run's preflight) builds them, and refuses in
one line a probe whose store cannot be reached. The probes' values were
checked when the file was loaded; nothing here checks them again.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.http import status_and_body
from chaoskit.errors import ChaoskitError
from chaoskit.log import get_logger
from chaoskit.measure.write_audits import (
    Http,
    LagSummary,
    Lookup,
    Pending,
    Readability,
    Visibility,
    check_pending,
    check_readable,
    summarize,
    visibility,
)
from chaoskit.model.experiment import Experiment
from chaoskit.model.probes import IDS_FIELD, PendingProbe, ReadableProbe, StoreCommand, VisibleProbe
from chaoskit.model.tolerance import AllOf, Check, Judgement, Relative, Threshold, Tolerance, evaluate_checks
from chaoskit.run.observe import ProbeReading, resolve

__all__ = ["Audit", "PendingAudit", "ReadableAudit", "VisibilitySampler", "WriteProbes", "only_upper_bounds",
           "store_lookup"]

log = get_logger("chaoskit.run")


def only_upper_bounds(checks: Sequence[Check]) -> bool:
    """Whether every check only caps the value, so one that fails for a value fails for any larger one."""

    def capped(tolerance: Tolerance) -> bool:
        if isinstance(tolerance, AllOf):
            return all(capped(part) for part in tolerance.parts)
        if isinstance(tolerance, Threshold):
            return tolerance.min is None
        return isinstance(tolerance, Relative) and tolerance.min_ratio is None

    return all(capped(check.tolerance) for check in checks)


@dataclass
class _Measurement:
    started_at: float
    future: Future[Visibility] | None = None
    acked: tuple[Any, float] | None = None  # (write id, time acknowledged), set by the measuring thread


class VisibilitySampler:
    """One ``writes.visible`` probe: measurements in a background thread, read without waiting."""

    def __init__(self, probe: VisibleProbe, every_s: float, clock: Callable[[], float], http: Http):
        self.probe = probe
        self.every_s = every_s
        self._clock = clock
        self._http = http
        self._early = only_upper_bounds(probe.checks)
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._current: _Measurement | None = None
        self._next_at: float | None = None  # None: the first reading starts a measurement
        self._latest: tuple[float, bool] | None = None  # (start, held) of the latest finished measurement
        self._finished_results: list[Visibility] = []

    def observe(self, baseline: Mapping[str, Any] | None = None, self_baseline: bool = False) -> ProbeReading | None:
        """The reading due now, if any (None: nothing finished and nothing known yet); starts the next when due."""
        now = self._clock()
        current, reading = self._current, None
        if current is not None and current.future is not None and current.future.done():
            self._current = None
            reading = self._finished(current, now, baseline, self_baseline)
        elif current is not None:
            reading = self._late(current, now, baseline, self_baseline)
        if self._current is None and (self._next_at is None or now >= self._next_at) and not self._stop.is_set():
            self._start(now)
        return reading

    def held_since(self, t: float) -> bool:
        """Whether a measurement started at ``t`` or later has finished, and held."""
        return self._latest is not None and self._latest[0] >= t and self._latest[1]

    def summary(self) -> LagSummary:
        """The lag distribution of the measurements finished so far."""
        return summarize(self._finished_results)

    def stop(self) -> None:
        """End the polling at its next step; the thread ends by itself (one request timeout at worst)."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, now: float) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chaoskit-visibility")
        measurement = _Measurement(now)

        def acked(write_id: Any, at: float) -> None:
            measurement.acked = (write_id, at)

        probe = self.probe
        measurement.future = self._pool.submit(
            visibility, probe.write, probe.read, len(self._finished_results) + 1, within_s=probe.within_s,
            poll_every_s=probe.poll_every_s, timeout_s=probe.timeout_s, http=self._http, clock=self._clock,
            sleep=self._stop.wait, on_ack=acked, cancelled=self._stop.is_set)
        self._current = measurement
        self._next_at = now + self.every_s

    def _finished(self, measurement: _Measurement, now: float, baseline: Mapping[str, Any] | None,
                  self_baseline: bool) -> ProbeReading:
        assert measurement.future is not None
        seen = measurement.future.result()
        self._finished_results.append(seen)
        if seen.ok:
            subjects: dict[str, Any] = {"value": seen.lag_s}
            judged = evaluate_checks(self.probe.checks, subjects, subjects if self_baseline else baseline)
            judgement = Judgement(judged.ok, f"{seen.reason}; {judged.reason}", judged.inconclusive)
        else:
            # Never visible: at least as late as the wait was (nothing when the write itself failed).
            subjects = {"value": now - measurement.acked[1]} if measurement.acked is not None else {}
            judgement = Judgement(False, seen.reason)
        self._latest = (measurement.started_at, judgement.ok)
        return ProbeReading(self.probe.name, subjects, judgement)

    def _late(self, measurement: _Measurement, now: float, baseline: Mapping[str, Any] | None,
              self_baseline: bool) -> ProbeReading | None:
        if measurement.acked is None or not self._early:
            return None
        write_id, acked_at = measurement.acked
        subjects = {"value": now - acked_at}
        judged = evaluate_checks(self.probe.checks, subjects, subjects if self_baseline else baseline)
        if judged.ok or judged.inconclusive:
            return None
        return ProbeReading(self.probe.name, subjects, Judgement(
            False, f"write {write_id} not yet visible at {self.probe.read} {subjects['value']:.1f} s after its "
                   f"acknowledgement (still polling); {judged.reason}"))


def store_lookup(backends: Backends, project: str | None, command: StoreCommand) -> Lookup:
    """Ask the store through ``command`` (in the first container its target matches, through the target backend)
    which of the ids it lists; ``{ids}`` becomes a batch of them, comma-separated. ``LookupError`` when it cannot be asked."""

    def lookup(ids: Sequence[str]) -> set[str]:
        try:
            container = resolve(backends, command.target, project, None).chosen[0]
            found: set[str] = set()
            for start in range(0, len(ids), command.batch):
                batch = ",".join(ids[start:start + command.batch])
                cmd = (["sh", "-c", command.cmd.replace(IDS_FIELD, batch)] if isinstance(command.cmd, str)
                       else [part.replace(IDS_FIELD, batch) for part in command.cmd])
                code, output = backends.targets.exec(container.ref(), cmd)
                if code != 0:
                    raise LookupError(f"{cmd[0]} in {container.name} exited {code}: {output.strip()[:200]}")
                found.update(output.split())
        except ChaoskitError as exc:
            raise LookupError(str(exc)) from exc
        return found

    return lookup


@dataclass(frozen=True)
class ReadableAudit:
    """One ``writes.readable`` probe, ready to run on the ids its request captured."""

    probe: ReadableProbe
    stored: Lookup | None
    http: Http
    event: ClassVar[str] = "writes.readable.checked"

    @property
    def request(self) -> str:
        return self.probe.request

    def run(self, captured: Sequence[Any]) -> tuple[ProbeReading, Readability]:
        """Check every captured id; the reading's ``value`` is the writes lost (unreadable, or not stored)."""
        probe = self.probe
        result = check_readable(captured, probe.url, lost_status=probe.lost_status, stored=self.stored,
                                budget_s=probe.budget_s, workers=probe.workers, timeout_s=probe.timeout_s,
                                http=self.http)
        counts = (f"{result.acknowledged} acknowledged by request {probe.request!r}, {result.checked} checked, "
                  f"{result.lost} lost, {result.unverified} unverified")
        return _audit_reading(probe.name, probe.checks, result.lost + result.not_stored, counts, result.lost_ids,
                              result.notes, result.unverified, "not every write was shown readable"), result


@dataclass(frozen=True)
class PendingAudit:
    """One ``writes.pending`` probe, ready to run on the ids its request captured."""

    probe: PendingProbe
    pending: Lookup
    event: ClassVar[str] = "writes.pending.checked"

    @property
    def request(self) -> str:
        return self.probe.request

    def run(self, captured: Sequence[Any]) -> tuple[ProbeReading, Pending]:
        """Ask the store until nothing is pending or the bound passed; ``value`` is the writes still pending."""
        probe = self.probe
        result = check_pending(captured, self.pending, within_s=probe.within_s, poll_every_s=probe.poll_every_s)
        counts = (f"{result.acknowledged} acknowledged by request {probe.request!r}, {result.pending} still pending "
                  f"after {result.waited_s:.1f} s, {result.unverified} unverified")
        return _audit_reading(probe.name, probe.checks, result.pending, counts, result.pending_ids, result.notes,
                              result.unverified, "the store could not tell what is pending"), result


Audit = ReadableAudit | PendingAudit


def _audit_reading(name: str, checks: Sequence[Check], value: int, counts: str, lost_ids: Sequence[Any],
                   notes: Sequence[str], unverified: int, unshown: str) -> ProbeReading:
    """An audit's reading: ``value`` judged; held with some left unverified is inconclusive (``unshown`` says what)."""
    subjects = {"value": value}
    judged = evaluate_checks(tuple(checks), subjects)
    lost = f"; e.g. {list(lost_ids[:5])}" if lost_ids else ""
    said = "".join(f"; {note}" for note in notes)
    if judged.ok and unverified:
        judgement = Judgement(False, f"{counts}{said}: {unshown}", inconclusive=True)
    else:
        judgement = Judgement(judged.ok, f"{counts}{lost}{said}; {judged.reason}", judged.inconclusive)
    return ProbeReading(name, subjects, judgement)


@dataclass
class WriteProbes:
    """The write audits of one run (none for most experiments)."""

    samplers: dict[str, VisibilitySampler] = field(default_factory=dict)
    audits: tuple[Audit, ...] = ()

    @classmethod
    def prepare(cls, experiment: Experiment, backends: Backends, clock: Callable[[], float],
                interval_s: float, http: Http | None = None) -> WriteProbes:
        """Build every ``writes.*`` probe of the hypothesis; ``ChaoskitError`` says in one line why one cannot run.

        ``http``: the transport for every probe (tests); by default each probe's own, with its TLS settings.
        """
        project = experiment.environment.compose_project
        samplers: dict[str, VisibilitySampler] = {}
        audits: list[Audit] = []
        for probe in experiment.steady_state.probes:
            if isinstance(probe, (VisibleProbe, ReadableProbe)):
                transport = http or functools.partial(status_and_body, tls=probe.tls)
            if isinstance(probe, VisibleProbe):
                samplers[probe.name] = VisibilitySampler(probe, probe.every_s or interval_s, clock, transport)
            elif isinstance(probe, ReadableProbe):
                stored = _reachable(backends, project, probe.stored, probe.name, "stored")
                audits.append(ReadableAudit(probe, stored, transport))
            elif isinstance(probe, PendingProbe):
                pending = _reachable(backends, project, probe.pending, probe.name, "pending")
                assert pending is not None
                audits.append(PendingAudit(probe, pending))
        return cls(samplers, tuple(audits))

    def observe(self, probe: Any, baseline: Mapping[str, Any] | None, self_baseline: bool) -> ProbeReading | None:
        """This round's reading of a sampled probe (None: nothing to report yet, or an audit-only probe)."""
        sampler = self.samplers.get(probe.name)
        return sampler.observe(baseline, self_baseline) if sampler is not None else None

    def held_since(self, t: float) -> bool:
        """Whether every sampled probe has held in a measurement started at ``t`` or later."""
        return all(s.held_since(t) for s in self.samplers.values())

    def summaries(self) -> list[tuple[str, dict[str, Any]]]:
        """(event, fields) for the journal: each sampled probe's lag distribution and never-visible count."""
        return [("writes.visible.summary", {"probe": name, **s.summary().to_dict()}) for name, s in self.samplers.items()]

    def stop(self) -> None:
        for sampler in self.samplers.values():
            sampler.stop()


def _reachable(backends: Backends, project: str | None, command: StoreCommand | None, probe: str,
               key: str) -> Lookup | None:
    """The store command's lookup, once its container is found (a missing one is refused before any fault)."""
    if command is None:
        return None
    try:
        resolve(backends, command.target, project, None)
    except ChaoskitError as exc:
        raise ChaoskitError(f"probe {probe!r}: {key}: {exc}") from exc
    return store_lookup(backends, project, command)
