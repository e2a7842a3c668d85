"""The chart's lines: the load's p50, p99 and error rate per second, else the probes' numeric values.

Load buckets carry wall-clock starts (or, from newer runs, their ``t``); they
are put on the run's clock through the events, each of which has both its
``t`` and its wall-clock ``at``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chaoskit.journal import Event, Observation, ProbeDefinition
from chaoskit.report.formatting import UNIT_PLAIN, is_number, unit_of
from chaoskit.report.model import LOAD_METRICS, Series
from chaoskit.report.timing import parse_time

__all__ = ["BucketPoint", "bucket_points", "chart_series", "numeric_subjects", "run_epoch", "scalar_subject"]

BucketPoint = tuple[float, float, dict[str, float | None]]  # (t, duration, {metric: value})


def run_epoch(events: Sequence[Event], started_at: str) -> float | None:
    """Wall-clock epoch of the run's t=0: the median of (event ``at`` - event ``t``), else ``started_at``."""
    offsets = []
    for event in events:
        at = parse_time(event.at)
        if at is not None and at.tzinfo is not None:
            offsets.append(at.timestamp() - event.t)
    if offsets:
        return statistics.median(offsets)
    start = parse_time(started_at)
    return start.timestamp() if start is not None and start.tzinfo is not None else None


def bucket_points(raw: Sequence[Mapping[str, Any]], epoch: float | None, notes: list[str]) -> list[BucketPoint]:
    """One point per load bucket; histograms are decoded with the measure module's Bucket, bad ones noted."""
    if not raw:
        return []
    from chaoskit.measure.buckets import Bucket  # numpy and hdrh: only when there is load to read

    points = []
    unreadable = 0
    for item in raw:
        try:
            bucket = Bucket.from_dict(item)
            values = _values(bucket)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:  # noqa: PERF203 - per bucket
            unreadable += 1
            if unreadable <= 3:
                notes.append(f"load bucket {item.get('index', '?')} unreadable: {exc!r}")
            continue
        if is_number(item.get("t")):
            t = float(item["t"])
        elif epoch is not None:
            t = bucket.start - epoch
        else:
            t = float(bucket.index)
        points.append((t, bucket.duration_s, values))
    if unreadable > 3:
        notes.append(f"{unreadable} load buckets in all could not be read")
    return sorted(points, key=lambda p: p[0])


def _values(bucket: Any) -> dict[str, float | None]:
    """``bucket.metric`` of each load metric, with latency quantiles found by numpy, not hdrh's per-index loop.

    Same definition as hdrh's ``get_value_at_percentile`` (the first index whose
    cumulative count reaches the target, its highest equivalent value), one
    cumulative sum per bucket: a day of buckets is charted in seconds.
    """
    import numpy as np

    from chaoskit.measure.buckets import LATENCY_QUANTILES, _counts_view

    hist = bucket.latency
    counts = _counts_view(hist) if hist.get_total_count() > 0 else None
    cumulative = np.cumsum(counts) if counts is not None else None
    values: dict[str, float | None] = {}
    for name in LOAD_METRICS:
        if cumulative is None or name not in LATENCY_QUANTILES:
            values[name] = bucket.metric(name)
            continue
        index = int(np.searchsorted(cumulative, hist.get_target_count_at_percentile(LATENCY_QUANTILES[name])))
        values[name] = hist.get_highest_equivalent_value(hist.get_value_from_index(index)) / 1e6
    return values


def chart_series(buckets: Sequence[BucketPoint], observations: Sequence[Observation],
                 probes: Mapping[str, ProbeDefinition]) -> tuple[tuple[Series, ...], str]:
    """Chart lines and their source: from the load ("load") when there is some, else the probes ("probes")."""
    if buckets:
        series = tuple(
            Series(metric, unit_of(metric), tuple((t + d / 2, values.get(metric)) for t, d, values in buckets),
                   limit=_limit(probes.values(), metric, load=True))
            for metric in LOAD_METRICS
        )
        if any(s.has_data for s in series):
            return series, "load"
    lines: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    for obs in sorted(observations, key=lambda o: o.t):
        probe = obs.probe or "?"
        for subject, value in numeric_subjects(obs.value, probes.get(probe)).items():
            lines.setdefault((probe, subject), []).append((obs.t, value))
    everything = []
    for (probe, subject), points in lines.items():
        definition = probes.get(probe)
        # A load probe (or one whose only subject is its name) is named by the probe alone: "p99", not "p99: p99".
        single = subject == probe or (definition is not None and subject == definition.metric)
        everything.append(Series(probe if single else f"{probe}: {subject}", unit_of(subject), tuple(points),
                                 limit=_limit([definition] if definition else [], subject)))
    # Timings and rates say how the system behaved; status codes and counts are in the status strip.
    telling = [s for s in everything if s.unit != UNIT_PLAIN]
    chosen = telling or everything
    return tuple(chosen), ("probes" if chosen else "")


def _limit(definitions: Iterable[ProbeDefinition], subject: str, load: bool = False) -> float | None:
    """The lowest absolute ``max`` a probe's checks put on ``subject`` (drawn on the chart as the tolerance line)."""
    limits = []
    for definition in definitions:
        if load and definition.metric != subject:
            continue
        for check in definition.checks:
            if check.subject != subject:
                continue
            parts = check.tolerance.get("parts")
            for part in [check.tolerance, *(parts if isinstance(parts, list) else [])]:
                if isinstance(part, Mapping) and is_number(part.get("max")):
                    limits.append(float(part["max"]))
    return min(limits) if limits else None


def numeric_subjects(value: Any, definition: ProbeDefinition | None) -> dict[str, float]:
    """An observation's numbers by subject: a single number is its probe's one subject."""
    if is_number(value):
        return {scalar_subject(definition): float(value)}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items() if is_number(v)}
    return {}


def scalar_subject(definition: ProbeDefinition | None) -> str:
    """What a probe's single number is: its load metric, else the one subject its checks name."""
    if definition is None:
        return "value"
    if definition.metric:
        return definition.metric
    subjects = {c.subject for c in definition.checks if c.subject}
    if len(subjects) == 1:
        return subjects.pop()
    return {"command": "exit_code", "toxiproxy": "toxics"}.get(definition.type, "value")
