"""The hypotheses table: a row per probe with its observations per phase and its confidence intervals."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from chaoskit.journal import LoadRecord, Observation, Outcome, ProbeDefinition
from chaoskit.report.formatting import describe_tolerance, is_number, unit_of
from chaoskit.report.model import PHASES, Comparison, PhaseStats, ProbeRow
from chaoskit.report.series import numeric_subjects, scalar_subject

__all__ = ["probe_rows"]


def probe_rows(observations: Sequence[Observation], probes: Mapping[str, ProbeDefinition], hypothesis: str,
               outcome: Outcome | None, load: LoadRecord | None,
               prometheus: Sequence[Mapping[str, Any]] = ()) -> tuple[ProbeRow, ...]:
    """A row per probe (defined ones first, in the experiment's order; then any only the observations name).

    ``prometheus``: the journal's Prometheus entries, whose comparisons are shown as the load's are.
    """
    by_probe: dict[str, list[Observation]] = {name: [] for name in probes}
    for obs in observations:
        if obs.probe:
            by_probe.setdefault(obs.probe, []).append(obs)
    names = list(probes) + sorted(set(by_probe) - set(probes))
    violations = outcome.violations if outcome is not None else ()
    compared = [*(load.comparisons if load is not None else ()), *(c for p in prometheus for c in p.get("comparisons", ()))]
    comparisons = _comparisons(compared, violations)
    violated_probes = {str(v.get("probe")) for v in violations}
    return tuple(_row(name, by_probe[name], probes.get(name), hypothesis, comparisons, name in violated_probes)
                 for name in names)


def _row(name: str, mine: list[Observation], definition: ProbeDefinition | None, hypothesis: str,
         comparisons: list[Comparison], in_violations: bool) -> ProbeRow:
    phases = {phase: _phase_stats([o for o in mine if o.phase == phase], definition) for phase in PHASES}
    subjects = set().union(*(set(p.median) | set(p.text) for p in phases.values()))
    units = {s: unit_of(s) for s in subjects}
    if definition is not None and definition.metric:
        units.setdefault(definition.metric, unit_of(definition.metric))
    broken = [o for o in mine if o.state == "violated" and o.phase in PHASES]
    first = min(broken, key=lambda o: o.t, default=None)
    return ProbeRow(
        probe=name,
        hypothesis=next((o.hypothesis for o in mine if o.hypothesis), hypothesis),
        type=(definition.type or ("load" if definition.metric else "")) if definition is not None else "",
        tolerance=_tolerance_text(definition),
        units=units,
        phases=phases,
        comparisons=tuple(c for c in comparisons if c.probe == name),
        # A per-second detection alone is no violation: the window judgement decides (chaoskit.run.windows).
        violated=in_violations or any(o.state == "violated" and o.phase in ("FAULT", "AUDIT") and not o.detection
                                      for o in mine),
        first_detail=first.detail if first is not None else "",
    )


def _phase_stats(observations: Sequence[Observation], definition: ProbeDefinition | None) -> PhaseStats:
    numbers: dict[str, list[float]] = {}
    text: dict[str, str] = {}
    for obs in sorted(observations, key=lambda o: o.t):
        value = obs.value
        for subject, number in numeric_subjects(value, definition).items():
            numbers.setdefault(subject, []).append(number)
        if isinstance(value, Mapping):
            text.update({str(k): str(v) for k, v in value.items() if not is_number(v) and v is not None})
        elif value is not None and not is_number(value):
            text[scalar_subject(definition)] = str(value)
    return PhaseStats(
        count=len(observations),
        violated=sum(1 for o in observations if o.state == "violated"),
        inconclusive=sum(1 for o in observations if o.state == "inconclusive"),
        median={s: statistics.median(v) for s, v in numbers.items()},
        low={s: min(v) for s, v in numbers.items()},
        high={s: max(v) for s, v in numbers.items()},
        text={s: v for s, v in text.items() if s not in numbers},
    )


def _tolerance_text(definition: ProbeDefinition | None) -> str:
    if definition is None:
        return ""
    parts = [f"{c.subject or 'value'} {describe_tolerance(c.tolerance, unit_of(c.subject or 'value'))}".strip()
             for c in definition.checks]
    return "; ".join(parts)


def _comparisons(compared: Sequence[Mapping[str, Any]], violations: Sequence[Mapping[str, Any]]) -> list[Comparison]:
    """Confidence intervals: the statistical comparisons (load, Prometheus), else the intervals the violations carry."""
    found: list[Comparison] = []
    for item in compared:
        if not item.get("probe"):
            continue
        found.append(Comparison(
            probe=str(item["probe"]), low=_number(item.get("ci_low")), high=_number(item.get("ci_high")),
            confidence=_number(item.get("confidence")), shift=_number(item.get("shift")),
            baseline=_number(item.get("baseline_median")),
            during=_number(item.get("fault_median", item.get("median"))), p_value=_number(item.get("p_value")),
            decision=str(item.get("decision") or ""), phase=str(item.get("phase") or "FAULT").upper(),
            metric=str(item.get("metric") or ""),
        ))
    compared = {c.probe for c in found}
    for violation in violations:
        interval = violation.get("interval")
        probe = str(violation.get("probe") or "")
        if probe in compared or not isinstance(interval, (list, tuple)) or len(interval) != 2:
            continue
        found.append(Comparison(probe=probe, low=_number(interval[0]), high=_number(interval[1]),
                                baseline=_number(violation.get("baseline")), during=_number(violation.get("value")),
                                phase=str(violation.get("phase") or "FAULT").upper(), decision="violated"))
    return found


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None
