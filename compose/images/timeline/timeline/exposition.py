"""Counters in Prometheus's text exposition format (version 0.0.4), for a Prometheus that scrapes ``/metrics``.

Each api replica exposes its own counters (Prometheus tells replicas apart by
their ``instance`` label, and ``rate()`` copes with a restarted replica's reset)
and the worker's, which it reads from the snapshot directory shared by the
volume: the worker serves no HTTP. Every replica exposes the same worker
series, so a query over them takes ``max by (process)`` before summing.
Pure: snapshots in, text out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

__all__ = ["CONTENT_TYPE", "render", "wants_exposition"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Gauges kept in milliseconds by the processes, exposed in seconds as Prometheus's conventions want.
_MS_GAUGES = {"lag_p99_ms": "fanout_lag_p99_seconds", "lag_max_ms": "fanout_lag_max_seconds"}
_NAME = re.compile(r"[^a-zA-Z0-9_]")


def wants_exposition(accept: str) -> bool:
    """Whether an Accept header asks for the text format (Prometheus's scraper does; curl's ``*/*`` does not)."""
    return "text/plain" in accept or "application/openmetrics-text" in accept


def render(own: Mapping[str, object], workers: Iterable[Mapping[str, object]]) -> str:
    """The exposition of this replica's snapshot ``own`` and the workers' last snapshots."""
    families: dict[str, tuple[str, str, list[str]]] = {}
    _add_process(families, own, "api", labels="")
    for snap in workers:
        _add_process(families, snap, "worker", labels=f'{{process="{_escape(str(snap.get("process", "?")))}"}}')
    lines = []
    for name in sorted(families):
        kind, key, samples = families[name]
        whose = "this api replica" if name.startswith("timeline_api_") else "each worker process"
        lines += [f"# HELP {name} {key} of {whose}", f"# TYPE {name} {kind}", *samples]
    return "\n".join(lines) + "\n"


def _add_process(families: dict[str, tuple[str, str, list[str]]], snap: Mapping[str, object], role: str,
                 labels: str) -> None:
    counts = snap.get("counters")
    for key, value in (counts.items() if isinstance(counts, Mapping) else ()):
        name = f"timeline_{role}_{_NAME.sub('_', key)}_total"
        families.setdefault(name, ("counter", key, []))[2].append(f"{name}{labels} {int(value)}")
    gauges = snap.get("gauges")
    for key, value in (gauges.items() if isinstance(gauges, Mapping) else ()):
        number = float(value)
        if key in _MS_GAUGES:
            key, number = _MS_GAUGES[key], number / 1000
        if math.isfinite(number):
            name = f"timeline_{role}_{_NAME.sub('_', key)}"
            families.setdefault(name, ("gauge", key, []))[2].append(f"{name}{labels} {number!r}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
