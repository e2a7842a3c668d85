"""How long reports of a big journal take: a 20,000-event run journal rendered to each format.

The journal is what a long, busy run leaves: EVENTS timeline events (faults
applied and reverted in turn, phases, stop checks), as many probe
observations over three probes, and one load bucket (two HDR histograms) per
second of the run. It is written once, then ``chaoskit report``'s own path
(read, build, render, write) is timed per format: wall time, this process's
CPU time, and what the machine did meanwhile (from /proc/stat: the share the
hypervisor took, steal, and the share left idle; on a shared machine with
no idle CPU the wall time is mostly waiting, the CPU time is the cost). The
first row is importing the modules a cold ``chaoskit report`` imports.

    .venv/bin/python -m bench.report_bench [--events 20000] [--seconds 3600]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
# What a cold `chaoskit report --format html` imports (the load's buckets, the chart).
MODULES = ("chaoskit.cli", "chaoskit.measure.buckets", "chaoskit.report.build", "chaoskit.report.html_report")


def machine() -> list[int]:
    """Jiffies of every CPU from /proc/stat's first line (user nice system idle iowait irq softirq steal ...)."""
    return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, act: Callable[[], object]) -> object:
    """Run ``act`` and print its table row."""
    before, cpu, start = machine(), cpu_s(), time.perf_counter()
    result = act()
    wall, used = time.perf_counter() - start, cpu_s() - cpu
    delta = [b - a for a, b in zip(before, machine())]
    total = max(1, sum(delta))
    print(f"| {label} | {wall:.2f} | {used:.2f} | {100 * delta[7] / total:.1f} | {100 * delta[3] / total:.0f} |")
    return result


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
    from chaoskit.measure.buckets import Bucket, new_histogram, record_many

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
    print("| step | wall s | CPU s | steal % | machine idle % |")
    print("|---|---|---|---|---|")
    timed("imports", lambda: [importlib.import_module(m) for m in MODULES])
    from chaoskit.cli.report import EXTENSIONS, write_report

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(journal(args.events, args.seconds)))
        for fmt in EXTENSIONS:
            timed(fmt, functools.partial(write_report, [path], fmt, Path(tmp) / f"out{EXTENSIONS[fmt]}"))
        print(f"journal: {args.events} events, {args.events} observations, {args.seconds} load buckets, "
              f"{path.stat().st_size / 1e6:.1f} MB; {os.cpu_count()} CPUs; "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
