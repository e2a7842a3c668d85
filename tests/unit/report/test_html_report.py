"""The HTML report: self-contained, escaped, with chart, verdicts, times and the hypotheses table."""

from __future__ import annotations

import json
import re

import pytest

from chaoskit.report.html_report import BADGE_COLORS, render_html
from chaoskit.report.build import build_report
from tests.unit.report import builders as b
from tests.unit.report.builders import Page

COMPARISON = {"probe": "p99", "metric": "p99", "baseline_median": 0.012, "fault_median": 0.8, "shift": 0.788,
              "ci_low": 0.7, "ci_high": 0.85, "confidence": 0.98, "p_value": 0.001, "decision": "worse"}


@pytest.fixture(scope="module")
def run_page(tmp_path_factory) -> tuple[str, Page]:
    path = b.write(tmp_path_factory.mktemp("j") / "run.json", b.run_journal(comparisons=[COMPARISON]))
    text = render_html(build_report([path]))
    return text, Page(text)


def test_chart_data_and_its_script_are_inline(run_page):
    """The chart is its data (JSON, fault window included) and uPlot with the glue, inlined once, licence kept."""
    text, page = run_page
    (chart,) = page.charts()
    assert chart["faults"] == [[12.05, 27.0]] and [p["label"] for p in chart["panels"]][0] == "latency (ms)"
    code = [content for attrs, content in page.scripts if "type" not in attrs]
    assert len(code) == 2 and "uPlot" in code[0] and "chaoskit-chart" in code[1]
    assert "Leon Sorokin" in text  # uPlot's MIT licence header travels with it


def test_nothing_is_fetched(run_page):
    """No script or stylesheet from elsewhere, no src/href/url() pointing at the network."""
    text, page = run_page
    assert not page.all("link") and all("src" not in attrs for attrs, _ in page.scripts)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text) and "@import" not in text


def test_verdict_badge_reasons_and_times_are_shown(run_page):
    """The verdict is a CSS badge; the reasons, time to detect and the fault times are in the page."""
    text, page = run_page
    badges = [a for a in page.all("span") if "badge" in a.get("class", "")]
    assert any("v-FAILURE" in a["class"] for a in badges)
    assert f".badge.v-FAILURE {{ background: {BADGE_COLORS['FAILURE']}; }}" in text
    # The badge's shape and the cards come from the inlined stylesheet, not only the colours.
    assert ".badge { display: inline-block;" in text and "section.card {" in text
    visible = page.visible
    assert "FAILURE" in visible and "probe 'p99' violated" in visible
    assert "time to detect 3.0 s" in visible
    assert "fault applied at 12.1 s" in visible and "reverted at 27.0 s" in visible


def test_hypotheses_table_has_phases_and_confidence_interval(run_page):
    """The table shows baseline vs fault vs recovery per probe and the CI with its confidence."""
    _, page = run_page
    visible = page.visible
    assert "Hypothesis: Timelines stay fast" in visible
    assert "Baseline Fault Recovery" in visible
    assert "12 ms 10 obs 800 ms 15 obs, 12 violated 12 ms 10 obs" in visible
    assert "+788 ms [+700 ms, +850 ms] (98 %)" in visible and "p = 0.001" in visible


def test_journal_text_is_escaped(tmp_path):
    """Markup in an experiment's title or a reason is shown as text, never interpreted."""
    journal = b.run_journal()
    journal["experiment"]["title"] = "<script>alert(1)</script>"
    journal["verdict"]["reasons"] = ['<img src="http://evil/x.png">']
    journal["experiment"]["steady_state"]["probes"][0]["name"] = "</script><script>alert(2)</script>"
    for obs in journal["observations"]:
        if obs["probe"] == "p99":
            obs["probe"] = "</script><script>alert(2)</script>"
    text = render_html(build_report([b.write(tmp_path / "j.json", journal)]))
    assert "<script>alert" not in text and '<img src="http' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "</script><script>alert(2)" in json.dumps(Page(text).charts())  # intact as data, inert as markup


def test_crashed_run_renders_as_error_with_its_partial_chart(tmp_path):
    """A journal with no verdict renders an ERROR badge, the incomplete-journal note and what was measured."""
    page = Page(render_html(build_report([b.write(tmp_path / "j.json", b.crashed_journal())])))
    assert any("v-ERROR" in a.get("class", "") for a in page.all("span"))
    assert "crashed journal" in page.visible and "not reverted in this journal" in page.visible
    assert len(page.charts()) == 1


def test_a_run_that_measured_nothing_says_so_instead_of_an_empty_chart(tmp_path):
    """No load and no observations: no image, a sentence saying why."""
    page = Page(render_html(build_report([b.write(tmp_path / "j.json", {"run_id": "r1", "verdict": {
        "verdict": "ERROR", "reasons": ["chaoskit could not run the experiment: engine down"]}})])))
    assert not page.charts()
    assert "No chart" in page.visible and "engine down" in page.visible


def test_game_day_has_an_overview_and_a_section_per_experiment(tmp_path):
    """A game-day page lists every experiment with its badge, linking to a section each."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()),
                                ("cache-down", b.run_journal(b.TOLERATED_VERDICT)), ("disk-full", None)])
    page = Page(render_html(build_report([path])))
    links = [a["href"] for a in page.all("a")]
    assert links == ["#run-1", "#run-2", "#run-3"]
    assert {a["id"] for a in page.all("section") if "id" in a} == {"run-1", "run-2", "run-3"}
    classes = " ".join(a.get("class", "") for a in page.all("span"))
    for verdict in ("FAILURE", "TOLERATED", "ERROR"):
        assert f"v-{verdict}" in classes
    assert len(page.charts()) == 2  # the experiment without a journal has no chart
    assert "Tuesday game day" in page.visible


def test_an_invalid_load_shows_its_reasons_and_the_hypervisors_steal(tmp_path):
    """The load section says the measurement was not valid, why, and how much CPU the hypervisor took."""
    journal = b.run_journal()
    journal["load"]["summary"]["steal"] = 0.042
    journal["load"]["validity"] = {"valid": False, "reasons": ["generator fell behind: dispatch lag p99 31 ms > 10 ms"]}
    visible = Page(render_html(build_report([b.write(tmp_path / "j.json", journal)]))).visible
    assert "CPU taken by the hypervisor (steal) 4.2 %" in visible
    assert "measurement valid no: generator fell behind: dispatch lag p99 31 ms > 10 ms" in visible


def test_game_day_shows_expected_against_actual(tmp_path):
    """The overview has an Expected column; a surprise says so in words, and each section says what was expected."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()), ("cache-down", b.run_journal(b.TOLERATED_VERDICT))],
                     expect={"database-latency": "FAILURE", "cache-down": "FAILURE"})
    day = json.loads(path.read_text())
    day["summary"] = "1 of 2 as expected"
    path.write_text(json.dumps(day))
    page = Page(render_html(build_report([path])))
    text = page.visible
    assert "Experiment Expected Verdict" in text
    assert "1 of 2 as expected" in text and "as expected: FAILURE" in text
    assert "surprise: expected FAILURE, got TOLERATED: the weakness is gone: update the expectation" in text
