"""Game days: a file listing experiments to run in order, now or on a cron schedule, with one combined journal.

A game day continues past a FAILURE (finding failures is what it is for),
stops at the first unexpected ERROR unless told otherwise (a broken tool or
environment would only produce more errors), and an interruption reverts
the running experiment's faults and ends the day. ``next_fire`` is the only
scheduling decision and is a pure function of the cron expression and a
given time.

Each entry may say which verdict it expects (``expect:``; TOLERATED when it does
not), so a game day is a regression check: it is *as expected* when every
verdict matches its expectation, and otherwise names each surprise
(:class:`GameDayOutcome`). Paths a game day names stay inside its folder
(:func:`chaoskit.journal.paths.inside`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.journal import GamedayJournal, inside
from chaoskit.model.source import Located, read_source
from chaoskit.verdict import Verdict, combine

__all__ = [
    "EntryResult",
    "GameDay",
    "GameDayEntry",
    "GameDayOutcome",
    "Surprise",
    "is_gameday",
    "judge_expectations",
    "load_gameday",
    "next_fire",
    "run_gameday",
]

_TOP_KEYS = ("title", "description", "schedule", "timezone", "continue_on_error", "variables", "experiments")
_ENTRY_KEYS = ("experiment", "expect", "vars", "seed")


@dataclass(frozen=True)
class GameDayEntry:
    experiment: Path
    variables: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    expect: Verdict = Verdict.TOLERATED  # the verdict that is no surprise


@dataclass(frozen=True)
class GameDay:
    title: str
    entries: tuple[GameDayEntry, ...]
    description: str = ""
    schedule: str | None = None  # a cron expression; None: run when started
    continue_on_error: bool = False
    # Passed to every experiment (an entry's own vars and the command line's --var win).
    variables: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class EntryResult:
    entry: GameDayEntry
    verdict: Verdict
    reasons: tuple[str, ...]
    journal: Path | None
    title: str = ""


def is_gameday(text: str) -> bool:
    """Whether a YAML text is a game day rather than an experiment (its entries name experiment files)."""
    return re.search(r"^experiments\s*:", text, re.MULTILINE) is not None


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first time at or after ``after`` that the cron ``schedule`` fires (in ``after``'s time zone)."""
    from croniter import croniter  # here, not at import: validating an experiment does not need it

    return croniter(schedule, after - timedelta(seconds=1)).get_next(datetime)


def _is_cron(value: object) -> bool:
    from croniter import croniter

    return isinstance(value, str) and croniter.is_valid(value)


def load_gameday(path: str | Path) -> GameDay:
    """Read and validate a game-day file; experiment paths are relative to it. Every problem has file:line.

    Command-line variables are not applied here: they go to the experiments, which declare them.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentInvalid([Problem(source, None, "", f"cannot read the file: {exc}")]) from exc
    root, variables, problems = read_source(text, source, None)

    def problem(node: Located, message: str) -> None:
        problems.append(Problem(source, node.line, node.path, message))

    if root is None or not isinstance(root.value, dict):
        if root is not None:
            problem(root, "expected a mapping with title and experiments")
        raise ExperimentInvalid(problems or [Problem(source, None, "", "empty file")])
    top = root.value
    for key, node in top.items():
        if key not in _TOP_KEYS:
            problem(node, f"unknown key; expected one of {', '.join(_TOP_KEYS)}")
    title = top.get("title")
    if title is None or not isinstance(title.value, str) or not title.value.strip():
        problems.append(Problem(source, root.line, "title", "a non-empty string is required"))
    schedule = top.get("schedule")
    if schedule is not None and not _is_cron(schedule.value):
        problem(schedule, f"expected a cron expression like '0 10 * * 2', got {schedule.plain()!r}")
    continue_on_error = top.get("continue_on_error")
    if continue_on_error is not None and not isinstance(continue_on_error.value, bool):
        problem(continue_on_error, "expected true or false")
    entries: list[GameDayEntry] = []
    listed = top.get("experiments")
    if listed is None or not isinstance(listed.value, list) or not listed.value:
        problems.append(Problem(source, root.line, "experiments", "a non-empty list of {experiment: FILE} is required"))
    else:
        base = Path(path).parent
        for item in listed.value:
            entry = _entry(item, base, problem)
            if entry is not None:
                entries.append(entry)
    if problems:
        raise ExperimentInvalid(problems)
    return GameDay(title=title.value, entries=tuple(entries), description=str(top["description"].value) if "description" in top else "",
                   schedule=schedule.value if schedule else None,
                   continue_on_error=bool(continue_on_error.value) if continue_on_error else False,
                   variables=variables, source=source)


def _entry(item: Located, base: Path, problem: Callable[[Located, str], None]) -> GameDayEntry | None:
    if not isinstance(item.value, dict):
        problem(item, "expected a mapping like {experiment: cache-down.yaml}")
        return None
    for key, node in item.value.items():
        if key not in _ENTRY_KEYS:
            problem(node, f"unknown key; expected one of {', '.join(_ENTRY_KEYS)}")
    file = item.value.get("experiment")
    if file is None or not isinstance(file.value, str):
        problem(item, "experiment: a file path is required")
        return None
    try:
        target = inside(base, file.value)
        found = target.is_file()
    except ValueError as exc:
        problem(file, f"refused: {exc}")
        return None
    except OSError as exc:  # a name the OS refuses: a component over 255 bytes, a symlink loop
        problem(file, f"refused: a path the file system refuses ({exc.strerror or exc})")
        return None
    if not found:
        problem(file, f"no such experiment file: {target}")
        return None
    expect = item.value.get("expect")
    expected = Verdict.TOLERATED
    if expect is not None:
        name = expect.value.strip().upper() if isinstance(expect.value, str) else None
        if name not in Verdict.__members__:
            problem(expect, f"expected a verdict ({', '.join(Verdict.__members__)}), got {expect.plain()!r}")
        else:
            expected = Verdict[name]
    overrides = item.value.get("vars")
    if overrides is not None and not isinstance(overrides.value, dict):
        problem(overrides, "expected a mapping of variable overrides")
        overrides = None
    seed = item.value.get("seed")
    if seed is not None and (isinstance(seed.value, bool) or not isinstance(seed.value, int)):
        problem(seed, "expected an integer seed")
        seed = None
    return GameDayEntry(target, overrides.plain() if overrides else {}, seed.value if seed else None, expected)


@dataclass(frozen=True)
class Surprise:
    """An entry whose verdict was not the one it expected; ``actual`` None: it never ran (the day ended first).

    ``name`` says which entry: its experiment's title and file (two entries may share a title).
    """

    name: str
    expected: Verdict
    actual: Verdict | None

    @property
    def weakness_gone(self) -> bool:
        """A known weakness no longer shows: the system improved, or the experiment stopped finding it."""
        return self.actual is Verdict.TOLERATED

    @property
    def counts_as(self) -> Verdict:
        """The verdict this surprise stands for in the exit code (see :class:`GameDayOutcome`)."""
        if self.actual is None:
            return Verdict.ABORTED
        return Verdict.FAILURE if self.weakness_gone else self.actual

    def describe(self) -> str:
        if self.actual is None:
            return f"{self.name}: expected {self.expected.name}, but it did not run (the game day ended first)"
        text = f"{self.name}: expected {self.expected.name}, got {self.actual.name}"
        return text + (": the weakness is gone: update the expectation" if self.weakness_gone else "")


@dataclass(frozen=True)
class GameDayOutcome:
    """A game day's result: the worst verdict, and how the verdicts compare with what the entries expected.

    The exit code is 0 when every planned entry ran and got its expected
    verdict. Otherwise it is the code of the worst surprise (by
    :data:`chaoskit.verdict.SEVERITY`), each surprise counting as its own
    verdict, except that a weakness gone (TOLERATED where something else was
    expected) counts as FAILURE (1) and an entry that never ran as ABORTED
    (4): the check the game day stands for did not pass either way.
    """

    verdict: Verdict  # the worst verdict of the entries that ran (combine)
    results: tuple[EntryResult, ...]
    planned: int
    surprises: tuple[Surprise, ...]

    @property
    def as_expected(self) -> bool:
        return not self.surprises

    @property
    def exit_code(self) -> int:
        return combine(s.counts_as for s in self.surprises).exit_code if self.surprises else 0

    @property
    def tally(self) -> str:
        """``8 of 8 as expected`` (each surprise says the rest: :meth:`Surprise.describe`)."""
        return f"{self.planned - len(self.surprises)} of {self.planned} as expected"


def judge_expectations(day: GameDay, results: Sequence[EntryResult]) -> GameDayOutcome:
    """Compare each entry's verdict with its expectation; entries after the last result never ran."""
    surprises = [Surprise(f"{r.title} ({r.entry.experiment.name})" if r.title else r.entry.experiment.name,
                          r.entry.expect, r.verdict)
                 for r in results if r.verdict is not r.entry.expect]
    surprises += [Surprise(e.experiment.name, e.expect, None) for e in day.entries[len(results):]]
    return GameDayOutcome(combine(r.verdict for r in results), tuple(results), len(day.entries), tuple(surprises))


def run_gameday(day: GameDay, journal_dir: Path, run_entry: Callable[[GameDayEntry, Path], EntryResult],
                on_result: Callable[[EntryResult], None] = lambda r: None,
                secrets: frozenset[str] = frozenset()) -> tuple[GameDayOutcome, Path]:
    """Run the entries in order (each through ``run_entry``), journaling each as it ends; (outcome, journal path).
    ``secrets``: the experiments', masked in the game day's journal as in theirs."""
    journal = GamedayJournal(journal_dir / "gameday.json", day.title, day.source, planned=len(day.entries),
                             secrets=secrets)
    results: list[EntryResult] = []
    for index, entry in enumerate(day.entries):
        result = run_entry(entry, journal_dir / f"{index:02d}-{entry.experiment.stem}.json")
        results.append(result)
        journal.entry(str(result.entry.experiment), result.title, result.verdict.name, result.verdict.exit_code,
                      list(result.reasons), result.journal.name if result.journal else None,
                      expected=entry.expect.name)
        on_result(result)
        if result.verdict is Verdict.ABORTED and any("interrupted" in r for r in result.reasons):
            break  # a person or a supervisor said stop: the day ends
        if result.verdict is Verdict.ERROR and entry.expect is not Verdict.ERROR and not day.continue_on_error:
            break
    outcome = judge_expectations(day, results)
    path = journal.finish(outcome.verdict.name, outcome.exit_code, as_expected=outcome.as_expected,
                          summary=outcome.tally, surprises=[s.describe() for s in outcome.surprises])
    return outcome, path
