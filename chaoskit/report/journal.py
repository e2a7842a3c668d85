"""The journal: one JSON file per run, the single source of truth that every report is rendered from.

It holds the experiment as it ran, the environment (engine and Toxiproxy
versions), the timeline of events (each fault applied and reverted, with
times), every probe observation, the load's per-second windows and the
verdict with its reasons. Times are seconds since the run started (``t``)
plus wall-clock ISO stamps on events.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import uuid
from datetime import datetime, timezone
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaoskit import __version__
from chaoskit.model.experiment import Experiment

__all__ = ["Journal", "load_journal"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Journal:
    def __init__(self, experiment: Experiment, path: Path, clock_elapsed: Any = None, environment: dict[str, Any] | None = None):
        self.run_id = uuid.uuid4().hex[:12]
        self.path = path
        self._elapsed = clock_elapsed or (lambda: 0.0)
        self.data: dict[str, Any] = {
            "chaoskit": __version__,
            "run_id": self.run_id,
            "experiment": _plain(experiment),
            "environment": environment or {},
            "started_at": _now(),
            "events": [],
            "observations": [],
        }

    def bind_clock(self, elapsed: Any) -> None:
        self._elapsed = elapsed

    def event(self, name: str, **fields: Any) -> None:
        self.data["events"].append({"t": round(self._elapsed(), 3), "at": _now(), "event": name, **_plain(fields)})

    def observation(self, observation: Any) -> None:
        self.data["observations"].append(_plain(observation))

    def finish(self, verdict: Any, facts: Any, load: dict[str, Any] | None = None) -> Path:
        self.data["finished_at"] = _now()
        self.data["verdict"] = _plain(verdict)
        self.data["facts"] = {k: v for k, v in _plain(facts).items() if k != "results"}
        if load is not None:
            self.data["load"] = load
        return self.write()

    def write(self) -> Path:
        """Write atomically: a reader never sees half a journal."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str))
        os.replace(tmp, self.path)
        return self.path


def load_journal(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
