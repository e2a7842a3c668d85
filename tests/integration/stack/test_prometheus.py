"""The sample stack's Prometheus: it scrapes every api replica and Toxiproxy, and reads what users caused."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.adapters.prometheus import PrometheusClient, Vector
from chaoskit.errors import Problem
from chaoskit.measure.prometheus_poll import values_of
from chaoskit.model.checker import Checker
from chaoskit.model.prometheus_probe import prometheus_probe
from chaoskit.model.source import read_source
from tests.integration.stack.conftest import ROOT
from tests.support import wait_until

pytestmark = pytest.mark.stack


def _total(client: PrometheusClient, promql: str) -> float:
    answer = client.query(promql)
    assert isinstance(answer, Vector) and len(answer.samples) == 1, answer
    return answer.samples[0].value


def test_every_api_replica_and_toxiproxy_is_scraped(stack):
    """Both replicas (found through Docker's DNS) and Toxiproxy's own metrics are up."""
    client = PrometheusClient(stack.prometheus_url)
    wait_until(lambda: _total(client, 'count(up{job="api"} == 1)') == 2, what="both replicas scraped", timeout_s=30)
    wait_until(lambda: _total(client, 'up{job="toxiproxy"}') == 1, what="toxiproxy scraped", timeout_s=30)
    # Toxiproxy runs with -runtime-metrics: its Go runtime is in Prometheus too.
    assert _total(client, 'count(go_goroutines{job="toxiproxy"})') == 1


def test_reads_sent_through_nginx_show_in_the_api_counters(stack):
    """Reads counted by the replicas reach Prometheus within a few scrapes."""
    client = PrometheusClient(stack.prometheus_url)
    query = 'sum(timeline_api_timeline_reads_total) or vector(0)'
    wait_until(lambda: _total(client, 'count(up{job="api"} == 1)') == 2, what="both replicas scraped", timeout_s=30)
    before = _total(client, query)
    user = stack.ordinary_user_with_followers()
    for _ in range(20):
        assert stack.get(f"/timeline/{user}?limit=5").status == 200
    wait_until(lambda: _total(client, query) >= before + 20, what="20 more reads in Prometheus", timeout_s=10)


def test_the_prometheus_only_experiment_reads_the_stack(stack):
    """Each probe of experiments/prometheus-only.yaml gets a reading from the stack's Prometheus under traffic."""
    path = ROOT / "experiments" / "prometheus-only.yaml"
    root, _, problems = read_source(Path(path).read_text(), str(path),
                                    {"prometheus": stack.prometheus_url})
    assert root is not None and not problems
    found: list[Problem] = []
    probes = [prometheus_probe(Checker(str(path), found), node)
              for node in root.value["steady_state"].value["probes"].value]
    assert not found and all(probes)
    user = stack.ordinary_user_with_followers()
    client = PrometheusClient(stack.prometheus_url)

    def every_probe_reads() -> bool:
        for _ in range(10):
            stack.get(f"/timeline/{user}?limit=5")
        return all(values_of(client.query(p.query)) for p in probes)  # type: ignore[union-attr]

    wait_until(every_probe_reads, what="a reading of every probe", timeout_s=20)
    ratio = values_of(client.query(probes[0].query))  # type: ignore[union-attr]
    assert list(ratio.values()) == [0.0]  # no request failed
