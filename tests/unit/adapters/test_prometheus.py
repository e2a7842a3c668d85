"""The Prometheus client: answers parsed into frozen values, errors into chaoskit's tree, against a real server."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoskit.adapters.prometheus import PrometheusClient, Sample, Scalar, Vector, parse_result
from chaoskit.errors import BackendError, PrometheusUnavailable
from tests.prometheus_server import PrometheusServer, scrape_config, start_prometheus

WHERE = "query 'q' at http://p/api/v1/query"


# --- parsing (no server) -----------------------------------------------------------------------


def test_scalar_and_special_values_parse():
    """A scalar keeps its evaluation time; NaN and +Inf, as Prometheus writes them, are floats."""
    assert parse_result({"resultType": "scalar", "result": [1700000000.5, "2"]}, WHERE) == Scalar(2.0, 1700000000.5)
    vector = parse_result({"resultType": "vector", "result": [
        {"metric": {"job": "a"}, "value": [1.0, "NaN"]}, {"metric": {"job": "b"}, "value": [1.0, "+Inf"]}]}, WHERE)
    assert isinstance(vector, Vector)
    assert math.isnan(vector.samples[0].value) and vector.samples[1].value == math.inf


def test_vector_series_are_sorted_and_named_as_promql_writes_them():
    """Samples come sorted by series, each named like PromQL's own output."""
    vector = parse_result({"resultType": "vector", "result": [
        {"metric": {"__name__": "up", "job": "z", "instance": "h:1"}, "value": [5.0, "1"]},
        {"metric": {"job": "a"}, "value": [5.0, "0"]}]}, WHERE)
    assert [s.series for s in vector.samples] == ['up{instance="h:1",job="z"}', '{job="a"}']
    assert vector == Vector((Sample((("__name__", "up"), ("instance", "h:1"), ("job", "z")), 1.0),
                             Sample((("job", "a"),), 0.0)), 5.0)
    assert parse_result({"resultType": "vector", "result": []}, WHERE) == Vector((), None)


@pytest.mark.parametrize(("data", "words"), [
    ({"resultType": "matrix", "result": []}, "range vector"),
    ({"resultType": "string", "result": [1.0, "x"]}, "expected a scalar or an instant vector"),
    ({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "many"]}]}, "not a number"),
    ({"resultType": "vector", "result": [{"metric": {}}]}, "not {metric, value}"),
])
def test_answers_that_are_not_a_reading_are_refused(data, words):
    """A range vector, a string or a malformed sample is a BackendError that names the query and URL."""
    with pytest.raises(BackendError, match=words) as caught:
        parse_result(data, WHERE)
    assert str(caught.value).startswith(WHERE)


def test_unreachable_server_is_unavailable_at_once():
    """Nothing listening: PrometheusUnavailable, one line naming the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PrometheusUnavailable, match=rf"at http://127.0.0.1:{port}/api/v1/query: .*did not answer"):
        PrometheusClient(f"http://127.0.0.1:{port}").query("up")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_costs_one_timeout(silent_server):
    """A hung server: PrometheusUnavailable after the timeout (plus the grace), not a hung probe."""
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailable, match="did not answer"):
        PrometheusClient(silent_server, timeout_s=0.3).query("up")
    assert time.monotonic() - started < 2.0


# --- a real server ------------------------------------------------------------------------------


@pytest.fixture
def prometheus(run_container, network, tmp_path: Path) -> PrometheusServer:
    """A real Prometheus scraping itself every second."""
    server = start_prometheus(run_container, network, scrape_config({"self": "localhost:9090"}), tmp_path)
    server.wait_for_series('up{job="self"}')
    return server


@pytest.mark.docker
def test_real_scalar_and_vector(prometheus):
    """A scalar expression and an instant vector from a real server, with the labels it scraped."""
    scalar = prometheus.client.query("1 + 1")
    assert isinstance(scalar, Scalar) and scalar.value == 2.0 and abs(scalar.t - time.time()) < 60
    vector = prometheus.client.query('up{job="self"}')
    assert isinstance(vector, Vector)
    assert [(s.series, s.value) for s in vector.samples] == [('up{instance="localhost:9090",job="self"}', 1.0)]
    assert prometheus.client.query('up{job="nothing"}') == Vector((), None)


@pytest.mark.docker
def test_real_server_refuses_bad_promql_and_range_vectors(prometheus):
    """A PromQL syntax error carries the server's reason; a bare range selector says what to write."""
    with pytest.raises(BackendError, match=rf"at {prometheus.url}/api/v1/query: answered 400: bad_data: .*parse error"):
        prometheus.client.query("sum(up")
    with pytest.raises(BackendError, match=r"range vector.*rate\(\.\.\.\[30s\]\)"):
        prometheus.client.query('up{job="self"}[5s]')


@pytest.mark.docker
def test_real_server_evaluates_at_a_given_time(prometheus):
    """``at`` sets the evaluation time: before the server's first scrape, nothing was up."""
    past = prometheus.client.query('up{job="self"}', at=time.time() - 3600)
    assert past == Vector((), None)
