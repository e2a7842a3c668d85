"""Time to detect a fault through Prometheus, scraping every second (issue 17's bound: <= 3 s).

nginx behind a Toxiproxy proxy (``-proxy-metrics``), a client sending short
requests through it (Toxiproxy counts a connection's bytes when it closes),
and a real Prometheus (the chaoskit/prometheus image) scraping Toxiproxy every
second. The probe is the proxy's byte rate,

    sum(irate(toxiproxy_proxy_sent_bytes_total{proxy="web",direction="downstream"}[3s])) or vector(0)

with ``min_ratio: 0.5`` against a baseline of readings. Each try applies one
fault (the proxy disabled, or 500 ms of latency on every answer: the client,
one request at a time, then sends far fewer), then polls the query every
0.25 s through chaoskit's poller until a reading breaks the limit; the figure
is from just before the fault to that reading. The fault is then reverted and
the bench waits for the rate to come back before the next try.

    .venv/bin/python -m bench.prometheus_bench [--tries 10] [--poll 0.25]

Needs the Docker engine and the images (./setup.sh). Everything it creates
carries the label chaoskit.bench=1 and is removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any


from chaoskit.adapters.docker_engine import DockerEngine
from chaoskit.adapters.prometheus import PrometheusClient
from chaoskit.adapters.toxiproxy import Toxic, ToxiproxyClient
from chaoskit.measure.prometheus_poll import Poller
from chaoskit.measure.readings import Reading, limits_for, reading_result
from chaoskit.model.prometheus_probe import PrometheusProbe
from chaoskit.model.tolerance import Relative
from chaoskit.verdict import Phase

LABELS = {"chaoskit.bench": "1"}
QUERY = 'sum(irate(toxiproxy_proxy_sent_bytes_total{proxy="web",direction="downstream"}[3s])) or vector(0)'
CONFIG = """global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: toxiproxy
    static_configs: [{targets: ["%s:8474"]}]
"""


def steal_ticks() -> tuple[int, int]:
    """(stolen, total) clock ticks of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return fields[7], sum(fields[:8])


def wait_for(ready: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s} s")
        time.sleep(0.2)


class Traffic(threading.Thread):
    """One short request at a time through the proxy, until stopped (at most ``limit_s``)."""

    def __init__(self, port: int, limit_s: float):
        super().__init__(daemon=True)
        self.port, self.limit_s, self.stop = port, limit_s, threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self.stop.is_set() and time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/")
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            self.stop.wait(0.02)


def poll_until(poller: Poller, every_s: float, done: Any, limit_s: float) -> tuple[Reading | None, int]:
    """The first reading for which ``done`` holds (None if none within ``limit_s``), and how many polls it took."""
    end, polls = time.monotonic() + limit_s, 0
    while time.monotonic() < end:
        reading = poller.poll()
        polls += 1
        if done(reading):
            return reading, polls
        time.sleep(every_s)
    return None, polls


def run(tries: int, every_s: float) -> int:
    engine = DockerEngine.connect()
    client, tag = engine.client, uuid.uuid4().hex[:8]
    network = client.networks.create(f"chaoskit-bench-prom-{tag}", labels=LABELS)
    containers: list[Any] = []
    directory = Path(tempfile.mkdtemp(prefix="chaoskit-prom-bench-"))
    try:
        def start(image: str, command: Any = None, **kwargs: Any) -> Any:
            container = client.containers.run(image, command, detach=True, labels=LABELS, network=network.name,
                                              **kwargs)
            containers.append(container)
            container.reload()
            return container

        start("chaoskit/nginx", name=f"chaoskit-bench-web-{tag}")
        tp = start("chaoskit/toxiproxy:2.12.0", ["-host=0.0.0.0", "-proxy-metrics", "-runtime-metrics"],
                   name=f"chaoskit-bench-toxiproxy-{tag}",
                   ports={"8474/tcp": ("127.0.0.1", None), "20000/tcp": ("127.0.0.1", None)})
        config = directory / "prometheus.yml"
        config.write_text(CONFIG % f"chaoskit-bench-toxiproxy-{tag}")
        config.chmod(0o644)
        prom = start("chaoskit/prometheus", name=f"chaoskit-bench-prometheus-{tag}",
                     ports={"9090/tcp": ("127.0.0.1", None)},
                     volumes={str(config): {"bind": "/etc/prometheus/prometheus.yml", "mode": "ro"}})
        toxiproxy = ToxiproxyClient(f"http://127.0.0.1:{tp.ports['8474/tcp'][0]['HostPort']}")
        wait_for(toxiproxy.version, "Toxiproxy")
        toxiproxy.create_proxy("web", "0.0.0.0:20000", f"chaoskit-bench-web-{tag}:80")
        url = f"http://127.0.0.1:{prom.ports['9090/tcp'][0]['HostPort']}"
        wait_for(PrometheusClient(url).ready, "Prometheus")
        traffic = Traffic(int(tp.ports["20000/tcp"][0]["HostPort"]), limit_s=60 + tries * 30)
        traffic.start()
        try:
            return measure(toxiproxy, url, tries, every_s)
        finally:
            traffic.stop.set()
            traffic.join()
    finally:
        for container in containers:
            container.remove(force=True, v=True)
        network.remove()
        for file in directory.iterdir():
            file.unlink()
        directory.rmdir()


def measure(toxiproxy: ToxiproxyClient, url: str, tries: int, every_s: float) -> int:
    probe = PrometheusProbe("web bytes", url, QUERY, Relative(min_ratio=0.5), every_s=every_s)
    poller = Poller(probe)
    poll_until(poller, every_s, lambda r: False, 5.0)  # a few scrapes of traffic before the baseline
    baseline = []
    for _ in range(int(8 / every_s)):
        baseline.append(poller.poll())
        time.sleep(every_s)
    limits = limits_for(probe, baseline)
    broken = lambda r: not reading_result(probe, r, limits, Phase.FAULT, 0.0, "").ok and not r.error  # noqa: E731
    held = lambda r: reading_result(probe, r, limits, Phase.RECOVERY, 0.0, "").ok  # noqa: E731
    faults = {
        "proxy disabled": (lambda: toxiproxy.set_enabled("web", False), lambda: toxiproxy.set_enabled("web", True)),
        "latency 500 ms": (lambda: toxiproxy.add_toxic("web", Toxic("slow", "latency", attributes={"latency": 500})),
                           lambda: toxiproxy.remove_toxic("web", "slow")),
    }
    print(f"baseline: {statistics.median(r.values.get('{}', 0.0) for r in baseline):.0f} bytes/s (median), "
          f"limit: below {limits['{}'].low:.0f}; polling every {every_s:g} s, Prometheus scraping every 1 s\n")
    print("| fault | try | detected after (s) | readings until detected |")
    print("|---|---|---|---|")
    steal_before, seen = steal_ticks(), {name: [] for name in faults}
    for attempt in range(tries):
        name = list(faults)[attempt % len(faults)]
        apply, revert = faults[name]
        time.sleep(every_s * (attempt % 4) / 4)  # start each try at another point of the scrape cycle
        started = time.time()
        apply()
        reading, polls = poll_until(poller, every_s, broken, 15.0)
        revert()
        after = f"{reading.t - started:.2f}" if reading else "not seen in 15 s"
        if reading:
            seen[name].append(reading.t - started)
        print(f"| {name} | {attempt + 1} | {after} | {polls if reading else '-'} |")
        if poll_until(poller, every_s, held, 20.0)[0] is None:
            print("the rate did not come back within 20 s; stopping")
            return 1
        time.sleep(3.0)
    stolen, total = (a - b for a, b in zip(steal_ticks(), steal_before, strict=True))
    every = [t for times in seen.values() for t in times]
    print()
    for name, times in seen.items():
        if times:
            print(f"{name}: median {statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)} tries")
    if every:
        print(f"all: median {statistics.median(every):.2f} s, max {max(every):.2f} s; "
              f"{sum(t <= 3.0 for t in every)} of {tries} within 3 s")
    print(f"steal during the tries: {100 * stolen / total if total else 0:.1f} % of CPU time (/proc/stat)")
    return 0 if len(every) == tries and max(every) <= 3.0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10, help="faults to apply, alternating the two kinds")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between two polls of the query")
    args = parser.parse_args()
    return run(args.tries, args.poll)


if __name__ == "__main__":
    sys.exit(main())
