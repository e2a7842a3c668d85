"""A ``type: prometheus`` probe: a PromQL query whose readings are the steady state.

    - name: error ratio
      type: prometheus
      url: http://127.0.0.1:9090
      query: sum(rate(errors_total[5s])) / sum(rate(requests_total[5s]))
      every: 1s
      tolerance: {max: 0.01, max_increase: 0.005}

The query must give a scalar or an instant vector; the tolerance holds for the
scalar, or for each series of the vector. Readings are numbers in the query's
own unit, so a tolerance here takes numbers only: ``min``/``max`` (an SLO on
the window's readings), ``max_ratio``/``min_ratio``/``max_increase`` (against
the baseline window's readings); a bare number means ``max``. They are judged
over whole windows (:mod:`chaoskit.measure.readings`), so the kinds that only
make sense for one value (``equals``, ``matches``) are not offered. Whether the
PromQL parses is for the server to say: the run's preflight asks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaoskit.model.checker import Checker, describe_kind
from chaoskit.model.source import Located
from chaoskit.model.tolerance import AllOf, Check, Relative, Threshold, Tolerance

__all__ = ["PROMETHEUS_KEYS", "TOLERANCE_KEYS", "PrometheusProbe", "prometheus_probe"]

PROMETHEUS_KEYS = ("name", "type", "url", "query", "every", "timeout", "tolerance")
TOLERANCE_KEYS = ("min", "max", "max_ratio", "min_ratio", "max_increase")
DEFAULT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class PrometheusProbe:
    """A PromQL query polled every ``every_s`` (None: the run loop's default interval)."""

    name: str
    url: str  # the server's base URL; the client adds /api/v1/query
    query: str
    tolerance: Tolerance
    every_s: float | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    type: str = field(default="prometheus", init=False)

    @property
    def checks(self) -> tuple[Check, ...]:
        """The tolerance as the one check other probes carry (its subject: each series's ``value``)."""
        return (Check("value", self.tolerance),)


def prometheus_probe(checker: Checker, node: Located) -> PrometheusProbe | None:
    """Build the probe from its located mapping, or record every problem on ``checker`` and return None."""
    before = checker.count()
    keys = checker.mapping(node, PROMETHEUS_KEYS, required=("url", "query", "tolerance"))
    if keys is None:
        return None
    name = checker.text(keys["name"]) if "name" in keys else None
    url = checker.url(keys["url"]) if "url" in keys else None
    query = checker.text(keys["query"]) if "query" in keys else None
    every = checker.duration(keys["every"], positive=True) if "every" in keys else None
    timeout = checker.duration(keys["timeout"], positive=True) if "timeout" in keys else DEFAULT_TIMEOUT_S
    tolerance = reading_tolerance(checker, keys["tolerance"]) if "tolerance" in keys else None
    if checker.count() != before or url is None or query is None or tolerance is None or timeout is None:
        return None
    return PrometheusProbe(name or query, url, query, tolerance, every, timeout)


def reading_tolerance(checker: Checker, node: Located, durations: bool = False) -> Tolerance | None:
    """A bare number (``max``) or a mapping of :data:`TOLERANCE_KEYS`; None with the problems recorded.

    ``durations``: readings are seconds, so ``min``, ``max`` and ``max_increase`` may be written ``50ms``.
    """
    def limit(child: Located, key: str) -> float | None:
        if durations and not key.endswith("_ratio"):
            return checker.duration(child)
        return checker.number(child, above=0 if key.endswith("_ratio") else None)

    if not isinstance(node.value, dict):
        if isinstance(node.value, list) or node.value is None or (isinstance(node.value, str) and not durations):
            checker.problem(node, f"expected a number (the max) or a mapping with {', '.join(TOLERANCE_KEYS)}; "
                                  f"got {describe_kind(node.value)}")
            return None
        bound = limit(node, "max")
        return Threshold(max=bound) if bound is not None else None
    before = checker.count()
    keys = checker.mapping(node, TOLERANCE_KEYS)
    if keys is None or checker.count() != before:
        return None
    if not keys:
        checker.problem(node, f"expected at least one of {', '.join(TOLERANCE_KEYS)}")
        return None
    values = {key: limit(child, key) for key, child in keys.items()}
    if checker.count() != before:
        return None
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None and low > high:
        checker.problem(keys["min"], f"min {low:g} is above max {high:g}")
        return None
    parts: list[Tolerance] = [Threshold(low, high)] if "min" in values or "max" in values else []
    relative = {key: values[key] for key in ("max_ratio", "min_ratio", "max_increase") if key in values}
    if relative:
        parts.append(Relative(**relative))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))
