"""Game days: loading with file:line problems, cron decisions, run order and stop rules."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid
from chaoskit.verdict import Verdict
from chaoskit.schedule.gameday import EntryResult, GameDay, GameDayEntry, load_gameday, next_fire, run_gameday


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "a.yaml").write_text("title: a\n")
    (tmp_path / "b.yaml").write_text("title: b\n")
    path = tmp_path / "day.yaml"
    path.write_text(text)
    return path


def test_loads_entries_relative_to_the_file(tmp_path):
    """Experiment paths resolve next to the game-day file, with their variable overrides."""
    day = load_gameday(write(tmp_path, "title: Day\nexperiments:\n  - experiment: a.yaml\n  - {experiment: b.yaml, vars: {rate: 5}}\n"))
    assert [e.experiment.name for e in day.entries] == ["a.yaml", "b.yaml"]
    assert day.entries[1].variables == {"rate": 5}
    assert day.continue_on_error is False and day.schedule is None


def test_problems_name_file_line_and_key(tmp_path):
    """A missing experiment file and a bad cron are both reported with their lines."""
    path = write(tmp_path, "title: Day\nschedule: every tuesday\nexperiments:\n  - experiment: missing.yaml\n")
    with pytest.raises(ExperimentInvalid) as info:
        load_gameday(path)
    text = str(info.value)
    assert f"{path}:2: schedule" in text and "cron" in text
    assert f"{path}:4:" in text and "missing.yaml" in text


def test_next_fire_is_at_or_after():
    """next_fire returns the next matching minute, and the same minute when it matches exactly."""
    tuesday_10 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # a Tuesday
    assert next_fire("0 10 * * 2", tuesday_10) == tuesday_10
    assert next_fire("0 10 * * 2", datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)) == tuesday_10


def run_with(tmp_path: Path, verdicts: list[Verdict], continue_on_error: bool = False):
    entries = tuple(GameDayEntry(Path(f"e{i}.yaml")) for i in range(len(verdicts)))
    day = GameDay("Day", entries, continue_on_error=continue_on_error)
    ran = []

    def run_entry(entry: GameDayEntry, journal: Path) -> EntryResult:
        ran.append(entry)
        return EntryResult(entry, verdicts[len(ran) - 1], ("why",), journal, entry.experiment.stem)

    verdict, results, path = run_gameday(day, tmp_path / "out", run_entry)
    return verdict, ran, json.loads(path.read_text())


def test_continues_past_failure_and_reports_the_worst(tmp_path):
    """A FAILURE does not stop the day; the day's verdict is the worst one."""
    verdict, ran, journal = run_with(tmp_path, [Verdict.FAILURE, Verdict.TOLERATED])
    assert len(ran) == 2
    assert verdict is Verdict.FAILURE and journal["verdict"] == "FAILURE"
    assert [e["verdict"] for e in journal["experiments"]] == ["FAILURE", "TOLERATED"]


def test_stops_on_error_unless_told(tmp_path):
    """An ERROR ends the day, unless continue_on_error."""
    _, ran, _ = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED])
    assert len(ran) == 1
    _, ran, _ = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED], continue_on_error=True)
    assert len(ran) == 2
