"""Reading journals: every malformed file is one JournalUnreadable naming the file and the fault, never a traceback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaoskit.errors import ChaoskitError, JournalUnreadable
from chaoskit.journal import RunJournal, RunRecord, parse_journal, read_journal
from chaoskit.report.build import build_report
from chaoskit.cli.report import render
from tests.unit.report import builders as b

ROOT = Path(__file__).resolve().parents[3]


def finished(tmp_path: Path) -> Path:
    return b.write(tmp_path / "j.json", b.run_journal(with_load=False))


def in_lines(tmp_path: Path, events: int = 5) -> Path:
    """A journal whose writer never finished: a header line and one line per event."""
    journal = RunJournal(b.experiment(with_load=False), tmp_path / "j.json", elapsed=lambda: 1.0)
    for i in range(events):
        journal.event("tick", i=i)
    return tmp_path / "j.json"


def test_unknown_keys_are_ignored():
    """Keys a newer chaoskit may add are ignored, at the top and inside records."""
    journal = b.run_journal(with_load=False)
    journal["shiny"] = {"new": 1}
    journal["observations"][0]["extra"] = [1, 2]
    record = parse_journal(journal, "j.json")
    assert isinstance(record, RunRecord) and record.outcome is not None and record.outcome.verdict == "FAILURE"


def test_a_cut_short_last_line_is_dropped_and_the_journal_is_crashed(tmp_path):
    """The half-written record of a crash is dropped; the rest reads, marked truncated and crashed."""
    path = in_lines(tmp_path)
    path.write_bytes(path.read_bytes() + b'{"append":"events","item":{"t":2.0,"ev')
    record = read_journal(path)
    assert record.crashed and record.truncated and len(record.events) == 5


def test_the_report_of_a_crashed_journal_says_crashed_in_every_format(tmp_path):
    """HTML, JUnit and Markdown all say the run crashed and give it no passing verdict."""
    report = build_report([in_lines(tmp_path)])
    assert report.verdict == "ERROR" and report.single_run is not None and report.single_run.crashed
    for fmt in ("html", "junit", "markdown"):
        assert "crashed" in render(report, fmt), fmt


CORRUPT = {
    "empty": (b"", "the file is empty"),
    "binary": (b"\xff\xfe\x00garbage", "not UTF-8"),
    "cut finished document": (None, "not a JSON journal"),
    "bad middle line": (None, "line 3: not JSON"),
    "foreign line": (None, "line 2: expected"),
    "a list": (b"[1, 2]", "expected a JSON object"),
    "deep nesting": (b'{"run_id": "x", "experiment": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "huge number": (b'{"run_id": "x", "experiment": {"phases": {"fault": 1' + b"0" * 5000 + b"}}}", "not a JSON journal"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupted_files_are_refused_by_name(tmp_path, case):
    """Each kind of corrupted file raises JournalUnreadable with the file's name and what is wrong."""
    content, message = CORRUPT[case]
    path = tmp_path / "j.json"
    if case == "cut finished document":
        text = finished(tmp_path).read_text()
        path.write_text(text[: len(text) // 2])
    elif case == "bad middle line":
        lines = in_lines(tmp_path).read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:2] + ['{"append": "events", "item": {"t": 1.0, "ev\n'] + lines[3:]))
    elif case == "foreign line":
        lines = in_lines(tmp_path).read_text().splitlines(keepends=True)
        path.write_text(lines[0] + '{"append": "nothing", "item": 1}\n' + "".join(lines[1:]))
    else:
        path.write_bytes(content)
    with pytest.raises(JournalUnreadable, match=message) as info:
        read_journal(path)
    assert str(info.value).startswith(f"{path}: ")


WRONG_TYPES = [
    (("events",), {"t": 1}, "events: expected a list of objects"),
    (("events", 0, "t"), "soon", "events[0].t: expected a finite number"),
    (("events", 0, "t"), float("nan"), "events[0].t: expected a finite number"),
    (("events", 0, "event"), None, "events[0].event: expected the event's name"),
    (("observations", 2, "ok"), "yes", "observations[2].ok: expected true or false"),
    (("verdict", "reasons"), "one reason", "verdict.reasons: expected a list of texts"),
    (("verdict",), "FAILURE", "verdict: expected an object"),
    (("experiment", "title"), 42, "experiment.title: expected text"),
    (("experiment", "phases", "fault"), "15 s", "experiment.phases.fault: expected a finite number"),
    (("experiment", "steady_state", "probes", 0, "checks"), {"subject": "x"}, "checks: expected a list of objects"),
    (("facts", "reverted_at"), True, "facts.reverted_at: expected a finite number"),
    (("load",), [1], "load: expected an object"),
]


@pytest.mark.parametrize("where, value, message", WRONG_TYPES, ids=[m for _, _, m in WRONG_TYPES])
def test_wrong_types_are_refused_with_the_key(tmp_path, where, value, message):
    """A value of the wrong type is not guessed at: the message names the file and the key."""
    journal = b.run_journal(with_load=False)
    node = journal
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    path = tmp_path / "j.json"
    path.write_text(json.dumps(journal))
    with pytest.raises(JournalUnreadable, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_journal(path)


def test_the_command_prints_one_line_and_exits_2(tmp_path):
    """`chaoskit report` on a corrupted journal: exit 2, one line `chaoskit: invalid: FILE: what`, no traceback."""
    path = tmp_path / "j.json"
    path.write_text('{"run_id": "x", "events": [{"t": "soon", "event": "tick"}]}')
    done = subprocess.run([sys.executable, "-m", "chaoskit", "report", str(path)], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"chaoskit: invalid: {path}: events[0].t: expected a finite number, got 'soon'"]


# -- fuzzing: any mutation of a valid journal reads or is refused, and what reads renders ----------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _mutate(data: st.DataObject, document: dict) -> None:
    """Replace one value somewhere in ``document`` (a random walk down from the top) with a random JSON value."""
    node = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(JSON_VALUES)
        return


GAMEDAY = {"gameday": "Tuesday", "source": "day.yaml", "started_at": b.at(0), "planned": 2, "finished_at": b.at(60),
           "verdict": "FAILURE", "exit_code": 1,
           "experiments": [{"file": "a.yaml", "title": "a", "verdict": "FAILURE", "exit_code": 1, "reasons": ["why"],
                            "journal": "00-a.json"}]}
MONKEY = {"kind": "monkey", "run_id": "monkey-1", "title": "monkey", "started_at": b.at(0), "finished_at": b.at(9),
          "events": [{"t": 1.0, "at": b.at(1), "event": "monkey.kill", "container": "api-1"}],
          "kills": [{"number": 1, "verdict": "TOLERATED"}], "summary": {"kills": 1}, "verdict": "TOLERATED",
          "reasons": ["1 TOLERATED of 1 kill(s)"]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_journals_read_or_are_refused(tmp_path_factory, data):
    """Any mutated run, game-day or monkey journal either reads and renders (every format) or is refused."""
    kind = data.draw(st.sampled_from(["run", "run with load", "gameday", "monkey"]))
    document = {"run": lambda: b.run_journal(with_load=False), "run with load": b.run_journal,
                "gameday": lambda: copy.deepcopy(GAMEDAY), "monkey": lambda: copy.deepcopy(MONKEY)}[kind]()
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(data, document)
    path = tmp_path_factory.mktemp("fuzz") / "j.json"
    path.write_text(json.dumps(document))
    try:
        report = build_report([path])
    except JournalUnreadable:
        return
    assert "<html" in render(report, "html")
    render(report, "junit")
    render(report, "markdown")


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 10_000), garbage=st.binary(max_size=20))
def test_cut_or_garbled_files_never_raise_anything_else(tmp_path_factory, cut, garbage):
    """A journal file cut anywhere, with bytes appended, reads or raises JournalUnreadable (and nothing else)."""
    folder = tmp_path_factory.mktemp("cut")
    source = in_lines(folder, events=30) if cut % 2 else finished(folder)
    raw = source.read_bytes()
    source.write_bytes(raw[: cut % (len(raw) + 1)] + garbage)
    try:
        read_journal(source)
    except ChaoskitError as exc:
        assert isinstance(exc, JournalUnreadable) and str(exc).startswith(str(source))
