"""The api's counters in Prometheus's text format."""

from __future__ import annotations

from timeline.counters import Counters
from timeline.exposition import render, wants_exposition


def _snapshot(role: str, process: str, counts: dict[str, int], gauges: dict[str, float]) -> dict[str, object]:
    counters = Counters(role, process, 100.0)
    counters.counts.update(counts)
    counters.gauges.update(gauges)
    return counters.snapshot(101.0)


def test_own_counters_and_gauges():
    """A replica's counters are counters named timeline_api_*_total; its gauges keep their name."""
    text = render(_snapshot("api", "a1", {"cache_hits": 7, "errors": 0}, {"breaker_open": 1.0}), [])
    assert "# TYPE timeline_api_cache_hits_total counter\ntimeline_api_cache_hits_total 7\n" in text
    assert "# HELP timeline_api_cache_hits_total cache_hits of this api replica\n" in text
    assert "timeline_api_errors_total 0\n" in text
    assert "# TYPE timeline_api_breaker_open gauge\ntimeline_api_breaker_open 1.0\n" in text


def test_worker_series_carry_their_process_and_seconds():
    """Each worker's series is labelled with its process; its lag gauges are converted from ms to seconds."""
    workers = [_snapshot("worker", "w1", {"jobs_done": 3}, {"lag_p99_ms": 250.0}),
               _snapshot("worker", 'w"2', {"jobs_done": 5}, {})]
    text = render(_snapshot("api", "a1", {}, {}), workers)
    assert 'timeline_worker_jobs_done_total{process="w1"} 3\n' in text
    assert 'timeline_worker_jobs_done_total{process="w\\"2"} 5\n' in text
    assert 'timeline_worker_fanout_lag_p99_seconds{process="w1"} 0.25\n' in text
    assert text.count("# TYPE timeline_worker_jobs_done_total counter") == 1


def test_prometheus_accept_header_selects_the_text_format():
    """Prometheus's scraper gets text; a browser's or curl's Accept keeps the JSON answer."""
    prometheus = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    assert wants_exposition(prometheus)
    assert not wants_exposition("*/*")
    assert not wants_exposition("")
    assert not wants_exposition("application/json")
