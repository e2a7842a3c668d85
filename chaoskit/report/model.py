"""What a report shows: the frozen values every renderer (HTML, JUnit, Markdown, chart) reads.

They are built from typed journals (:mod:`chaoskit.journal`) by
:mod:`chaoskit.report.build`, so the renderers cannot disagree about a
verdict or a time to detect. Times are seconds since the run started.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.report.timing import seconds_between
from chaoskit.verdict import Verdict, combine

__all__ = [
    "Comparison",
    "DEFAULT_SUITE",
    "Entry",
    "LOAD_METRICS",
    "MEANING",
    "Mark",
    "PHASES",
    "PhaseStats",
    "ProbeRow",
    "Report",
    "RunReport",
    "Series",
    "Span",
    "Suite",
    "combined",
    "exit_code",
    "verdict_name",
]

PHASES = ("BASELINE", "FAULT", "RECOVERY", "AUDIT")  # audit: checks once after recovery (durability)
# What each verdict means for the reader of a report (the exit-code table of chaoskit.verdict, in words).
MEANING = {
    "TOLERATED": "the steady state held during the fault and came back after it",
    "FAILURE": "a steady-state hypothesis broke while the fault was applied",
    "NOT_RECOVERED": "the steady state held during the fault but was not back within the recovery budget",
    "ABORTED": "not judged: the steady state did not hold before the fault (nothing injected), or the run was stopped",
    "INCONCLUSIVE": "not judged: the measurement itself was not valid or too uncertain to call",
    "ERROR": "not judged: chaoskit could not run the experiment",
}
LOAD_METRICS = ("p50", "p99", "error_rate")
DEFAULT_SUITE = "chaoskit"


@dataclass(frozen=True)
class Span:
    """A stretch of the run: a phase, or a fault from applied to reverted (``end`` None: never reverted)."""

    label: str
    start: float
    end: float | None = None


@dataclass(frozen=True)
class Series:
    """One line of the chart: ``(t, value)`` points; a value of None is a gap (no data that second)."""

    name: str
    unit: str
    points: tuple[tuple[float, float | None], ...]
    limit: float | None = None  # the tolerance's absolute maximum, when it has one

    @property
    def has_data(self) -> bool:
        return any(v is not None for _, v in self.points)


@dataclass(frozen=True)
class Mark:
    """One probe observation on the chart's status strip: held, violated or inconclusive."""

    probe: str
    t: float
    state: str  # "held" | "violated" | "inconclusive"


@dataclass(frozen=True)
class PhaseStats:
    """A probe's observations in one phase: how many, how many broke, and the value per subject."""

    count: int = 0
    violated: int = 0
    inconclusive: int = 0
    median: Mapping[str, float] = field(default_factory=dict)
    low: Mapping[str, float] = field(default_factory=dict)
    high: Mapping[str, float] = field(default_factory=dict)
    text: Mapping[str, str] = field(default_factory=dict)  # non-numeric subjects: the last value seen


@dataclass(frozen=True)
class Comparison:
    """A confidence interval of one quantity of a probe: ``label`` says which (the window's value, its change vs the
    baseline, the typical second's shift); journals without a label hold the typical shift."""

    probe: str
    low: float | None
    high: float | None
    confidence: float | None = None
    shift: float | None = None
    baseline: float | None = None
    during: float | None = None
    p_value: float | None = None
    decision: str = ""
    phase: str = "FAULT"
    metric: str = ""
    label: str = ""
    estimate: float | None = None  # the window's value or its change, for labelled intervals

    @property
    def of_a_value(self) -> bool:
        """An interval of the window's own value (unsigned), not of a change or shift."""
        return self.label.endswith(" of the window")


@dataclass(frozen=True)
class ProbeRow:
    """One row of the hypotheses table."""

    probe: str
    hypothesis: str
    type: str
    tolerance: str
    units: Mapping[str, str]  # subject -> unit
    phases: Mapping[str, PhaseStats]  # BASELINE / FAULT / RECOVERY
    comparisons: tuple[Comparison, ...] = ()
    violated: bool = False
    first_detail: str = ""  # the reason of the first violation during the fault (or baseline)

    @property
    def state(self) -> str:
        if self.violated:
            return "violated"
        if not any(p.count for p in self.phases.values()):
            return "not observed"
        if any(p.inconclusive for p in self.phases.values()):
            return "inconclusive"
        return "held"


@dataclass(frozen=True)
class RunReport:
    """One experiment run, as read from its journal."""

    title: str
    verdict: str
    reasons: tuple[str, ...]
    path: str = ""
    run_id: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    chaoskit: str = ""
    started_at: str = ""
    finished_at: str = ""
    duration_s: float | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None
    fault_applied_at: float | None = None
    reverted_at: float | None = None
    stopped_by: str | None = None
    stop_events: tuple[tuple[float, str], ...] = ()
    time_to_stop_s: float | None = None  # a stop condition fired: first fault applied -> every fault reverted
    violations: tuple[Mapping[str, Any], ...] = ()
    method: tuple[str, ...] = ()
    phases_planned: Mapping[str, float] = field(default_factory=dict)
    phases: tuple[Span, ...] = ()
    faults: tuple[Span, ...] = ()
    series: tuple[Series, ...] = ()
    series_source: str = ""  # "load" | "probes" | ""
    marks: tuple[Mark, ...] = ()
    probes: tuple[ProbeRow, ...] = ()
    load: Mapping[str, Any] = field(default_factory=dict)  # spec, summary, validity (no buckets)
    measurement_problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what the journal lacked or what could not be read
    end_t: float = 0.0
    crashed: bool = False  # the journal ends before the verdict: the run never finished

    @property
    def complete(self) -> bool:
        return not self.crashed


@dataclass(frozen=True)
class Entry:
    """One experiment of a suite: its verdict as the suite recorded it, and its run when the journal was readable."""

    title: str
    verdict: str
    reasons: tuple[str, ...]
    file: str = ""
    run: RunReport | None = None
    exit_code: int | None = None
    expected: str | None = None  # the verdict a game-day entry expected; None: a run with no expectation

    @property
    def surprise(self) -> bool:
        """A game-day entry whose verdict is not the one it expected."""
        return self.expected is not None and self.expected != self.verdict

    @property
    def weakness_gone(self) -> bool:
        """Expected to find a weakness (a verdict other than TOLERATED) and found none."""
        return self.surprise and self.verdict == Verdict.TOLERATED.name

    @property
    def expectation(self) -> str:
        """Expected against actual in words, as every report says it; "" for a run with no expectation."""
        if self.expected is None:
            return ""
        if not self.surprise:
            return f"as expected: {self.verdict}"
        text = f"surprise: expected {self.expected}, got {self.verdict}"
        return text + (": the weakness is gone: update the expectation" if self.weakness_gone else "")

    @property
    def time_to_detect_s(self) -> float | None:
        return self.run.time_to_detect_s if self.run else None

    @property
    def time_to_recover_s(self) -> float | None:
        return self.run.time_to_recover_s if self.run else None

    @property
    def duration_s(self) -> float | None:
        """Wall time of the run; for a run that never finished, up to its last record."""
        if self.run is None:
            return None
        if self.run.duration_s is not None:
            return self.run.duration_s
        return self.run.end_t or None


@dataclass(frozen=True)
class Suite:
    """A game day, or the loose run journals given on the command line (``name`` "chaoskit")."""

    name: str
    verdict: str
    entries: tuple[Entry, ...]
    gameday: bool = False
    path: str = ""
    started_at: str = ""
    finished_at: str = ""
    planned: int | None = None
    notes: tuple[str, ...] = ()
    crashed: bool = False
    as_expected: bool | None = None  # a finished game day: whether every verdict was the expected one
    summary: str = ""  # the game day's own tally: "8 of 8 as expected"

    @property
    def duration_s(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)


@dataclass(frozen=True)
class Report:
    title: str
    verdict: str
    suites: tuple[Suite, ...]

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(e for s in self.suites for e in s.entries)

    @property
    def single_run(self) -> RunReport | None:
        """The run, when the report is about exactly one run and no game day."""
        if len(self.suites) == 1 and not self.suites[0].gameday and len(self.entries) == 1:
            return self.entries[0].run
        return None


def verdict_name(value: Any) -> str:
    """A verdict name chaoskit knows; anything else (missing, misspelt, from the future) is ERROR."""
    name = str(value or "").strip().upper()
    return name if name in Verdict.__members__ else Verdict.ERROR.name


def combined(verdicts: Iterable[str]) -> str:
    """The worst of ``verdicts`` (by name), as :func:`chaoskit.verdict.combine` ranks them."""
    return combine(Verdict[verdict_name(v)] for v in verdicts).name


def exit_code(verdict: str) -> int:
    return Verdict[verdict_name(verdict)].exit_code
