"""What a report shows, read from journals alone: plain JSON in, frozen dataclasses out (pure).

Every renderer (HTML, JUnit, Markdown) reads the same :class:`Report`, so
they cannot disagree about a verdict or a time to detect. Journals come from
runs that crashed, were interrupted, ran without load or were written by an
older chaoskit, so every key may be missing: a missing verdict is an ERROR
(a report must never turn an unfinished run green), a missing load block
means the chart falls back to probe observations, and anything unreadable is
said in :attr:`RunReport.notes` rather than raised.

Times are seconds since the run started (the journal's ``t``). Load buckets
carry wall-clock starts; they are put on the run's clock through the events,
each of which has both its ``t`` and its wall-clock ``at``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chaoskit.report.formatting import UNIT_PLAIN, describe_selector, describe_tolerance, is_number, unit_of
from chaoskit.verdict import Verdict, combine

__all__ = [
    "Comparison",
    "Entry",
    "JournalUnreadable",
    "MEANING",
    "Mark",
    "PhaseStats",
    "ProbeRow",
    "Report",
    "RunReport",
    "Series",
    "Span",
    "Suite",
    "build_report",
    "gameday_suite",
    "read_json",
    "run_report",
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


class JournalUnreadable(ValueError):
    """A file given as a journal is missing, not JSON, or neither a run nor a game-day journal."""


# -- the data every renderer reads --------------------------------------------


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
    """A confidence interval for a probe's shift against its baseline (from the load's statistics or a violation)."""

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

    @property
    def complete(self) -> bool:
        return not any(n.startswith("incomplete journal") for n in self.notes)


@dataclass(frozen=True)
class Entry:
    """One experiment of a suite: its verdict as the suite recorded it, and its run when the journal was readable."""

    title: str
    verdict: str
    reasons: tuple[str, ...]
    file: str = ""
    run: RunReport | None = None
    exit_code: int | None = None

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

    @property
    def duration_s(self) -> float | None:
        return _seconds_between(self.started_at, self.finished_at)


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


# -- reading -----------------------------------------------------------------------


def read_json(path: str | Path) -> dict[str, Any]:
    """A journal file's JSON object; :class:`JournalUnreadable` names the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise JournalUnreadable(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise JournalUnreadable(f"{path}: not a JSON journal: {exc}") from exc
    if not isinstance(data, dict):
        raise JournalUnreadable(f"{path}: not a journal (expected a JSON object)")
    return data


def build_report(paths: Sequence[str | Path], title: str | None = None) -> Report:
    """Read run and game-day journals into one report: each game day a suite, loose runs one "chaoskit" suite.

    A run journal that a game day on the same command line already lists is
    not counted twice (``chaoskit report journals/day/*.json`` just works).
    """
    suites: list[Suite] = []
    loose: list[tuple[Path, Mapping[str, Any]]] = []
    listed: set[Path] = set()
    for path in paths:
        data = read_json(path)
        if "gameday" in data:
            suites.append(gameday_suite(data, Path(path)))
            listed |= {(Path(path).parent / str(e["journal"])).resolve() for e in _list(data.get("experiments"))
                       if isinstance(e, Mapping) and e.get("journal")}
        elif "experiment" in data or "run_id" in data or "verdict" in data:
            loose.append((Path(path), data))
        else:
            raise JournalUnreadable(f"{path}: neither a run journal nor a game-day journal "
                                    f"(keys: {', '.join(sorted(data)) or 'none'})")
    entries = []
    for path, data in loose:
        if path.resolve() in listed:
            continue
        run = run_report(data, str(path))
        entries.append(Entry(run.title, run.verdict, run.reasons, file=_experiment_file(data), run=run,
                             exit_code=_exit_code(run.verdict)))
    if entries:
        suites.insert(0, Suite(DEFAULT_SUITE, _combined(e.verdict for e in entries), tuple(entries)))
    verdict = _combined(s.verdict for s in suites)
    if title is None:
        if len(suites) == 1 and suites[0].gameday:
            title = suites[0].name
        elif len(suites) == 1 and len(suites[0].entries) == 1:
            title = suites[0].entries[0].title
        else:
            title = "chaoskit report"
    return Report(title, verdict, tuple(suites))


def gameday_suite(data: Mapping[str, Any], path: Path) -> Suite:
    """A game-day journal and the run journals it lists (paths relative to its folder)."""
    entries: list[Entry] = []
    notes: list[str] = []
    for item in _list(data.get("experiments")):
        if not isinstance(item, Mapping):
            continue
        listed_verdict = verdict_name(item.get("verdict"))
        reasons = tuple(str(r) for r in _list(item.get("reasons")))
        run: RunReport | None = None
        journal = item.get("journal")
        if journal:
            journal_path = path.parent / str(journal)
            try:
                run = run_report(read_json(journal_path), str(journal_path))
            except JournalUnreadable as exc:
                notes.append(str(exc))
        title = str(item.get("title") or (run.title if run else "") or Path(str(item.get("file") or "?")).stem)
        if run is not None and not reasons:
            reasons = run.reasons
        if not reasons and run is None:
            reasons = ("no journal for this experiment: it did not run far enough to write one",)
        verdict = listed_verdict if item.get("verdict") is not None else (run.verdict if run else "ERROR")
        code = item.get("exit_code")
        entries.append(Entry(title, verdict, reasons, file=str(item.get("file") or ""), run=run,
                             exit_code=int(code) if is_number(code) else _exit_code(verdict)))
    planned = data.get("planned")
    if is_number(planned) and planned > len(entries):
        notes.append(f"{len(entries)} of {planned} planned experiments ran: the game day stopped early")
    verdict = verdict_name(data["verdict"]) if data.get("verdict") is not None else _combined(e.verdict for e in entries)
    return Suite(str(data.get("gameday") or "game day"), verdict, tuple(entries), gameday=True, path=str(path),
                 started_at=str(data.get("started_at") or ""), finished_at=str(data.get("finished_at") or ""),
                 planned=int(planned) if is_number(planned) else None, notes=tuple(notes))


def run_report(data: Mapping[str, Any], path: str = "") -> RunReport:
    """One run journal, read tolerantly (see the module docstring)."""
    notes: list[str] = []
    experiment = _map(data.get("experiment"))
    outcome = data.get("verdict")
    facts = _map(data.get("facts"))
    if isinstance(outcome, Mapping) and outcome.get("verdict") is not None:
        verdict = verdict_name(outcome.get("verdict"))
        reasons = tuple(str(r) for r in _list(outcome.get("reasons")))
        if str(outcome.get("verdict")).strip().upper() not in Verdict.__members__:
            notes.append(f"unknown verdict {outcome.get('verdict')!r} in the journal, reported as ERROR")
            reasons = (f"the journal's verdict {outcome.get('verdict')!r} is not one chaoskit knows", *reasons)
    else:
        verdict = Verdict.ERROR.name
        reasons = ("the journal has no verdict: the run did not finish (chaoskit was killed or crashed mid-run)",)
        notes.append("incomplete journal: no verdict; run `chaoskit rollback` if a fault may still be applied")
    outcome = _map(outcome)

    events = [e for e in _list(data.get("events")) if isinstance(e, Mapping) and is_number(e.get("t"))]
    observations = [o for o in _list(data.get("observations")) if isinstance(o, Mapping) and is_number(o.get("t"))]
    load = _map(data.get("load"))
    epoch = _run_epoch(events, data.get("started_at"))
    buckets = _bucket_points(_list(load.get("buckets")), epoch, notes)

    end_t = max([0.0] + [float(e["t"]) for e in events] + [float(o["t"]) for o in observations]
                + [t + d for t, d, _ in buckets])
    duration = _seconds_between(data.get("started_at"), data.get("finished_at"))
    if duration is not None:
        end_t = max(end_t, duration)

    probe_defs = _probe_definitions(experiment)
    hypothesis = str(_map(experiment.get("steady_state")).get("title") or "")
    series, source = _series(buckets, observations, probe_defs)
    if not series and not observations:
        notes.append("no load windows and no probe observations in the journal: nothing to chart")

    return RunReport(
        title=str(experiment.get("title") or data.get("run_id") or Path(path).stem or "experiment"),
        verdict=verdict,
        reasons=reasons,
        path=path,
        run_id=str(data.get("run_id") or ""),
        description=str(experiment.get("description") or "").strip(),
        tags=tuple(str(t) for t in _list(experiment.get("tags"))),
        chaoskit=str(data.get("chaoskit") or ""),
        started_at=str(data.get("started_at") or ""),
        finished_at=str(data.get("finished_at") or ""),
        duration_s=duration,
        environment=_environment(_map(data.get("environment"))),
        time_to_detect_s=_number(outcome.get("time_to_detect_s")),
        time_to_recover_s=_number(outcome.get("time_to_recover_s")),
        fault_applied_at=_number(facts.get("fault_applied_at")),
        reverted_at=_number(facts.get("reverted_at")),
        stopped_by=(str(outcome.get("stopped_by") or facts.get("stopped_by") or "") or None),
        stop_events=tuple((float(e["t"]), str(e.get("reason") or "")) for e in events if e.get("event") == "run.stopped"),
        violations=tuple(v for v in _list(outcome.get("violations")) if isinstance(v, Mapping)),
        method=tuple(_describe_step(s) for s in _list(experiment.get("method")) if isinstance(s, Mapping)),
        phases_planned={k: float(v) for k, v in _map(experiment.get("phases")).items() if is_number(v)},
        phases=_phase_spans(events, end_t),
        faults=_fault_spans(events),
        series=series,
        series_source=source,
        marks=tuple(Mark(str(o.get("probe") or "?"), float(o["t"]), _state(o)) for o in observations),
        probes=_probe_rows(observations, probe_defs, hypothesis, outcome, load),
        load={k: v for k, v in load.items() if k not in ("buckets", "comparisons")},
        measurement_problems=tuple(str(p) for p in _list(facts.get("measurement_problems"))),
        notes=tuple(notes),
        end_t=end_t,
    )


def verdict_name(value: Any) -> str:
    """A verdict name chaoskit knows; anything else (missing, misspelt, from the future) is ERROR."""
    name = str(value or "").strip().upper()
    return name if name in Verdict.__members__ else Verdict.ERROR.name


# -- pieces --------------------------------------------------------------------------


def _combined(verdicts: Iterable[str]) -> str:
    return combine(Verdict[verdict_name(v)] for v in verdicts).name


def _exit_code(verdict: str) -> int:
    return Verdict[verdict_name(verdict)].exit_code


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _seconds_between(start: Any, end: Any) -> float | None:
    a, b = _parse_time(start), _parse_time(end)
    if a is None or b is None or (a.tzinfo is None) != (b.tzinfo is None):
        return None
    return max(0.0, (b - a).total_seconds())


def _run_epoch(events: Sequence[Mapping[str, Any]], started_at: Any) -> float | None:
    """Wall-clock epoch of the run's t=0: the median of (event ``at`` - event ``t``), else ``started_at``."""
    offsets = []
    for event in events:
        at = _parse_time(event.get("at"))
        if at is not None and at.tzinfo is not None:
            offsets.append(at.timestamp() - float(event["t"]))
    if offsets:
        return statistics.median(offsets)
    start = _parse_time(started_at)
    return start.timestamp() if start is not None and start.tzinfo is not None else None


def _bucket_points(raw: Sequence[Any], epoch: float | None, notes: list[str]) -> list[tuple[float, float, dict[str, float | None]]]:
    """(t, duration, {metric: value}) per load bucket; histograms are decoded with the measure module's Bucket."""
    if not raw:
        return []
    from chaoskit.measure.buckets import Bucket  # numpy and hdrh: only when there is load to read

    points = []
    unreadable = 0
    for item in raw:
        if not isinstance(item, Mapping):
            unreadable += 1
            continue
        try:
            bucket = Bucket.from_dict(item)
            values = {m: bucket.metric(m) for m in LOAD_METRICS}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # noqa: PERF203 - per bucket, on purpose
            unreadable += 1
            if unreadable <= 3:
                notes.append(f"load bucket {item.get('index', '?')} unreadable: {exc!r}")
            continue
        if is_number(item.get("t")):
            t = float(item["t"])
        elif epoch is not None:
            t = bucket.start - epoch
        else:
            t = float(bucket.index)
        points.append((t, bucket.duration_s, values))
    if unreadable > 3:
        notes.append(f"{unreadable} load buckets in all could not be read")
    return sorted(points, key=lambda p: p[0])


def _series(buckets: Sequence[tuple[float, float, dict[str, float | None]]], observations: Sequence[Mapping[str, Any]],
            probe_defs: Mapping[str, Mapping[str, Any]]) -> tuple[tuple[Series, ...], str]:
    """Chart lines: p50/p99/error rate from the load when there is some, else the probes' numeric values."""
    if buckets:
        series = tuple(
            Series(metric, unit_of(metric), tuple((t + d / 2, values.get(metric)) for t, d, values in buckets),
                   limit=_limit(probe_defs.values(), metric, load=True))
            for metric in LOAD_METRICS
        )
        if any(s.has_data for s in series):
            return series, "load"
    lines: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    for obs in sorted(observations, key=lambda o: float(o["t"])):
        probe = str(obs.get("probe") or "?")
        for subject, value in _numeric_subjects(obs.get("value"), probe_defs.get(probe, {})).items():
            lines.setdefault((probe, subject), []).append((float(obs["t"]), value))
    everything = []
    for (probe, subject), points in lines.items():
        definition = probe_defs.get(probe, {})
        # A load probe (or one whose only subject is its name) is named by the probe alone: "p99", not "p99: p99".
        single = subject == probe or subject == definition.get("metric")
        everything.append(Series(probe if single else f"{probe}: {subject}", unit_of(subject), tuple(points),
                                 limit=_limit([definition], subject)))
    # Timings and rates say how the system behaved; status codes and counts are in the status strip.
    telling = [s for s in everything if s.unit != UNIT_PLAIN]
    chosen = telling or everything
    return tuple(chosen), ("probes" if chosen else "")


def _limit(definitions: Iterable[Mapping[str, Any]], subject: str, load: bool = False) -> float | None:
    """The lowest absolute ``max`` a probe's checks put on ``subject`` (drawn on the chart as the tolerance line)."""
    limits = []
    for definition in definitions:
        if load and definition.get("metric") != subject:
            continue
        for check in _list(definition.get("checks")):
            if not isinstance(check, Mapping) or str(check.get("subject") or definition.get("metric")) != subject:
                continue
            tolerance = _map(check.get("tolerance"))
            for part in [tolerance, *(_map(p) for p in _list(tolerance.get("parts")))]:
                if is_number(part.get("max")):
                    limits.append(float(part["max"]))
    return min(limits) if limits else None


def _numeric_subjects(value: Any, definition: Mapping[str, Any]) -> dict[str, float]:
    if is_number(value):
        return {_scalar_subject(definition): float(value)}
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items() if is_number(v)}
    return {}


def _scalar_subject(definition: Mapping[str, Any]) -> str:
    """What a probe's single number is: its load metric, else the one subject its checks name."""
    if definition.get("metric"):
        return str(definition["metric"])
    subjects = {str(c.get("subject")) for c in _list(definition.get("checks")) if isinstance(c, Mapping) and c.get("subject")}
    if len(subjects) == 1:
        return subjects.pop()
    return {"command": "exit_code", "toxiproxy": "toxics"}.get(str(definition.get("type") or ""), "value")


def _probe_definitions(experiment: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    probes = _list(_map(experiment.get("steady_state")).get("probes"))
    return {str(p.get("name")): p for p in probes if isinstance(p, Mapping) and p.get("name")}


def _state(observation: Mapping[str, Any]) -> str:
    if observation.get("inconclusive"):
        return "inconclusive"
    return "held" if observation.get("ok") else "violated"


def _phase_of(observation: Mapping[str, Any]) -> str:
    return str(observation.get("phase") or "").upper()


def _phase_spans(events: Sequence[Mapping[str, Any]], end_t: float) -> tuple[Span, ...]:
    starts = [(float(e["t"]), str(e.get("phase") or "?")) for e in events if e.get("event") == "phase.started"]
    starts.sort()
    return tuple(Span(name, t, starts[i + 1][0] if i + 1 < len(starts) else end_t) for i, (t, name) in enumerate(starts))


def _fault_spans(events: Sequence[Mapping[str, Any]]) -> tuple[Span, ...]:
    """Each fault from ``fault.applied`` to its ``fault.reverted`` (matched by token, else by description)."""
    open_faults: list[tuple[Any, str, float]] = []
    spans: list[Span] = []
    for event in sorted(events, key=lambda e: float(e["t"])):
        name = event.get("event")
        label = str(event.get("fault") or event.get("kind") or "fault")
        key = event.get("token") or label
        if name == "fault.applied":
            open_faults.append((key, label, float(event["t"])))
        elif name == "fault.reverted":
            match = next((i for i, (k, _, _) in enumerate(open_faults) if k == key), None)
            if match is None:
                match = next((i for i, (_, lbl, _) in enumerate(open_faults) if lbl == label), None)
            if match is not None:
                _, applied_label, start = open_faults.pop(match)
                spans.append(Span(applied_label, start, float(event["t"])))
    spans.extend(Span(label, start, None) for _, label, start in open_faults)
    return tuple(sorted(spans, key=lambda s: s.start))


def _probe_rows(observations: Sequence[Mapping[str, Any]], probe_defs: Mapping[str, Mapping[str, Any]],
                hypothesis: str, outcome: Mapping[str, Any], load: Mapping[str, Any]) -> tuple[ProbeRow, ...]:
    """A row per probe (defined ones first, in the experiment's order; then any only the observations name)."""
    names = list(probe_defs) + sorted({str(o.get("probe")) for o in observations if o.get("probe")} - set(probe_defs))
    comparisons = _comparisons(load, outcome)
    rows = []
    for name in names:
        definition = probe_defs.get(name, {})
        mine = [o for o in observations if str(o.get("probe")) == name]
        phases = {phase: _phase_stats([o for o in mine if _phase_of(o) == phase], definition) for phase in PHASES}
        subjects = set().union(*(set(p.median) | set(p.text) for p in phases.values()))
        units = {s: unit_of(s) for s in subjects}
        if definition.get("metric"):
            units.setdefault(str(definition["metric"]), unit_of(str(definition["metric"])))
        broken = [o for o in mine if _state(o) == "violated" and _phase_of(o) in PHASES]
        first = min(broken, key=lambda o: float(o["t"]), default=None)
        rows.append(ProbeRow(
            probe=name,
            hypothesis=str(next((o.get("hypothesis") for o in mine if o.get("hypothesis")), hypothesis) or ""),
            type=str(definition.get("type") or ("load" if definition.get("metric") else "")),
            tolerance=_tolerance_text(definition),
            units=units,
            phases=phases,
            comparisons=tuple(c for c in comparisons if c.probe == name),
            # A per-second detection alone is no violation: the window judgement decides (chaoskit.run.judging).
            violated=any(_state(o) == "violated" and _phase_of(o) in ("FAULT", "AUDIT") and not o.get("detection")
                         for o in mine)
            or any(str(v.get("probe")) == name for v in _list(outcome.get("violations")) if isinstance(v, Mapping)),
            first_detail=str(first.get("detail") or "") if first is not None else "",
        ))
    return tuple(rows)


def _phase_stats(observations: Sequence[Mapping[str, Any]], definition: Mapping[str, Any]) -> PhaseStats:
    numbers: dict[str, list[float]] = {}
    text: dict[str, str] = {}
    for obs in sorted(observations, key=lambda o: float(o["t"])):
        value = obs.get("value")
        for subject, number in _numeric_subjects(value, definition).items():
            numbers.setdefault(subject, []).append(number)
        if isinstance(value, Mapping):
            text.update({str(k): str(v) for k, v in value.items() if not is_number(v) and v is not None})
        elif value is not None and not is_number(value):
            text[_scalar_subject(definition)] = str(value)
    return PhaseStats(
        count=len(observations),
        violated=sum(1 for o in observations if _state(o) == "violated"),
        inconclusive=sum(1 for o in observations if _state(o) == "inconclusive"),
        median={s: statistics.median(v) for s, v in numbers.items()},
        low={s: min(v) for s, v in numbers.items()},
        high={s: max(v) for s, v in numbers.items()},
        text={s: v for s, v in text.items() if s not in numbers},
    )


def _tolerance_text(definition: Mapping[str, Any]) -> str:
    parts = []
    for check in _list(definition.get("checks")):
        if not isinstance(check, Mapping):
            continue
        subject = str(check.get("subject") or definition.get("metric") or "value")
        parts.append(f"{subject} {describe_tolerance(check.get('tolerance'), unit_of(subject))}".strip())
    return "; ".join(parts)


def _comparisons(load: Mapping[str, Any], outcome: Mapping[str, Any]) -> list[Comparison]:
    """Confidence intervals: the load's statistical comparisons, else the intervals the violations carry."""
    found: list[Comparison] = []
    for item in _list(load.get("comparisons")):
        if not isinstance(item, Mapping) or not item.get("probe"):
            continue
        found.append(Comparison(
            probe=str(item["probe"]), low=_number(item.get("ci_low")), high=_number(item.get("ci_high")),
            confidence=_number(item.get("confidence")), shift=_number(item.get("shift")),
            baseline=_number(item.get("baseline_median")),
            during=_number(item.get("fault_median", item.get("median"))), p_value=_number(item.get("p_value")),
            decision=str(item.get("decision") or ""), phase=str(item.get("phase") or "FAULT").upper(),
            metric=str(item.get("metric") or ""),
        ))
    compared = {c.probe for c in found}
    for violation in _list(outcome.get("violations")):
        if not isinstance(violation, Mapping):
            continue
        interval = violation.get("interval")
        probe = str(violation.get("probe") or "")
        if probe in compared or not isinstance(interval, (list, tuple)) or len(interval) != 2:
            continue
        found.append(Comparison(probe=probe, low=_number(interval[0]), high=_number(interval[1]),
                                baseline=_number(violation.get("baseline")), during=_number(violation.get("value")),
                                phase=str(violation.get("phase") or "FAULT").upper(), decision="violated"))
    return found


def _environment(env: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, info in env.items():
        if isinstance(info, Mapping):
            if info.get("unavailable"):
                out[name] = f"unavailable ({info['unavailable']})"
            else:
                text = str(info.get("version") or "?")
                if info.get("api"):
                    text += f" (API {info['api']})"
                out[name] = text
        elif info is not None:
            out[name] = str(info)
    return out


def _describe_step(step: Mapping[str, Any]) -> str:
    fault = str(step.get("fault") or "?")
    text = f"{step['name']} ({fault})" if step.get("name") else fault
    params = _map(step.get("params"))
    if params:
        text += " " + ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)
    target = describe_selector(step.get("target"))
    if target:
        text += f" on {target}"
    start = _number(step.get("start")) or 0.0
    duration = _number(step.get("duration"))
    text += f", at +{start:g} s" + (f" for {duration:g} s" if duration is not None else " until the fault phase ends")
    return text


def _experiment_file(data: Mapping[str, Any]) -> str:
    return str(_map(data.get("experiment")).get("source") or "")
