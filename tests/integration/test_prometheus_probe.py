"""A Prometheus probe judged against a real Prometheus scraping a real Toxiproxy, through a real fault.

nginx behind a Toxiproxy proxy started with ``-proxy-metrics``; Prometheus
(the chaoskit/prometheus image) scrapes Toxiproxy every second; a client sends
short requests through the proxy. The probe reads the proxy's byte rate. The
proxy is disabled for the fault window: the judgement must see it, within the
bound the issue sets (3 s from the fault).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.prometheus_bench import Traffic
from chaoskit.adapters.toxiproxy import ToxiproxyClient
from chaoskit.measure.prometheus_poll import Poller
from chaoskit.measure.readings import Reading, judge_readings, time_to_detect, time_to_recover
from chaoskit.model.prometheus_probe import PrometheusProbe
from chaoskit.model.tolerance import AllOf, Relative, Threshold
from tests.conftest import TOXIPROXY_IMAGE
from tests.prometheus_server import PrometheusServer, scrape_config, start_prometheus
from tests.support import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(180)]

BYTE_RATE = 'sum(irate(toxiproxy_proxy_sent_bytes_total{proxy="web",direction="downstream"}[3s])) or vector(0)'


@dataclass
class Scene:
    toxiproxy: ToxiproxyClient
    proxy_port: int
    prometheus: PrometheusServer


@pytest.fixture
def scene(run_container, network, tmp_path: Path) -> Scene:
    run_container("chaoskit/nginx", network=network, name=f"web-{network}")
    tp = run_container(TOXIPROXY_IMAGE, ["-host=0.0.0.0", "-proxy-metrics", "-runtime-metrics"], network=network,
                       name=f"toxiproxy-{network}",
                       ports={"8474/tcp": ("127.0.0.1", None), "20000/tcp": ("127.0.0.1", None)})
    toxiproxy = ToxiproxyClient(f"http://127.0.0.1:{tp.ports['8474/tcp'][0]['HostPort']}")
    wait_until(toxiproxy.version, what="Toxiproxy")
    toxiproxy.create_proxy("web", "0.0.0.0:20000", f"web-{network}:80")
    prometheus = start_prometheus(run_container, network, scrape_config({"toxiproxy": f"toxiproxy-{network}:8474"}),
                                  tmp_path)
    return Scene(toxiproxy, int(tp.ports["20000/tcp"][0]["HostPort"]), prometheus)


@pytest.fixture
def traffic(scene: Scene) -> Iterator[None]:
    """Short requests through the proxy, one connection each (Toxiproxy counts bytes when a connection closes)."""
    sender = Traffic(scene.proxy_port, limit_s=150)
    sender.start()
    yield
    sender.stop.set()
    sender.join()


def poll_for(poller: Poller, seconds: float, every_s: float = 0.25) -> list[Reading]:
    readings, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        readings.append(poller.poll())
        time.sleep(every_s)
    return readings


def test_disabled_proxy_is_judged_a_violation_within_3_s(scene: Scene, traffic: None):
    """Baseline within, fault window violated (detected <= 3 s after the fault), recovery back in the band."""
    scene.prometheus.wait_for_series('toxiproxy_proxy_sent_bytes_total{proxy="web"}')
    probe = PrometheusProbe("web bytes", scene.prometheus.url, BYTE_RATE,
                            AllOf((Threshold(min=1.0), Relative(min_ratio=0.5))), every_s=0.25)
    poller = Poller(probe)
    poll_for(poller, 4)  # the rate needs a few scrapes of traffic
    baseline = poll_for(poller, 6)
    assert judge_readings(probe, "baseline", baseline, baseline).decision == "within"
    applied_at = time.time()
    scene.toxiproxy.set_enabled("web", False)
    fault = poll_for(poller, 6)
    scene.toxiproxy.set_enabled("web", True)
    reverted_at = time.time()
    recovery = poll_for(poller, 8)

    judged = judge_readings(probe, "fault", baseline, fault)
    assert judged.decision == "violated", judged.reason
    detected = time_to_detect(probe, baseline, fault, applied_at)
    assert detected is not None and detected <= 3.0, detected
    assert time_to_recover(probe, baseline, recovery, reverted_at, hold=4) is not None
    assert judge_readings(probe, "recovery", baseline, recovery[-12:]).decision == "within"


def test_a_stopped_prometheus_gives_no_readings_not_a_verdict(scene: Scene, run_container: Any):
    """Prometheus gone mid-run: polls fail fast with the URL in the error, and the window is inconclusive."""
    probe = PrometheusProbe("up", scene.prometheus.url, "up", Threshold(min=1.0), timeout_s=0.5)
    poller = Poller(probe)
    baseline = poll_for(poller, 2)
    scene.prometheus.container.stop(timeout=1)
    started = time.monotonic()
    window = poll_for(poller, 1.0)
    assert time.monotonic() - started < 3.0
    assert all(r.error and scene.prometheus.url in r.error for r in window)
    judged = judge_readings(probe, "fault", baseline, window)
    assert judged.decision == "inconclusive" and "polls failed" in judged.reason
