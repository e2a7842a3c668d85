"""The steady-state hypothesis over one run: every probe observed each round, judged per window, audited at the end.

The runner decides *when* (its phases call :meth:`SteadyState.observe_round`
each round and :meth:`SteadyState.judge_window` at a phase's end); this module
decides what each observation says and keeps them all, in the order they were
made, as the verdict and the stop conditions read them:

* probes observed each round (``http``, ``command``, ``container``,
  ``toxiproxy``): one observation per round, judged against the baseline's
  medians (:func:`chaoskit.run.observe.observe`);
* probes read into readings (``prometheus``, and plugin probes): their
  tracker, :class:`chaoskit.run.readings.ReadingProbes`;
* load probes: the load's latest second only *detects*; the whole window
  decides (:mod:`chaoskit.run.judging`);
* write audits: sampled in the background, or checked once after recovery
  (:mod:`chaoskit.run.write_probes`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.log import get_logger
from chaoskit.measure.store import Seconds
from chaoskit.measure.window import WindowStats
from chaoskit.model.experiment import Experiment
from chaoskit.model.probes import LoadProbe, Probe, WriteProbe
from chaoskit.run.judging import judge_second, judge_window, numeric_subjects, quoted
from chaoskit.run.observe import ProbeReading
from chaoskit.run.readings import ReadingProbes
from chaoskit.run.write_probes import WriteProbes
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["SteadyState"]

log = get_logger("chaoskit.run")


@dataclass
class SteadyState:
    """Every observation of one run's hypothesis, and the windows (run clock) load and readings are judged over."""

    experiment: Experiment
    backends: Backends
    journal: Any  # a RunJournal (or chaoskit.testing's capture)
    load: Any  # the run's LoadGenerator, or None
    t0: float  # the run's start on its monotonic clock
    elapsed: Callable[[], float]
    observe_probe: Callable[..., ProbeReading]
    observations: list[ProbeResult] = field(default_factory=list)
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)  # phase -> (start, end)
    comparisons: list[dict[str, Any]] = field(default_factory=list)  # the load's window comparisons
    writes: WriteProbes = field(default_factory=WriteProbes)  # the write audits, built by the preflight
    readings: ReadingProbes = field(default_factory=ReadingProbes)  # probes read into readings, likewise
    # (phase, probe, numeric subjects) of each observation: what relative tolerances compare with.
    _subjects: list[tuple[str, str, dict[str, float]]] = field(default_factory=list)
    _baseline: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.experiment.steady_state.title

    def record(self, result: ProbeResult) -> None:
        self.observations.append(result)
        if not result.ok and not result.inconclusive:
            log.warning("hypothesis.violated", phase=result.phase.value, probe=result.probe, reason=result.detail)
        self.journal.observation(result)

    def latest_window(self) -> WindowStats | None:
        return self.load.latest_window() if self.load is not None else None

    def observe_round(self, phase: str, interval_s: float) -> None:
        """One round: every probe observed once (those read every ``every`` only when due)."""
        t = self.elapsed()
        for probe in self.experiment.steady_state.probes:
            if probe.name in self.readings:
                for result in self.readings.observe(probe.name, phase, t, interval_s, self.title):
                    self.record(result)
                continue
            # While the baseline is being measured, a tolerance relative to it can only judge the
            # observation against itself: the absolute parts (SLOs) are what the baseline must meet.
            baseline = self._baseline.get(probe.name) if phase != "baseline" else None
            if isinstance(probe, LoadProbe):
                judged = judge_second(probe, self.latest_window(), baseline, self_baseline=True)
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
            self.record(ProbeResult(probe=probe.name, phase=Phase(phase), t=t, ok=judgement.ok, value=quoted(numeric),
                                    baseline=quoted(baseline), detail=judgement.reason, hypothesis=self.title,
                                    inconclusive=judgement.inconclusive,
                                    # The window decides these phases for load probes (chaoskit.run.judging).
                                    detection=isinstance(probe, LoadProbe) and phase in ("baseline", "fault")))

    def _observe(self, probe: Probe, phase: str, baseline: dict[str, Any] | None) -> ProbeReading | None:
        """One probe's reading this round; a sampled one (write visibility) may have none yet, an audit never."""
        if isinstance(probe, WriteProbe):
            return self.writes.observe(probe, baseline, self_baseline=phase == "baseline")
        return self.observe_probe(probe, self.backends, self.experiment.environment.compose_project, baseline,
                                  self_baseline=phase == "baseline")

    def judge_window(self, phase: str) -> None:
        """Judge every load probe and every probe read into readings over the phase's whole window.

        The baseline and fault judgements are decisive observations; the
        recovery's comparison only goes to the journal, for the report. Once
        the baseline is judged, its medians are what relative tolerances of
        the probes observed each round compare with.
        """
        if phase not in self.windows or (phase != "baseline" and "fault" not in self.windows):
            return
        for result in self.readings.judge(phase, self.windows, self.title):
            self.record(result)
        if phase == "baseline":
            self._baseline = self._baseline_medians()
        if self.load is None:
            return
        baseline, window = self._buckets_in("baseline"), self._buckets_in(phase)
        for probe in self.experiment.steady_state.probes:
            if isinstance(probe, LoadProbe):
                judged = judge_window(probe, phase, baseline, window)
                self.comparisons.extend(judged.comparisons())
                if phase != "recovery":
                    self.record(judged.as_result(self.windows[phase][1], self.title))

    def _buckets_in(self, phase: str) -> Seconds:
        """The whole seconds of load inside the phase's window (the seconds it overlaps if it has none)."""
        start, end = (self.t0 + t for t in self.windows[phase])
        return self.load.seconds_between(start, end)

    def _baseline_medians(self) -> dict[str, dict[str, Any]]:
        """Median of each probe's numeric subjects over the baseline: what relative tolerances compare with."""
        values: dict[str, dict[str, list[float]]] = {}
        for phase, probe, numeric in self._subjects:
            if phase == "baseline":
                for subject, value in numeric.items():
                    values.setdefault(probe, {}).setdefault(subject, []).append(value)
        return {probe: {s: statistics.median(v) for s, v in subjects.items()} for probe, subjects in values.items()}

    def held_since(self, start: float) -> bool:
        """Whether every decisive observation since ``start`` held (and there is one)."""
        judged = [o for o in self.observations if o.t >= start and not o.inconclusive and not o.detection]
        return bool(judged) and all(o.ok for o in judged)

    def last_round(self, phase: str) -> list[ProbeResult]:
        """The observations of the latest round in ``phase`` (every probe is observed at one time)."""
        in_phase = [o for o in self.observations if o.phase.value == phase]
        return [o for o in in_phase if o.t == in_phase[-1].t] if in_phase else []

    def audit(self) -> None:
        """Checks made once, after recovery, with the load stopped so every acknowledged write is in
        (writes readable, writes pending)."""
        if not self.writes.audits:
            return
        if self.load is not None:
            self.load.stop()
        for audit in self.writes.audits:
            captured = self.load.captured(audit.request) if self.load is not None else []
            reading, result = audit.run(captured)
            self.journal.event(audit.event, probe=audit.probe.name, request=audit.request, **result.to_dict())
            log.info(audit.event, probe=audit.probe.name, **result.counts())
            self.record(ProbeResult(probe=audit.probe.name, phase=Phase.AUDIT, t=self.elapsed(),
                                    ok=reading.judgement.ok, value=reading.subjects["value"],
                                    detail=reading.judgement.reason, hypothesis=self.title,
                                    inconclusive=reading.judgement.inconclusive))

    def stop(self) -> None:
        """End the background work (write visibility) and journal its summaries; the readings' probes closed."""
        self.writes.stop()
        for event, fields in self.writes.summaries():
            self.journal.event(event, **fields)
        self.readings.close()
