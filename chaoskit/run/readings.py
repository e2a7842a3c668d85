"""A run's probes read into readings (Prometheus queries, plugin probes): polled each round, judged per window.

The runner calls this at four moments:

* preflight (:meth:`ReadingProbes.prepare`): each Prometheus query is asked
  once and each plugin probe built and prepared, so a server that does not
  answer, PromQL it refuses, or a plugin that refuses ends the run as an
  ERROR before any fault is applied;
* each round (:meth:`ReadingProbes.observe`): a reading when the probe is due
  (its ``every``; never more often than the run loop's round). A number is
  recorded as a detection observation against the per-reading limits
  (:func:`chaoskit.measure.readings.reading_result`): it dates a violation,
  the window decides it. A pass/fail reading is itself a decisive
  observation, as an ``http`` probe's status is;
* each phase's end (:meth:`ReadingProbes.judge`): the numbers inside the
  phase's window judged with :func:`chaoskit.measure.readings.judge_readings`;
  the baseline's and the fault's judgements are decisive observations, the
  recovery's comparison goes only to the journal;
* the end (:meth:`ReadingProbes.record`): every reading, comparison, time to
  detect and time to recover, for the journal's ``prometheus`` entry (plugin
  probes of numbers too, with their ``type`` instead of ``url`` and ``query``).

A poll that failed means two things. Prometheus not answering says nothing
about the system: the reading has no value, and neither holds nor breaks. A
plugin probe reads the system itself, so its failed reading is a violation, as
an ``http`` probe's unanswered request is.

Times given and taken here are the run's (seconds since its start); the
pollers stamp readings with the run's monotonic clock, which the windows are
placed on by adding the run's start, ``origin``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaoskit.adapters.probe_plugins import ProbeCatalogue
from chaoskit.adapters.prometheus import PrometheusClient
from chaoskit.log import get_logger
from chaoskit.measure.detection import Limit
from chaoskit.measure.plugin_poll import PluginPoller
from chaoskit.measure.prometheus_poll import Poller
from chaoskit.measure.readings import Reading, judge_readings, limits_for, reading_result, time_to_detect, time_to_recover
from chaoskit.model.probes import Hypothesis, PluginProbeSpec, PrometheusProbe
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["ReadingProbes", "Windows"]

log = get_logger("chaoskit.run")

Windows = Mapping[str, tuple[float, float]]  # phase -> (start, end), seconds since the run's start
# Readings that hold for this many polls in a row after the revert count as recovered (the run's own rule: 3 rounds).
RECOVERY_HOLD = 3


@dataclass
class _Tracked:
    poller: Poller | PluginPoller
    readings: list[Reading] = field(default_factory=list)
    last_poll: float | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def probe(self) -> PrometheusProbe | PluginProbeSpec:
        return self.poller.probe

    @property
    def pass_fail(self) -> bool:
        return isinstance(self.probe, PluginProbeSpec) and self.probe.pass_fail

    def within(self, window: tuple[float, float], origin: float) -> list[Reading]:
        """The readings taken in [start, end): a reading is a moment, so one at a phase's end is the next phase's."""
        start, end = (origin + t for t in window)
        return [r for r in self.readings if start <= r.t_mono < end]


class ReadingProbes:
    """The probes of one run read into readings, each with its poller and its readings so far (none without such
    probes)."""

    def __init__(self, pollers: Sequence[Poller | PluginPoller] = (), origin: float = 0.0):
        self.origin = origin  # the run's start on the pollers' monotonic clock
        self._tracked = {poller.probe.name: _Tracked(poller) for poller in pollers}
        self._limits: dict[str, dict[str, Limit]] = {}  # per probe, from its baseline readings

    def __contains__(self, name: str) -> bool:
        return name in self._tracked

    @classmethod
    def prepare(cls, hypothesis: Hypothesis, mono: Callable[[], float], origin: float,
                client_for: Callable[[PrometheusProbe], PrometheusClient] | None = None,
                plugins: ProbeCatalogue | None = None) -> ReadingProbes:
        """A poller per probe, each asked once whether it can work: its errors (unreachable, bad PromQL, a plugin
        that refuses) raise here. ``plugins``: the plugin probes (None: those installed). ``mono``: the run's monotonic clock, which was at ``origin`` when the run started.
        """
        pollers: list[Poller | PluginPoller] = []
        try:
            for probe in hypothesis.probes:
                if isinstance(probe, PrometheusProbe):
                    pollers.append(Poller(probe, client_for(probe) if client_for else None, mono=mono))
                    pollers[-1].client.query(probe.query)
                    log.info("prometheus.ready", probe=probe.name, url=probe.url)
                elif isinstance(probe, PluginProbeSpec):
                    pollers.append(PluginPoller(probe, plugins, mono=mono))
                    pollers[-1].prepare()
                    log.info("plugin_probe.ready", probe=probe.name, type=probe.type)
        except BaseException:
            cls(pollers).close()  # the plugins built so far release what they hold
            raise
        return cls(pollers, origin)

    def describe(self) -> list[str]:
        """A line per plugin probe, for dry runs: what it reads and how often."""
        return [f"  probe {t.probe.name!r} ({t.probe.type}): {t.poller.describe()}"
                + (f", every {t.probe.every_s:g}s" if t.probe.every_s else "")
                for t in self._tracked.values() if isinstance(t.poller, PluginPoller)]

    def observe(self, name: str, phase: str, t: float, interval_s: float, hypothesis: str) -> list[ProbeResult]:
        """This round's reading of probe ``name`` (at ``t``) as an observation; none when it is not due yet.

        ``interval_s``: the run loop's round, the default ``every``.
        """
        tracked = self._tracked[name]
        probe = tracked.probe
        every = probe.every_s or interval_s
        # A round can come a little early against the last poll: a tenth of the interval is tolerated.
        if tracked.last_poll is not None and t - tracked.last_poll < 0.9 * every:
            return []
        tracked.last_poll = t
        reading = tracked.poller.poll()
        tracked.readings.append(reading)
        if isinstance(probe, PluginProbeSpec) and (reading.error or tracked.pass_fail):
            held = not reading.error and reading.values.get("value") == 1.0
            detail = reading.error or ("holds" if held else f"{probe.type} does not hold")
            return [ProbeResult(probe.name, Phase(phase), t, ok=held, value=None if reading.error else held,
                                detail=detail, hypothesis=hypothesis)]
        limits = self._limits.get(name) if phase != "baseline" else None
        return [reading_result(probe, reading, limits or limits_for(probe, []), Phase(phase), t, hypothesis)]

    def _numeric(self) -> list[_Tracked]:
        """The probes whose readings are numbers: judged per window."""
        return [t for t in self._tracked.values() if not t.pass_fail]

    def judge(self, phase: str, windows: Windows, hypothesis: str) -> list[ProbeResult]:
        """Judge every probe over ``phase``'s window: decisive observations at its end (none for recovery)."""
        results = []
        for tracked in self._numeric():
            baseline = tracked.within(windows["baseline"], self.origin)
            if phase == "baseline":
                self._limits[tracked.probe.name] = limits_for(tracked.probe, baseline)
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
        for tracked in self._numeric():
            probe = tracked.probe
            baseline = tracked.within(windows["baseline"], self.origin) if "baseline" in windows else []
            detect = recover = None
            if baseline and applied_at is not None:
                detect = time_to_detect(probe, baseline, tracked.readings, self.origin + applied_at, clock="mono")
            if baseline and reverted_at is not None:
                recover = time_to_recover(probe, baseline, tracked.readings, self.origin + reverted_at,
                                          hold=RECOVERY_HOLD, clock="mono")
            what = ({"url": probe.url, "query": probe.query} if isinstance(probe, PrometheusProbe)
                    else {"type": probe.type})
            out.append({
                "probe": probe.name, **what, "every_s": probe.every_s,
                "readings": [{**r.to_dict(), "t": round(r.t_mono - self.origin, 3)} for r in tracked.readings],
                "comparisons": tracked.comparisons, "time_to_detect_s": detect, "time_to_recover_s": recover,
            })
        return out

    def close(self) -> None:
        """Let every plugin probe release what it holds."""
        for tracked in self._tracked.values():
            if isinstance(tracked.poller, PluginPoller):
                tracked.poller.close()
