"""The monkey's journal: one JSON file per monkey run, rewritten (atomically) after every judged kill.

A monkey runs for hours; rewriting the file as kills are judged means a
crash or ``kill -9`` still leaves a readable journal of everything judged so
far (the ledger, not the journal, is what reverts what was in flight).

Shape (``"kind": "monkey"`` tells it from an experiment's journal)::

    {"kind": "monkey", "run_id": ..., "title": ..., "seed": 7, "leashed": false, "time_scale": 60,
     "config": {...}, "started_at": ..., "finished_at": ..., "stopped_by": "duration",
     "events": [{"t": 3.0, "at": ..., "event": "monkey.kill", ...}, ...],
     "kills": [{"number": 1, "group": "chaoskit/api", "container": "chaoskit-api-1", "verdict": "TOLERATED",
                "reasons": [...], "time_to_detect_s": null, "time_to_recover_s": 2.1, ...}],
     "summary": {"kills": 3, "would_kills": 0, "skipped": {"min_interval": 2}, "verdicts": {"TOLERATED": 3}},
     "verdict": "TOLERATED", "reasons": [...]}

Times ``t`` are seconds since the monkey started (real time); ``virtual_at`` is
the monkey's schedule clock (compressed by ``--time-scale``).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chaoskit import __version__

__all__ = ["MonkeyJournal", "plain"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def plain(value: Any) -> Any:
    """JSON-ready copy of dataclasses, enums, datetimes, mappings and sequences."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value, str) else value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return value


class MonkeyJournal:
    def __init__(self, path: str | Path | None, header: Mapping[str, Any], elapsed: Callable[[], float] = lambda: 0.0):
        """``path`` None keeps the journal in memory only (tests, benches)."""
        self.run_id = f"monkey-{uuid.uuid4().hex[:8]}"
        self.path = Path(path) if path is not None else None
        self._elapsed = elapsed
        self.data: dict[str, Any] = {
            "kind": "monkey", "chaoskit": __version__, "run_id": self.run_id, **plain(dict(header)),
            "started_at": _now(), "events": [], "kills": [],
        }

    def bind_clock(self, elapsed: Callable[[], float]) -> None:
        self._elapsed = elapsed

    def event(self, name: str, **fields: Any) -> None:
        self.data["events"].append({"t": round(self._elapsed(), 3), "at": _now(), "event": name, **plain(fields)})

    def kill(self, record: Mapping[str, Any]) -> None:
        """A judged kill; the file is rewritten so it survives a crash of the monkey."""
        self.data["kills"].append(plain(dict(record)))
        self.write()

    def finish(self, **fields: Any) -> Path | None:
        self.data["finished_at"] = _now()
        self.data.update(plain(fields))
        return self.write()

    def write(self) -> Path | None:
        """Write atomically: a reader never sees half a journal."""
        if self.path is None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)
        return self.path
