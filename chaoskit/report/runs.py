"""One run journal (typed, from :mod:`chaoskit.journal`) into the :class:`RunReport` every renderer reads.

A run that never finished (crashed, killed) has no verdict: it is reported
as crashed, with ERROR as its verdict for combining and exit codes, so a
report can never turn an unfinished run green. A verdict name chaoskit does
not know is ERROR too, said in the notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaoskit.journal import Event, RunRecord, Step
from chaoskit.report.formatting import describe_selector, is_number
from chaoskit.report.model import Mark, RunReport, Span
from chaoskit.report.probes import probe_rows
from chaoskit.report.series import bucket_points, chart_series, run_epoch
from chaoskit.report.timing import seconds_between
from chaoskit.verdict import Verdict

__all__ = ["CRASHED", "run_report"]

CRASHED = "crashed: the run did not finish (chaoskit was killed or crashed mid-run), so there is no verdict"


def run_report(record: RunRecord) -> RunReport:
    """What the reports show of one run."""
    notes: list[str] = []
    verdict, reasons = _verdict(record, notes)
    events, observations = record.events, record.observations
    load = record.load
    buckets = bucket_points(load.buckets if load else (), run_epoch(events, record.started_at), notes)
    end_t = max([0.0] + [e.t for e in events] + [o.t for o in observations] + [t + d for t, d, _ in buckets])
    duration = seconds_between(record.started_at, record.finished_at)
    if duration is not None:
        end_t = max(end_t, duration)
    experiment = record.experiment
    probes = {p.name: p for p in experiment.probes}
    series, source = chart_series(buckets, observations, probes)
    if not series and not observations:
        notes.append("no load windows and no probe observations in the journal: nothing to chart")
    outcome, facts = record.outcome, record.facts
    return RunReport(
        title=experiment.title or record.run_id or Path(record.path).stem or "experiment",
        verdict=verdict, reasons=reasons, path=record.path, run_id=record.run_id,
        description=experiment.description.strip(), tags=experiment.tags, chaoskit=record.chaoskit,
        started_at=record.started_at, finished_at=record.finished_at, duration_s=duration,
        environment=_environment(record.environment),
        time_to_detect_s=outcome.time_to_detect_s if outcome else None,
        time_to_recover_s=outcome.time_to_recover_s if outcome else None,
        fault_applied_at=facts.fault_applied_at, reverted_at=facts.reverted_at,
        stopped_by=(outcome.stopped_by if outcome else "") or facts.stopped_by or None,
        stop_events=tuple((e.t, e.text("reason")) for e in events if e.name == "run.stopped"),
        time_to_stop_s=next((float(e.fields["time_to_stop_s"]) for e in events if e.name == "run.harm_cut"
                             and is_number(e.fields.get("time_to_stop_s"))), None),
        violations=outcome.violations if outcome else (),
        method=tuple(_describe_step(s) for s in experiment.method),
        phases_planned=dict(experiment.phases),
        phases=_phase_spans(events, end_t), faults=_fault_spans(events),
        series=series, series_source=source,
        marks=tuple(Mark(o.probe or "?", o.t, o.state) for o in observations),
        probes=probe_rows(observations, probes, experiment.hypothesis, outcome, load, record.prometheus),
        load=dict(load.info) if load else {},
        measurement_problems=facts.measurement_problems,
        notes=tuple(notes), end_t=end_t, crashed=record.crashed,
    )


def _verdict(record: RunRecord, notes: list[str]) -> tuple[str, tuple[str, ...]]:
    outcome = record.outcome
    if outcome is None:
        last = f" at t={record.events[-1].t:g} s" if record.events else ""
        notes.append(f"crashed journal: it ends{last} without a verdict"
                     + (" (its last, half-written record was dropped)" if record.truncated else "")
                     + "; run `chaoskit rollback` if a fault may still be applied")
        return Verdict.ERROR.name, (CRASHED,)
    name = outcome.verdict.strip().upper()
    if name in Verdict.__members__:
        return name, outcome.reasons
    notes.append(f"unknown verdict {outcome.verdict!r} in the journal, reported as ERROR")
    return Verdict.ERROR.name, (f"the journal's verdict {outcome.verdict!r} is not one chaoskit knows",
                                *outcome.reasons)


def _phase_spans(events: Sequence[Event], end_t: float) -> tuple[Span, ...]:
    starts = sorted((e.t, e.text("phase") or "?") for e in events if e.name == "phase.started")
    return tuple(Span(name, t, starts[i + 1][0] if i + 1 < len(starts) else end_t) for i, (t, name) in enumerate(starts))


def _fault_spans(events: Sequence[Event]) -> tuple[Span, ...]:
    """Each fault from ``fault.applied`` to its ``fault.reverted`` (matched by token, else by description)."""
    open_by_key: dict[Any, list[tuple[str, float]]] = {}
    open_by_label: dict[str, list[Any]] = {}
    spans: list[Span] = []
    for event in sorted(events, key=lambda e: e.t):
        if event.name not in ("fault.applied", "fault.reverted"):
            continue
        label = event.text("fault") or event.text("kind") or "fault"
        key = event.fields.get("token") or label
        key = key if isinstance(key, (str, int, float)) else str(key)
        if event.name == "fault.applied":
            open_by_key.setdefault(key, []).append((label, event.t))
            open_by_label.setdefault(label, []).append(key)
            continue
        if not open_by_key.get(key):
            key = next((k for k in open_by_label.get(label, ()) if open_by_key.get(k)), None)
        if key is not None:
            applied_label, start = open_by_key[key].pop(0)
            open_by_label[applied_label].remove(key)
            spans.append(Span(applied_label, start, event.t))
    spans.extend(Span(label, start, None) for items in open_by_key.values() for label, start in items)
    return tuple(sorted(spans, key=lambda s: s.start))


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


def _describe_step(step: Step) -> str:
    fault = step.fault or "?"
    text = f"{step.name} ({fault})" if step.name else fault
    if step.params:
        text += " " + ", ".join(f"{k}={v}" for k, v in step.params.items() if v is not None)
    target = describe_selector(step.target)
    if target:
        text += f" on {target}"
    end = f" for {step.duration:g} s" if step.duration is not None else " until the fault phase ends"
    return f"{text}, at +{step.start:g} s{end}"


