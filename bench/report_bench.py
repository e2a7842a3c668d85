"""How long reports of a big journal take: a 20,000-event run journal rendered to each format.

The journal is what a long, busy run leaves: EVENTS timeline events (faults
applied and reverted in turn, phases, stop checks), as many probe
observations over three probes, and one load bucket (two HDR histograms) per
second of the run. It is written once, then ``chaoskit report``'s own path
(read, build, render, write) is timed per format, with the CPU time the
hypervisor took meanwhile (steal, from /proc/stat).

    PYTHONPATH=. .venv/bin/python bench/report_bench.py [--events 20000] [--seconds 3600]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chaoskit.measure.buckets import Bucket, new_histogram, record_many
from chaoskit.report.command import EXTENSIONS, write_report

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def cpu_steal() -> tuple[int, int]:
    """(all jiffies, steal jiffies) of every CPU, from /proc/stat's first line."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[7]


def at(t: float) -> str:
    return (EPOCH + timedelta(seconds=t)).isoformat(timespec="milliseconds")


def experiment() -> dict[str, Any]:
    http = {"name": "page", "type": "http", "checks": [{"subject": "status", "tolerance": {"value": 200}},
                                                       {"subject": "latency", "tolerance": {"max": 0.15}}]}
    load = [{"name": m, "type": "load", "metric": m, "checks": [{"subject": m, "tolerance": {"max": limit}}]}
            for m, limit in (("p99", 0.5), ("error_rate", 0.01))]
    return {"title": "report bench", "steady_state": {"title": "fast", "probes": [*load, http]},
            "method": [{"fault": "container.kill", "params": {}, "target": {"service": "api"}, "start": 0.0}],
            "phases": {"warmup": 0.0, "baseline": 60.0, "fault": 3480.0, "recovery": 60.0}}


def journal(events: int, seconds: int) -> dict[str, Any]:
    step = seconds / events
    timeline = []
    for i in range(events):
        t = round(i * step, 3)
        name = ("fault.applied", "fault.reverted")[i % 2] if i % 10 else "stop.checked"
        timeline.append({"t": t, "at": at(t), "event": name, "fault": f"kill api-{i // 2 % 3}", "token": f"k{i // 2}"})
    observations = []
    for i in range(events):
        t = round(i * step, 3)
        probe = ("p99", "error_rate", "page")[i % 3]
        value = {"status": 200, "latency": 0.01 + (i % 50) / 1000} if probe == "page" else (i % 7) / 100
        observations.append({"probe": probe, "t": t, "phase": "FAULT", "ok": i % 13 != 0, "value": value,
                             "inconclusive": False, "detail": ""})
    buckets = []
    for i in range(seconds):
        latency, lag = new_histogram(60_000_000), new_histogram(60_000_000)
        record_many(latency, [0.004] * 95 + [0.2 if i % 60 < 5 else 0.012] * 5)
        record_many(lag, [0.0001] * 100)
        buckets.append(Bucket(index=i, start=EPOCH.timestamp() + i, start_mono=float(i), duration_s=1.0, target=100,
                              sent=100, succeeded=100, failed=0, timed_out=0, latency=latency, lag=lag).to_dict())
    return {"chaoskit": "bench", "run_id": "bench", "experiment": experiment(), "started_at": at(0),
            "finished_at": at(seconds), "events": timeline, "observations": observations,
            "verdict": {"verdict": "TOLERATED", "reasons": ["held"]}, "facts": {"fault_applied_at": 0.0},
            "load": {"spec": {"rate": 100}, "summary": {"sent": 100 * seconds}, "buckets": buckets}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=3600, help="length of the run (one load bucket per second)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(journal(args.events, args.seconds)))
        size_mb = path.stat().st_size / 1e6
        print(f"journal: {args.events} events, {args.events} observations, {args.seconds} load buckets, "
              f"{size_mb:.1f} MB; {os.cpu_count()} CPUs")
        print("| format | seconds | steal % | output MB |")
        print("|---|---|---|---|")
        for fmt in EXTENSIONS:
            before, start = cpu_steal(), time.perf_counter()
            _, out = write_report([path], fmt, Path(tmp) / f"out{EXTENSIONS[fmt]}")
            took = time.perf_counter() - start
            after = cpu_steal()
            steal = 100 * (after[1] - before[1]) / max(1, after[0] - before[0])
            assert out is not None
            print(f"| {fmt} | {took:.2f} | {steal:.1f} | {out.stat().st_size / 1e6:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
