"""The one chokepoint for a Prometheus server's HTTP API: instant queries (verified against 2.42).

``POST /api/v1/query`` with the PromQL and a ``timeout`` the server applies to
its own evaluation, under a client timeout a little longer, so a slow or hung
server costs a probe one bounded wait. The answer is parsed into frozen values:
a :class:`Scalar` or a :class:`Vector` of :class:`Sample` s (labels, value).
A range vector (``metric[1m]`` without a function around it) or a string is
refused with a message that says what to write instead.

Errors leave as chaoskit's: :class:`~chaoskit.errors.PrometheusUnavailable`
when the server does not answer, :class:`~chaoskit.errors.BackendError` when
it refuses the query (bad PromQL, an evaluation timeout) or answers something
that is not its API; each a one-line message naming the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from chaoskit.errors import BackendError, PrometheusUnavailable

__all__ = ["PrometheusClient", "QueryResult", "Sample", "Scalar", "Vector", "parse_result"]

# The client waits this much longer than the server's own evaluation timeout, so a slow
# query is reported by the server (with its reason) rather than by a bare client timeout.
_CLIENT_GRACE_S = 0.5


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector: its labels (sorted pairs) and its value at the query's time."""

    labels: tuple[tuple[str, str], ...]
    value: float

    @property
    def series(self) -> str:
        """The series as PromQL writes it: ``name{label="value",...}`` (``{}`` without labels)."""
        name = dict(self.labels).get("__name__", "")
        pairs = ",".join(f'{k}="{v}"' for k, v in self.labels if k != "__name__")
        return f"{name}{{{pairs}}}"


@dataclass(frozen=True)
class Scalar:
    value: float
    t: float  # the evaluation time (epoch seconds) Prometheus reports


@dataclass(frozen=True)
class Vector:
    samples: tuple[Sample, ...]
    t: float | None  # the evaluation time; None for an empty vector (its answer carries no time)


QueryResult = Scalar | Vector


def _number(text: Any, where: str) -> float:
    try:
        return float(text)  # Prometheus writes values as strings: "0.5", "NaN", "+Inf"
    except (TypeError, ValueError):
        raise BackendError(f"{where}: a value that is not a number: {text!r}") from None


def parse_result(data: Mapping[str, Any], where: str) -> QueryResult:
    """The ``data`` member of a successful query answer as a :class:`Scalar` or :class:`Vector`."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return Scalar(_number(result[1], where), _number(result[0], where))
    if kind == "vector" and isinstance(result, list):
        samples, t = [], None
        for item in result:
            if not isinstance(item, Mapping) or not isinstance(item.get("value"), list) or len(item["value"]) != 2:
                raise BackendError(f"{where}: a vector sample that is not {{metric, value}}: {str(item)[:120]}")
            t = _number(item["value"][0], where)
            labels = tuple(sorted((str(k), str(v)) for k, v in (item.get("metric") or {}).items()))
            samples.append(Sample(labels, _number(item["value"][1], where)))
        return Vector(tuple(sorted(samples, key=lambda s: s.series)), t)
    if kind == "matrix":
        raise BackendError(f"{where}: the query gives a range vector; an instant one is needed "
                           "(wrap the range selector in a function such as rate(...[30s]))")
    raise BackendError(f"{where}: an answer of type {kind!r}; expected a scalar or an instant vector")


class PrometheusClient:
    """A Prometheus server at ``url`` (a path prefix is kept); the constructor does no I/O."""

    def __init__(self, url: str = "http://127.0.0.1:9090", timeout_s: float = 2.0):
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = requests.Session()
        self._http.headers["User-Agent"] = "chaoskit"

    def query(self, promql: str, at: float | None = None) -> QueryResult:
        """Evaluate ``promql`` at ``at`` (epoch seconds; the server's now by default)."""
        endpoint = f"{self.url}/api/v1/query"
        where = f"query {_short(promql)!r} at {endpoint}"
        form = {"query": promql, "timeout": f"{self.timeout_s:g}s", **({"time": f"{at:.3f}"} if at is not None else {})}
        try:
            response = self._http.post(endpoint, data=form, timeout=self.timeout_s + _CLIENT_GRACE_S)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise PrometheusUnavailable(f"{where}: Prometheus did not answer ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError:
            raise BackendError(f"{where}: answered {response.status_code} with no JSON: "
                               f"{_short(response.text)!r}") from None
        if not isinstance(body, Mapping):
            raise BackendError(f"{where}: answered {response.status_code} with JSON that is not its API")
        if body.get("status") != "success":
            # 400 bad_data (a PromQL error), 422 execution, 503 timeout or overload: the server says which.
            raise BackendError(f"{where}: answered {response.status_code}: "
                               f"{body.get('errorType', 'error')}: {_short(str(body.get('error', '')))}")
        return parse_result(body.get("data") or {}, where)

    def ready(self) -> bool:
        """Whether the server is up and has loaded its configuration (``/-/ready``)."""
        try:
            return self._http.get(f"{self.url}/-/ready", timeout=self.timeout_s).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
