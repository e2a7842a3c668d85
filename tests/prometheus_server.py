"""A real Prometheus server (the chaoskit/prometheus image) in a throwaway container, for the tests.

Not a fixture module: test modules build their fixture from :func:`start_prometheus`
with the conftest's ``run_container`` (labelled, removed at teardown) and a network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoskit.adapters.prometheus import PrometheusClient, Vector
from tests.support import wait_until

PROMETHEUS_IMAGE = "chaoskit/prometheus"


@dataclass
class PrometheusServer:
    container: Any
    url: str
    client: PrometheusClient

    def wait_for_series(self, promql: str, timeout_s: float = 20.0) -> None:
        """Until ``promql`` gives at least one series (its targets were scraped)."""
        wait_until(lambda: (r := self.client.query(promql)) and isinstance(r, Vector) and r.samples,
                   what=f"{promql} in Prometheus at {self.url}", timeout_s=timeout_s)


def scrape_config(targets: dict[str, str], interval: str = "1s") -> str:
    """A configuration scraping each ``job: host:port`` target every ``interval``."""
    jobs = "".join(f"  - job_name: {job}\n    static_configs: [{{targets: [\"{target}\"]}}]\n"
                   for job, target in targets.items())
    return (f"global: {{scrape_interval: {interval}, scrape_timeout: {interval}, evaluation_interval: {interval}}}\n"
            f"scrape_configs:\n{jobs}")


def start_prometheus(run_container: Callable[..., Any], network: str, config: str, directory: Path) -> PrometheusServer:
    """Prometheus on ``network`` with ``config``, its API on a random 127.0.0.1 port; returns once it is ready."""
    path = directory / "prometheus.yml"
    path.write_text(config)
    path.chmod(0o644)  # the server runs as the image's prometheus user
    container = run_container(PROMETHEUS_IMAGE, network=network, ports={"9090/tcp": ("127.0.0.1", None)},
                              volumes={str(path): {"bind": "/etc/prometheus/prometheus.yml", "mode": "ro"}})
    url = f"http://127.0.0.1:{container.ports['9090/tcp'][0]['HostPort']}"
    client = PrometheusClient(url)
    wait_until(client.ready, what=f"Prometheus at {url}", timeout_s=30)
    return PrometheusServer(container, url, client)
