"""The ground is real: the Docker engine kills what it is told to, Toxiproxy 2.12.0 delays what it is told to."""

from __future__ import annotations

import http.client
import statistics
import time

import pytest

from chaoskit.adapters.toxiproxy import Toxic
from tests.support import wait_until

pytestmark = pytest.mark.docker


def round_trip_ms(port: int) -> float:
    """One HTTP GET on a fresh connection to 127.0.0.1:port, timed from the client's side."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000


def median_round_trip_ms(port: int, n: int = 5) -> float:
    return statistics.median(round_trip_ms(port) for _ in range(n))


def test_killed_container_dies(engine, run_container):
    """A throwaway container killed through the engine is seen exited with SIGKILL's status."""
    container = run_container("debian:bookworm-slim", ["sleep", "300"])
    assert engine.inspect(container.id)["State"]["Running"] is True

    engine.kill(container.id, "SIGKILL")

    state = engine.inspect(container.id)["State"]
    assert state["Running"] is False
    assert state["ExitCode"] == 137


def test_toxiproxy_is_the_real_server_2_12_0(toxiproxy):
    """The Toxiproxy under test reports version 2.12.0."""
    assert toxiproxy.client.version() == "2.12.0"


def test_latency_toxic_delays_round_trips_and_removal_restores_them(toxiproxy, run_container):
    """A 200 ms latency toxic shows in host-side round trips through the proxy, and goes when removed."""
    run_container("chaoskit/nginx", network=toxiproxy.network, name=f"web-{toxiproxy.network}")
    toxiproxy.client.create_proxy("web", "0.0.0.0:20000", f"web-{toxiproxy.network}:80")
    port = toxiproxy.host_port(20000)
    wait_until(lambda: round_trip_ms(port), what="nginx through the proxy")
    before = median_round_trip_ms(port)
    assert before < 100

    toxiproxy.client.add_toxic("web", Toxic(name="slow", type="latency", attributes={"latency": 200, "jitter": 0}))
    assert toxiproxy.toxics_seen_independently("web") == {"slow"}
    during = [round_trip_ms(port) for _ in range(5)]

    toxiproxy.client.remove_toxic("web", "slow")
    after = median_round_trip_ms(port)

    assert min(during) >= 200
    assert after < 100
    assert toxiproxy.toxics_seen_independently("web") == set()
