"""Polling a Prometheus probe's query: each answer becomes a :class:`~chaoskit.measure.readings.Reading`.

The one place a probe's readings meet the server (through
:class:`~chaoskit.adapters.prometheus.PrometheusClient`). A poll never raises
for the server's sake: a failed query is a reading with no values and the error,
which the judgement counts as no data. A query that cannot work at all (bad
PromQL, a range vector) should be found before anything is injected: the run's
preflight asks ``poller.client.query(probe.query)`` once and lets it raise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from chaoskit.adapters.prometheus import PrometheusClient, QueryResult, Scalar
from chaoskit.errors import BackendError
from chaoskit.measure.readings import SCALAR, Reading
from chaoskit.model.prometheus_probe import PrometheusProbe

__all__ = ["Poller", "values_of"]


def values_of(result: QueryResult) -> dict[str, float]:
    """Series -> value of an answer; NaN and infinite values are left out (no value)."""
    pairs = [(SCALAR, result.value)] if isinstance(result, Scalar) else [(s.series, s.value) for s in result.samples]
    return {series: value for series, value in pairs if math.isfinite(value)}


class Poller:
    """Polls one probe's query; keeps no readings (the caller does), only the count for their indices."""

    def __init__(self, probe: PrometheusProbe, client: PrometheusClient | None = None,
                 wall: Callable[[], float] = time.time, mono: Callable[[], float] = time.monotonic):
        self.probe = probe
        self.client = client or PrometheusClient(probe.url, probe.timeout_s)
        self._wall, self._mono = wall, mono
        self._index = 0

    def poll(self) -> Reading:
        index, self._index = self._index, self._index + 1
        try:
            values, error = values_of(self.client.query(self.probe.query)), None
        except BackendError as exc:  # PrometheusUnavailable included
            values, error = {}, str(exc)
        return Reading(index, self._wall(), self._mono(), values, error)
