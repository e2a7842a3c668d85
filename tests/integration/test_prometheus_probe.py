"""A Prometheus probe judged against a real Prometheus scraping a real Toxiproxy, through a real fault.

nginx behind a Toxiproxy proxy started with ``-proxy-metrics``; Prometheus
(the chaoskit/prometheus image) scrapes Toxiproxy every second; a client sends
short requests through the proxy. The probe reads the proxy's byte rate. The
proxy is disabled for the fault window: the judgement must see it, within the
bound the issue sets (3 s from the fault). Then whole ``chaoskit run`` s of
experiments whose steady state comes from Prometheus alone (no load: section).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
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
from tests.integration.test_loadgen_tls import TlsServer
from tests.prometheus_server import PrometheusServer, scrape_config, start_prometheus
from tests.support import make_tls_ca, wait_until

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


PROMETHEUS_ONLY = """
title: Web traffic judged from Prometheus alone, {fault}
environment: {{toxiproxy_url: "{toxiproxy}"}}
phases: {{warmup: 3s, baseline: 8s, fault: 10s, recovery: 10s}}
steady_state:
  title: Bytes keep flowing through the proxy
  probes:
    - name: web bytes
      type: prometheus
      url: {prometheus}
      query: '{query}'
      every: 1s
      # About 6 KB/s at rest. The first 2 or 3 readings of the fault window still trail the fault (a scrape
      # and the irate's range): they widen the shift's interval, so min_ratio alone may be INCONCLUSIVE
      # against a hard drop; the window's mean against min decides it.
      tolerance: {{min: 2000, min_ratio: 0.5}}
method:
  - fault: {fault}
    params: {params}
"""


def run_prometheus_only(scene: Scene, tmp_path: Path, fault: str, params: str) -> tuple[int, str, dict[str, Any]]:
    """``chaoskit run`` of the experiment above; its exit code, its output and its journal."""
    path, journal = tmp_path / "prometheus-only.yaml", tmp_path / "journal.json"
    toxiproxy = scene.toxiproxy.url
    path.write_text(PROMETHEUS_ONLY.format(fault=fault, params=params, toxiproxy=toxiproxy,
                                           prometheus=scene.prometheus.url, query=BYTE_RATE))
    scene.prometheus.wait_for_series('toxiproxy_proxy_sent_bytes_total{proxy="web"}')
    done = subprocess.run([sys.executable, "-m", "chaoskit", "run", str(path), "--journal", str(journal)],
                          env={**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")},
                          capture_output=True, text=True, timeout=90)
    return done.returncode, done.stdout + done.stderr, json.loads(journal.read_text())


def test_a_run_judged_from_prometheus_alone_fails_when_the_proxy_is_down(scene: Scene, traffic: None,
                                                                          tmp_path: Path):
    """network.down on the proxy: the byte rate Prometheus reports falls, FAILURE (exit 1) within 3 s, reverted."""
    code, out, journal = run_prometheus_only(scene, tmp_path, "network.down", "{proxy: web}")
    assert code == 1 and out.startswith("FAILURE"), out
    assert "'web bytes'" in out and "whole fault window" in out
    assert journal["verdict"]["time_to_detect_s"] <= 3.0, journal["verdict"]
    (record,) = journal["prometheus"]
    assert record["time_to_detect_s"] is not None and record["time_to_detect_s"] <= 3.0, record["time_to_detect_s"]
    assert record["time_to_recover_s"] is not None
    assert len(record["readings"]) >= 20 and all(r["error"] is None for r in record["readings"])
    assert scene.toxiproxy.proxy("web").enabled


def test_a_run_judged_from_prometheus_alone_tolerates_a_small_latency(scene: Scene, traffic: None,
                                                                       tmp_path: Path):
    """1 ms of latency leaves the byte rate where it was: TOLERATED (exit 0), the toxic removed."""
    code, out, journal = run_prometheus_only(scene, tmp_path, "network.latency", "{proxy: web, latency_ms: 1}")
    assert code == 0 and out.startswith("TOLERATED"), out
    decisive = [o for o in journal["observations"] if not o["detection"]]
    assert [(o["phase"], o["ok"]) for o in decisive] == [("BASELINE", True), ("FAULT", True)]
    assert scene.toxiproxy.proxy("web").toxics == ()


def test_a_run_with_prometheus_down_is_an_error_before_any_fault(scene: Scene, tmp_path: Path):
    """Prometheus stopped before the run: ERROR (exit 6) naming its URL, and the proxy never touched."""
    scene.prometheus.container.stop(timeout=1)
    path = tmp_path / "prometheus-only.yaml"
    path.write_text(PROMETHEUS_ONLY.format(fault="network.down", params="{proxy: web}", toxiproxy=scene.toxiproxy.url,
                                           prometheus=scene.prometheus.url, query=BYTE_RATE))
    done = subprocess.run([sys.executable, "-m", "chaoskit", "run", str(path), "--journal", str(tmp_path / "j.json")],
                          env={**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stdout.startswith("ERROR") and scene.prometheus.url in done.stdout
    assert scene.toxiproxy.proxy("web").enabled


class WriteService(TlsServer):
    """An HTTPS service of writes in its own thread: POST /tweets answers 201 {"id": n}, GET /tweets/{n} 200 (or 404)."""

    def __init__(self, cert: Path, key: Path):
        super().__init__(cert, key, close_after=0)  # _serve below keeps a connection as long as the client likes
        self.stored: set[int] = set()

    def _answer(self, method: str, path: str) -> tuple[str, bytes]:
        if method == "POST" and path == "/tweets":
            written = len(self.stored) + 1
            self.stored.add(written)
            return "201 Created", json.dumps({"id": written}).encode()
        if method == "GET" and path.startswith("/tweets/"):
            found = path.removeprefix("/tweets/").isdigit() and int(path.removeprefix("/tweets/")) in self.stored
            return ("200 OK", b"{}") if found else ("404 Not Found", b"{}")
        return "200 OK", b"{}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, path = head[0].split(" ")[:2]
                length = next((int(h.split(":", 1)[1]) for h in head[1:] if h.lower().startswith("content-length:")),
                              0)
                await reader.readexactly(length)
                status, body = self._answer(method, path)
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                             "\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError):
            pass
        finally:
            writer.close()


HTTPS_AUDIT = """
title: HTTPS writes judged from the load, from Prometheus and by a write audit
environment: {{toxiproxy_url: "{toxiproxy}"}}
phases: {{warmup: 3s, baseline: 5s, fault: 5s, recovery: 5s}}
load:
  rate: 100
  timeout: 2s
  connections: 4
  max_lag: 100ms
  tls: {{ca: "{ca}"}}
  requests:
    - {{name: home, url: "{service}/", weight: 3}}
    - {{name: post, method: POST, url: "{service}/tweets", json: {{text: "chaoskit {{seq}}"}}, ok_status: [201],
        capture: id}}
steady_state:
  title: Answered over HTTPS, traffic through the proxy, no write lost
  probes:
    # 5 %: no error in ~500 requests bounds the baseline's rate below it (1 % would need thousands to show).
    - {{name: errors, type: load, metric: error_rate, tolerance: {{max: 5%}}}}
    - {{name: web bytes, type: prometheus, url: "{prometheus}", query: '{query}', tolerance: {{min: 1}}}}
    - {{name: no write lost, type: writes.readable, request: post, url: "{service}/tweets/{{id}}",
        tls: {{ca: "{ca}"}}, tolerance: 0}}
method:
  - fault: network.latency
    params: {{proxy: web, latency_ms: 1}}
"""


def test_an_https_service_judged_from_load_prometheus_and_a_write_audit(scene: Scene, traffic: None, tmp_path: Path):
    """The acceptance's combination on real servers: HTTPS load (verified against a CA of the test's own), a
    Prometheus probe and a write audit in one `chaoskit run`: TOLERATED, every acknowledged write read back."""
    ca = make_tls_ca(tmp_path, ("localhost", "127.0.0.1"))
    path, journal_path = tmp_path / "https-audit.yaml", tmp_path / "journal.json"
    with WriteService(ca["cert"], ca["key"]) as service:
        path.write_text(HTTPS_AUDIT.format(toxiproxy=scene.toxiproxy.url, ca=ca["ca"], query=BYTE_RATE,
                                           service=f"https://127.0.0.1:{service.port}", prometheus=scene.prometheus.url))
        scene.prometheus.wait_for_series('toxiproxy_proxy_sent_bytes_total{proxy="web"}')
        done = subprocess.run([sys.executable, "-m", "chaoskit", "run", str(path), "--journal", str(journal_path)],
                              env={**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")},
                              capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and done.stdout.startswith("TOLERATED"), out
    journal = json.loads(journal_path.read_text())
    checked = next(e for e in journal["events"] if e["event"] == "writes.readable.checked")
    assert checked["lost"] == 0 and 0 < checked["checked"] <= len(service.stored), checked
    assert journal["prometheus"][0]["probe"] == "web bytes" and journal["load"]["buckets"]
