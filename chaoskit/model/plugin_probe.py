"""A probe a plugin registers (entry point group ``chaoskit.probes``): its signature, and the probe as an experiment
file writes it.

    - name: db port answers fast
      type: example.tcp_connect
      params: {host: 127.0.0.1, port: 5432}
      every: 1s
      tolerance: {max: 50ms, max_ratio: 3}

A plugin declares a :class:`ProbeSignature`: its parameters (the same
:class:`~chaoskit.model.params.ParamSpec` s a fault declares, so they are
typed, defaulted and checked with file:line), what one reading is, and which
parameters hold secrets. The loader turns each such probe into a frozen
:class:`PluginProbeSpec`, parameters parsed once; the run builds the plugin's
probe from it (:mod:`chaoskit.measure.probe_plugins`).

What one reading is decides how the probe is judged:

* ``number`` or ``duration`` (seconds; its tolerance takes ``50ms``): read
  each ``every`` and judged per window, with the statistics of a Prometheus
  probe's readings (:mod:`chaoskit.measure.readings`). Its tolerance, which
  is required, is the same: ``min``/``max``, ``max_ratio``/``min_ratio``/
  ``max_increase`` against the baseline, a bare value meaning ``max``;
* ``pass_fail``: each reading is one observation that holds or not, like an
  ``http`` probe's status check; it takes no tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chaoskit.model.params import FaultSignature, ParamSpec, Params
from chaoskit.model.tolerance import Check, Tolerance

__all__ = ["PLUGIN_PROBE_KEYS", "READING_KINDS", "PluginProbeSpec", "ProbeSignature", "ReadingKind"]

ReadingKind = Literal["number", "duration", "pass_fail"]
READING_KINDS: tuple[str, ...] = ("number", "duration", "pass_fail")
# The keys of a plugin probe in an experiment file (its own parameters go under params:).
PLUGIN_PROBE_KEYS = ("name", "type", "params", "every", "tolerance")


@dataclass(frozen=True)
class ProbeSignature:
    """Everything the loader needs to check a plugin probe, and ``chaoskit probes`` lists."""

    params: tuple[ParamSpec, ...] = ()
    reading: ReadingKind = "number"
    # Parameters whose values are secrets: masked in journals, logs and reports like header values.
    secret: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if self.reading not in READING_KINDS:
            raise ValueError(f"ProbeSignature: unknown reading {self.reading!r}; expected one of "
                             f"{', '.join(READING_KINDS)}")
        unknown = set(self.secret) - {p.name for p in self.params}
        if unknown:
            raise ValueError(f"ProbeSignature: secret names no parameter: {', '.join(sorted(unknown))}")

    @property
    def as_params(self) -> FaultSignature:
        """The parameters as a fault's are checked: the same rules, and no target."""
        return FaultSignature(params=self.params, target="none", doc=self.doc)

    def parse(self, raw: Mapping[str, Any]) -> Params:
        """Check, type and complete plain values (a caller building a probe in code); ``ValueError`` names the problem."""
        return self.as_params.parse(raw)


@dataclass(frozen=True)
class PluginProbeSpec:
    """A plugin probe of an experiment: parameters parsed, tolerance checked; ``every_s`` None: each round."""

    name: str
    type: str  # the entry point's name, e.g. example.tcp_connect
    params: Params
    reading: ReadingKind
    tolerance: Tolerance | None = None  # None exactly for pass_fail readings
    every_s: float | None = None

    @property
    def checks(self) -> tuple[Check, ...]:
        """The tolerance as the one check other probes carry (its subject: the reading, ``value``)."""
        return (Check("value", self.tolerance),) if self.tolerance is not None else ()

    @property
    def pass_fail(self) -> bool:
        return self.reading == "pass_fail"

