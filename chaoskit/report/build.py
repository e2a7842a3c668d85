"""Journals in, one :class:`Report` out: each game day a suite, loose runs and monkeys one "chaoskit" suite.

Every file is read through :func:`chaoskit.journal.read_journal`, so a file
that is not a journal, or a malformed one, raises
:class:`chaoskit.errors.JournalUnreadable` naming it; a run journal that a game
day lists but that cannot be read is a note of that game day instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaoskit.errors import JournalUnreadable
from chaoskit.journal import GamedayItem, GamedayRecord, MonkeyRecord, RunRecord, inside, read_journal
from chaoskit.report.model import DEFAULT_SUITE, Entry, Report, RunReport, Suite, combined, exit_code, verdict_name
from chaoskit.report.runs import CRASHED, run_report
from chaoskit.verdict import Verdict

__all__ = ["build_report", "gameday_suite", "monkey_entry", "run_entry"]


def build_report(paths: Sequence[str | Path], title: str | None = None) -> Report:
    """Read run, monkey and game-day journals into one report.

    A run journal that a game day on the same command line already lists is
    not counted twice (``chaoskit report journals/day/*.json`` just works).
    """
    suites: list[Suite] = []
    loose: list[RunRecord | MonkeyRecord] = []
    listed: set[Path] = set()
    for path in paths:
        record = read_journal(path)
        if isinstance(record, GamedayRecord):
            suites.append(gameday_suite(record))
            listed |= {p for item in record.items if (p := _listed_journal(Path(path).parent, item, [])) is not None}
        else:
            loose.append(record)
    entries = [run_entry(r) if isinstance(r, RunRecord) else monkey_entry(r)
               for r in loose if Path(r.path).resolve() not in listed]
    if entries:
        suites.insert(0, Suite(DEFAULT_SUITE, combined(e.verdict for e in entries), tuple(entries)))
    if title is None:
        if len(suites) == 1 and suites[0].gameday:
            title = suites[0].name
        elif len(suites) == 1 and len(suites[0].entries) == 1:
            title = suites[0].entries[0].title
        else:
            title = "chaoskit report"
    return Report(title, combined(s.verdict for s in suites), tuple(suites))


def run_entry(record: RunRecord) -> Entry:
    run = run_report(record)
    return Entry(run.title, run.verdict, run.reasons, file=record.experiment.source, run=run,
                 exit_code=exit_code(run.verdict))


def monkey_entry(record: MonkeyRecord) -> Entry:
    """A monkey run: its verdict and reasons (its kills are in its journal, not charted)."""
    if record.crashed:
        verdict, reasons = Verdict.ERROR.name, (CRASHED,)
    else:
        verdict, reasons = verdict_name(record.verdict), record.reasons
    return Entry(record.title or record.run_id or "monkey", verdict, reasons, file=record.path,
                 exit_code=exit_code(verdict))


def gameday_suite(record: GamedayRecord) -> Suite:
    """A game-day journal and the run journals it lists (paths relative to its folder)."""
    notes: list[str] = []
    entries = [_gameday_entry(item, Path(record.path).parent, notes) for item in record.items]
    planned = record.planned
    if planned is not None and planned > len(entries):
        notes.append(f"{len(entries)} of {planned} planned experiments ran: the game day stopped early")
    if record.crashed:
        notes.append("crashed game day: its journal ends without the combined verdict")
        verdict = combined([Verdict.ERROR.name, *(e.verdict for e in entries)])
    else:
        verdict = verdict_name(record.verdict)
    return Suite(record.title, verdict, tuple(entries), gameday=True, path=record.path,
                 started_at=record.started_at, finished_at=record.finished_at, planned=planned,
                 notes=tuple(notes), crashed=record.crashed, as_expected=record.as_expected, summary=record.summary)


def _gameday_entry(item: GamedayItem, folder: Path, notes: list[str]) -> Entry:
    run: RunReport | None = None
    journal_path = _listed_journal(folder, item, notes)
    if journal_path is not None:
        try:
            record = read_journal(journal_path)
        except JournalUnreadable as exc:
            notes.append(str(exc))
        else:
            if isinstance(record, RunRecord):
                run = run_report(record)
            else:
                notes.append(f"{journal_path}: not a run journal")
    title = item.title or (run.title if run else "") or Path(item.file or "?").stem
    reasons = item.reasons
    if run is not None and not reasons:
        reasons = run.reasons
    if not reasons and run is None:
        reasons = ("no journal for this experiment: it did not run far enough to write one",)
    verdict = verdict_name(item.verdict) if item.verdict is not None else (run.verdict if run else "ERROR")
    return Entry(title, verdict, reasons, file=item.file, run=run,
                 exit_code=item.exit_code if item.exit_code is not None else exit_code(verdict),
                 expected=verdict_name(item.expected) if item.expected is not None else Verdict.TOLERATED.name)


def _listed_journal(folder: Path, item: GamedayItem, notes: list[str]) -> Path | None:
    """The run journal an item names, if it is inside the game day's folder (a journal is input: it may lie)."""
    if not item.journal:
        return None
    try:
        return inside(folder, item.journal)
    except ValueError as exc:
        notes.append(f"{item.title or item.file or 'an experiment'}: its journal path was not read: {exc}")
        return None
