"""Buckets made by hand for tests of the pure measure modules (no generator, no network)."""

from __future__ import annotations

from collections.abc import Sequence

from chaoskit.measure.buckets import Bucket, new_histogram, record_many

WALL0 = 1_700_000_000.0
MONO0 = 5_000.0


def bucket(
    index: int,
    latencies_s: Sequence[float] = (),
    *,
    failed: int = 0,
    timed_out: int = 0,
    target: int | None = None,
    sent: int | None = None,
    lags_s: Sequence[float] = (),
    in_flight: int = 0,
    oldest_pending_s: float = 0.0,
    duration_s: float = 1.0,
    cpu_s: float = 0.0,
    steal: float = 0.0,
    highest_us: int = 5_000_000,
) -> Bucket:
    """One second of load: ``latencies_s`` are every outcome's latency; the last failed+timed_out are errors."""
    latency = new_histogram(highest_us)
    overflow = record_many(latency, latencies_s)
    lag = new_histogram(60_000_000)
    record_many(lag, lags_s)
    completed = len(latencies_s)
    sent = completed if sent is None else sent
    return Bucket(
        index=index, start=WALL0 + index, start_mono=MONO0 + index, duration_s=duration_s,
        target=sent if target is None else target, sent=sent,
        succeeded=completed - failed - timed_out, failed=failed, timed_out=timed_out,
        latency=latency, lag=lag, overflow=overflow, in_flight=in_flight, oldest_pending_s=oldest_pending_s, cpu_s=cpu_s,
        steal=steal,
    )


def steady(index: int, latency_s: float, n: int = 100, spread: float = 0.1, **kwargs: object) -> Bucket:
    """A second of ``n`` requests with latencies spread evenly around ``latency_s`` (+-spread, relative)."""
    values = [latency_s * (1 - spread + 2 * spread * i / max(1, n - 1)) for i in range(n)]
    return bucket(index, values, **kwargs)  # type: ignore[arg-type]
