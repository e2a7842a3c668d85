"""The sample stack's probes in the run loop: fan-out lag sampled in the background; durability and fan-out
completeness checked once.

* ``timeline.fanout_lag``: a :class:`FanoutSampler` keeps one measurement
  (:func:`chaoskit.measure.probes_timeline.fanout_lag`) in flight in its own
  thread, starting one every ``every``. The run loop reads it each round and
  never waits for it: a late tweet must not hold back the faults, the stop
  conditions or the other probes. A finished measurement is judged on its
  lag (``value``, seconds); a tweet not shown within ``timeout`` is a
  violation that says so. A measurement still polling is reported only once
  the time since its 201 already breaks the tolerance: the lag can only grow,
  so an upper bound already exceeded is a fact, and the violation is seen
  when it happens rather than at the timeout.
* ``timeline.durability``: a :class:`DurabilityAudit`, made once after the
  recovery phase with the load stopped: every tweet id the load captured
  from a 201 is read back through the API and looked up in Postgres (psql
  through the Docker engine, in the compose project's ``postgres`` service).
  ``value`` is how many were lost; unverified ones make it inconclusive.
* ``timeline.fanout_complete``: a :class:`FanoutAudit`, made at the same
  time on the same ids: which are still not fanned out in Postgres, and of
  those, which a follower's cached timeline lacks
  (:func:`chaoskit.measure.fanout_complete.check_fanout`). ``value`` is how
  many fan-outs were lost; unverified ones make it inconclusive.

:meth:`StackProbes.prepare` (the run's preflight) builds them, and refuses in
one line a probe whose configuration cannot work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.log import get_logger
from chaoskit.measure.fanout_complete import FanoutCompleteness, check_fanout
from chaoskit.measure.probes_timeline import (
    Durability,
    FanoutLag,
    Http,
    check_durability,
    fanout_lag,
    find_fanout_pair,
    urllib_http,
)
from chaoskit.model.experiment import Experiment
from chaoskit.model.probes import SampleProbe
from chaoskit.model.stack_probes import api_url, capturing_request, stack_probe_problems, with_defaults
from chaoskit.model.tolerance import AllOf, Check, Judgement, Relative, Threshold, Tolerance, evaluate_checks
from chaoskit.run.observe import ProbeReading, resolve
from chaoskit.targets.selector import Selector

__all__ = ["Audit", "DurabilityAudit", "FanoutAudit", "FanoutSampler", "StackProbes", "only_upper_bounds",
           "postgres_lookup"]

log = get_logger("chaoskit.run")

# Ids per psql call: a 10-digit id and a comma each, so about 55 KB of command line.
_IDS_PER_QUERY = 5000
POSTGRES_SERVICE = "postgres"


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
    future: Future[FanoutLag] | None = None
    acked: tuple[int, float] | None = None  # (tweet id, time of its 201), set by the measuring thread


class FanoutSampler:
    """One ``timeline.fanout_lag`` probe: measurements in a background thread, read without waiting."""

    def __init__(self, probe: SampleProbe, url: str, poster: int, follower: int, every_s: float,
                 clock: Callable[[], float], http: Http = urllib_http):
        params = with_defaults(probe.type, probe.params)
        self.probe = probe
        self.url = url
        self.poster = poster
        self.follower = follower
        self.every_s = every_s
        self.timeout_s, self.poll_every_s, self.limit = params["timeout"], params["poll_every"], params["limit"]
        self._clock = clock
        self._http = http
        self._early = only_upper_bounds(probe.checks)
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._current: _Measurement | None = None
        self._next_at: float | None = None  # None: the first reading starts a measurement
        self._latest: tuple[float, bool] | None = None  # (start, held) of the latest finished measurement

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

    def stop(self) -> None:
        """End the polling at its next step; the thread ends by itself (one request timeout at worst)."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, now: float) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chaoskit-fanout")
        measurement = _Measurement(now)

        def acked(tweet_id: int, at: float) -> None:
            measurement.acked = (tweet_id, at)

        measurement.future = self._pool.submit(
            fanout_lag, self.url, self.poster, self.follower, timeout_s=self.timeout_s, poll_every_s=self.poll_every_s,
            limit=self.limit, http=self._http, clock=self._clock, sleep=self._stop.wait, on_ack=acked,
            cancelled=self._stop.is_set)
        self._current = measurement
        self._next_at = now + self.every_s

    def _finished(self, measurement: _Measurement, now: float, baseline: Mapping[str, Any] | None,
                  self_baseline: bool) -> ProbeReading:
        assert measurement.future is not None
        lag = measurement.future.result()
        if lag.ok:
            subjects: dict[str, Any] = {"value": lag.lag_s}
            judged = evaluate_checks(self.probe.checks, subjects, subjects if self_baseline else baseline)
            judgement = Judgement(judged.ok, f"{lag.reason}; {judged.reason}", judged.inconclusive)
        else:
            # Never shown: at least as late as the wait was (nothing when the post itself failed).
            subjects = {"value": now - measurement.acked[1]} if measurement.acked is not None else {}
            judgement = Judgement(False, lag.reason)
        self._latest = (measurement.started_at, judgement.ok)
        return ProbeReading(self.probe.name, subjects, judgement)

    def _late(self, measurement: _Measurement, now: float, baseline: Mapping[str, Any] | None,
              self_baseline: bool) -> ProbeReading | None:
        if measurement.acked is None or not self._early:
            return None
        tweet_id, acked_at = measurement.acked
        subjects = {"value": now - acked_at}
        judged = evaluate_checks(self.probe.checks, subjects, subjects if self_baseline else baseline)
        if judged.ok or judged.inconclusive:
            return None
        return ProbeReading(self.probe.name, subjects, Judgement(
            False, f"tweet {tweet_id} not yet in user {self.follower}'s timeline {subjects['value']:.1f} s after "
                   f"its 201 (still polling); {judged.reason}"))


def postgres_lookup(backends: Backends, project: str, where: str = "") -> Callable[[Sequence[int]], set[int]]:
    """The ids of those given that are in ``tweets`` (and meet ``where``, SQL): psql in the project's postgres
    container, via the engine. ``in_database`` for :func:`check_durability`, ``pending`` for :func:`check_fanout`."""

    def lookup(ids: Sequence[int]) -> set[int]:
        try:
            container = resolve(backends, Selector(service=POSTGRES_SERVICE, project=project), project, None).chosen[0]
            found: set[int] = set()
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start:start + _IDS_PER_QUERY]
                sql = (f"SELECT id FROM tweets WHERE id = ANY('{{{','.join(str(int(i)) for i in chunk)}}}'::bigint[])"
                       + (f" AND {where}" if where else ""))
                code, output = backends.engine.exec(container.id, ["psql", "-U", "postgres", "-d", "postgres",
                                                                   "-AtX", "-c", sql])
                if code != 0:
                    raise LookupError(f"psql in {container.name} exited {code}: {output.strip()[:200]}")
                found.update(int(line) for line in output.split() if line.isdigit())
        except ChaoskitError as exc:
            raise LookupError(str(exc)) from exc
        return found

    return lookup


@dataclass(frozen=True)
class DurabilityAudit:
    """One ``timeline.durability`` probe: which captured ids to read back, where, and how."""

    probe: SampleProbe
    request: str
    url: str
    in_database: Callable[[Sequence[int]], set[int]] | None = None
    http: Http = urllib_http
    event: ClassVar[str] = "durability.checked"

    def run(self, captured: Sequence[int]) -> tuple[ProbeReading, Durability]:
        """Check every captured id; the reading's ``value`` is the tweets lost (unreadable, or not in Postgres)."""
        params = with_defaults(self.probe.type, self.probe.params)
        result = check_durability(captured, self.url, in_database=self.in_database, budget_s=params["budget"],
                                  workers=params["workers"], retries=2, http=self.http)
        counts = (f"{result.acknowledged} acknowledged by request {self.request!r}, {result.checked} checked, "
                  f"{result.lost} lost, {result.unverified} unverified")
        return _audit_reading(self.probe, result.lost + result.not_in_database, counts, result.lost_ids,
                              result.notes, result.unverified, "durability not shown for every tweet"), result


@dataclass(frozen=True)
class FanoutAudit:
    """One ``timeline.fanout_complete`` probe: which captured ids to follow to followers' caches, and how."""

    probe: SampleProbe
    request: str
    url: str
    pending: Callable[[Sequence[int]], set[int]]
    http: Http = urllib_http
    event: ClassVar[str] = "fanout.checked"

    def run(self, captured: Sequence[int]) -> tuple[ProbeReading, FanoutCompleteness]:
        """Check every captured id; the reading's ``value`` is the tweets whose fan-out was lost."""
        params = with_defaults(self.probe.type, self.probe.params)
        result = check_fanout(captured, self.url, pending=self.pending, budget_s=params["budget"],
                              sample=params["sample"], http=self.http)
        counts = (f"{result.acknowledged} acknowledged by request {self.request!r}, {result.pending} still pending "
                  f"fan-out after {result.waited_s:.1f} s, {result.checked} checked from a follower's side, "
                  f"{result.lost} lost, {result.unverified} unverified")
        return _audit_reading(self.probe, result.lost, counts, result.lost_ids, result.notes, result.unverified,
                              "fan-out not shown complete"), result


Audit = DurabilityAudit | FanoutAudit


def _audit_reading(probe: SampleProbe, value: int, counts: str, lost_ids: Sequence[int], notes: Sequence[str],
                   unverified: int, unshown: str) -> ProbeReading:
    """An audit's reading: ``value`` judged; held with some left unverified is inconclusive (``unshown`` says what)."""
    subjects = {"value": value}
    judged = evaluate_checks(probe.checks, subjects)
    lost = f"; lost e.g. {list(lost_ids[:5])}" if lost_ids else ""
    said = "".join(f"; {note}" for note in notes)
    if judged.ok and unverified:
        judgement = Judgement(False, f"{counts}{said}: {unshown}", inconclusive=True)
    else:
        judgement = Judgement(judged.ok, f"{counts}{lost}{said}; {judged.reason}", judged.inconclusive)
    return ProbeReading(probe.name, subjects, judgement)


@dataclass
class StackProbes:
    """The sample-stack probes of one run (none for most experiments)."""

    samplers: dict[str, FanoutSampler] = field(default_factory=dict)
    audits: tuple[Audit, ...] = ()

    @classmethod
    def prepare(cls, experiment: Experiment, backends: Backends, clock: Callable[[], float],
                interval_s: float, http: Http = urllib_http) -> StackProbes:
        """Build every ``timeline.*`` probe of the hypothesis; ``ChaoskitError`` says in one line why one cannot."""
        project = experiment.environment.compose_project
        samplers: dict[str, FanoutSampler] = {}
        audits: list[Audit] = []
        for probe in experiment.steady_state.probes:
            if not isinstance(probe, SampleProbe):
                continue
            params = with_defaults(probe.type, probe.params)
            problems = stack_probe_problems(probe.type, params, experiment.load, project)
            if problems:
                key, message = problems[0]
                raise ChaoskitError(f"probe {probe.name!r}: {f'params.{key}: ' if key else ''}{message}")
            if probe.type == "timeline.fanout_lag":
                url = api_url(params)
                try:
                    poster, follower = find_fanout_pair(url, params.get("poster"), params.get("follower"), http=http)
                except LookupError as exc:
                    raise ChaoskitError(f"probe {probe.name!r}: no poster and follower to time fan-out with: {exc}") \
                        from exc
                log.info("fanout.pair", probe=probe.name, poster=poster, follower=follower)
                samplers[probe.name] = FanoutSampler(probe, url, poster, follower, probe.every_s or interval_s, clock,
                                                     http)
            elif probe.type == "timeline.fanout_complete":
                request = capturing_request(params, experiment.load, probe.type)
                assert project is not None  # stack_probe_problems requires it
                try:
                    resolve(backends, Selector(service=POSTGRES_SERVICE, project=project), project, None)
                except ChaoskitError as exc:
                    raise ChaoskitError(f"probe {probe.name!r}: which tweets are pending fan-out is asked of "
                                        f"Postgres: {exc}") from exc
                audits.append(FanoutAudit(probe, request.name, api_url(params, request),
                                          postgres_lookup(backends, project, "NOT fanned_out"), http))
            else:
                request = capturing_request(params, experiment.load)
                in_database = None
                if params["database"]:
                    assert project is not None  # stack_probe_problems requires it
                    try:
                        resolve(backends, Selector(service=POSTGRES_SERVICE, project=project), project, None)
                    except ChaoskitError as exc:
                        raise ChaoskitError(f"probe {probe.name!r}: params.database: {exc} "
                                            "(or set database: false)") from exc
                    in_database = postgres_lookup(backends, project)
                audits.append(DurabilityAudit(probe, request.name, api_url(params, request), in_database, http))
        return cls(samplers, tuple(audits))

    def observe(self, probe: SampleProbe, baseline: Mapping[str, Any] | None,
                self_baseline: bool) -> ProbeReading | None:
        """This round's reading of a sampled probe (None: nothing to report yet, or an audit-only probe)."""
        sampler = self.samplers.get(probe.name)
        return sampler.observe(baseline, self_baseline) if sampler is not None else None

    def held_since(self, t: float) -> bool:
        """Whether every sampled probe has held in a measurement started at ``t`` or later."""
        return all(s.held_since(t) for s in self.samplers.values())

    def stop(self) -> None:
        for sampler in self.samplers.values():
            sampler.stop()
