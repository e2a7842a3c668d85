"""Chart lines from load buckets: the quantiles computed with numpy are hdrh's own."""

from __future__ import annotations

import random

import pytest

from chaoskit.measure.buckets import Bucket, new_histogram, record_many
from chaoskit.report.series import _values


def bucket(latencies: list[float], failed: int = 0) -> Bucket:
    latency = new_histogram(60_000_000)
    record_many(latency, latencies)
    return Bucket(index=0, start=0.0, start_mono=0.0, duration_s=1.0, target=len(latencies), sent=len(latencies),
                  succeeded=len(latencies) - failed, failed=failed, timed_out=0, latency=latency,
                  lag=new_histogram(60_000_000), in_flight=3 if not latencies else 0,
                  oldest_pending_s=2.5 if not latencies else 0.0)


@pytest.mark.parametrize("seed", range(30))
def test_quantiles_equal_the_buckets_own(seed):
    """p50, p99 and the error rate are exactly what Bucket.metric says, for random latency mixes."""
    rng = random.Random(seed)
    b = bucket([rng.expovariate(1 / rng.choice((0.002, 0.05, 1.0))) for _ in range(rng.randint(1, 800))],
               failed=rng.randint(0, 3))
    assert _values(b) == {m: b.metric(m) for m in ("p50", "p99", "error_rate")}


def test_a_stalled_second_falls_back_to_the_bucket():
    """A second with nothing completed reports what the bucket reports (the oldest request's age)."""
    b = bucket([])
    assert _values(b)["p99"] == b.metric("p99") == 2.5
