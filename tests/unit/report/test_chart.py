"""The chart: SVG over time with the fault windows shaded."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chaoskit.report.chart import COLORS, render_chart
from chaoskit.report.runs import run_report
from tests.unit.report import builders as b


@pytest.fixture(scope="module")
def load_svg() -> str:
    return render_chart(run_report(b.record(b.run_journal())))


def test_chart_is_well_formed_svg(load_svg):
    """The chart parses as SVG with a drawing in it."""
    root = ET.fromstring(load_svg)
    assert root.tag.endswith("svg")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 20


def test_fault_window_and_lines_are_drawn(load_svg):
    """The fault window is filled in its colour, and the p50, p99 and error-rate lines are stroked in theirs."""
    assert f"fill: {COLORS['fault']}" in load_svg
    for name in ("p50", "p99", "error_rate"):
        assert f"stroke: {COLORS[name]}" in load_svg, name


def test_violations_are_marked_on_the_status_strip(load_svg):
    """Violated observations are drawn in the violation colour (held ones in theirs)."""
    assert f"fill: {COLORS['violated']}" in load_svg
    assert f"fill: {COLORS['held']}" in load_svg


def test_chart_needs_no_font_and_no_network(load_svg):
    """Text is drawn as paths and nothing is fetched: no <text>, no external href."""
    assert "<text" not in load_svg
    assert "http://" not in load_svg.replace("http://www.w3.org/", "").replace("http://purl.org/dc/", "") \
        .replace("http://creativecommons.org/", "").replace("http://matplotlib.org/", "")


def test_chart_is_deterministic(load_svg):
    """The same journal renders to the same SVG bytes (no dates, fixed ids)."""
    assert render_chart(run_report(b.record(b.run_journal()))) == load_svg


def test_without_load_probe_values_are_charted():
    """A probe-only run still gets a chart with the probe line and the fault window."""
    svg = render_chart(run_report(b.record(b.run_journal(with_load=False))))
    assert svg is not None and f"fill: {COLORS['fault']}" in svg and f"fill: {COLORS['violated']}" in svg


def test_nothing_measured_means_no_chart():
    """A journal with neither load nor observations gives None (the page says why instead)."""
    assert render_chart(run_report(b.record({"run_id": "x"}))) is None


def test_many_faults_and_observations_stay_a_small_chart():
    """Thousands of faults and observations: windows too close to tell apart are one shade, marks thinned."""
    journal = b.run_journal(with_load=False)
    journal["events"] += [{"t": 12 + i * 0.01, "event": ("fault.applied", "fault.reverted")[i % 2], "fault": "kill",
                           "token": f"k{i // 2}"} for i in range(2000)]
    journal["observations"] += [{"probe": "page", "phase": "FAULT", "t": 12 + i * 0.002, "ok": i % 2 == 0,
                                 "value": {"latency": 0.01}} for i in range(5000)]
    svg = render_chart(run_report(b.record(journal)))
    small = render_chart(run_report(b.record(b.run_journal(with_load=False))))
    assert svg is not None and small is not None and len(svg) < 3 * len(small)
