"""Counters every process keeps, and their sum over all processes of the stack.

Each api replica and the worker write a snapshot of their counters into a
directory shared by a volume (one file per process), so any replica's
``/metrics`` can answer for the whole stack, even while Redis or Postgres is
down. A restarted process writes a new file (the name carries its start time),
so totals never go backwards when a replica is killed.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["Counters", "read_snapshots", "sum_snapshots"]


class Counters:
    """Monotonic integer counters of one process, plus a few gauges (latest values)."""

    def __init__(self, role: str, process: str, started: float, names: Iterable[str] = ()) -> None:
        self.role = role
        self.process = process
        self.started = started
        # Known names start at 0, so a probe reading a counter never finds it missing.
        self.counts: Counter[str] = Counter({name: 0 for name in names})
        self.gauges: dict[str, float] = {}

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def snapshot(self, now: float) -> dict[str, object]:
        return {
            "role": self.role,
            "process": self.process,
            "started": self.started,
            "updated": now,
            "counters": dict(self.counts),
            "gauges": dict(self.gauges),
        }

    def write(self, directory: str) -> None:
        """Atomically replace this process's file (readers never see half a file)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        name = f"{self.role}-{self.process}-{int(self.started * 1000)}.json"
        tmp = path / f".{name}.tmp"
        tmp.write_text(json.dumps(self.snapshot(time.time())))
        os.replace(tmp, path / name)


def read_snapshots(directory: str) -> list[dict[str, object]]:
    """Every process's last snapshot; unreadable files (a crash mid-write) are skipped."""
    snapshots = []
    for file in sorted(Path(directory).glob("*.json")):
        try:
            snapshots.append(json.loads(file.read_text()))
        except (OSError, ValueError):
            continue
    return snapshots


def sum_snapshots(snapshots: Iterable[Mapping[str, object]], now: float, fresh_s: float = 5.0) -> dict[str, object]:
    """Counters summed per role and overall; ``live`` lists processes updated in the last ``fresh_s``."""
    by_role: dict[str, Counter[str]] = {}
    total: Counter[str] = Counter()
    live: list[str] = []
    for snap in snapshots:
        role = str(snap.get("role", "?"))
        counts = snap.get("counters")
        if not isinstance(counts, Mapping):
            continue
        by_role.setdefault(role, Counter()).update({k: int(v) for k, v in counts.items()})
        total.update({k: int(v) for k, v in counts.items()})
        updated = snap.get("updated")
        if isinstance(updated, (int, float)) and now - updated <= fresh_s:
            live.append(f"{role}:{snap.get('process')}")
    return {"total": dict(total), "by_role": {r: dict(c) for r, c in by_role.items()}, "live": sorted(live)}
