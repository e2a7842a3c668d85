"""Journals written record by record: readable at every moment, one JSON document once finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from chaoskit.journal import GamedayJournal, MonkeyJournal, RunJournal, RunRecord, read_journal

ROOT = Path(__file__).resolve().parents[3]


def test_every_record_is_on_disk_as_soon_as_it_is_written(tmp_path):
    """Before finish, the file already holds the header and each event and observation, and reads as crashed."""
    journal = RunJournal({"title": "t"}, tmp_path / "j.json", elapsed=lambda: 1.5)
    journal.event("phase.started", phase="baseline")
    journal.observation({"probe": "page", "t": 1.5, "phase": "BASELINE", "ok": True, "value": 200})
    lines = (tmp_path / "j.json").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[1])["append"] == "events"
    record = read_journal(tmp_path / "j.json")
    assert isinstance(record, RunRecord) and record.crashed and not record.truncated
    assert [e.name for e in record.events] == ["phase.started"] and record.events[0].t == 1.5
    assert record.observations[0].probe == "page" and record.experiment.title == "t"


def test_finish_leaves_one_json_document(tmp_path):
    """A finished journal is one JSON object with the verdict, as every finished journal has been."""
    journal = RunJournal({"title": "t"}, tmp_path / "j.json")
    journal.event("fault.applied", fault="kill api-1", token="a")
    journal.finish({"verdict": "TOLERATED", "reasons": ["held"]}, {"fault_applied_at": 0.0, "results": [1]})
    data = json.loads((tmp_path / "j.json").read_text())
    assert data["verdict"]["verdict"] == "TOLERATED" and "results" not in data["facts"]
    assert data["events"][0]["event"] == "fault.applied" and data["run_id"] == journal.run_id
    record = read_journal(tmp_path / "j.json")
    assert not record.crashed and record.outcome is not None and record.outcome.reasons == ("held",)
    assert not list(tmp_path.glob(".*.tmp"))


def test_monkey_and_game_day_journals_read_back(tmp_path):
    """The monkey's kills and the game day's entries are appended, then finished, and read as typed records."""
    monkey = MonkeyJournal(tmp_path / "m.json", {"title": "monkey", "seed": 3})
    monkey.kill({"number": 1, "verdict": "TOLERATED"})
    assert read_journal(tmp_path / "m.json").crashed
    monkey.finish(verdict="TOLERATED", reasons=["1 TOLERATED of 1 kill(s)"], summary={"kills": 1})
    done = read_journal(tmp_path / "m.json")
    assert not done.crashed and done.kills == ({"number": 1, "verdict": "TOLERATED"},) and done.title == "monkey"
    day = GamedayJournal(tmp_path / "gameday.json", "Tuesday", "day.yaml", planned=2)
    day.entry("a.yaml", "a", "FAILURE", 1, ["why"], "00-a.json")
    partial = read_journal(tmp_path / "gameday.json")
    assert partial.crashed and partial.items[0].verdict == "FAILURE" and partial.planned == 2
    day.finish("FAILURE", 1, as_expected=False, summary="1 of 2 as expected", surprises=["a: expected TOLERATED"])
    done_day = read_journal(tmp_path / "gameday.json")
    assert done_day.verdict == "FAILURE" and done_day.items[0].expected == "TOLERATED"
    assert done_day.as_expected is False and done_day.summary == "1 of 2 as expected"
    assert done_day.surprises == ("a: expected TOLERATED",)


def test_in_memory_journal_writes_no_file(tmp_path):
    """A journal without a path (dry runs, tests, benches) keeps its document in memory only."""
    journal = MonkeyJournal(None, {"title": "x"})
    journal.event("monkey.started")
    assert journal.finish(verdict="TOLERATED") is None and journal.data["events"][0]["event"] == "monkey.started"
    assert list(tmp_path.iterdir()) == []


def test_a_sigkilled_writer_leaves_a_readable_crashed_journal(tmp_path):
    """A process killed with SIGKILL mid-run leaves a journal that reads, up to its last event, as crashed."""
    path = tmp_path / "j.json"
    code = textwrap.dedent(f"""
        import time
        from chaoskit.journal import RunJournal
        journal = RunJournal({{"title": "killed"}}, {str(path)!r})
        i = 0
        while True:
            journal.event("tick", i=i)
            i += 1
            time.sleep(0.002)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not path.exists() or path.read_text().count("\n") < 20):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    record = read_journal(path)
    assert record.crashed and record.experiment.title == "killed"
    assert len(record.events) >= 19
    assert [e.fields["i"] for e in record.events] == list(range(len(record.events)))


def test_secrets_are_masked_in_every_record(tmp_path):
    """The experiment's secrets are *** in the header, events, observations and the finished document."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Experiment:
        title: str
        url: str
        secrets: frozenset[str]

    journal = RunJournal(Experiment("t", "http://u:pw-1@h/", frozenset({"pw-1"})), tmp_path / "j.json")
    journal.event("probe.failed", reason="401 for token pw-1")
    journal.observation({"probe": "page", "t": 1.0, "phase": "BASELINE", "ok": False, "value": "pw-1"})
    assert "pw-1" not in (tmp_path / "j.json").read_text()
    journal.finish({"verdict": "TOLERATED"}, {"note": "pw-1"})
    text = (tmp_path / "j.json").read_text()
    assert "pw-1" not in text and "http://u:***@h/" in text and '"secrets"' not in text
