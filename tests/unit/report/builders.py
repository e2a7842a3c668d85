"""Journals for report tests, built from small dicts in the journal's format (chaoskit.journal), and Page, a rendered report parsed.

Load buckets are real :class:`chaoskit.measure.buckets.Bucket` s serialised
with ``to_dict``, so the reports decode the same HDR histograms a run writes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from chaoskit.measure.buckets import Bucket, new_histogram, record_many

EPOCH = datetime(2026, 3, 3, 10, 0, 0, tzinfo=timezone.utc)
# Phases of the built run (seconds since start): warm-up 0-2, baseline 2-12, fault 12-27, recovery 27-37.
WARMUP, BASELINE, FAULT, RECOVERY, END = 0.0, 2.0, 12.0, 27.0, 37.0


def at(t: float) -> str:
    return (EPOCH + timedelta(seconds=t)).isoformat(timespec="milliseconds")


def bucket(index: int, t0: float, p50_s: float, p99_s: float, requests: int = 100, failed: int = 0,
           with_t: bool = False) -> dict[str, Any]:
    """One second of load whose latencies put p50 and p99 where asked; ``t0`` is the load's start on the run clock."""
    latency = new_histogram(60_000_000)
    slow = max(2, requests // 50)
    record_many(latency, [p50_s] * (requests - slow) + [p99_s] * slow)
    lag = new_histogram(60_000_000)
    record_many(lag, [0.0001] * requests)
    start = EPOCH.timestamp() + t0 + index
    b = Bucket(index=index, start=start, start_mono=1000.0 + index, duration_s=1.0, target=requests, sent=requests,
               succeeded=requests - failed, failed=failed, timed_out=0, latency=latency, lag=lag)
    data = b.to_dict()
    if with_t:
        data["t"] = t0 + index
    return data


def load_block(fault_p99_s: float = 0.8, fault_errors: int = 0, with_t: bool = False,
               comparisons: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    buckets = []
    for i in range(int(END)):
        t = float(i)
        in_fault = FAULT <= t < RECOVERY
        buckets.append(bucket(i, 0.0, 0.004 if not in_fault else 0.02, fault_p99_s if in_fault else 0.012,
                              failed=fault_errors if in_fault else 0, with_t=with_t))
    block: dict[str, Any] = {
        "spec": {"rate": 100, "ramp_s": 0, "timeout_s": 2.0, "connections": 8, "max_connections": 64, "seed": 0,
                 "requests": ["page"]},
        "summary": {"sent": 100 * int(END), "succeeded": 100 * int(END) - fault_errors * 15, "failed": fault_errors * 15,
                    "timed_out": 0, "p50": 0.004, "p99": fault_p99_s},
        "validity": {"valid": True, "reasons": []},
        "buckets": buckets,
    }
    if comparisons is not None:
        block["comparisons"] = list(comparisons)
    return block


def experiment(with_load: bool = True) -> dict[str, Any]:
    probes: list[dict[str, Any]] = [
        {"name": "page", "url": "http://127.0.0.1:8080/", "method": "GET", "timeout_s": 2.0, "type": "http",
         "checks": [{"subject": "status", "tolerance": {"value": 200}},
                    {"subject": "latency", "tolerance": {"min": None, "max": 0.15}}]},
    ]
    if with_load:
        probes = [
            {"name": "p99", "metric": "p99", "type": "load", "checks": [{"subject": "p99", "tolerance": {"min": None, "max": 0.5}}]},
            {"name": "error rate", "metric": "error_rate", "type": "load",
             "checks": [{"subject": "error_rate", "tolerance": {"min": None, "max": 0.01}}]},
            *probes,
        ]
    return {
        "title": "Database latency (300 ms on postgres)",
        "description": "A latency toxic on the postgres proxy.",
        "tags": ["database", "toxiproxy"],
        "steady_state": {"title": "Timelines stay fast", "probes": probes},
        "method": [{"fault": "network.latency", "params": {"proxy": "postgres", "latency_ms": 300}, "target": None,
                    "start": 0.0, "duration": None, "name": "slow postgres", "line": 40}],
        "phases": {"warmup": 2.0, "baseline": 10.0, "fault": 15.0, "recovery": 10.0},
        "source": "experiments/database-latency.yaml",
    }


def events(reverted: bool = True) -> list[dict[str, Any]]:
    out = [
        {"t": 0.0, "event": "run.planned", "seed": 1, "faults": ["latency toxic on proxy postgres"]},
        {"t": WARMUP, "event": "phase.started", "phase": "warmup"},
        {"t": BASELINE, "event": "phase.started", "phase": "baseline"},
        {"t": FAULT, "event": "phase.started", "phase": "fault"},
        {"t": FAULT + 0.05, "event": "fault.applied", "fault": "latency toxic on proxy postgres",
         "kind": "network.latency", "token": "tok1"},
    ]
    if reverted:
        out += [
            {"t": RECOVERY, "event": "fault.reverted", "fault": "latency toxic on proxy postgres",
             "kind": "network.latency", "token": "tok1"},
            {"t": RECOVERY + 0.01, "event": "phase.started", "phase": "recovery"},
        ]
    for e in out:
        e["at"] = at(e["t"])
    return out


def observations(with_load: bool = True, violate_from: float | None = 15.0) -> list[dict[str, Any]]:
    out = []
    for i in range(int(BASELINE), int(END)):
        t = float(i)
        phase = "BASELINE" if t < FAULT else "FAULT" if t < RECOVERY else "RECOVERY"
        broken = violate_from is not None and phase == "FAULT" and t >= violate_from
        latency = 0.31 if phase == "FAULT" else 0.003
        out.append({"probe": "page", "phase": phase, "t": t + 0.1, "ok": not (broken and not with_load),
                    "value": {"status": 200, "latency": latency}, "baseline": {"status": 200, "latency": 0.003},
                    "detail": "latency 0.31 > 0.15" if broken else "", "hypothesis": "Timelines stay fast",
                    "interval": None, "inconclusive": False})
        if with_load:
            p99 = 0.8 if phase == "FAULT" else 0.012
            out.append({"probe": "p99", "phase": phase, "t": t + 0.1, "ok": not broken, "value": p99,
                        "baseline": 0.012 if phase != "BASELINE" else None,
                        "detail": "p99 0.8 > 0.5" if broken else "", "hypothesis": "Timelines stay fast",
                        "interval": None, "inconclusive": False})
            out.append({"probe": "error rate", "phase": phase, "t": t + 0.1, "ok": True, "value": 0.0,
                        "baseline": 0.0, "detail": "", "hypothesis": "Timelines stay fast", "interval": None,
                        "inconclusive": False})
    return out


FAILURE_VERDICT = {
    "verdict": "FAILURE",
    "reasons": ["hypothesis 'Timelines stay fast', probe 'p99' violated 3.0s after the fault was applied: "
                "0.8 vs baseline 0.012 (x66.67, +0.788) (p99 0.8 > 0.5); shift vs baseline CI [0.7, 0.85]"],
    "violations": [{"probe": "p99", "hypothesis": "Timelines stay fast", "phase": "FAULT", "after_fault_s": 2.95,
                    "value": 0.8, "baseline": 0.012, "detail": "p99 0.8 > 0.5", "interval": [0.7, 0.85]}],
    "time_to_detect_s": 2.95, "time_to_recover_s": None, "stopped_by": None,
}

TOLERATED_VERDICT = {
    "verdict": "TOLERATED", "reasons": ["the steady state held during the fault and was back 0.1 s after the revert"],
    "violations": [], "time_to_detect_s": None, "time_to_recover_s": 0.1, "stopped_by": None,
}


def run_journal(verdict: dict[str, Any] | None = None, with_load: bool = True, **load_kw: Any) -> dict[str, Any]:
    """A complete run journal; FAILURE of the p99 probe by default."""
    verdict = copy.deepcopy(verdict if verdict is not None else FAILURE_VERDICT)
    violate = 15.0 if verdict["verdict"] == "FAILURE" else None
    journal: dict[str, Any] = {
        "chaoskit": "0.1.0",
        "run_id": "abc123def456",
        "experiment": experiment(with_load),
        "environment": {"docker": {"version": "20.10.24", "api": "1.41"},
                        "toxiproxy": {"version": "2.12.0", "url": "http://127.0.0.1:8474"}},
        "started_at": at(0.0),
        "events": events(),
        "observations": observations(with_load, violate),
        "finished_at": at(END),
        "verdict": verdict,
        "facts": {"fault_applied_at": FAULT + 0.05, "reverted_at": RECOVERY, "recovery_budget_s": 10.0,
                  "error": None, "interrupted": None, "stopped_by": None, "measurement_problems": [],
                  "time_to_detect_s": None, "time_to_recover_s": None},
    }
    if with_load:
        journal["load"] = load_block(**load_kw)
    return journal


def crashed_journal() -> dict[str, Any]:
    """What a killed run leaves: events up to the fault, a few observations, no verdict, no facts."""
    journal = run_journal()
    journal["events"] = events(reverted=False)
    journal["observations"] = [o for o in journal["observations"] if o["t"] < 14]
    for key in ("verdict", "facts", "finished_at", "load"):
        journal.pop(key)
    return journal


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))
    return path


def gameday(folder: Path, runs: Sequence[tuple[str, dict[str, Any] | None]], title: str = "Tuesday game day",
            planned: int | None = None, expect: dict[str, str] | None = None) -> Path:
    """A game-day journal in ``folder`` listing ``(file stem, run journal or None)``; None: no journal written.

    ``expect`` maps a stem to the verdict its entry expected (the others expect TOLERATED).
    """
    from chaoskit.verdict import Verdict, combine

    experiments = []
    for index, (stem, journal) in enumerate(runs):
        name = f"{index:02d}-{stem}.json"
        entry: dict[str, Any] = {"file": f"/repo/experiments/{stem}.yaml", "title": stem.replace("-", " "),
                                 "journal": name, "expected": (expect or {}).get(stem, "TOLERATED")}
        if journal is not None:
            write(folder / name, journal)
            verdict = journal.get("verdict", {}).get("verdict", "ERROR")
            entry.update(verdict=verdict, exit_code=Verdict[verdict].exit_code,
                         reasons=list(journal.get("verdict", {}).get("reasons", [])))
        else:
            entry.update(verdict="ERROR", exit_code=6, reasons=["experiment file invalid: no such key"], journal=None)
        experiments.append(entry)
    verdict = combine(Verdict[e["verdict"]] for e in experiments)
    return write(folder / "gameday.json", {
        "gameday": title, "source": "/repo/experiments/gameday.yaml", "started_at": at(0.0), "finished_at": at(120.0),
        "verdict": verdict.name, "exit_code": verdict.exit_code, "planned": planned if planned is not None else len(runs),
        "experiments": experiments,
    })


class Page(HTMLParser):
    """Tags with their attributes, the visible text (not scripts or styles), and the scripts."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str], str]] = []  # (attributes, content)
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open == "script":
            attrs, content = self.scripts[-1]
            self.scripts[-1] = (attrs, content + data)
        elif self._open is None:
            self.text.append(data)

    def charts(self) -> list[dict]:
        """The chart data of every chart on the page."""
        return [json.loads(content) for attrs, content in self.scripts if attrs.get("class") == "chaoskit-chart"]

    def all(self, tag):
        return [a for t, a in self.tags if t == tag]

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def record(journal: dict[str, Any], path: str = "j.json"):
    """A journal dict as the typed record the reports read."""
    from chaoskit.journal import parse_journal

    return parse_journal(copy.deepcopy(journal), path)
