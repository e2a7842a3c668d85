"""Reading a plugin's probe into :class:`~chaoskit.measure.readings.Reading` s, as Prometheus queries are polled.

The one place a plugin probe's ``read()`` is called during a run. What it
does becomes a reading of the one series ``value`` (a pass/fail reading as 1
or 0): a :class:`~chaoskit.errors.BackendError` is a reading with no value and
the error, which the run counts as a violation; anything else it raises, and
a reading of the wrong kind, is the plugin's bug, raised as one line naming it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chaoskit.adapters import probe_plugins
from chaoskit.adapters.probe_plugins import ProbeCatalogue, build_probe, plugin_call
from chaoskit.errors import BackendError, ChaoskitError
from chaoskit.log import get_logger
from chaoskit.measure.readings import Reading
from chaoskit.model.plugin_probe import PluginProbeSpec

__all__ = ["VALUE", "PluginPoller"]

log = get_logger("chaoskit.measure")

VALUE = "value"  # the one series of a plugin probe's readings
T = TypeVar("T")


class PluginPoller:
    """Reads one plugin probe into :class:`Reading` s (the series ``value``; pass/fail as 1 or 0)."""

    def __init__(self, spec: PluginProbeSpec, catalogue: ProbeCatalogue | None = None,
                 wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic):
        found = catalogue or probe_plugins.probe_catalogue()
        self.probe = spec
        self.origin = found.origins.get(spec.type, "?")
        self.plugin = build_probe(spec, found)
        self._wall, self._mono = wall, mono
        self._index = 0

    def describe(self) -> str:
        return self.call(self.plugin.describe, "failed to describe itself")

    def prepare(self) -> None:
        self.call(self.plugin.prepare, "refused to start")

    def close(self) -> None:
        try:
            self.call(self.plugin.close, "failed to close")
        except ChaoskitError as exc:  # the run's outcome is already decided: said, not raised
            log.warning("plugin.close_failed", probe=self.probe.name, error=str(exc))

    def call(self, method: Callable[[], T], what: str) -> T:
        return plugin_call(self.probe, self.origin, method, what)

    def poll(self) -> Reading:
        index, self._index = self._index, self._index + 1
        try:
            value = self.call(self.plugin.read, "failed")
        except BackendError as exc:
            return Reading(index, self._wall(), self._mono(), {}, str(exc))
        return Reading(index, self._wall(), self._mono(), {VALUE: self._number(value)})

    def _number(self, value: Any) -> float:
        """The reading as the series' value; a reading of the wrong kind is the plugin's bug."""
        if self.probe.pass_fail:
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            expected = "True or False"
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        else:
            expected = "a finite number"
        raise ChaoskitError(f"plugin probe {self.probe.name!r} ({self.probe.type}, from {self.origin}) read "
                            f"{value!r}: expected {expected}")
