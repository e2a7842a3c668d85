"""Where the monkey's steady-state rounds come from: every probe of the hypothesis once per round.

A seam (:class:`Observer`): the controller asks for a round, fixes the
baseline once and has each kill's whole window judged; tests and benches
pass :class:`NoProbes` or a scripted observer instead.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Protocol

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.model.probes import Hypothesis, LoadProbe, PrometheusProbe, WriteProbe
from chaoskit.run.judging import judge_second, judge_window, numeric_subjects, quoted
from chaoskit.run.observe import observe
from chaoskit.schedule.monkey_verdict import Round
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["NoProbes", "Observer", "SteadyStateObserver"]


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
            if isinstance(probe, WriteProbe | PrometheusProbe):  # judged over an experiment's phase windows
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
                judged = judge_second(probe, self.load.latest_window() if self.load is not None else None, baseline)
                if judged is None:
                    continue  # no completed second of load yet: nothing to judge
                judgement, subjects = judged
            else:
                reading = observe(probe, self.backends, self.project, baseline)
                subjects, judgement = dict(reading.subjects), reading.judgement
            numeric = numeric_subjects(subjects)
            if phase is Phase.BASELINE:
                for subject, number in numeric.items():
                    self._baseline_values.setdefault(probe.name, {}).setdefault(subject, []).append(number)
            results.append(ProbeResult(probe=probe.name, phase=phase, t=t, ok=judgement.ok, value=quoted(numeric),
                                       baseline=quoted(baseline),
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
        window = self.load.seconds_between(start, end)
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

