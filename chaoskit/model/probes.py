"""Probes: how the steady state is observed. Each produces named *subjects* its checks judge.

============================  ==========================================  =========================
type                          subjects observed                           default checks
============================  ==========================================  =========================
``http``                      status (int), latency (s), body (text)      status in [200, 299]
``command``                   exit_code (int), output (stdout+stderr)     exit_code == 0
``container``                 state, health (of every matched container)  state == running
``toxiproxy``                 enabled (bool), toxics (count)              enabled == true
``load``                      the metric's name, e.g. ``p99`` (s)         (a tolerance is required)
``timeline.fanout_lag``       value (s from a post's 201 to a follower)   (a tolerance is required)
``timeline.durability``       value (acknowledged tweets lost)            (a tolerance is required)
``timeline.fanout_complete``  value (acknowledged tweets, fan-out lost)   (a tolerance is required)
============================  ==========================================  =========================

Units: latencies in seconds, error rates as fractions (0.01 = 1 %), throughput in req/s.
The sample stack's probes take ``params`` declared in :mod:`chaoskit.model.stack_probes`;
the durability and fan-out completeness probes are checked once, after the recovery phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.model.tolerance import Check
from chaoskit.targets.selector import Selector

__all__ = [
    "LOAD_METRICS",
    "PROBE_TYPES",
    "SAMPLE_PROBE_TYPES",
    "CommandProbe",
    "ContainerProbe",
    "HttpProbe",
    "Hypothesis",
    "LoadProbe",
    "Probe",
    "SampleProbe",
    "ToxiproxyProbe",
]

LOAD_METRICS = ("p50", "p90", "p99", "p999", "error_rate", "throughput")
LATENCY_METRICS = ("p50", "p90", "p99", "p999")
SAMPLE_PROBE_TYPES = ("timeline.fanout_lag", "timeline.durability", "timeline.fanout_complete")
PROBE_TYPES = ("http", "command", "container", "toxiproxy", "load", *SAMPLE_PROBE_TYPES)


@dataclass(frozen=True)
class HttpProbe:
    name: str
    url: str
    checks: tuple[Check, ...]
    method: str = "GET"
    timeout_s: float = 2.0
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    every_s: float | None = None  # None: the run loop's default interval
    type: str = field(default="http", init=False)


@dataclass(frozen=True)
class CommandProbe:
    """A command run inside each container the selector matches (an argv list, or a string for ``sh -c``)."""

    name: str
    target: Selector
    cmd: tuple[str, ...] | str
    checks: tuple[Check, ...]
    timeout_s: float = 5.0
    every_s: float | None = None
    type: str = field(default="command", init=False)


@dataclass(frozen=True)
class ContainerProbe:
    """Docker state and health of every container the selector matches (any state by default)."""

    name: str
    target: Selector
    checks: tuple[Check, ...]
    every_s: float | None = None
    type: str = field(default="container", init=False)


@dataclass(frozen=True)
class ToxiproxyProbe:
    name: str
    proxy: str
    checks: tuple[Check, ...]
    every_s: float | None = None
    type: str = field(default="toxiproxy", init=False)


@dataclass(frozen=True)
class LoadProbe:
    """A metric of the experiment's load, judged per measurement window (the subject is the metric)."""

    name: str
    metric: str
    checks: tuple[Check, ...]
    type: str = field(default="load", init=False)


@dataclass(frozen=True)
class SampleProbe:
    """A probe of the sample stack (``timeline.*``); its params pass through to its implementation."""

    name: str
    type: str
    params: Mapping[str, Any]
    checks: tuple[Check, ...]
    every_s: float | None = None


Probe = HttpProbe | CommandProbe | ContainerProbe | ToxiproxyProbe | LoadProbe | SampleProbe


@dataclass(frozen=True)
class Hypothesis:
    """The steady state: every probe's checks must hold."""

    title: str
    probes: tuple[Probe, ...]

    def probe(self, name: str) -> Probe | None:
        return next((p for p in self.probes if p.name == name), None)
