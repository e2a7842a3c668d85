"""JUnit XML: one ``<testcase>`` per experiment, so CI shows chaos experiments beside the other tests.

Verdict to JUnit element (the choice that matters for CI):

============== ================================ ==================================================
verdict        element                          why
============== ================================ ==================================================
TOLERATED      (none: the test passed)
FAILURE        ``<failure type="FAILURE">``     the hypothesis was checked and broke
NOT_RECOVERED  ``<failure type="NOT_RECOVERED">`` checked: the system did not come back in budget
ERROR          ``<error type="ERROR">``         chaoskit could not run the experiment
ABORTED        ``<error type="ABORTED">``       nothing was judged (steady state broken before the
                                                fault, or the run was stopped)
INCONCLUSIVE   ``<error type="INCONCLUSIVE">``  nothing was judged (the measurement was invalid)
============== ================================ ==================================================

ABORTED and INCONCLUSIVE are *not* ``<skipped>``: most CI tools count a
skipped test as green, and an experiment that could not tell whether the
system tolerates the fault has not shown that it does. They are errors, the
JUnit word for "the test could not produce a result", with the verdict in
``type`` so they can be told apart. The process exit codes say the same
(``chaoskit run`` exits 4 and 5 for them).

The output follows the common Ant/Surefire schema that Jenkins, GitLab,
GitHub test reporters and Azure read: ``testsuites > testsuite >
(properties, testcase*, system-out)``, ``testcase > (failure | error)?,
system-out``; no attribute beyond ``name``, ``classname`` and ``time`` on a
test case. ``classname`` is the game day's title, or "chaoskit" for runs
given on their own. A failure's ``message`` is its first reason; its text
carries the hypothesis, the numbers and the confidence interval.

A game-day entry is judged against the verdict it expected (TOLERATED when
it said nothing): a verdict as expected passes, whatever it is (an expected
FAILURE passes, its reason in ``system-out``), and a TOLERATED where a
weakness was expected is ``<failure type="UNEXPECTED_TOLERATED">`` ("the
weakness is gone: update the expectation"). Any other surprise takes its
verdict's element from the table, its message naming the expectation.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from chaoskit.report.findings import evidence
from chaoskit.report.formatting import format_duration, format_recovery
from chaoskit.report.model import MEANING, Entry, Report, Suite

__all__ = ["ELEMENT_FOR", "WEAKNESS_GONE", "render_junit"]

ELEMENT_FOR = {
    "TOLERATED": None,
    "FAILURE": "failure",
    "NOT_RECOVERED": "failure",
    "ERROR": "error",
    "ABORTED": "error",
    "INCONCLUSIVE": "error",
}
WEAKNESS_GONE = "UNEXPECTED_TOLERATED"

# XML 1.0 forbids most control characters even escaped; a reason quoting a response body may hold some.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MESSAGE_LIMIT = 1000


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document (UTF-8 text with its declaration)."""
    root = ET.Element("testsuites", name=_clean(report.title))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for suite in report.suites:
        element, counts, seconds = _suite(suite)
        root.append(element)
        for key in totals:
            totals[key] += counts[key]
        total_time += seconds
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("skipped", "0")
    root.set("time", _seconds(total_time))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(suite: Suite) -> tuple[ET.Element, dict[str, int], float]:
    element = ET.Element("testsuite", name=_clean(suite.name))
    properties = ET.SubElement(element, "properties")
    for name, value in (("verdict", suite.verdict), ("meaning", MEANING.get(suite.verdict, "")),
                        ("gameday", "true" if suite.gameday else "false"), ("expectations", suite.summary),
                        ("journal", suite.path)):
        if value:
            ET.SubElement(properties, "property", name=name, value=_clean(value))
    counts = {"tests": 0, "failures": 0, "errors": 0}
    case_time = 0.0
    names: dict[str, int] = {}
    for entry in suite.entries:
        case = _case(entry, suite.name, names)
        element.append(case)
        counts["tests"] += 1
        kind = _element(entry)
        if kind == "failure":
            counts["failures"] += 1
        elif kind == "error":
            counts["errors"] += 1
        case_time += entry.duration_s or 0.0
    seconds = suite.duration_s if suite.duration_s is not None else case_time
    element.set("tests", str(counts["tests"]))
    element.set("failures", str(counts["failures"]))
    element.set("errors", str(counts["errors"]))
    element.set("skipped", "0")
    element.set("time", _seconds(seconds))
    stamp = _timestamp(suite.started_at or next((e.run.started_at for e in suite.entries if e.run), ""))
    if stamp:
        element.set("timestamp", stamp)
    if suite.notes:
        ET.SubElement(element, "system-out").text = _clean("\n".join(suite.notes))
    return element, counts, seconds


def _case(entry: Entry, classname: str, names: dict[str, int]) -> ET.Element:
    # Two runs of the same experiment in one suite must stay two test cases in CI, not one merged.
    names[entry.title] = names.get(entry.title, 0) + 1
    name = entry.title if names[entry.title] == 1 else f"{entry.title} ({names[entry.title]})"
    case = ET.Element("testcase", classname=_clean(classname), name=_clean(name),
                      time=_seconds(entry.duration_s or 0.0))
    kind = _element(entry)
    if kind is not None:
        message = _message(entry)
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 3] + "..."
        problem = ET.SubElement(case, kind, type=WEAKNESS_GONE if entry.weakness_gone else entry.verdict,
                                message=_clean(message))
        problem.text = _clean("\n".join(_details(entry)))
    ET.SubElement(case, "system-out").text = _clean("\n".join(_summary(entry)))
    return case


def _element(entry: Entry) -> str | None:
    """The JUnit element for an entry: none when its verdict was expected, else by verdict (see the module)."""
    if entry.expected is not None and not entry.surprise:
        return None
    return "failure" if entry.weakness_gone else ELEMENT_FOR.get(entry.verdict, "error")


def _message(entry: Entry) -> str:
    reason = entry.reasons[0] if entry.reasons else MEANING.get(entry.verdict, entry.verdict)
    if entry.weakness_gone:
        return f"expected {entry.expected}, got TOLERATED: the weakness is gone: update the expectation"
    if entry.surprise and entry.expected != "TOLERATED":
        return f"expected {entry.expected}, got {entry.verdict}: {reason}"
    return f"{entry.verdict}: {reason}"


def _details(entry: Entry) -> list[str]:
    lines = [f"{entry.verdict}: {MEANING.get(entry.verdict, '')}"]
    run = entry.run
    if run is not None:
        found = evidence(run)
        if found:
            lines += ["", *found]
    lines += ["", "reasons:", *(f"  - {r}" for r in entry.reasons)]
    if run is not None:
        lines.append(f"time to detect: {format_duration(run.time_to_detect_s)}; "
                     f"time to recover: {format_recovery(run.time_to_recover_s)}")
        if run.measurement_problems:
            lines += ["measurement problems:", *(f"  - {p}" for p in run.measurement_problems)]
    return lines


def _summary(entry: Entry) -> list[str]:
    run = entry.run
    lines = [f"verdict: {entry.verdict}"]
    if entry.expected is not None:
        lines.append(entry.expectation)
        if not entry.surprise and entry.verdict != "TOLERATED":
            lines += ["reasons:", *(f"  - {r}" for r in entry.reasons)]
    if entry.file:
        lines.append(f"experiment: {entry.file}")
    if run is None:
        lines.append("journal: none readable")
        return lines
    lines.append(f"journal: {run.path} (run {run.run_id or '?'})")
    lines.append(f"time to detect: {format_duration(run.time_to_detect_s)}; "
                 f"time to recover: {format_recovery(run.time_to_recover_s)}")
    for span in run.faults:
        end = f"reverted at {span.end:.1f} s" if span.end is not None else "never reverted in the journal"
        lines.append(f"fault: {span.label}: applied at {span.start:.1f} s, {end}")
    lines += [f"note: {n}" for n in run.notes]
    return lines


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _timestamp(text: str) -> str:
    """ISO 8601 in UTC without an offset, as the JUnit schema's xs:dateTime readers expect."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat()
