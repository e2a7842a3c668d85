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


def run_with(tmp_path: Path, verdicts: list[Verdict], continue_on_error: bool = False,
             expect: list[Verdict] | None = None):
    """A game day of fake entries: entry i gets ``verdicts[i]`` and expects ``expect[i]`` (default TOLERATED)."""
    expected = expect or [Verdict.TOLERATED] * len(verdicts)
    entries = tuple(GameDayEntry(Path(f"e{i}.yaml"), expect=expected[i]) for i in range(len(verdicts)))
    day = GameDay("Day", entries, continue_on_error=continue_on_error)
    ran = []

    def run_entry(entry: GameDayEntry, journal: Path) -> EntryResult:
        ran.append(entry)
        return EntryResult(entry, verdicts[len(ran) - 1], ("why",), journal, entry.experiment.stem)

    outcome, path = run_gameday(day, tmp_path / "out", run_entry)
    return outcome, ran, json.loads(path.read_text())


def test_continues_past_failure_and_reports_the_worst(tmp_path):
    """A FAILURE does not stop the day; the day's verdict is the worst one."""
    outcome, ran, journal = run_with(tmp_path, [Verdict.FAILURE, Verdict.TOLERATED])
    assert len(ran) == 2
    assert outcome.verdict is Verdict.FAILURE and journal["verdict"] == "FAILURE"
    assert [e["verdict"] for e in journal["experiments"]] == ["FAILURE", "TOLERATED"]


def test_stops_on_error_unless_told(tmp_path):
    """An ERROR ends the day, unless continue_on_error."""
    _, ran, _ = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED])
    assert len(ran) == 1
    _, ran, _ = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED], continue_on_error=True)
    assert len(ran) == 2


def test_expected_failures_make_the_day_as_expected(tmp_path):
    """Two failures by design that happen, six TOLERATED: "8 of 8 as expected", exit 0, worst verdict FAILURE."""
    verdicts = [Verdict.TOLERATED] * 6 + [Verdict.FAILURE] * 2
    outcome, ran, journal = run_with(tmp_path, verdicts, expect=verdicts)
    assert outcome.as_expected and outcome.exit_code == 0 and outcome.tally == "8 of 8 as expected"
    assert outcome.verdict is Verdict.FAILURE
    assert journal["as_expected"] is True and journal["exit_code"] == 0 and journal["summary"] == "8 of 8 as expected"
    assert [e["expected"] for e in journal["experiments"]][-2:] == ["FAILURE", "FAILURE"]


def test_a_wrong_expectation_is_named_and_exits_non_zero(tmp_path):
    """An unexpected FAILURE is a surprise named in the summary; the day exits 1."""
    outcome, _, journal = run_with(tmp_path, [Verdict.TOLERATED, Verdict.FAILURE])
    assert not outcome.as_expected and outcome.exit_code == 1
    assert outcome.tally == "1 of 2 as expected"
    assert [s.describe() for s in outcome.surprises] == ["e1 (e1.yaml): expected TOLERATED, got FAILURE"]
    assert journal["as_expected"] is False and journal["exit_code"] == 1 and journal["summary"] == "1 of 2 as expected"
    assert journal["surprises"] == ["e1 (e1.yaml): expected TOLERATED, got FAILURE"]


def test_a_weakness_gone_is_a_surprise_that_exits_one(tmp_path):
    """TOLERATED where FAILURE was expected: the weakness is gone, exit 1 (the check failed), said as such."""
    outcome, _, _ = run_with(tmp_path, [Verdict.TOLERATED], expect=[Verdict.FAILURE])
    assert outcome.exit_code == 1
    assert outcome.surprises[0].describe() == "e0 (e0.yaml): expected FAILURE, got TOLERATED: the weakness is gone: update the expectation"


def test_the_exit_code_is_the_worst_surprise(tmp_path):
    """Surprises rank as their verdicts do (NOT_RECOVERED worst); an expected NOT_RECOVERED is no surprise."""
    outcome, _, _ = run_with(tmp_path, [Verdict.NOT_RECOVERED, Verdict.INCONCLUSIVE, Verdict.TOLERATED],
                             expect=[Verdict.FAILURE, Verdict.TOLERATED, Verdict.FAILURE])
    assert outcome.exit_code == 3 and len(outcome.surprises) == 3
    outcome, _, _ = run_with(tmp_path, [Verdict.NOT_RECOVERED, Verdict.INCONCLUSIVE],
                             expect=[Verdict.NOT_RECOVERED, Verdict.TOLERATED])
    assert outcome.exit_code == 5
    outcome, _, _ = run_with(tmp_path, [Verdict.NOT_RECOVERED], expect=[Verdict.NOT_RECOVERED])
    assert outcome.exit_code == 0 and outcome.verdict is Verdict.NOT_RECOVERED


def test_entries_that_never_ran_are_surprises(tmp_path):
    """An unexpected ERROR ends the day: it and the entry that never ran are both named; exit 6."""
    outcome, ran, journal = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED])
    assert len(ran) == 1 and outcome.exit_code == 6 and outcome.tally == "0 of 2 as expected"
    assert outcome.surprises[1].describe() == "e1.yaml: expected TOLERATED, but it did not run (the game day ended first)"
    assert journal["planned"] == 2 and len(journal["experiments"]) == 1


def test_an_expected_error_does_not_end_the_day(tmp_path):
    """An ERROR the entry expected is no reason to stop: the next entry still runs."""
    outcome, ran, _ = run_with(tmp_path, [Verdict.ERROR, Verdict.TOLERATED], expect=[Verdict.ERROR, Verdict.TOLERATED])
    assert len(ran) == 2 and outcome.exit_code == 0


def test_expect_is_loaded_and_validated_with_its_line(tmp_path):
    """`expect:` takes a verdict name in any case; anything else is a problem at its line naming the choices."""
    day = load_gameday(write(tmp_path, "title: Day\nexperiments:\n  - {experiment: a.yaml, expect: failure}\n"
                                       "  - experiment: b.yaml\n"))
    assert [e.expect for e in day.entries] == [Verdict.FAILURE, Verdict.TOLERATED]
    path = write(tmp_path, "title: Day\nexperiments:\n  - experiment: a.yaml\n    expect: BROKEN\n"
                           "  - {experiment: b.yaml, expect: 1}\n")
    with pytest.raises(ExperimentInvalid) as info:
        load_gameday(path)
    text = str(info.value)
    assert f"{path}:4: experiments[0].expect" in text and "TOLERATED, FAILURE" in text and "'BROKEN'" in text
    assert f"{path}:5: experiments[1].expect" in text


def test_the_shipped_game_day_expects_its_two_failures_by_design():
    """experiments/gameday.yaml: six TOLERATED, database-unreachable and database-disk-full FAILURE."""
    day = load_gameday(Path(__file__).resolve().parents[3] / "experiments" / "gameday.yaml")
    expected = {e.experiment.name: e.expect for e in day.entries}
    assert len(expected) == 8
    assert {n for n, v in expected.items() if v is Verdict.FAILURE} == {"database-unreachable.yaml",
                                                                        "database-disk-full.yaml"}
    assert {v for n, v in expected.items() if not n.startswith("database-")} | {expected["database-latency.yaml"]} \
        == {Verdict.TOLERATED}


@pytest.mark.parametrize("name, why", [
    ("../outside.yaml", "outside the game day's folder"),
    ("/etc/hostname", "outside the game day's folder"),
    ("link.yaml", "outside the game day's folder"),  # a symlink inside that leads out
    ("a\x00.yaml", "a value with a NUL character"),  # refused as the YAML is read
    ("x" * 5000, "5000 characters"),
    ("y" * 300 + ".yaml", "File name too long"),
])
def test_experiment_paths_stay_inside_the_folder(tmp_path, name, why):
    """`..`, absolute paths, symlinks out, NUL bytes and over-long names are refused at their line, no traceback."""
    folder = tmp_path / "day"
    folder.mkdir()
    (tmp_path / "outside.yaml").write_text("title: outside\n")
    (folder / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    path = write(folder, "title: Day\nexperiments:\n  - experiment: a.yaml\n  - experiment: " + json.dumps(name) + "\n")
    with pytest.raises(ExperimentInvalid) as info:
        load_gameday(path)
    text = str(info.value)
    assert f"{path}:4: experiments[1].experiment: " in text and why in text
    assert len(text) < 1000


def test_inside_refuses_what_yaml_cannot_carry(tmp_path):
    """The path check itself refuses a NUL byte and an empty name (a caller may not come through YAML)."""
    from chaoskit.journal import inside

    for name, why in (("a\x00b", "NUL byte"), ("", "empty")):
        with pytest.raises(ValueError, match=why):
            inside(tmp_path, name)
    assert inside(tmp_path, "sub/../a.yaml") == (tmp_path / "a.yaml").resolve()


def test_a_symlink_inside_the_folder_to_a_file_inside_is_fine(tmp_path):
    """Symlinks are resolved, not refused: one that stays inside the folder is followed."""
    path = write(tmp_path, "title: Day\nexperiments:\n  - experiment: alias.yaml\n")
    (tmp_path / "alias.yaml").symlink_to(tmp_path / "a.yaml")
    assert load_gameday(path).entries[0].experiment == (tmp_path / "a.yaml").resolve()
