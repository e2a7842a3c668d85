"""Per-second buckets: recording, rotation, per-second metrics and the JSON round trip."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hdrh.histogram import HdrHistogram

from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import FAILED, OK, TIMED_OUT, Bucket, add_histogram, new_histogram, record_many
from chaoskit.measure.recorder import BucketRecorder
from chaoskit.measure.store import BucketStore

from .factory import bucket


def test_grouped_recording_matches_one_by_one():
    """record_many puts every value in the same histogram cell record_value would."""
    rng = random.Random(5)
    values = [rng.lognormvariate(-7, 1.5) for _ in range(20_000)]
    grouped, single = new_histogram(10_000_000), new_histogram(10_000_000)
    record_many(grouped, values)
    for v in values:
        single.record_value(round(v * 1e6))
    assert grouped.get_total_count() == single.get_total_count() == 20_000
    for q in (1, 50, 90, 99, 99.9, 100):
        assert grouped.get_value_at_percentile(q) == single.get_value_at_percentile(q)


def test_values_beyond_the_range_are_counted_not_lost():
    """A latency above the highest trackable value is reported as refused."""
    hist = new_histogram(1_000_000)
    assert record_many(hist, [0.5, 0.7, 3.0, 9.0]) == 2
    assert hist.get_total_count() == 2


def make_recorder(kinds=("get",), pending=(0, 0, None)) -> tuple[BucketRecorder, BucketStore]:
    store = BucketStore()
    cpu = itertools.count(0.0, 0.25)
    stolen = itertools.count(7.0, 0.03)  # CPU-seconds stolen since boot, 30 ms more at each reading
    recorder = BucketRecorder(list(kinds), ArrivalSchedule(rate=10.0), t0=100.0, wall_t0=1e9,
                              highest_latency_us=5_000_000, store=store, pending_info=lambda: pending,
                              thread_time=lambda: next(cpu), steal_time=lambda: next(stolen))
    recorder.cpus = 2
    return recorder, store


def test_recorder_closes_each_second_with_its_counts():
    """Outcomes land in the second they became known; rotation closes empty seconds too."""
    recorder, store = make_recorder(pending=(3, 1, 102.5))
    recorder.sent(0, 0.001, 100.05)
    recorder.sent(0, 0.003, 100.15)
    recorder.outcome(0, OK, 0.020, 100.5)
    recorder.outcome(0, FAILED, 0.004, 100.9, "status 500")
    recorder.outcome(0, TIMED_OUT, 2.0, 101.2)  # closes second 0 first
    recorder.rotate(103.0)
    recorder.close_partial(103.35)
    b0, b1, b2, b3 = store.snapshot()
    assert (b0.index, b0.sent, b0.succeeded, b0.failed, b0.timed_out) == (0, 2, 1, 1, 0)
    assert b0.errors == {"status 500": 1}
    assert b0.target == 10 and b0.start == 1e9 and b0.start_mono == 100.0 and b0.duration_s == 1.0
    assert b0.lag.get_total_count() == 2 and b0.metric("lag_p99") == pytest.approx(0.003, rel=0.01)
    assert (b1.timed_out, b1.sent, b1.metric("p99")) == (1, 0, pytest.approx(2.0, rel=0.01))
    assert b2.completed == 0 and b2.index == 2
    assert b3.duration_s == pytest.approx(0.35) and b3.target == 4
    assert b3.in_flight == 3 and b3.waiting == 1 and b3.oldest_pending_s == pytest.approx(0.85)
    assert b0.cpu_s == 0.25
    assert b0.steal == pytest.approx(0.015)  # 30 ms of the 2 CPUs' 2 s
    assert b3.steal == pytest.approx(0.03 / 0.7)  # a short last second: 30 ms of 0.7 CPU-seconds
    assert Bucket.from_dict(b0.to_dict()).steal == b0.steal


def test_recorder_stops_targeting_after_the_schedule_stops():
    """Once the schedule is stopped, the seconds that follow (draining) target nothing."""
    recorder, store = make_recorder()
    recorder.schedule_stop = 1.5
    recorder.rotate(103.0)
    assert [b.target for b in store.snapshot()] == [10, 5, 0]


def test_several_kinds_keep_their_own_latencies():
    """With more than one request kind, each kind has its own counts and histogram."""
    recorder, store = make_recorder(kinds=("read", "post"))
    recorder.sent(0, 0.0, 100.1)
    recorder.sent(1, 0.0, 100.1)
    recorder.outcome(0, OK, 0.010, 100.2)
    recorder.outcome(1, FAILED, 0.300, 100.4, "status 503")
    recorder.rotate(101.0)
    (b,) = store.snapshot()
    assert b.by_kind["read"].succeeded == 1 and b.by_kind["post"].failed == 1
    assert b.by_kind["post"].latency.get_max_value() == pytest.approx(300_000, rel=0.01)
    assert b.latency.get_total_count() == 2


def test_metrics_of_a_second():
    """Latency quantiles are in seconds, error rate counts failures and timeouts, throughput successes."""
    b = bucket(0, [0.001] * 97 + [0.5] * 3, failed=2, timed_out=1)
    assert b.metric("p50") == pytest.approx(0.001, rel=0.01)
    assert b.metric("p99") == pytest.approx(0.5, rel=0.01)
    assert b.metric("error_rate") == pytest.approx(0.03)
    assert b.metric("throughput") == 97
    with pytest.raises(ValueError, match="unknown load metric"):
        b.metric("p42")


def test_a_stalled_second_reports_its_oldest_pending_request():
    """No completions but requests outstanding: the latency metric is their age, not 'no data'."""
    assert bucket(0, [], in_flight=40, oldest_pending_s=0.8).metric("p99") == 0.8
    assert bucket(0, []).metric("p99") is None


def test_json_round_trip_keeps_everything():
    """A bucket survives to_dict -> JSON -> from_dict with its counts and quantiles."""
    recorder, store = make_recorder(kinds=("read", "post"), pending=(2, 0, 100.7))
    for i in range(50):
        recorder.sent(i % 2, 0.0001 * i, 100.0 + i / 100)
        recorder.outcome(i % 2, OK if i % 7 else FAILED, 0.001 * (i + 1), 100.0 + i / 100, "status 500")
    recorder.rotate(101.0)
    (original,) = store.snapshot()
    copy = Bucket.from_dict(json.loads(json.dumps(original.to_dict())))
    assert copy.to_dict() == original.to_dict()
    for metric in ("p50", "p90", "p99", "p999", "error_rate", "throughput", "lag_p99"):
        assert copy.metric(metric) == original.metric(metric)
    assert copy.by_kind["post"].latency.get_total_count() == 25


def test_store_waits_for_buckets():
    """wait_for returns at once when enough buckets exist and False on timeout otherwise."""
    store = BucketStore()
    store.append(bucket(0, [0.001]))
    assert store.wait_for(1, timeout_s=0)
    assert not store.wait_for(2, timeout_s=0)


def test_each_second_is_published_in_tenths_too():
    """Ten tenths a second, each with the outcomes known in it; they add up to the second."""
    recorder, store = make_recorder(pending=(2, 0, 100.0))
    recorder.sent(0, 0.001, 100.01)
    recorder.outcome(0, OK, 0.020, 100.03)
    recorder.outcome(0, FAILED, 0.004, 100.25, "status 500")
    recorder.outcome(0, FAILED, 0.006, 100.27, "status 500")
    recorder.outcome(0, OK, 0.010, 100.99)
    recorder.rotate(101.05)
    tenths = store.slices(10.0)
    assert len(tenths) == 10 and tenths[0].start_mono == 100.0 and tenths[-1].end_mono == 101.0
    assert [t.failed for t in tenths] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
    assert (tenths[0].sent, tenths[0].succeeded, tenths[-1].succeeded) == (1, 1, 1)
    assert sum(t.latency.get_total_count() for t in tenths) == store.latest(1)[0].latency.get_total_count() == 4
    assert tenths[2].in_flight == 2 and tenths[2].oldest_pending_s == pytest.approx(0.3)
    recorder.close_partial(101.15)
    last = store.slices(0.15)
    assert len(last) == 2 and last[-1].duration_s == pytest.approx(0.05)  # the load's end closes a short tenth
    assert store.latest(1)[0].duration_s == pytest.approx(0.15)


def test_add_histogram_is_hdrh_add_across_word_sizes():
    """A second read back (64-bit counters) added to a merged one (32-bit): hdrh's counts and figures, vectorised."""
    values = [0.0042, 0.005, 0.0051, 0.2, 1.7, 0.00001]
    recorded = new_histogram(20_000_000)
    record_many(recorded, values)
    decoded = HdrHistogram.decode(recorded.encode())
    assert decoded.word_size == 8  # what makes hdrh's own add fall back to Python
    fast, slow = new_histogram(20_000_000), new_histogram(20_000_000)
    for merged in (fast, slow):
        record_many(merged, [0.003, 0.9])
    add_histogram(fast, decoded)
    slow.add(decoded)
    assert list(fast.counts) == list(slow.counts) and fast.get_total_count() == slow.get_total_count() == 8
    assert (fast.get_min_value(), fast.get_max_value(), fast.get_mean_value()) == (
        slow.get_min_value(), slow.get_max_value(), slow.get_mean_value())
    assert [fast.get_value_at_percentile(p) for p in (50, 99, 100)] == [slow.get_value_at_percentile(p) for p in (50, 99, 100)]
    other = new_histogram(60_000_000)  # another layout: hdrh's path
    record_many(other, [0.5])
    add_histogram(other, decoded)
    assert other.get_total_count() == 7
