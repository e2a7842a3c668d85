"""The journal: the single source of truth of a run, a monkey or a game day, and the one owner of its schema.

Writers (:class:`RunJournal`, :class:`MonkeyJournal`, :class:`GamedayJournal`)
append and fsync each record as it happens and write the finished document
at the end; :func:`read_journal` turns either shape into frozen records, or
raises :class:`chaoskit.errors.JournalUnreadable`; :func:`inside` keeps a
path a game day names inside its folder. Run and schedule code
write through this package, reports read through it; it imports neither.
"""

from chaoskit.journal.encode import now, plain
from chaoskit.journal.paths import inside
from chaoskit.journal.reader import Record, parse_journal, read_journal
from chaoskit.journal.records import (
    Check,
    Event,
    ExperimentRecord,
    Facts,
    GamedayItem,
    GamedayRecord,
    LoadRecord,
    MonkeyRecord,
    Observation,
    Outcome,
    ProbeDefinition,
    RunRecord,
    Step,
)
from chaoskit.journal.writer import GamedayJournal, JournalFile, MonkeyJournal, RunJournal

__all__ = [
    "Check",
    "Event",
    "ExperimentRecord",
    "Facts",
    "GamedayItem",
    "GamedayJournal",
    "GamedayRecord",
    "JournalFile",
    "LoadRecord",
    "MonkeyJournal",
    "MonkeyRecord",
    "Observation",
    "Outcome",
    "ProbeDefinition",
    "Record",
    "RunJournal",
    "RunRecord",
    "Step",
    "inside",
    "now",
    "parse_journal",
    "plain",
    "read_journal",
]
