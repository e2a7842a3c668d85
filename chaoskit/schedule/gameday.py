"""Game days: a file listing experiments to run in order, now or on a cron schedule, with one combined journal.

A game day continues past a FAILURE (finding failures is what it is for),
stops at the first ERROR unless told otherwise (a broken tool or environment
would only produce more errors), and an interruption reverts the running
experiment's faults and ends the day. ``next_fire`` is the only scheduling
decision and is a pure function of the cron expression and a given time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.journal import GamedayJournal
from chaoskit.model.source import Located, read_source
from chaoskit.verdict import Verdict, combine

__all__ = ["EntryResult", "GameDay", "GameDayEntry", "is_gameday", "load_gameday", "next_fire", "run_gameday"]

_TOP_KEYS = ("title", "description", "schedule", "timezone", "continue_on_error", "variables", "experiments")
_ENTRY_KEYS = ("experiment", "vars", "seed")


@dataclass(frozen=True)
class GameDayEntry:
    experiment: Path
    variables: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None


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
    target = (base / file.value).resolve()
    if not target.is_file():
        problem(file, f"no such experiment file: {target}")
        return None
    overrides = item.value.get("vars")
    if overrides is not None and not isinstance(overrides.value, dict):
        problem(overrides, "expected a mapping of variable overrides")
        overrides = None
    seed = item.value.get("seed")
    if seed is not None and (isinstance(seed.value, bool) or not isinstance(seed.value, int)):
        problem(seed, "expected an integer seed")
        seed = None
    return GameDayEntry(target, overrides.plain() if overrides else {}, seed.value if seed else None)


def run_gameday(day: GameDay, journal_dir: Path, run_entry: Callable[[GameDayEntry, Path], EntryResult],
                on_result: Callable[[EntryResult], None] = lambda r: None) -> tuple[Verdict, list[EntryResult], Path]:
    """Run the entries in order (each through ``run_entry``), journaling each as it ends; (verdict, results, path)."""
    journal = GamedayJournal(journal_dir / "gameday.json", day.title, day.source, planned=len(day.entries))
    results: list[EntryResult] = []
    for index, entry in enumerate(day.entries):
        result = run_entry(entry, journal_dir / f"{index:02d}-{entry.experiment.stem}.json")
        results.append(result)
        journal.entry(str(result.entry.experiment), result.title, result.verdict.name, result.verdict.exit_code,
                      list(result.reasons), result.journal.name if result.journal else None)
        on_result(result)
        if result.verdict is Verdict.ABORTED and any("interrupted" in r for r in result.reasons):
            break  # a person or a supervisor said stop: the day ends
        if result.verdict is Verdict.ERROR and not day.continue_on_error:
            break
    verdict = combine(r.verdict for r in results)
    return verdict, results, journal.finish(verdict.name, verdict.exit_code)
