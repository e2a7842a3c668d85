"""The HTML report: one self-contained file per run or game day, readable offline.

Everything is inline: the stylesheet, the badges (CSS only), each chart's
data (JSON in a ``<script type="application/json">``) and, once per page,
uPlot and the few lines that draw the charts with it (zoom, values on
hover). Nothing refers to the network, so the file reads the same from a CI
artifact, an e-mail or a laptop on a plane. Every string from a journal is
escaped; without JavaScript the page still shows everything but the charts.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from collections.abc import Iterable, Mapping

from chaoskit import __version__
from chaoskit.report.chart import COLORS, chart_script, chart_spec
from chaoskit.report.formatting import (
    format_duration,
    format_interval,
    format_recovery,
    format_shift,
    format_value,
    is_number,
    unit_of,
)
from chaoskit.report.model import MEANING, PHASES, Entry, PhaseStats, ProbeRow, Report, RunReport, Suite

__all__ = ["BADGE_COLORS", "badge", "render_html"]

BADGE_COLORS = {
    "TOLERATED": "#1e8449",
    "FAILURE": "#c0392b",
    "NOT_RECOVERED": "#922b21",
    "ABORTED": "#b9770e",
    "INCONCLUSIVE": "#5d6d7e",
    "ERROR": "#6c3483",
}

def _css() -> str:
    """The page's stylesheet (``page.css``), with one badge colour per verdict."""
    return ((resources.files("chaoskit.report") / "page.css").read_text(encoding="utf-8")
            + "".join(f".badge.v-{name} {{ background: {color}; }}\n" for name, color in BADGE_COLORS.items()))


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    run = report.single_run
    body = _page_header(report)
    if run is not None:
        body += _run_section(run, anchor="run-1", heading=False)
    else:
        body += _overview(report)
        index = 0
        for suite in report.suites:
            for entry in suite.entries:
                index += 1
                body += _entry_section(entry, suite, f"run-{index}")
    sources = sorted({s.path for s in report.suites if s.path} | {e.run.path for e in report.entries if e.run and e.run.path})
    body += (f"<footer>Rendered by chaoskit {_e(__version__)} from {_e(', '.join(sources) or 'journals')}. "
             f"Readable offline: no network assets.</footer>")
    script = chart_script() if 'class="chaoskit-chart"' in body else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="chaoskit {_e(__version__)}">'
            f"<title>{_e(report.verdict)}: {_e(report.title)}</title><style>{_css()}</style></head>"
            f"<body><main>{body}</main>{script}</body></html>\n")


# -- pieces ----------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge(verdict: str, big: bool = False) -> str:
    return f'<span class="badge v-{_e(verdict)}{" big" if big else ""}" title="{_e(MEANING.get(verdict, ""))}">{_e(verdict)}</span>'


def _page_header(report: Report) -> str:
    run = report.single_run
    if run is not None:
        when = _when(run.started_at, run.duration_s)
        sub = " · ".join(x for x in (when, f"run {run.run_id}" if run.run_id else "") if x)
    else:
        counts: dict[str, int] = {}
        for entry in report.entries:
            counts[entry.verdict] = counts.get(entry.verdict, 0) + 1
        sub = f"{len(report.entries)} experiment(s): " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        days = [s for s in report.suites if s.gameday]
        if len(days) == 1:
            sub += " · " + _when(days[0].started_at, days[0].duration_s)
        sub += "".join(f" · {s.name}: {s.summary}" if len(days) > 1 else f" · {s.summary}"
                       for s in days if s.summary)
    return (f'<header class="page"><h1>{_e(report.title)}</h1>{badge(report.verdict, big=True)}</header>'
            f'<p class="sub">{_e(sub)}<br><span class="meaning">{_e(report.verdict)}: '
            f"{_e(MEANING.get(report.verdict, ''))}</span></p>")


def _when(started_at: str, duration_s: float | None) -> str:
    text = f"started {started_at.replace('T', ' ')}" if started_at else ""
    if duration_s is not None:
        text += f"{', ' if text else ''}took {format_duration(duration_s)}"
    return text


def _overview(report: Report) -> str:
    rows = []
    index = 0
    expecting = any(e.expected is not None for e in report.entries)
    for suite in report.suites:
        for entry in suite.entries:
            index += 1
            rows.append(
                f"<tr><td>{_e(suite.name)}</td><td><a href=\"#run-{index}\">{_e(entry.title)}</a></td>"
                + (f"<td>{_expected(entry)}</td>" if expecting else "")
                + f"<td>{badge(entry.verdict)}</td><td class=\"num\">{format_duration(entry.time_to_detect_s)}</td>"
                f"<td class=\"num\">{format_recovery(entry.time_to_recover_s)}</td>"
                f"<td>{_e(entry.reasons[0] if entry.reasons else '')}</td></tr>")
    notes = [n for s in report.suites for n in s.notes]
    return ('<section class="card"><h2>Experiments</h2><table><thead><tr><th>Suite</th><th>Experiment</th>'
            + ("<th>Expected</th>" if expecting else "")
            + "<th>Verdict</th><th>Time to detect</th><th>Time to recover</th><th>Top reason</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + _notes(notes) + "</section>")


def _expected(entry: Entry) -> str:
    """The overview's cell: the verdict expected, flagged in words when it did not come."""
    flag = ' <strong class="surprise">surprise</strong>' if entry.surprise else ""
    return _e(entry.expected or "") + flag


def _entry_section(entry: Entry, suite: Suite, anchor: str) -> str:
    if entry.run is not None:
        return _run_section(entry.run, anchor, heading=True, listed=entry)
    return (f'<section class="card" id="{anchor}"><header><h2>{_e(entry.title)}</h2>{badge(entry.verdict)}</header>'
            f'<p class="meaning">{_e(MEANING.get(entry.verdict, ""))}</p>{_expectation(entry)}{_reasons(entry.reasons)}'
            f"{_notes(['no readable journal for this experiment, so there is no chart or table'])}"
            f'<dl class="meta"><dt>experiment file</dt><dd><code>{_e(entry.file or "?")}</code></dd>'
            f"<dt>game day</dt><dd>{_e(suite.name)}</dd></dl></section>")


def _expectation(entry: Entry) -> str:
    """Expected vs actual, under an entry's heading (game days only)."""
    surprise = " surprise" if entry.surprise else ""
    return f'<p class="expectation{surprise}">{_e(entry.expectation)}</p>' if entry.expectation else ""


def _run_section(run: RunReport, anchor: str, heading: bool, listed: Entry | None = None) -> str:
    verdict = listed.verdict if listed is not None else run.verdict
    reasons = run.reasons or (listed.reasons if listed else ())
    parts = [f'<section class="card run" id="{anchor}">']
    if heading:
        parts.append(f"<header><h2>{_e(run.title)}</h2>{badge(verdict)}</header>")
        parts.append(f'<p class="meaning">{_e(MEANING.get(verdict, ""))}</p>')
        if listed is not None:
            parts.append(_expectation(listed))
    if run.description:
        parts.append(f"<p>{_e(run.description)}</p>")
    parts.append(_figures(run))
    parts.append("<h3>Why</h3>" + _reasons(reasons))
    parts.append(_notes(list(run.notes) + [f"measurement: {p}" for p in run.measurement_problems]))
    parts.append("<h3>Over time</h3>" + _chart(run))
    parts.append("<h3>Hypotheses</h3>" + _probe_table(run.probes))
    parts.append(_faults(run))
    parts.append(_load(run.load))
    parts.append(_meta(run))
    parts.append("</section>")
    return "".join(parts)


def _figures(run: RunReport) -> str:
    figures = [("time to detect", format_duration(run.time_to_detect_s)),
               ("time to recover", format_recovery(run.time_to_recover_s))]
    if run.fault_applied_at is not None:
        figures.append(("fault applied at", f"{run.fault_applied_at:.1f} s"))
    if run.reverted_at is not None:
        figures.append(("reverted at", f"{run.reverted_at:.1f} s"))
    if run.duration_s is not None:
        figures.append(("run took", format_duration(run.duration_s)))
    if run.stopped_by:
        figures.append(("stopped by", run.stopped_by))
    if run.time_to_stop_s is not None:
        figures.append(("time to stop", format_duration(run.time_to_stop_s)))
    return '<div class="figures">' + "".join(
        f'<div class="figure"><span class="k">{_e(k)}</span><span class="v">{_e(v)}</span></div>' for k, v in figures
    ) + "</div>"


def _reasons(reasons: Iterable[str]) -> str:
    items = "".join(f"<li>{_e(r)}</li>" for r in reasons)
    return f'<ol class="reasons">{items}</ol>' if items else '<p class="small">no reason recorded</p>'


def _notes(notes: Iterable[str]) -> str:
    notes = [n for n in notes if n]
    return ('<div class="notes">' + "<br>".join(_e(n) for n in notes) + "</div>") if notes else ""


def _chart(run: RunReport) -> str:
    spec = chart_spec(run)
    if spec is None:
        return ('<div class="nochart">No chart: the journal has no load windows and no probe observations '
                "(the run ended before it measured anything; see the reasons above).</div>")
    what = ("p50 and p99 latency and the error rate of the load" if run.series_source == "load"
            else "the probes' measured values" if run.series_source == "probes" else "the probe observations")
    # In a <script> element nothing is escaped by HTML, so "<" is written as JSON's own escape: no "</script>".
    data = json.dumps(spec, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    fault = f" Shaded: {_e(spec['fault_label'])}." if spec["fault_label"] else ""
    lines = "".join(f' <span style="color:{line["color"]}">┆</span> {_e(line["label"])}.' for line in spec["lines"])
    return (f'<figure class="chart"><div class="chart-area" role="img" aria-label="Chart over time of {_e(what)}">'
            f'</div><script type="application/json" class="chaoskit-chart">{data}</script>'
            f"<figcaption>{_e(what.capitalize())}; drag across a panel to zoom, double-click to reset, hover for "
            f"values.{fault} Long dashes: a tolerance's limit. Dashed grey: phase boundaries.{lines} Bottom strip: "
            f'each probe observation, <span style="color:{COLORS["held"]}">●</span> held, '
            f'<span style="color:{COLORS["violated"]}">✕</span> violated, '
            f'<span style="color:{COLORS["inconclusive"]}">■</span> inconclusive.</figcaption></figure>')


def _probe_table(rows: Iterable[ProbeRow]) -> str:
    rows = list(rows)
    if not rows:
        return '<p class="small">the journal names no probe</p>'
    out = ["<table><thead><tr><th>Probe</th><th>Tolerance</th>"
           + "".join(f"<th>{p.capitalize()}</th>" for p in PHASES)
           + "<th>Shift vs baseline (confidence interval)</th><th>State</th></tr></thead><tbody>"]
    hypothesis = None
    for row in rows:
        if row.hypothesis != hypothesis:
            hypothesis = row.hypothesis
            out.append(f'<tr class="hyp"><td colspan="{len(PHASES) + 4}">Hypothesis: {_e(hypothesis or "(untitled)")}</td></tr>')
        state = row.state
        detail = f'<div class="small">{_e(row.first_detail)}</div>' if row.first_detail and row.violated else ""
        out.append(
            f"<tr><td>{_e(row.probe)}<div class=\"small\">{_e(row.type)}</div></td><td>{_e(row.tolerance or '—')}</td>"
            + "".join(f'<td class="num">{_phase_cell(row.phases.get(p, PhaseStats()), row.units)}</td>' for p in PHASES)
            + f'<td class="num">{_comparisons(row)}</td>'
            + f'<td><span class="state-{state.replace(" ", "-")}">{_e(state)}</span>{detail}</td></tr>')
    out.append("</tbody></table>")
    return "".join(out)


def _phase_cell(stats: PhaseStats, units: Mapping[str, str]) -> str:
    if not stats.count:
        return '<span class="small">—</span>'
    lines = []
    subjects = list(stats.median)
    for subject in subjects:
        unit = units.get(subject, unit_of(subject))
        text = format_value(stats.median[subject], unit)
        low, high = stats.low.get(subject), stats.high.get(subject)
        if low is not None and high is not None and low != high:
            text += f" <span class=\"small\">({_e(format_value(low, unit))} – {_e(format_value(high, unit))})</span>"
        lines.append((f"{_e(subject)} " if len(subjects) + len(stats.text) > 1 else "") + text)
    for subject, value in stats.text.items():
        lines.append(f"{_e(subject)} {_e(format_value(value))}")
    counts = f"{stats.count} obs"
    if stats.violated:
        counts += f', <span class="state-violated">{stats.violated} violated</span>'
    if stats.inconclusive:
        counts += f", {stats.inconclusive} inconclusive"
    return "<br>".join(lines) + f'<div class="small">{counts}</div>'


def _comparisons(row: ProbeRow) -> str:
    if not row.comparisons:
        return '<span class="small">—</span>'
    parts = []
    for c in row.comparisons:
        unit = (row.units.get(c.metric) or unit_of(c.metric)) if c.metric else next(iter(row.units.values()), "")
        text = f"{c.label}: " if c.label else ""
        if c.estimate is not None:
            text += (format_shift(c.estimate, unit) if c.label == "change vs baseline"
                     else format_value(c.estimate, unit)) + " "
        elif c.shift is not None:
            text += format_shift(c.shift, unit) + " "
        if c.low is not None and c.high is not None:
            text += format_interval(c.low, c.high, unit, c.confidence, signed=not c.of_a_value)
        extra = []
        if c.phase and c.phase != "FAULT":
            extra.append(c.phase.lower())
        if c.p_value is not None:
            extra.append(f"p = {c.p_value:.2g}")
        if c.decision:
            extra.append(c.decision)
        parts.append(_e(text.strip() or "—") + (f'<div class="small">{_e(", ".join(extra))}</div>' if extra else ""))
    return "<br>".join(parts)


def _faults(run: RunReport) -> str:
    if not run.faults and not run.method:
        return ""
    out = ["<h3>Faults</h3>"]
    if run.faults:
        out.append("<table><thead><tr><th>Fault</th><th>Applied at</th><th>Reverted at</th><th>Lasted</th></tr></thead><tbody>")
        for span in run.faults:
            reverted = f"{span.end:.1f} s" if span.end is not None else "not reverted in this journal"
            lasted = format_duration(span.end - span.start) if span.end is not None else "—"
            out.append(f'<tr><td>{_e(span.label)}</td><td class="num">{span.start:.1f} s</td>'
                       f'<td class="num">{_e(reverted)}</td><td class="num">{_e(lasted)}</td></tr>')
        out.append("</tbody></table>")
    elif run.method:
        out.append('<p class="small">no fault was applied in this run</p>')
    if run.method:
        out.append('<div class="small">Method: ' + "; ".join(_e(m) for m in run.method) + "</div>")
    return "".join(out)


def _load(load: Mapping[str, object]) -> str:
    if not load:
        return ""
    spec = load.get("spec") if isinstance(load.get("spec"), Mapping) else {}
    summary = load.get("summary") if isinstance(load.get("summary"), Mapping) else {}
    validity = load.get("validity") if isinstance(load.get("validity"), Mapping) else {}
    items: list[tuple[str, str]] = []
    if spec:
        rate = spec.get("rate")
        items.append(("load", (f"{rate:g} req/s" if is_number(rate) else "?") + (
            f", mix {', '.join(str(r) for r in spec.get('requests') or ())}" if spec.get("requests") else "")))
    if summary:
        sent = summary.get("sent")
        items.append(("requests sent", str(sent)))
        for key in ("succeeded", "failed", "timed_out"):
            if summary.get(key) is not None:
                items.append((key.replace("_", " "), str(summary[key])))
        for key in ("p50", "p99", "max"):
            if is_number(summary.get(key)):
                items.append((f"{key} over the whole run", format_value(summary[key], "s")))
        if is_number(summary.get("steal")) and summary["steal"] > 0:
            items.append(("CPU taken by the hypervisor (steal)", format_value(summary["steal"], "ratio")))
    if validity:
        valid = validity.get("valid")
        reasons = "; ".join(str(r) for r in validity.get("reasons") or ())
        items.append(("measurement valid", ("yes" if valid else "no") + (f": {reasons}" if reasons else "")))
    if not items:
        return ""
    return "<h3>Load</h3><dl class=\"meta\">" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _meta(run: RunReport) -> str:
    items: list[tuple[str, str]] = []
    if run.run_id:
        items.append(("run id", run.run_id))
    if run.started_at:
        items.append(("started", run.started_at))
    if run.finished_at:
        items.append(("finished", run.finished_at))
    if run.phases_planned:
        items.append(("phases planned", ", ".join(f"{k} {v:g} s" for k, v in run.phases_planned.items())))
    if run.tags:
        items.append(("tags", ", ".join(run.tags)))
    for name, version in run.environment.items():
        items.append((name, version))
    if run.chaoskit:
        items.append(("chaoskit", run.chaoskit))
    if run.path:
        items.append(("journal", run.path))
    return "<h3>Run</h3><dl class=\"meta\">" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"

