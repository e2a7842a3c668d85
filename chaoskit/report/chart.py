"""The run's chart over time: latency and error rate (or probe values), fault windows shaded. Returns SVG text.

Drawn with matplotlib's object API (``Figure``, never ``pyplot``): no global
backend or figure registry, so rendering is safe from any thread and leaves
no state behind; SVG output uses matplotlib's own vector backend and text is
drawn as paths, so the report needs no font on the reader's machine. The SVG
is deterministic (fixed hash salt, no date) so the same journal gives the
same report byte for byte.

Panels, top to bottom, each present only when it has something to show:

1. latency in ms (p50 and p99 of the load; else the probes' timings), log
   scale when the fault moved it by more than an order of magnitude;
2. error rate in % (else the probes' other numbers);
3. a status strip: every probe observation as held / violated / inconclusive.

Every panel shades each fault from applied to reverted, and marks phase
boundaries, the moment a violation was detected and the moment of recovery.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from chaoskit.report.formatting import UNIT_PERCENT, UNIT_SECONDS, format_value
from chaoskit.report.model import Mark, RunReport, Series

__all__ = ["COLORS", "render_chart"]

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
WIDTH_IN = 10.0
MARK_COLUMNS = 1500  # finer than a pixel: the chart is about 900 px wide on screen
MAX_DOTS = 300


def render_chart(run: RunReport) -> str | None:
    """The chart of ``run`` as SVG text, or None when the journal has neither series nor observations."""
    latency = [s for s in run.series if s.unit == UNIT_SECONDS and s.has_data]
    other = [s for s in run.series if s.unit != UNIT_SECONDS and s.has_data]
    probes = sorted({m.probe for m in run.marks}, key=_probe_order(run))
    panels: list[tuple[str, float]] = []
    if latency:
        panels.append(("latency", 3.0))
    if other:
        panels.append(("other", 1.8))
    if probes:
        panels.append(("status", 0.5 + 0.28 * len(probes)))
    if not panels:
        return None

    with matplotlib.rc_context({"svg.hashsalt": "chaoskit", "svg.fonttype": "path", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False}):
        fig = Figure(figsize=(WIDTH_IN, sum(h for _, h in panels) + 1.2), layout="constrained")
        axes = fig.subplots(len(panels), 1, sharex=True, height_ratios=[h for _, h in panels], squeeze=False)[:, 0]
        end = max(run.end_t, 1.0)
        for (kind, _), ax in zip(panels, axes):
            if kind == "latency":
                _latency_panel(ax, latency, run.series_source)
            elif kind == "other":
                _other_panel(ax, other, run.series_source)
            else:
                _status_panel(ax, run, probes)
            _decorate(ax, run, end)
        _phase_labels(axes[0], run)
        _legend(fig, axes, run)
        axes[-1].set_xlabel("seconds since the run started")
        axes[-1].set_xlim(0, end)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return _stable_ids(out.getvalue())


def _stable_ids(svg: str) -> str:
    """Renumber matplotlib's hashed element ids (some hash object identities) in order of appearance."""
    found: dict[str, str] = {}
    for match in re.finditer(r'id="([pmh][0-9a-f]{10})"', svg):
        found.setdefault(match.group(1), f"{match.group(1)[0]}{len(found)}")
    if not found:
        return svg
    return re.sub(r"\b(" + "|".join(map(re.escape, found)) + r")\b", lambda m: found[m.group(1)], svg)


def _probe_order(run: RunReport):
    order = {row.probe: i for i, row in enumerate(run.probes)}
    return lambda name: (order.get(name, len(order)), name)


def _xy(series: Series, scale: float) -> tuple[list[float], list[float]]:
    xs = [t for t, _ in series.points]
    ys = [v * scale if v is not None else math.nan for _, v in series.points]
    return xs, ys


def _latency_panel(ax, series: Sequence[Series], source: str) -> None:
    values = []
    for i, s in enumerate(series):
        xs, ys = _xy(s, 1000.0)
        values.extend(y for y in ys if not math.isnan(y))
        color = COLORS.get(s.name, _CYCLE[i % len(_CYCLE)])
        width = 1.8 if s.name == "p99" else 1.3
        ax.plot(xs, ys, color=color, linewidth=width, label=s.name, marker=_marker(source, xs),
                markersize=4)
        if s.limit is not None:
            ax.axhline(s.limit * 1000.0, color=color, linewidth=0.9, linestyle=(0, (6, 3)), alpha=0.8,
                       label=f"{s.name} tolerance {format_value(s.limit, s.unit)}")
            values.append(s.limit * 1000.0)
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel("latency (ms)")


def _other_panel(ax, series: Sequence[Series], source: str) -> None:
    percent = all(s.unit == UNIT_PERCENT for s in series)
    top = 0.0
    for i, s in enumerate(series):
        xs, ys = _xy(s, 100.0 if s.unit == UNIT_PERCENT else 1.0)
        top = max([top] + [y for y in ys if not math.isnan(y)])
        color = COLORS.get(s.name, _CYCLE[(i + 2) % len(_CYCLE)])
        label = "error rate" if s.name == "error_rate" else s.name
        ax.plot(xs, ys, color=color, linewidth=1.4, label=label, marker=_marker(source, xs), markersize=4)
        if source == "load" and s.name == "error_rate":
            ax.fill_between(xs, ys, 0, color=color, alpha=0.12, linewidth=0)
        if s.limit is not None:
            scaled = s.limit * (100.0 if s.unit == UNIT_PERCENT else 1.0)
            ax.axhline(scaled, color=color, linewidth=0.9, linestyle=(0, (6, 3)), alpha=0.8,
                       label=f"{label} tolerance {format_value(s.limit, s.unit)}")
            top = max(top, scaled)
    if percent:
        ax.set_ylim(0, max(1.0, top * 1.15))
        ax.set_ylabel("error rate (%)" if any(s.name == "error_rate" for s in series) else "%")
    else:
        ax.set_ylabel("value")


def _status_panel(ax, run: RunReport, probes: Sequence[str]) -> None:
    row = {name: i for i, name in enumerate(probes)}
    styles = {"held": ("o", 14), "violated": ("X", 36), "inconclusive": ("s", 16)}
    for state, (marker, size) in styles.items():
        marks = _thinned([m for m in run.marks if m.state == state], max(run.end_t, 1.0))
        if marks:
            ax.scatter([m.t for m in marks], [row[m.probe] for m in marks], marker=marker, s=size,
                       color=COLORS[state], zorder=3, linewidths=0)
    ax.set_yticks(range(len(probes)), [_short(p) for p in probes])
    ax.set_ylim(-0.6, len(probes) - 0.4)
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylabel("probes")


def _decorate(ax, run: RunReport, end: float) -> None:
    windows = ((s.start, s.end if s.end is not None else end) for s in run.faults)
    for start, stop in _merged(windows, gap=end / MARK_COLUMNS):
        ax.axvspan(start, stop, color=COLORS["fault"], alpha=FAULT_ALPHA, linewidth=0, zorder=0)
    for span in run.phases[1:]:
        ax.axvline(span.start, color=COLORS["phase"], linewidth=0.8, linestyle=(0, (4, 3)), zorder=1)
    detect = _detected_at(run)
    if detect is not None:
        ax.axvline(detect, color=COLORS["detect"], linewidth=1.2, linestyle=(0, (2, 2)), zorder=2)
    recover = _recovered_at(run)
    if recover is not None:
        ax.axvline(recover, color=COLORS["recover"], linewidth=1.2, linestyle=(0, (2, 2)), zorder=2)
    for t, _ in run.stop_events:
        ax.axvline(t, color=COLORS["stop"], linewidth=1.2, zorder=2)
    ax.grid(axis="y", color="#e5e7e9", linewidth=0.6)


def _marker(source: str, xs: Sequence[float]) -> str:
    """Dots on probe lines, where each is one observation; none on load lines or where dots would merge."""
    return "." if source != "load" and len(xs) <= MAX_DOTS else ""


def _merged(spans: Iterable[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    """Fault windows that overlap or are less than ``gap`` apart (too close to tell apart) as one shaded stretch."""
    out: list[tuple[float, float]] = []
    for start, stop in sorted(spans):
        if out and start <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out


def _thinned(marks: Sequence[Mark], end: float) -> list[Mark]:
    """At most one mark per probe per MARK_COLUMNS-th of the run: more could not be told apart at any width."""
    seen: set[tuple[str, int]] = set()
    kept = []
    for mark in marks:
        column = (mark.probe, int(mark.t / end * MARK_COLUMNS))
        if column not in seen:
            seen.add(column)
            kept.append(mark)
    return kept


def _detected_at(run: RunReport) -> float | None:
    if run.time_to_detect_s is None or run.fault_applied_at is None:
        return None
    return run.fault_applied_at + run.time_to_detect_s


def _recovered_at(run: RunReport) -> float | None:
    if run.time_to_recover_s is None or run.reverted_at is None:
        return None
    return run.reverted_at + run.time_to_recover_s


def _phase_labels(ax, run: RunReport) -> None:
    for span in run.phases:
        middle = (span.start + (span.end if span.end is not None else run.end_t)) / 2
        ax.text(middle, 1.01, span.label, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=8, color="#566573")


def _legend(fig, axes, run: RunReport) -> None:
    """One legend for every panel, below the chart, so it never hides a line."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if run.faults:
        names = sorted({s.label for s in run.faults})
        text = "fault: " + _short(names[0], 40) + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")
        handles.append(Patch(color=COLORS["fault"], alpha=FAULT_ALPHA + 0.1, linewidth=0))
        labels.append(text)
    if _detected_at(run) is not None:
        handles.append(Line2D([], [], color=COLORS["detect"], linestyle=(0, (2, 2))))
        labels.append(f"violation detected (+{run.time_to_detect_s:.1f} s)")
    if _recovered_at(run) is not None:
        handles.append(Line2D([], [], color=COLORS["recover"], linestyle=(0, (2, 2))))
        labels.append(f"recovered (+{run.time_to_recover_s:.1f} s after the revert)")
    if run.stop_events:
        handles.append(Line2D([], [], color=COLORS["stop"]))
        labels.append("stop condition fired")
    if handles:
        fig.legend(handles, labels, loc="outside lower center", fontsize=8, frameon=False, ncols=min(4, len(handles)))


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
