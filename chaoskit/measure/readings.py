"""Readings judged before, during and after a fault, as the load's metrics are (pure): a Prometheus probe's, and
a plugin probe's numbers.

A :class:`Reading` is one poll of the probe's query: the value of each series
at that moment (a scalar is the one series ``scalar``). Each series is judged
on its own and the worst decides, so ``tolerance: {max: 0.01}`` on a vector
of per-replica error ratios holds only if it holds for every replica.

* **windows** (:func:`judge_readings`): the baseline is held to the absolute
  parts of the tolerance; the fault and recovery windows to all of it with
  :func:`chaoskit.measure.judge.judge_values`: the window's mean reading
  against a ``min``/``max``, and the Mann-Whitney / Hodges-Lehmann shift of
  the typical reading against the baseline's for ``max_ratio``, ``min_ratio``
  and ``max_increase`` (*within*, *violated*, or *inconclusive* when the
  interval straddles the tolerance);
* **detection** (:func:`reading_result`, :func:`time_to_detect`): each reading
  against the per-reading limit the tolerance implies (relative parts from the
  baseline's median), dating a violation; the window still decides;
* **recovery** (:func:`time_to_recover`): back inside the band the baseline's
  readings covered, for ``hold`` readings in a row.

A poll that failed (Prometheus down) or a series missing from an answer is no
value: it neither holds nor breaks. NaN and infinite values (a ratio of two
zero rates, a quantile past the last bucket) are no value too, so a query
whose steady state is "no series" (``rate(errors[5s]) > 0``) judges nothing:
write ``... or vector(0)``. Readings trail the world by up to a scrape
interval plus the query's range: keep both short (``rate(x[5s])`` at 1 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from chaoskit.measure import detection
from chaoskit.measure.buckets import Bucket
from chaoskit.measure.detection import Clock, Limit, baseline_band, limit_for
from chaoskit.measure.judge import MetricJudgement, WindowJudgement, judge_values, per_second
from chaoskit.measure.stats import DEFAULT_CONFIDENCE, Worse
from chaoskit.model.plugin_probe import PluginProbeSpec
from chaoskit.model.prometheus_probe import PrometheusProbe
from chaoskit.model.tolerance import AllOf, Relative, Threshold, Tolerance, absolute_part
from chaoskit.verdict import Phase, ProbeResult

__all__ = ["SCALAR", "Reading", "judge_readings", "limits_for", "reading_result",
           "series_of", "time_to_detect", "time_to_recover"]

SCALAR = "scalar"  # the series name of a query that gives a scalar
# A probe read into readings: a PromQL query, or a plugin's probe of numbers (its one series: value).
ReadProbe = PrometheusProbe | PluginProbeSpec


@dataclass(frozen=True)
class Reading:
    """One poll of a query. It offers the part of a load bucket's interface detection reads (a moment, not a span)."""

    index: int
    t: float  # wall clock (epoch seconds) when the answer came
    t_mono: float  # time.monotonic at the same moment
    values: Mapping[str, float] = field(default_factory=dict)  # series -> finite value
    error: str | None = None  # why this poll has no values (Prometheus did not answer...)

    @property
    def start(self) -> float:
        return self.t

    @property
    def start_mono(self) -> float:
        return self.t_mono

    end, end_mono = start, start_mono  # a moment: it ends where it starts

    def metric(self, series: str) -> float | None:
        return self.values.get(series)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "t": self.t, "t_mono": self.t_mono, "values": dict(self.values),
                "error": self.error}


def _as_buckets(readings: Sequence[Reading]) -> Sequence[Bucket]:
    # detection's functions read only index, start/end (both clocks) and metric(): a Reading has them.
    return cast(Sequence[Bucket], readings)


def series_of(readings: Sequence[Reading]) -> list[str]:
    """Every series any reading has a value for, sorted."""
    return sorted({series for r in readings for series in r.values})


def _worse(tolerance: Tolerance) -> Worse:
    """Which way a reading gets worse: down only when every bound is a lower one (min, min_ratio)."""
    parts = tolerance.parts if isinstance(tolerance, AllOf) else (tolerance,)
    upper = any((isinstance(p, Threshold) and p.max is not None)
                or (isinstance(p, Relative) and (p.max_ratio is not None or p.max_increase is not None))
                for p in parts)
    return "higher" if upper else "lower"


def judge_readings(probe: ReadProbe, phase: str, baseline: Sequence[Reading], window: Sequence[Reading],
                   confidence: float = DEFAULT_CONFIDENCE) -> WindowJudgement:
    """Judge ``probe`` over ``window`` (the ``baseline`` window itself when ``phase`` is baseline)."""
    assert probe.tolerance is not None, "a pass/fail reading is not judged per window"
    tolerance = absolute_part(probe.tolerance) if phase == "baseline" else probe.tolerance
    if tolerance is None:  # only relative parts: the baseline holds against itself
        return WindowJudgement.of(probe.name, phase, (), f"{len(window)} readings")
    checks = []
    compared = phase != "baseline"
    failed = [r.error for r in window if r.error]
    why = f" ({len(failed)} of {len(window)} polls failed: {failed[0]})" if failed else ""
    window_series, baseline_series = series_of(window), series_of(baseline) if compared else []
    for series in sorted(set(window_series) | set(baseline_series)):
        if series not in window_series:
            checks.append(MetricJudgement(series, "inconclusive", f"{series}: no reading in the {phase} window{why}",
                                          None, None))
            continue
        base = per_second(_as_buckets(baseline), series)
        checks.append(judge_values(series, tolerance, base, per_second(_as_buckets(window), series), confidence,
                                   compared=compared))
    if not checks:
        what = probe.query if isinstance(probe, PrometheusProbe) else "value"
        checks.append(MetricJudgement(what, "inconclusive",
                                      f"no readings in the {phase} window{why or ' (the query gave no series)'}",
                                      None, None))
    return WindowJudgement.of(probe.name, phase, checks, f"{len(window)} readings")


def limits_for(probe: ReadProbe, baseline: Sequence[Reading]) -> dict[str, Limit]:
    """Per-reading limits of each series; relative ones only for series the baseline has readings of."""
    limits = {}
    for series in series_of(baseline):
        limits[series] = limit_for(series, probe.tolerance, _as_buckets(baseline))
    absolute = absolute_part(probe.tolerance)
    return {"": limit_for("", absolute, ()) if absolute is not None else Limit(""), **limits}


def _limit(limits: Mapping[str, Limit], series: str) -> Limit:
    """The series's own limit, or the absolute one every series shares (a series new since the baseline)."""
    own = limits.get(series)
    if own is not None:
        return own
    shared = limits[""]
    return Limit(series, shared.high, shared.low)


def reading_result(probe: ReadProbe, reading: Reading, limits: Mapping[str, Limit], phase: Phase,
                   t: float, hypothesis: str) -> ProbeResult:
    """One reading as a detection observation: it flags a violation early; the window's judgement decides."""
    if reading.error or not reading.values:
        detail = reading.error or "the query gave no series"
        return ProbeResult(probe.name, phase, t, ok=False, detail=detail, hypothesis=hypothesis, inconclusive=True,
                           detection=True)
    broken = [s for s in sorted(reading.values) if _limit(limits, s).holds(cast(Bucket, reading)) is False]
    shown = broken or sorted(reading.values)
    value = reading.values[shown[0]]
    detail = ", ".join(f"{s} {reading.values[s]:.4g}" for s in shown[:3]) + (" ..." if len(shown) > 3 else "")
    return ProbeResult(probe.name, phase, t, ok=not broken, value=value,
                       detail=f"{'beyond the limit: ' if broken else ''}{detail}", hypothesis=hypothesis,
                       detection=True)


def time_to_detect(probe: ReadProbe, baseline: Sequence[Reading], readings: Sequence[Reading],
                   applied_at: float, consecutive: int = 1, clock: Clock = "wall") -> float | None:
    """Seconds from ``applied_at`` to the first reading (``consecutive`` in a row) of any series beyond its limit."""
    limits = limits_for(probe, baseline)
    found = [detection.time_to_detect(_as_buckets(readings), applied_at, _limit(limits, s), consecutive, clock)
             for s in series_of(readings)]
    return min((f for f in found if f is not None), default=None)


def time_to_recover(probe: ReadProbe, baseline: Sequence[Reading], readings: Sequence[Reading],
                    reverted_at: float, hold: int = 5, clock: Clock = "wall") -> float | None:
    """Seconds from ``reverted_at`` until every series the baseline had was back in its band for ``hold`` readings."""
    worse = _worse(probe.tolerance)
    found = []
    for series in series_of(baseline):
        band = baseline_band(series, _as_buckets(baseline), worse=worse)
        found.append(detection.time_to_recover(_as_buckets(readings), reverted_at, band, hold, clock))
    if not found or any(f is None for f in found):
        return None
    return max(cast(list[float], found))
