"""Load probes judged over whole windows: what decides the baseline and the fault phase (pure).

A second's p99 over a few hundred requests is noisy: judging every second on
its own would turn one slow second into a FAILURE (or an ABORTED baseline)
that the next run would not repeat. So per-second readings of load probes
only *detect* (time to detect, stop conditions, the live display), and the
verdict comes from the whole window:

* **baseline**: the absolute parts of each tolerance (the SLOs) against the
  merged histograms of the baseline window. A relative part holds trivially
  against itself, so it is not judged here;
* **fault**: every check over the fault window with
  :func:`chaoskit.measure.judge.judge_metric`: SLOs on the merged window, and
  relative tolerances by the Mann-Whitney / Hodges-Lehmann comparison of the
  per-second values against the baseline's, which is *within*, *violated* or
  *inconclusive* (the interval straddles the tolerance: not a guess);
* **recovery**: the same comparison, for the report only; recovery itself is
  judged second by second (back inside the band and staying there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaoskit.measure.buckets import Bucket
from chaoskit.measure.judge import WindowJudgement, judge_metric, tallied
from chaoskit.measure.window import WindowStats, WindowTally
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Judgement, absolute_part, evaluate_checks

__all__ = ["WindowJudgement", "absolute_part", "judge_second", "judge_window", "numeric_subjects", "quoted"]


def judge_window(probe: LoadProbe, phase: str, baseline: WindowTally | Iterable[Bucket],
                 window: WindowTally | Iterable[Bucket]) -> WindowJudgement:
    """Judge ``probe`` over ``window`` (the ``baseline`` window itself when ``phase`` is baseline).

    Each window is read once, a second at a time, into a tally (merged
    histograms, counts, the metric's per-second values) that every check
    reads: judging a day-long window takes about as much memory as a minute's.
    """
    base = tallied(baseline, probe.metric)
    judged = base if window is baseline else tallied(window, probe.metric)
    checks = []
    for check in probe.checks:
        tolerance = absolute_part(check.tolerance) if phase == "baseline" else check.tolerance
        if tolerance is None:
            continue
        # Against itself the baseline's comparison would say nothing: no interval for it.
        checks.append(judge_metric(probe.metric, tolerance, base, judged, compared=phase != "baseline"))
    return WindowJudgement.of(probe.name, phase, checks, f"{judged.buckets} s")


def judge_second(probe: LoadProbe, window: WindowStats | None, baseline: Mapping[str, Any] | None, *,
                 self_baseline: bool = False) -> tuple[Judgement, dict[str, Any]] | None:
    """A load probe on the load's latest second, which only *detects* (see above); None before a second of load.

    ``self_baseline``: with no baseline, relative tolerances compare the second with itself.
    """
    if window is None or window.sent == 0:
        return None
    subjects: dict[str, Any] = {probe.metric: window.metric(probe.metric)}
    compared = subjects if baseline is None and self_baseline else baseline
    return evaluate_checks(probe.checks, subjects, compared), subjects


def numeric_subjects(subjects: Mapping[str, Any]) -> dict[str, float]:
    """The subjects that are numbers (booleans are not): what baselines are medians of."""
    return {k: float(v) for k, v in subjects.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def quoted(values: Mapping[str, Any] | None) -> Any:
    """How an observation quotes its values: a single one as a plain number, several as they are."""
    return next(iter(values.values())) if values and len(values) == 1 else values
