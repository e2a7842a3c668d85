"""A run's Prometheus probes: polled each round, their readings judged per phase window as the load's metrics are.

The runner calls this at four moments:

* preflight (:meth:`QueryProbes.prepare`): each query is asked once, so a
  server that does not answer, or refuses the PromQL, ends the run as an
  ERROR before any fault is applied;
* each round (:meth:`QueryProbes.observe`): a reading when the probe is due
  (its ``every``; never more often than the run loop's round), recorded as a
  detection observation against the per-reading limits
  (:func:`chaoskit.measure.readings.reading_result`); it dates a violation,
  the window decides it;
* each phase's end (:meth:`QueryProbes.judge`): the readings inside the
  phase's window judged with :func:`chaoskit.measure.readings.judge_readings`;
  the baseline's and the fault's judgements are decisive observations, the
  recovery's comparison goes only to the journal;
* the end (:meth:`QueryProbes.record`): every reading, comparison, time to
  detect and time to recover, for the journal's ``prometheus`` entry.

Times given and taken here are the run's (seconds since its start); the
pollers stamp readings with the run's monotonic clock, which the windows are
placed on by adding the run's start, ``origin``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaoskit.adapters.prometheus import PrometheusClient
from chaoskit.log import get_logger
from chaoskit.measure.detection import Limit
from chaoskit.measure.prometheus_poll import Poller
from chaoskit.measure.readings import Reading, judge_readings, limits_for, reading_result, time_to_detect, time_to_recover
from chaoskit.model.probes import Hypothesis, PrometheusProbe
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["QueryProbes", "Windows"]

log = get_logger("chaoskit.run")

Windows = Mapping[str, tuple[float, float]]  # phase -> (start, end), seconds since the run's start
# Readings that hold for this many polls in a row after the revert count as recovered (the run's own rule: 3 rounds).
RECOVERY_HOLD = 3


@dataclass
class _Tracked:
    poller: Poller
    readings: list[Reading] = field(default_factory=list)
    last_poll: float | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def probe(self) -> PrometheusProbe:
        return self.poller.probe

    def within(self, window: tuple[float, float], origin: float) -> list[Reading]:
        """The readings taken in [start, end): a reading is a moment, so one at a phase's end is the next phase's."""
        start, end = (origin + t for t in window)
        return [r for r in self.readings if start <= r.t_mono < end]


class QueryProbes:
    """The Prometheus probes of one run, each with its poller and its readings so far (none without such probes)."""

    def __init__(self, pollers: Sequence[Poller] = (), origin: float = 0.0):
        self.origin = origin  # the run's start on the pollers' monotonic clock
        self._tracked = {poller.probe.name: _Tracked(poller) for poller in pollers}
        self._limits: dict[str, dict[str, Limit]] = {}  # per probe, from its baseline readings

    @classmethod
    def prepare(cls, hypothesis: Hypothesis, mono: Callable[[], float], origin: float,
                client_for: Callable[[PrometheusProbe], PrometheusClient] | None = None) -> QueryProbes:
        """A poller per probe, each query asked once: its errors (unreachable, bad PromQL) raise here.

        ``mono``: the run's monotonic clock, which was at ``origin`` when the run started.
        """
        pollers = [Poller(p, client_for(p) if client_for else None, mono=mono)
                   for p in hypothesis.probes if isinstance(p, PrometheusProbe)]
        for poller in pollers:
            poller.client.query(poller.probe.query)
            log.info("prometheus.ready", probe=poller.probe.name, url=poller.probe.url)
        return cls(pollers, origin)

    def observe(self, probe: PrometheusProbe, phase: str, t: float, interval_s: float,
                hypothesis: str) -> list[ProbeResult]:
        """This round's reading of ``probe`` (at ``t``) as a detection observation; none when it is not due yet.

        ``interval_s``: the run loop's round, the default ``every``.
        """
        tracked = self._tracked[probe.name]
        every = probe.every_s or interval_s
        # A round can come a little early against the last poll: a tenth of the interval is tolerated.
        if tracked.last_poll is not None and t - tracked.last_poll < 0.9 * every:
            return []
        tracked.last_poll = t
        reading = tracked.poller.poll()
        tracked.readings.append(reading)
        limits = self._limits.get(probe.name) if phase != "baseline" else None
        return [reading_result(probe, reading, limits or limits_for(probe, []), Phase(phase), t, hypothesis)]

    def judge(self, phase: str, windows: Windows, hypothesis: str) -> list[ProbeResult]:
        """Judge every probe over ``phase``'s window: decisive observations at its end (none for recovery)."""
        results = []
        for name, tracked in self._tracked.items():
            baseline = tracked.within(windows["baseline"], self.origin)
            if phase == "baseline":
                self._limits[name] = limits_for(tracked.probe, baseline)
            judged = judge_readings(tracked.probe, phase, baseline, tracked.within(windows[phase], self.origin))
            tracked.comparisons.extend(judged.comparisons())
            if phase != "recovery":
                results.append(judged.as_result(windows[phase][1], hypothesis))
        return results

    def record(self, windows: Windows, applied_at: float | None, reverted_at: float | None) -> list[dict[str, Any]]:
        """The journal's ``prometheus`` entry: per probe, its readings (``t`` on the run's clock) and figures.

        ``applied_at``/``reverted_at``: when the first fault went in and the last came out (None: never).
        """
        out = []
        for tracked in self._tracked.values():
            probe = tracked.probe
            baseline = tracked.within(windows["baseline"], self.origin) if "baseline" in windows else []
            detect = recover = None
            if baseline and applied_at is not None:
                detect = time_to_detect(probe, baseline, tracked.readings, self.origin + applied_at, clock="mono")
            if baseline and reverted_at is not None:
                recover = time_to_recover(probe, baseline, tracked.readings, self.origin + reverted_at,
                                          hold=RECOVERY_HOLD, clock="mono")
            out.append({
                "probe": probe.name, "url": probe.url, "query": probe.query, "every_s": probe.every_s,
                "readings": [{**r.to_dict(), "t": round(r.t_mono - self.origin, 3)} for r in tracked.readings],
                "comparisons": tracked.comparisons, "time_to_detect_s": detect, "time_to_recover_s": recover,
            })
        return out
