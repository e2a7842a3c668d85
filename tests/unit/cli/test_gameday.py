"""`chaoskit gameday` (chaoskit.cli.gameday): the tally line, named surprises and the exit code, with runs faked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaoskit.cli.gameday import gameday
from chaoskit.verdict import Outcome, Verdict

NO_OP = Path(__file__).resolve().parents[3] / "experiments" / "control-no-op.yaml"


@pytest.fixture
def fake_runs(monkeypatch):
    """Every experiment "runs" to the verdict given for its file's stem, without touching the world."""
    from chaoskit.run import wiring

    verdicts: dict[str, Verdict] = {}

    def run_experiment(experiment, journal_path, **kw):
        stem = Path(journal_path).stem.split("-", 1)[1]
        return wiring.RunOutcome(Outcome(verdicts[stem], (f"{stem} said so",)), Path(journal_path))

    monkeypatch.setattr(wiring, "run_experiment", run_experiment)
    return verdicts


def day(tmp_path: Path, expect_b: str) -> Path:
    for stem in ("a", "b"):
        shutil.copy(NO_OP, tmp_path / f"{stem}.yaml")
    path = tmp_path / "day.yaml"
    path.write_text(f"title: Day\nexperiments:\n  - experiment: a.yaml\n  - {{experiment: b.yaml, expect: {expect_b}}}\n")
    return path


def test_every_verdict_as_expected_exits_zero(tmp_path, fake_runs):
    """An expected FAILURE beside a TOLERATED: "2 of 2 as expected", exit 0."""
    fake_runs.update(a=Verdict.TOLERATED, b=Verdict.FAILURE)
    result = CliRunner().invoke(gameday, [str(day(tmp_path, "FAILURE")), "--now", "--journal-dir", str(tmp_path / "j")])
    assert result.exit_code == 0, result.output
    assert "game day: 2 of 2 as expected (worst verdict FAILURE)" in result.output
    assert "surprise" not in result.output


def test_a_wrong_expectation_is_named_and_exits_one(tmp_path, fake_runs):
    """b expected FAILURE but was TOLERATED: the weakness is gone, named on its own line; exit 1."""
    fake_runs.update(a=Verdict.TOLERATED, b=Verdict.TOLERATED)
    result = CliRunner().invoke(gameday, [str(day(tmp_path, "FAILURE")), "--now", "--journal-dir", str(tmp_path / "j")])
    assert result.exit_code == 1, result.output
    assert "game day: 1 of 2 as expected (worst verdict TOLERATED)" in result.output
    assert "surprise: Control (a fault that does nothing) (b.yaml): expected FAILURE, got TOLERATED: the weakness is gone" in result.output
    assert (tmp_path / "j" / "junit.xml").exists()


def test_help_documents_expect_and_the_exit_codes():
    """--help says what `expect:` does and what each exit code means."""
    text = CliRunner().invoke(gameday, ["--help"]).output
    assert "expect: FAILURE" in text and "8 of 8 as expected" in text and "weakness gone" in text
    assert "  3  an unexpected NOT_RECOVERED" in text
