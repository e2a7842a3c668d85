"""Reading journals into what reports show, tolerant of everything a journal may lack."""

from __future__ import annotations

import json

import pytest

from chaoskit.errors import JournalUnreadable
from chaoskit.report.build import build_report
from chaoskit.report.findings import evidence
from chaoskit.report.html_report import _figures
from chaoskit.report.model import verdict_name
from chaoskit.report.runs import run_report
from tests.unit.report import builders as b


def series(run, name):
    return next(s for s in run.series if s.name == name)


def value_at(s, t):
    return next(v for x, v in s.points if abs(x - t) < 0.01)


def test_verdict_reasons_and_times_come_from_the_journal():
    """The verdict, its reasons, time to detect and the fault's times are read as the run wrote them."""
    run = run_report(b.record(b.run_journal()))
    assert run.verdict == "FAILURE"
    assert run.reasons[0].startswith("hypothesis 'Timelines stay fast', probe 'p99' violated")
    assert run.time_to_detect_s == pytest.approx(2.95)
    assert run.fault_applied_at == pytest.approx(12.05) and run.reverted_at == pytest.approx(27.0)
    assert run.duration_s == pytest.approx(37.0)
    assert run.environment == {"docker": "20.10.24 (API 1.41)", "toxiproxy": "2.12.0"}
    assert run.complete and not run.notes


def test_fault_windows_pair_applied_and_reverted_events():
    """Each fault is shaded from its fault.applied to its fault.reverted event."""
    run = run_report(b.record(b.run_journal()))
    assert [(s.label, s.start, s.end) for s in run.faults] == [("latency toxic on proxy postgres", 12.05, 27.0)]
    assert [s.label for s in run.phases] == ["warmup", "baseline", "fault", "recovery"]
    assert run.phases[-1].end == pytest.approx(37.0)


def test_overlapping_faults_are_matched_by_token():
    """Two faults reverted in reverse order each keep their own window (matched by token, not order)."""
    journal = b.run_journal()
    journal["events"] = [
        {"t": 1.0, "event": "fault.applied", "fault": "kill api-1", "token": "a"},
        {"t": 2.0, "event": "fault.applied", "fault": "kill api-2", "token": "b"},
        {"t": 5.0, "event": "fault.reverted", "fault": "kill api-2", "token": "b"},
        {"t": 6.0, "event": "fault.reverted", "fault": "kill api-1", "token": "a"},
    ]
    run = run_report(b.record(journal))
    assert [(s.label, s.start, s.end) for s in run.faults] == [("kill api-1", 1.0, 6.0), ("kill api-2", 2.0, 5.0)]


def test_stop_condition_is_read_from_its_event():
    """A run.stopped event and the verdict's stopped_by are both kept for the chart and the figures."""
    journal = b.run_journal()
    journal["events"].append({"t": 20.0, "at": b.at(20.0), "event": "run.stopped", "reason": "error_rate > 0.5 for 3s"})
    journal["verdict"]["stopped_by"] = "error_rate > 0.5 for 3s"
    run = run_report(b.record(journal))
    assert run.stop_events == ((20.0, "error_rate > 0.5 for 3s"),)
    assert run.stopped_by == "error_rate > 0.5 for 3s"
    assert run.time_to_stop_s is None


def test_time_to_stop_is_read_from_the_harm_cut_event():
    """After a stop condition, run.harm_cut says how long the harm lasted; the HTML figures and evidence show it."""
    journal = b.run_journal()
    journal["events"].append({"t": 20.3, "at": b.at(20.3), "event": "run.harm_cut", "reason": "error_rate > 0.25",
                              "time_to_detect_s": 0.25, "time_to_stop_s": 0.31})
    journal["verdict"]["stopped_by"] = "error_rate > 0.25"
    run = run_report(b.record(journal))
    assert run.time_to_stop_s == 0.31
    assert any("harm cut 310 ms after the fault was applied" in line for line in evidence(run))
    assert "time to stop" in _figures(run) and "310 ms" in _figures(run)


def test_load_buckets_give_p50_p99_and_error_rate_on_the_run_clock():
    """Buckets are decoded from their HDR histograms and placed at run time through the events' clock."""
    run = run_report(b.record(b.run_journal(fault_errors=5)))
    assert run.series_source == "load"
    assert [s.name for s in run.series] == ["p50", "p99", "error_rate"]
    p99, errors = series(run, "p99"), series(run, "error_rate")
    assert value_at(p99, 5.5) == pytest.approx(0.012, rel=0.02)
    assert value_at(p99, 20.5) == pytest.approx(0.8, rel=0.02)
    assert value_at(errors, 20.5) == pytest.approx(0.05)
    assert value_at(errors, 5.5) == 0.0
    assert p99.limit == pytest.approx(0.5)


def test_bucket_t_in_the_journal_wins_over_the_wall_clock():
    """When the journal gives each bucket its ``t``, that is the time charted."""
    journal = b.run_journal(with_t=True)
    for bucket in journal["load"]["buckets"]:
        bucket["t"] += 100.0
    run = run_report(b.record(journal))
    assert series(run, "p50").points[0][0] == pytest.approx(100.5)


def test_without_load_the_chart_shows_probe_timings():
    """No load block: the http probe's latency is charted instead, with its tolerance line, never nothing."""
    run = run_report(b.record(b.run_journal(with_load=False)))
    assert run.series_source == "probes"
    assert [s.name for s in run.series] == ["page: latency"]
    assert series(run, "page: latency").limit == pytest.approx(0.15)
    assert {m.state for m in run.marks} == {"held", "violated"}


def test_a_load_probe_is_charted_under_its_own_name_when_buckets_are_missing():
    """A load probe's observations fall back to a line named by the probe (not 'p99: p99')."""
    journal = b.run_journal()
    del journal["load"]
    names = [s.name for s in run_report(b.record(journal)).series]
    assert "p99" in names and "page: latency" in names and "error rate" in names


def test_probe_rows_summarise_each_phase():
    """Each probe's row has baseline, fault and recovery medians, violation counts and its tolerance."""
    rows = {r.probe: r for r in run_report(b.record(b.run_journal())).probes}
    assert list(rows) == ["p99", "error rate", "page"]
    p99 = rows["p99"]
    assert p99.tolerance == "p99 <= 500 ms"
    assert p99.phases["BASELINE"].median == {"p99": 0.012}
    assert p99.phases["FAULT"].median == {"p99": 0.8}
    assert p99.phases["FAULT"].violated == 12 and p99.phases["FAULT"].count == 15
    assert p99.violated and p99.state == "violated"
    assert rows["page"].phases["FAULT"].median == {"status": 200.0, "latency": 0.31}
    assert rows["page"].tolerance == "status = 200; latency <= 150 ms"
    assert rows["error rate"].state == "held"


def test_comparisons_from_the_load_carry_their_confidence():
    """The load's statistical comparisons become the probe's confidence intervals."""
    comparison = {"probe": "p99", "metric": "p99", "baseline_median": 0.012, "fault_median": 0.8, "shift": 0.788,
                  "ci_low": 0.7, "ci_high": 0.85, "confidence": 0.98, "p_value": 0.001, "decision": "worse"}
    rows = {r.probe: r for r in run_report(b.record(b.run_journal(comparisons=[comparison]))).probes}
    (c,) = rows["p99"].comparisons
    assert (c.low, c.high, c.confidence, c.shift, c.p_value, c.decision) == (0.7, 0.85, 0.98, 0.788, 0.001, "worse")
    assert rows["page"].comparisons == ()


def test_a_violation_interval_is_used_when_there_is_no_comparison():
    """Without load comparisons, the interval a violation carries is the probe's CI."""
    rows = {r.probe: r for r in run_report(b.record(b.run_journal())).probes}
    (c,) = rows["p99"].comparisons
    assert (c.low, c.high, c.confidence) == (0.7, 0.85, None)


def test_a_crashed_run_is_an_error_with_an_open_fault():
    """No verdict in the journal is reported as ERROR, never as a pass; the unreverted fault stays open."""
    run = run_report(b.record(b.crashed_journal()))
    assert run.verdict == "ERROR"
    assert "did not finish" in run.reasons[0]
    assert not run.complete
    assert [(s.start, s.end) for s in run.faults] == [(12.05, None)]
    assert run.end_t == pytest.approx(13.1)


def test_an_unknown_verdict_is_an_error():
    """A verdict name chaoskit does not know is ERROR, with a note saying so."""
    journal = b.run_journal()
    journal["verdict"]["verdict"] = "MAYBE"
    run = run_report(b.record(journal))
    assert run.verdict == "ERROR"
    assert "MAYBE" in run.reasons[0] and run.notes
    assert verdict_name("tolerated") == "TOLERATED" and verdict_name(None) == "ERROR"


def test_lower_case_phases_are_read_as_well():
    """Observations whose phase is the enum value ("fault") land in the same column as "FAULT"."""
    journal = b.run_journal()
    for obs in journal["observations"]:
        obs["phase"] = obs["phase"].lower()
    rows = {r.probe: r for r in run_report(b.record(journal)).probes}
    assert rows["p99"].phases["FAULT"].count == 15


def test_a_nearly_empty_journal_still_reads():
    """A journal with only a run id reads as an ERROR run with nothing to chart."""
    run = run_report(b.record({"run_id": "x1"}))
    assert run.verdict == "ERROR" and run.title == "x1"
    assert run.series == () and run.marks == () and run.probes == ()
    assert any("nothing to chart" in n for n in run.notes)


def test_unreadable_buckets_are_noted_not_raised():
    """A bucket missing its histogram is skipped with a note; the others are still charted."""
    journal = b.run_journal()
    del journal["load"]["buckets"][3]["latency"]
    run = run_report(b.record(journal))
    assert any("bucket 3" in n for n in run.notes)
    assert len(series(run, "p99").points) == int(b.END) - 1


def test_game_day_reads_its_listed_journals(tmp_path):
    """A game-day journal becomes one suite whose entries carry the runs it lists (paths relative to it)."""
    path = b.gameday(tmp_path / "day", [("database-latency", b.run_journal()),
                                        ("cache-down", b.run_journal(b.TOLERATED_VERDICT)),
                                        ("disk-full", None)], planned=4)
    report = build_report([path])
    (suite,) = report.suites
    assert suite.gameday and suite.name == "Tuesday game day" and report.title == "Tuesday game day"
    assert [e.verdict for e in suite.entries] == ["FAILURE", "TOLERATED", "ERROR"]
    assert suite.entries[0].run is not None and suite.entries[0].run.time_to_detect_s == pytest.approx(2.95)
    assert suite.entries[2].run is None and suite.entries[2].reasons == ("experiment file invalid: no such key",)
    assert report.verdict == "FAILURE"
    assert any("3 of 4 planned" in n for n in suite.notes)


def test_game_day_with_a_missing_journal_file_notes_it(tmp_path):
    """A listed journal that is not on disk leaves the entry (verdict from the game day) and a note."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal())])
    (tmp_path / "00-database-latency.json").unlink()
    (suite,) = build_report([path]).suites
    assert suite.entries[0].verdict == "FAILURE" and suite.entries[0].run is None
    assert any("cannot read" in n for n in suite.notes)


def test_loose_runs_form_one_suite_and_the_worst_verdict_wins(tmp_path):
    """Several run journals make one "chaoskit" suite; the report's verdict is the worst of them."""
    a = b.write(tmp_path / "a.json", b.run_journal(b.TOLERATED_VERDICT))
    c = b.write(tmp_path / "c.json", b.run_journal())
    report = build_report([a, c])
    assert [s.name for s in report.suites] == ["chaoskit"]
    assert report.verdict == "FAILURE" and report.title == "chaoskit report"
    assert report.single_run is None
    single = build_report([a], title="Mine")
    assert single.title == "Mine" and single.single_run is not None


def test_runs_a_game_day_lists_are_not_counted_twice(tmp_path):
    """Given a game day and its own run journals (a glob of its folder), each run appears once, in the game day."""
    b.gameday(tmp_path, [("database-latency", b.run_journal()), ("cache-down", b.run_journal(b.TOLERATED_VERDICT))])
    other = b.write(tmp_path / "elsewhere" / "x.json", b.run_journal())
    report = build_report(sorted(tmp_path.glob("*.json")) + [other])
    assert [(s.name, len(s.entries)) for s in report.suites] == [("chaoskit", 1), ("Tuesday game day", 2)]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a JSON journal"),
    ("[1, 2]", "expected a JSON object"),
    ('{"hello": 1}', "neither a run, monkey nor game-day journal"),
])
def test_files_that_are_not_journals_are_refused_by_name(tmp_path, content, message):
    """A file that is not a journal raises JournalUnreadable naming the file and the problem."""
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(JournalUnreadable, match=message) as info:
        build_report([path])
    assert str(path) in str(info.value)


def test_a_missing_file_is_refused_by_name(tmp_path):
    """A journal path that does not exist raises JournalUnreadable naming it."""
    with pytest.raises(JournalUnreadable, match="cannot read"):
        build_report([tmp_path / "nope.json"])


def test_a_crashed_game_day_is_never_green(tmp_path):
    """A game day whose journal ends before its verdict is marked crashed and combined with ERROR."""
    from chaoskit.journal import GamedayJournal

    b.write(tmp_path / "00-a.json", b.run_journal(b.TOLERATED_VERDICT))
    day = GamedayJournal(tmp_path / "gameday.json", "Tuesday", "day.yaml", planned=3)
    day.entry("a.yaml", "a", "TOLERATED", 0, ["held"], "00-a.json")
    (suite,) = build_report([tmp_path / "gameday.json"]).suites
    assert suite.crashed and suite.verdict == "ERROR" and [e.verdict for e in suite.entries] == ["TOLERATED"]
    assert any("crashed game day" in n for n in suite.notes) and any("1 of 3 planned" in n for n in suite.notes)


def test_a_monkey_journal_is_one_entry_with_its_verdict(tmp_path):
    """A monkey's journal reports its verdict and reasons; a monkey that never finished is crashed, not green."""
    from chaoskit.journal import MonkeyJournal

    monkey = MonkeyJournal(tmp_path / "m.json", {"title": "monkey on api"})
    monkey.kill({"number": 1, "verdict": "TOLERATED"})
    (entry,) = build_report([tmp_path / "m.json"]).entries
    assert entry.verdict == "ERROR" and entry.reasons[0].startswith("crashed")
    monkey.finish(verdict="TOLERATED", reasons=["1 TOLERATED of 1 kill(s)"])
    (entry,) = build_report([tmp_path / "m.json"]).entries
    assert (entry.title, entry.verdict, entry.reasons) == ("monkey on api", "TOLERATED", ("1 TOLERATED of 1 kill(s)",))


@pytest.mark.parametrize("journal", ["../outside.json", "/etc/hostname", "link.json"])
def test_a_listed_journal_outside_the_game_days_folder_is_not_read(tmp_path, journal):
    """A game-day journal naming a run journal by `..`, an absolute path or a symlink out: noted, never read."""
    path = b.gameday(tmp_path / "day", [("database-latency", b.run_journal())])
    b.write(tmp_path / "outside.json", b.run_journal())
    (tmp_path / "day" / "link.json").symlink_to(tmp_path / "outside.json")
    day = json.loads(path.read_text())
    day["experiments"][0]["journal"] = journal
    path.write_text(json.dumps(day))
    (suite,) = build_report([path]).suites
    assert suite.entries[0].run is None and suite.entries[0].verdict == "FAILURE"
    assert any("journal path was not read" in n and "outside the game day's folder" in n for n in suite.notes)


def test_expectations_and_the_summary_come_from_the_game_day_journal(tmp_path):
    """Each entry carries the verdict it expected (TOLERATED when the journal has none); the suite its summary."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()), ("cache-down", b.run_journal(b.TOLERATED_VERDICT))],
                     expect={"database-latency": "FAILURE", "cache-down": "FAILURE"})
    day = json.loads(path.read_text())
    day.update(as_expected=False, summary="1 of 2 as expected")
    path.write_text(json.dumps(day))
    (suite,) = build_report([path]).suites
    first, second = suite.entries
    assert first.expected == "FAILURE" and not first.surprise
    assert second.surprise and second.weakness_gone
    assert suite.as_expected is False and suite.summary.startswith("1 of 2 as expected")


def test_time_to_recover_reads_the_same_in_the_reason_table_junit_and_chart(tmp_path):
    """The verdict's time to recover (2.39 ms here) is written one way everywhere: the reason's "0.0 s"."""
    import xml.etree.ElementTree as ET

    from chaoskit.report.chart import chart_spec
    from chaoskit.report.html_report import render_html
    from chaoskit.report.junit import render_junit
    from chaoskit.report.markdown import render_markdown
    from chaoskit.verdict import Observations, Phase, ProbeResult, decide

    results = tuple(ProbeResult("p99", phase, t, True) for phase, t in
                    ((Phase.BASELINE, 5.0), (Phase.FAULT, 15.0), (Phase.RECOVERY, 40.00239), (Phase.RECOVERY, 41.0)))
    outcome = decide(Observations(results, fault_applied_at=10.0, reverted_at=40.0, recovery_budget_s=30.0))
    assert outcome.reasons[0] == "the steady state held during the fault and was back 0.0 s after the revert"
    verdict = {"verdict": outcome.verdict.name, "reasons": list(outcome.reasons), "violations": [],
               "time_to_detect_s": None, "time_to_recover_s": outcome.time_to_recover_s, "stopped_by": None}
    path = b.gameday(tmp_path, [("cache-down", b.run_journal(verdict))])
    report = build_report([path])
    markdown_row = [line for line in render_markdown(report).splitlines() if line.startswith("| cache down")]
    assert markdown_row and " 0.0 s |" in markdown_row[0] and "ms" not in markdown_row[0]
    assert "<td class=\"num\">0.0 s</td>" in render_html(report)
    out = ET.fromstring(render_junit(report)).find("testsuite/testcase/system-out").text
    assert "time to recover: 0.0 s" in out
    labels = [line["label"] for line in chart_spec(report.entries[0].run)["lines"]]
    assert "recovered (+0.0 s after the revert)" in labels


def test_prometheus_comparisons_carry_their_confidence_too():
    """A Prometheus probe's comparisons (the journal's prometheus entry) become its row's confidence intervals."""
    comparison = {"probe": "error ratio", "phase": "fault", "metric": "{}", "baseline_median": 0.001,
                  "fault_median": 0.2, "shift": 0.199, "ci_low": 0.15, "ci_high": 0.25, "confidence": 0.98,
                  "p_value": 0.002, "decision": "violated"}
    journal = b.run_journal(with_load=False)
    journal["observations"].append({"probe": "error ratio", "phase": "FAULT", "t": 15.0, "ok": False, "value": 0.2})
    journal["prometheus"] = [{"probe": "error ratio", "url": "http://p:9090", "query": "x", "readings": [],
                              "comparisons": [comparison], "time_to_detect_s": 1.2, "time_to_recover_s": 3.0}]
    record = b.record(journal)
    assert record.prometheus[0]["time_to_detect_s"] == 1.2
    rows = {r.probe: r for r in run_report(record).probes}
    (c,) = rows["error ratio"].comparisons
    assert (c.low, c.high, c.phase, c.decision) == (0.15, 0.25, "FAULT", "violated")
