"""The chart's data: the lines, the fault windows, the probe marks and the lines across, as the page draws them."""

from __future__ import annotations

import json

import pytest

from chaoskit.report.chart import COLORS, chart_script, chart_spec
from chaoskit.report.runs import run_report
from tests.unit.report import builders as b


@pytest.fixture(scope="module")
def load_chart() -> dict:
    spec = chart_spec(run_report(b.record(b.run_journal())))
    assert spec is not None
    return spec


def panel(spec: dict, label: str) -> dict:
    return next(p for p in spec["panels"] if p["label"] == label)


def test_load_lines_are_in_ms_and_percent_with_their_tolerances(load_chart):
    """p50/p99 in ms on a log axis (they span 4 ms to 800 ms), the error rate in %, each tolerance a dashed line."""
    latency = panel(load_chart, "latency (ms)")
    names = [s["name"] for s in latency["series"]]
    assert names == ["p50", "p99", "p99 tolerance 500 ms"] and latency["log"]
    p99 = latency["series"][1]
    assert p99["color"] == COLORS["p99"] and max(v for v in p99["values"] if v is not None) == pytest.approx(800, rel=0.02)
    assert latency["series"][2]["dash"] and set(latency["series"][2]["values"]) == {500.0}
    errors = panel(load_chart, "error rate (%)")
    assert [s["name"] for s in errors["series"]] == ["error rate", "error rate tolerance 1 %"]
    assert len(latency["x"]) == len(p99["values"]) == int(b.END)


def test_fault_window_phases_and_detection(load_chart):
    """The fault is shaded from applied to reverted; phases and the detection moment are drawn across."""
    assert load_chart["faults"] == [[12.05, 27.0]] and load_chart["fault_label"].startswith("fault: latency toxic")
    assert [p[2] for p in load_chart["phases"]] == ["warmup", "baseline", "fault", "recovery"]
    (detect,) = load_chart["lines"]
    assert detect["t"] == pytest.approx(12.05 + 2.95) and detect["color"] == COLORS["detect"]


def test_violations_are_marked_on_the_status_strip(load_chart):
    """Each probe has a row; violated observations are marked as such, held ones as held."""
    strip = panel(load_chart, "probes")
    assert strip["probes"] == ["p99", "error rate", "page"]
    assert len(strip["marks"]["violated"]) == 12 and strip["marks"]["held"]
    assert all(row == 0 for _, row in strip["marks"]["violated"])


def test_chart_data_is_json(load_chart):
    """The data is plain JSON (no NaN), so the page's script can parse it."""
    json.dumps(load_chart, allow_nan=False)


def test_without_load_probe_values_are_charted():
    """A probe-only run still gets a chart with the probe's latency line, dotted, and the fault window."""
    spec = chart_spec(run_report(b.record(b.run_journal(with_load=False))))
    assert spec is not None and spec["faults"]
    (line, limit) = panel(spec, "latency (ms)")["series"]
    assert line["name"] == "page: latency" and line["dots"] and line["joined"] and limit["values"][0] == 150.0


def test_nothing_measured_means_no_chart():
    """A journal with neither load nor observations gives None (the page says why instead)."""
    assert chart_spec(run_report(b.record({"run_id": "x"}))) is None


def test_many_faults_and_observations_stay_a_small_chart():
    """Thousands of faults and observations: windows too close to tell apart are one shade, marks thinned."""
    journal = b.run_journal(with_load=False)
    journal["events"] += [{"t": 12 + i * 0.005, "event": ("fault.applied", "fault.reverted")[i % 2], "fault": "kill",
                           "token": f"k{i // 2}"} for i in range(2000)]
    journal["observations"] += [{"probe": "page", "phase": "FAULT", "t": 12 + i * 0.001, "ok": i % 2 == 0,
                                 "value": {"latency": 0.01}} for i in range(5000)]
    spec = chart_spec(run_report(b.record(journal)))
    assert spec is not None and len(spec["faults"]) == 1
    strip = panel(spec, "probes")
    assert sum(len(m) for m in strip["marks"].values()) < 1000
    assert not panel(spec, "latency (ms)")["series"][0]["dots"]


def test_the_script_is_offline_and_carries_the_licence():
    """uPlot, its stylesheet and the glue are inline; the MIT notice is kept; nothing points at the network."""
    script = chart_script()
    assert "Permission is hereby granted" in script and "new uPlot(" in script and ".uplot" in script
    assert "http://" not in script and "fetch(" not in script and "XMLHttpRequest" not in script
