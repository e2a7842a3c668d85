"""JUnit XML in the structure CI tools read, with verdicts mapped so nothing undecided passes."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from chaoskit.report.junit import ELEMENT_FOR, render_junit
from chaoskit.report.build import build_report
from tests.unit.report import builders as b

COMPARISON = {"probe": "p99", "metric": "p99", "baseline_median": 0.012, "fault_median": 0.8, "shift": 0.788,
              "ci_low": 0.7, "ci_high": 0.85, "confidence": 0.98, "p_value": 0.001, "decision": "worse"}


def verdict(name: str, reason: str) -> dict:
    out = copy.deepcopy(b.TOLERATED_VERDICT)
    out.update(verdict=name, reasons=[reason])
    return out


def junit(tmp_path, *journals) -> ET.Element:
    paths = [b.write(tmp_path / f"{i}.json", j) for i, j in enumerate(journals)]
    return ET.fromstring(render_junit(build_report(paths)))


@pytest.mark.parametrize("name, element", [
    ("TOLERATED", None), ("FAILURE", "failure"), ("NOT_RECOVERED", "failure"), ("ERROR", "error"),
    ("ABORTED", "error"), ("INCONCLUSIVE", "error"),
])
def test_each_verdict_maps_to_its_element(tmp_path, name, element):
    """TOLERATED passes; FAILURE/NOT_RECOVERED fail; ERROR/ABORTED/INCONCLUSIVE are errors, never skipped."""
    journal = b.run_journal(verdict(name, f"because {name}") if name != "FAILURE" else None)
    case = junit(tmp_path, journal).find("testsuite/testcase")
    children = [c.tag for c in case if c.tag != "system-out"]
    assert children == ([element] if element else [])
    assert case.find("skipped") is None
    if element:
        problem = case.find(element)
        assert problem.get("type") == name
        assert problem.get("message").startswith(f"{name}: ")
    assert ELEMENT_FOR[name] == element


def test_counts_match_the_cases(tmp_path):
    """tests/failures/errors on testsuite and testsuites equal what the cases contain."""
    root = junit(tmp_path, b.run_journal(), b.run_journal(b.TOLERATED_VERDICT),
                 b.run_journal(verdict("ABORTED", "baseline broken")), b.run_journal(verdict("NOT_RECOVERED", "slow")))
    assert root.tag == "testsuites"
    for node in [root, *root.findall("testsuite")]:
        cases = node.findall(".//testcase")
        assert int(node.get("tests")) == len(cases) == 4
        assert int(node.get("failures")) == sum(c.find("failure") is not None for c in cases) == 2
        assert int(node.get("errors")) == sum(c.find("error") is not None for c in cases) == 1
        assert node.get("skipped") == "0"
        float(node.get("time"))


def test_failure_carries_hypothesis_numbers_and_interval(tmp_path):
    """A FAILURE's text names the hypothesis and probe, the values against baseline and the 98 % CI."""
    failure = junit(tmp_path, b.run_journal(comparisons=[COMPARISON])).find("testsuite/testcase/failure")
    text = failure.text
    assert "hypothesis 'Timelines stay fast', probe 'p99' (tolerance: p99 <= 500 ms)" in text
    assert "800 ms against a baseline of 12 ms (+788 ms, x66.7)" in text
    assert "98 % confidence interval [+700 ms, +850 ms]" in text and "p = 0.001" in text
    assert "probe 'p99' violated" in failure.get("message")


def test_structure_is_what_junit_readers_expect(tmp_path):
    """testsuite holds properties, then test cases, then system-out; test cases carry only name/classname/time."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()), ("disk-full", None)], planned=3)
    root = ET.fromstring(render_junit(build_report([path])))
    (suite,) = root.findall("testsuite")
    tags = [c.tag for c in suite]
    assert tags == ["properties", "testcase", "testcase", "system-out"]
    assert suite.get("timestamp") == "2026-03-03T10:00:00"
    assert float(suite.get("time")) == 120.0
    for case in suite.findall("testcase"):
        assert set(case.attrib) == {"name", "classname", "time"}
        assert case.get("classname") == "Tuesday game day"
        assert [c.tag for c in case][-1] == "system-out"
    assert [c.get("name") for c in suite.findall("testcase")] == ["database latency", "disk full"]
    assert "2 of 3 planned" in suite.find("system-out").text


def test_loose_runs_use_classname_chaoskit_and_the_experiment_title(tmp_path):
    """A run given on its own is a test case of suite "chaoskit", named by the experiment title."""
    case = junit(tmp_path, b.run_journal()).find("testsuite/testcase")
    assert case.get("classname") == "chaoskit"
    assert case.get("name") == "Database latency (300 ms on postgres)"
    assert float(case.get("time")) == pytest.approx(37.0)


def test_same_experiment_twice_stays_two_cases(tmp_path):
    """Two runs of one experiment get distinct names, so CI does not merge them into one."""
    names = [c.get("name") for c in junit(tmp_path, b.run_journal(), b.run_journal()).iter("testcase")]
    assert names == ["Database latency (300 ms on postgres)", "Database latency (300 ms on postgres) (2)"]


def test_control_characters_do_not_break_the_xml(tmp_path):
    """A reason quoting a binary body still yields parseable XML (forbidden characters replaced)."""
    journal = b.run_journal(verdict("ERROR", "engine said \x00\x1b[31mboom"))
    error = junit(tmp_path, journal).find("testsuite/testcase/error")
    assert "boom" in error.get("message") and "\x00" not in error.get("message")


def test_crashed_run_is_an_error_not_a_pass(tmp_path):
    """A journal without a verdict is an <error>, with the note that a fault may still be applied."""
    case = junit(tmp_path, b.crashed_journal()).find("testsuite/testcase")
    assert case.find("error").get("type") == "ERROR"
    assert "chaoskit rollback" in case.find("system-out").text


def test_an_expected_failure_passes_with_its_reason(tmp_path):
    """A game-day entry that expected its FAILURE is a passing test case whose output carries the reason."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal())], expect={"database-latency": "FAILURE"})
    root = ET.fromstring(render_junit(build_report([path])))
    case = root.find("testsuite/testcase")
    assert [c.tag for c in case] == ["system-out"]
    out = case.find("system-out").text
    assert "as expected: FAILURE" in out and "probe 'p99' violated" in out
    assert root.get("failures") == "0" and root.get("errors") == "0"


def test_a_weakness_gone_is_a_failure_asking_to_update_the_expectation(tmp_path):
    """TOLERATED where FAILURE was expected fails the test case: the weakness is gone."""
    path = b.gameday(tmp_path, [("cache-down", b.run_journal(b.TOLERATED_VERDICT))], expect={"cache-down": "FAILURE"})
    failure = ET.fromstring(render_junit(build_report([path]))).find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "UNEXPECTED_TOLERATED"
    assert failure.get("message") == "expected FAILURE, got TOLERATED: the weakness is gone: update the expectation"


def test_another_surprise_keeps_its_verdicts_element_and_names_the_expectation(tmp_path):
    """NOT_RECOVERED where FAILURE was expected is still a <failure type="NOT_RECOVERED">, saying what was expected."""
    journal = b.run_journal(verdict("NOT_RECOVERED", "not back within the 30s budget"))
    path = b.gameday(tmp_path, [("disk-full", journal)], expect={"disk-full": "FAILURE"})
    failure = ET.fromstring(render_junit(build_report([path]))).find("testsuite/testcase/failure")
    assert failure.get("type") == "NOT_RECOVERED"
    assert failure.get("message") == "expected FAILURE, got NOT_RECOVERED: not back within the 30s budget"
