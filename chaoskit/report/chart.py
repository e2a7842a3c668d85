"""The run's chart over time, as data for the page's script: latency, error rate, probe states, fault windows.

The HTML report draws it in the browser with uPlot (vendored in
``report/vendor``, inlined into the page: offline, zoom by dragging,
values on hover, panels of one run share the cursor). This module is pure:
a :class:`RunReport` in, a JSON-ready mapping out, so what the chart shows is
tested without a browser, and a report of any size stays small: fault
windows closer than a pixel are one shaded stretch, and probe marks are
thinned to one per probe per pixel column.

Panels, top to bottom, each present only when it has something to show:

1. latency in ms (p50 and p99 of the load; else the probes' timings), log
   scale when the values span more than a factor of 20;
2. error rate in % (else the probes' other numbers);
3. a status strip: every probe observation as held / violated / inconclusive.

Every panel shades each fault from applied to reverted, and marks phase
boundaries, the moment a violation was detected, the moment of recovery and
any stop condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from chaoskit.report.formatting import UNIT_PERCENT, UNIT_SECONDS, format_recovery, format_value
from chaoskit.report.model import Mark, RunReport, Series

__all__ = ["COLORS", "FAULT_ALPHA", "chart_script", "chart_spec"]

COLORS = {
    "p50": "#2471a3",
    "p99": "#7d3c98",
    "error_rate": "#c0392b",
    "fault": "#f5b041",
    "held": "#27ae60",
    "violated": "#c0392b",
    "inconclusive": "#7f8c8d",
    "detect": "#c0392b",
    "recover": "#1e8449",
    "stop": "#d35400",
    "phase": "#95a5a6",
}
_CYCLE = ("#2471a3", "#7d3c98", "#16a085", "#b9770e", "#2c3e50", "#a93226", "#1f618d", "#7b7d7d")
FAULT_ALPHA = 0.28
COLUMNS = 1500  # finer than a pixel: the chart is about 1000 px wide on screen
MAX_DOTS = 300  # a probe line gets a dot per observation up to this many


def chart_spec(run: RunReport) -> dict[str, Any] | None:
    """What the page's script draws for ``run``; None when the journal has neither series nor observations."""
    latency = [s for s in run.series if s.unit == UNIT_SECONDS and s.has_data]
    other = [s for s in run.series if s.unit != UNIT_SECONDS and s.has_data]
    probes = sorted({m.probe for m in run.marks}, key=_probe_order(run))
    end = max(run.end_t, 1.0)
    panels = []
    if latency:
        panels.append(_line_panel("latency (ms)", latency, 1000.0, run.series_source, first_color=0))
    if other:
        percent = all(s.unit == UNIT_PERCENT for s in other)
        label = ("error rate (%)" if any(s.name == "error_rate" for s in other) else "%") if percent else "value"
        panels.append(_line_panel(label, other, 100.0 if percent else 1.0, run.series_source, first_color=2))
    if probes:
        panels.append(_status_panel(run.marks, probes, end))
    if not panels:
        return None
    return {
        "end": end,
        "panels": panels,
        "faults": _merged(((s.start, s.end if s.end is not None else end) for s in run.faults), gap=end / COLUMNS),
        "fault_label": _fault_label(run),
        "phases": [[s.start, s.end if s.end is not None else end, s.label] for s in run.phases],
        "lines": _lines(run),
        "colors": {k: COLORS[k] for k in ("fault", "phase")},
        "fault_alpha": FAULT_ALPHA,
    }


def chart_script() -> str:
    """uPlot's script and stylesheet and the glue that draws every chart of the page, to inline once per page."""
    vendor = resources.files("chaoskit.report") / "vendor"
    licence = (vendor / "uPlot.LICENSE").read_text(encoding="utf-8")  # MIT: the notice travels with every copy
    return ("<style>" + (vendor / "uPlot.min.css").read_text(encoding="utf-8") + "</style>"
            + "<script>/*! uPlot 1.6.32\n" + licence + "*/\n" + (vendor / "uPlot.iife.min.js").read_text(encoding="utf-8")
            + "</script>"
            + "<script>" + (resources.files("chaoskit.report") / "chart.js").read_text(encoding="utf-8")
            + "</script>")


def _probe_order(run: RunReport):
    order = {row.probe: i for i, row in enumerate(run.probes)}
    return lambda name: (order.get(name, len(order)), name)


def _line_panel(label: str, series: Sequence[Series], scale: float, source: str, first_color: int) -> dict[str, Any]:
    """One panel of lines on a shared time axis (uPlot wants aligned columns: gaps are null)."""
    xs = sorted({t for s in series for t, _ in s.points})
    column = {t: i for i, t in enumerate(xs)}
    lines, values = [], []
    for i, s in enumerate(series):
        ys: list[float | None] = [None] * len(xs)
        for t, v in s.points:
            ys[column[t]] = v * scale if v is not None else None
        values.extend(y for y in ys if y is not None)
        color = COLORS.get(s.name, _CYCLE[(i + first_color) % len(_CYCLE)])
        name = "error rate" if s.name == "error_rate" else s.name
        lines.append({"name": name, "color": color, "width": 2.0 if s.name == "p99" else 1.5, "values": ys,
                      "dots": source != "load" and len(s.points) <= MAX_DOTS,
                      "joined": source != "load"})  # probe lines join their samples; load gaps are real
        if s.limit is not None:
            lines.append({"name": f"{name} tolerance {format_value(s.limit, s.unit)}", "color": color, "width": 1.0,
                          "values": [s.limit * scale] * len(xs), "dash": [6, 3], "dots": False, "joined": True})
            values.append(s.limit * scale)
    positive = [v for v in values if v > 0]
    log = bool(positive) and max(positive) / min(positive) > 20
    if log:  # a log axis has no place for zero
        for line in lines:
            line["values"] = [v if v is None or v > 0 else None for v in line["values"]]
    return {"kind": "lines", "label": label, "x": xs, "series": lines, "log": log}


def _status_panel(marks: Sequence[Mark], probes: Sequence[str], end: float) -> dict[str, Any]:
    row = {name: i for i, name in enumerate(probes)}
    by_state: dict[str, list[list[float]]] = {"held": [], "violated": [], "inconclusive": []}
    seen: set[tuple[str, str, int]] = set()
    for mark in marks:
        column = (mark.probe, mark.state, int(mark.t / end * COLUMNS))
        if column not in seen:
            seen.add(column)
            by_state.setdefault(mark.state, []).append([mark.t, row[mark.probe]])
    return {"kind": "status", "label": "probes", "probes": list(probes), "marks": by_state,
            "colors": {state: COLORS[state] for state in by_state}}


def _merged(spans: Iterable[tuple[float, float]], gap: float) -> list[list[float]]:
    """Fault windows that overlap or are less than ``gap`` apart (too close to tell apart) as one shaded stretch."""
    out: list[list[float]] = []
    for start, stop in sorted(spans):
        if out and start <= out[-1][1] + gap:
            out[-1][1] = max(out[-1][1], stop)
        else:
            out.append([start, stop])
    return out


def _fault_label(run: RunReport) -> str:
    names = sorted({s.label for s in run.faults})
    if not names:
        return ""
    return "fault: " + names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")


def _lines(run: RunReport) -> list[dict[str, Any]]:
    lines = []
    if run.time_to_detect_s is not None and run.fault_applied_at is not None:
        lines.append({"t": run.fault_applied_at + run.time_to_detect_s, "color": COLORS["detect"], "dash": [2, 2],
                      "label": f"violation detected (+{run.time_to_detect_s:.1f} s)"})
    if run.time_to_recover_s is not None and run.reverted_at is not None:
        lines.append({"t": run.reverted_at + run.time_to_recover_s, "color": COLORS["recover"], "dash": [2, 2],
                      "label": f"recovered (+{format_recovery(run.time_to_recover_s)} after the revert)"})
    lines.extend({"t": t, "color": COLORS["stop"], "dash": [], "label": f"stop condition fired: {reason}"}
                 for t, reason in run.stop_events)
    return lines
