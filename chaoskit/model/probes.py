"""Probes: how the steady state is observed. Each produces named *subjects* its checks judge.

===================  ==========================================  =========================
type                 subjects observed                           default checks
===================  ==========================================  =========================
``http``             status (int), latency (s), body (text)      status in [200, 299]
``command``          exit_code (int), output (stdout+stderr)     exit_code == 0
``container``        state, health (of every matched container)  state == running
``toxiproxy``        enabled (bool), toxics (count)              enabled == true
``load``             the metric's name, e.g. ``p99`` (s)         (a tolerance is required)
``writes.visible``   value (s from a write's ack to visibility)  (a tolerance is required)
``writes.readable``  value (acknowledged writes lost)            (a tolerance is required)
``writes.pending``   value (acknowledged writes still pending)   (a tolerance is required)
``prometheus``       value (each series of a PromQL query)       (a tolerance is required)
a plugin's type      value (a number, or pass/fail)              (numbers: a tolerance is required)
===================  ==========================================  =========================

Units: latencies in seconds, error rates as fractions (0.01 = 1 %), throughput in req/s.
The ``writes.*`` probes are the write audits: ``writes.visible`` makes its own
writes through the run and times each until it shows where it should;
``writes.readable`` and ``writes.pending`` are checked once, after recovery,
on the ids the load captured from its acknowledged writes (``capture:``).
A ``prometheus`` probe (:mod:`chaoskit.model.prometheus_probe`) is polled
into readings that are judged per window, like the load's metrics; so is a
plugin's probe whose reading is a number
(:mod:`chaoskit.model.plugin_probe`).
Every value here is typed and checked when the file is loaded; the run takes
them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.model.load import TlsSpec
from chaoskit.model.plugin_probe import PluginProbeSpec
from chaoskit.model.prometheus_probe import PrometheusProbe
from chaoskit.model.tolerance import Check
from chaoskit.targets.selector import Selector

__all__ = [
    "ID_FIELD",
    "IDS_FIELD",
    "LOAD_METRICS",
    "PROBE_TYPES",
    "WRITE_PROBE_TYPES",
    "AuditProbe",
    "CommandProbe",
    "ContainerProbe",
    "HttpProbe",
    "Hypothesis",
    "LoadProbe",
    "PendingProbe",
    "PluginProbeSpec",
    "Probe",
    "PrometheusProbe",
    "ReadableProbe",
    "StoreCommand",
    "ToxiproxyProbe",
    "VisibleProbe",
    "WriteProbe",
    "WriteRequest",
]

LOAD_METRICS = ("p50", "p90", "p99", "p999", "error_rate", "throughput")
LATENCY_METRICS = ("p50", "p90", "p99", "p999")
WRITE_PROBE_TYPES = ("writes.visible", "writes.readable", "writes.pending")
PROBE_TYPES = ("http", "command", "container", "toxiproxy", "load", *WRITE_PROBE_TYPES, "prometheus")
# Where a write's id goes in the URL templates and commands of the write probes.
ID_FIELD = "{id}"
IDS_FIELD = "{ids}"


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
    tls: TlsSpec | None = None
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
class StoreCommand:
    """A command run in the first container the selector matches, asked about a batch of write ids: ``{ids}`` in
    ``cmd`` becomes them, comma-separated; its output lists (one per line or word) those it found."""

    target: Selector
    cmd: tuple[str, ...] | str
    batch: int = 5000


@dataclass(frozen=True)
class WriteRequest:
    """The write a ``writes.visible`` probe makes; ``{seq}`` in ``url`` or ``json`` strings numbers the writes,
    and ``capture`` is the key of the acknowledged write's id in the answer."""

    url: str
    method: str = "POST"
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    capture: str = "id"


@dataclass(frozen=True)
class VisibleProbe:
    """Every ``every``, one write; then ``read`` (``{id}`` is the write's id) is polled until its answer holds
    the id. ``value`` is the seconds from the write's acknowledgement to visibility; not visible within
    ``within`` is a violation."""

    name: str
    write: WriteRequest
    read: str
    checks: tuple[Check, ...]
    within_s: float = 60.0
    poll_every_s: float = 0.05
    timeout_s: float = 2.0  # per request
    every_s: float | None = None
    tls: TlsSpec | None = None
    type: str = field(default="writes.visible", init=False)


@dataclass(frozen=True)
class ReadableProbe:
    """Once, after recovery: every id the load request ``request`` captured is read back at ``url`` (``{id}`` is
    the id). An answer in ``lost_status`` is a lost write; with ``stored``, readable ids the store does not list
    are lost too. ``value`` is the writes lost; what could not be told in ``budget`` leaves it inconclusive."""

    name: str
    request: str
    url: str
    checks: tuple[Check, ...]
    lost_status: tuple[int, ...] = (404,)
    stored: StoreCommand | None = None
    budget_s: float = 60.0
    workers: int = 8
    timeout_s: float = 2.0
    tls: TlsSpec | None = None
    type: str = field(default="writes.readable", init=False)


@dataclass(frozen=True)
class PendingProbe:
    """Once, after recovery: ``pending`` lists which of the ids the load request ``request`` captured the store
    still holds as not done (an outbox not yet delivered, say); it is asked again every ``poll_every`` until none
    is left or ``within`` has passed. ``value`` is the writes still pending."""

    name: str
    request: str
    pending: StoreCommand
    checks: tuple[Check, ...]
    within_s: float = 30.0
    poll_every_s: float = 0.5
    type: str = field(default="writes.pending", init=False)


WriteProbe = VisibleProbe | ReadableProbe | PendingProbe
AuditProbe = ReadableProbe | PendingProbe
Probe = (HttpProbe | CommandProbe | ContainerProbe | ToxiproxyProbe | LoadProbe | WriteProbe | PrometheusProbe
         | PluginProbeSpec)


@dataclass(frozen=True)
class Hypothesis:
    """The steady state: every probe's checks must hold."""

    title: str
    probes: tuple[Probe, ...]

    def probe(self, name: str) -> Probe | None:
        return next((p for p in self.probes if p.name == name), None)
