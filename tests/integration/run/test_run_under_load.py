"""Verdicts judged from the load generator's client-side percentiles, against the real Toxiproxy."""

from __future__ import annotations

import json

import pytest

from tests.integration.run.test_run_cli import chaoskit, finish
from tests.integration.run.web_experiment import write_load_experiment

pytestmark = pytest.mark.docker


@pytest.mark.parametrize(("latency_ms", "verdict", "code"), [(0, "TOLERATED", 0), (1000, "FAILURE", 1)])
def test_load_probe_verdicts(tmp_path, web, toxiproxy, latency_ms, verdict, code):
    """No added latency is TOLERATED; 1 s of latency breaks the 300 ms p99 and is a FAILURE naming p99."""
    journal = tmp_path / "j.json"
    rc, out, err = finish(chaoskit("run", str(write_load_experiment(tmp_path, latency_ms)), *web.vars,
                                   "--journal", str(journal), ledger=tmp_path / "ledger.jsonl"), timeout=90)
    assert rc == code, out + err[-3000:]
    assert out.startswith(verdict)
    data = json.loads(journal.read_text())
    buckets = data["load"]["buckets"]
    assert len(buckets) >= 12 and all("t" in b for b in buckets)
    # Every load probe's fault window is compared with the baseline, and the comparison is journaled.
    compared = {(c["probe"], c["phase"]): c for c in data["load"]["comparisons"]}
    assert {("p99", "fault"), ("errors", "fault")} <= set(compared)
    assert compared[("p99", "fault")]["ci_low"] <= compared[("p99", "fault")]["ci_high"]
    if verdict == "FAILURE":
        assert "'p99'" in out and "% CI, order statistics" in out  # the verdict quotes the window p99's interval
        assert compared[("p99", "fault")]["ci_low"] > 0.5  # 1 s added: the whole interval is a big shift
        # Detected while the fault was in (how fast is a figure for a benchmark, not a timed test).
        assert 0 <= data["verdict"]["time_to_detect_s"] < 4.0
    assert toxiproxy.client.proxy("web").toxics == ()
