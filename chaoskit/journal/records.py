"""What a journal says, as frozen values: parsed once by :mod:`chaoskit.journal.reader`, read by every report.

Missing keys have defaults, because a journal may come from a run that
crashed, ran without load or was written by an older chaoskit; a key that is
present with the wrong type is not guessed at: the reader refuses the file.
Open-ended parts (a fault's parameters, a tolerance, a load's spec) stay
mappings of plain JSON values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Check",
    "Event",
    "ExperimentRecord",
    "Facts",
    "GamedayItem",
    "GamedayRecord",
    "LoadRecord",
    "MonkeyRecord",
    "Observation",
    "Outcome",
    "ProbeDefinition",
    "RunRecord",
    "Step",
]


@dataclass(frozen=True)
class Event:
    """An event of the run: ``name`` like ``fault.applied``, at ``t`` seconds since the start; ``fields`` the rest."""

    t: float
    name: str
    at: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)

    def text(self, key: str) -> str:
        """A field as text ("" when absent or null)."""
        value = self.fields.get(key)
        return "" if value is None else str(value)


@dataclass(frozen=True)
class Observation:
    """One probe observation; ``phase`` upper case (BASELINE, FAULT, RECOVERY, AUDIT or "")."""

    probe: str
    t: float
    phase: str = ""
    ok: bool = False
    inconclusive: bool = False
    detection: bool = False  # a per-second detection: the window judgement, not this, decides a violation
    value: Any = None
    detail: str = ""
    hypothesis: str = ""

    @property
    def state(self) -> str:
        if self.inconclusive:
            return "inconclusive"
        return "held" if self.ok else "violated"


@dataclass(frozen=True)
class Check:
    subject: str
    tolerance: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeDefinition:
    name: str
    type: str = ""
    metric: str = ""  # a load probe's metric (p50, p99, error_rate)
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step of the experiment's method."""

    fault: str
    name: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    target: Any = None
    start: float = 0.0
    duration: float | None = None


@dataclass(frozen=True)
class ExperimentRecord:
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    hypothesis: str = ""  # the steady state's title
    probes: tuple[ProbeDefinition, ...] = ()
    method: tuple[Step, ...] = ()
    phases: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The verdict as the run wrote it; ``verdict`` is the name written, which the reports check."""

    verdict: str
    reasons: tuple[str, ...] = ()
    violations: tuple[Mapping[str, Any], ...] = ()
    time_to_detect_s: float | None = None
    time_to_recover_s: float | None = None
    stopped_by: str = ""


@dataclass(frozen=True)
class Facts:
    fault_applied_at: float | None = None
    reverted_at: float | None = None
    stopped_by: str = ""
    measurement_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadRecord:
    """The load's block: ``buckets`` as written (HDR histograms, decoded by the reports), the rest as mappings."""

    info: Mapping[str, Any] = field(default_factory=dict)  # spec, summary, validity, generator
    buckets: tuple[Mapping[str, Any], ...] = ()
    comparisons: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class RunRecord:
    """An experiment run's journal. ``crashed``: it ends before the verdict (the writer never finished)."""

    path: str
    run_id: str = ""
    chaoskit: str = ""
    started_at: str = ""
    finished_at: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)
    experiment: ExperimentRecord = field(default_factory=ExperimentRecord)
    events: tuple[Event, ...] = ()
    observations: tuple[Observation, ...] = ()
    outcome: Outcome | None = None
    facts: Facts = field(default_factory=Facts)
    load: LoadRecord | None = None
    # Per Prometheus probe: probe, url, query, readings, comparisons (as the load's), time_to_detect_s/recover_s.
    prometheus: tuple[Mapping[str, Any], ...] = ()
    truncated: bool = False  # the last line was cut short by the crash and dropped

    @property
    def crashed(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class GamedayItem:
    """One experiment a game day ran; ``journal`` relative to the game day's folder.

    ``expected`` is the verdict it expected (None in journals written before
    game days had expectations: read as TOLERATED, the default).
    """

    file: str = ""
    title: str = ""
    verdict: str | None = None
    exit_code: int | None = None
    reasons: tuple[str, ...] = ()
    journal: str = ""
    expected: str | None = None


@dataclass(frozen=True)
class GamedayRecord:
    path: str
    title: str
    source: str = ""
    started_at: str = ""
    finished_at: str = ""
    verdict: str | None = None
    exit_code: int | None = None
    planned: int | None = None
    items: tuple[GamedayItem, ...] = ()
    truncated: bool = False
    as_expected: bool | None = None  # None: not finished, or written before game days had expectations
    summary: str = ""  # "8 of 8 as expected"
    surprises: tuple[str, ...] = ()  # each named: "title (file): expected FAILURE, got TOLERATED: ..."

    @property
    def crashed(self) -> bool:
        return self.verdict is None


@dataclass(frozen=True)
class MonkeyRecord:
    path: str
    run_id: str = ""
    title: str = ""
    started_at: str = ""
    finished_at: str = ""
    events: tuple[Event, ...] = ()
    kills: tuple[Mapping[str, Any], ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def crashed(self) -> bool:
        return self.verdict is None
