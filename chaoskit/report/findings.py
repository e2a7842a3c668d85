"""The evidence behind a verdict, in plain text: which hypothesis, which probe, the numbers, the interval.

CI tools show a failed test's message and text, nothing else, so a FAILURE
must carry everything needed to act on it without opening the HTML report.
Shared by the JUnit and Markdown renderers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaoskit.report.formatting import format_duration, format_interval, format_shift, format_value, is_number, unit_of
from chaoskit.report.model import Comparison, ProbeRow, RunReport

__all__ = ["describe_comparison", "evidence", "violation_lines"]


def violation_lines(violation: Mapping[str, Any], row: ProbeRow | None) -> list[str]:
    """A violation as a few lines: hypothesis and probe with its tolerance, then the numbers, then the CI."""
    probe = str(violation.get("probe") or "?")
    hypothesis = str(violation.get("hypothesis") or (row.hypothesis if row else "") or "")
    head = (f"hypothesis {hypothesis!r}, " if hypothesis else "") + f"probe {probe!r}"
    if row is not None and row.tolerance:
        head += f" (tolerance: {row.tolerance})"
    lines = [head]
    after = violation.get("after_fault_s")
    phase = str(violation.get("phase") or "").upper()
    when = (f"{format_duration(after)} after the fault was applied" if is_number(after)
            else "before the fault (baseline)" if phase == "BASELINE" else f"during {phase.lower() or 'the run'}")
    lines.append(f"  violated {when}: {_against(violation.get('value'), violation.get('baseline'), row)}")
    if violation.get("detail"):
        lines.append(f"  check: {violation['detail']}")
    comparisons = list(row.comparisons) if row is not None else []
    interval = violation.get("interval")
    if not comparisons and isinstance(interval, (list, tuple)) and len(interval) == 2:
        comparisons = [Comparison(probe, _num(interval[0]), _num(interval[1]))]
    for comparison in comparisons:
        lines.append("  " + describe_comparison(comparison, _unit(row, comparison.metric)))
    return lines


def describe_comparison(c: Comparison, unit: str) -> str:
    """``shift vs baseline +788 ms, 98 % confidence interval [+700 ms, +850 ms], p = 0.001 (worse)``."""
    parts = []
    if c.estimate is not None:
        value = format_shift(c.estimate, unit) if c.label == "change vs baseline" else format_value(c.estimate, unit)
        parts.append(f"{c.label} {value}")
    elif c.shift is not None:
        parts.append(f"{c.label or 'shift vs baseline'} {format_shift(c.shift, unit)}")
    if c.low is not None and c.high is not None:
        label = f"{c.confidence * 100:g} % confidence interval" if c.confidence is not None and c.confidence <= 1 \
            else "confidence interval"
        parts.append(f"{label} {format_interval(c.low, c.high, unit, signed=not c.of_a_value)}")
    if c.p_value is not None:
        parts.append(f"p = {c.p_value:.2g}")
    text = ", ".join(parts) or "no interval"
    if c.phase and c.phase != "FAULT":
        text = f"{c.phase.lower()}: {text}"
    if c.decision:
        text += f" ({c.decision})"
    return text


def evidence(run: RunReport) -> list[str]:
    """Every violation of the run in lines; then the CIs of probes that held but were compared (for context)."""
    rows = {row.probe: row for row in run.probes}
    lines: list[str] = []
    if run.stopped_by and run.time_to_stop_s is not None:
        lines.append(f"stop condition {run.stopped_by!r}: harm cut {format_duration(run.time_to_stop_s)} after the "
                     f"fault was applied (detected after {format_duration(run.time_to_detect_s)})")
    seen = set()
    for violation in run.violations:
        probe = str(violation.get("probe") or "")
        seen.add(probe)
        lines.extend(violation_lines(violation, rows.get(probe)))
    for row in run.probes:
        if row.probe not in seen and row.comparisons:
            for c in row.comparisons:
                lines.append(f"probe {row.probe!r} held: {describe_comparison(c, _unit(row, c.metric))}")
    return lines


def _unit(row: ProbeRow | None, metric: str = "") -> str:
    if metric:
        return (row.units.get(metric) if row else None) or unit_of(metric)
    if row is not None and len(set(row.units.values())) == 1:
        return next(iter(row.units.values()))
    return ""


def _num(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _against(value: Any, baseline: Any, row: ProbeRow | None) -> str:
    if isinstance(value, Mapping):  # a probe with several subjects (http: status and latency)
        base = baseline if isinstance(baseline, Mapping) else {}
        return ", ".join(f"{k} {_pair(v, base.get(k), unit_of(str(k)))}" for k, v in value.items() if k != "body")
    return _pair(value, baseline, _unit(row))


def _pair(value: Any, baseline: Any, unit: str) -> str:
    text = format_value(value, unit)
    if is_number(value) and is_number(baseline):
        text += f" against a baseline of {format_value(baseline, unit)} ({format_shift(value - baseline, unit)}"
        text += f", x{value / baseline:.3g})" if baseline else ")"
    elif baseline is not None and not isinstance(baseline, Mapping):
        text += f" against a baseline of {format_value(baseline, unit)}"
    return text
