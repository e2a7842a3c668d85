"""The bucket store keeps the latest seconds in memory and spills older ones, losing none of them."""

from __future__ import annotations

import json

import pytest

from chaoskit.journal import JournalFile
from chaoskit.measure.store import BucketDicts, BucketStore
from chaoskit.measure.window import seconds_of, summarize
from tests.unit.measure.factory import MONO0, steady


def filled(count: int, keep_s: int) -> tuple[BucketStore, list]:
    store = BucketStore(keep_s=keep_s)
    seconds = [steady(i, 0.010 + i / 1000, n=50, failed=i % 3) for i in range(count)]
    for bucket in seconds:
        store.append(bucket)
    return store, seconds


def test_older_seconds_are_spilled_and_read_back_whole():
    """Beyond keep_s, seconds leave memory but a window over them sees every request they held."""
    store, seconds = filled(12, keep_s=4)
    assert len(store) == 12 and [b.index for b in store.latest(10)] == [8, 9, 10, 11]
    back = store.seconds(MONO0 + 2, MONO0 + 9)
    assert len(back) == 7 and [b.index for b in back] == list(range(2, 9))
    for got, want in zip(back, seconds[2:9]):
        assert got.to_dict() == want.to_dict()
    assert summarize(iter(store)).to_dict() == summarize(seconds).to_dict()
    assert list(store.dicts()) == [b.to_dict() for b in seconds]
    assert store.snapshot()[0].latency.get_total_count() == 50


def test_a_window_partly_spilled_and_partly_in_memory():
    """A window straddling the spill boundary is read from both, in order: its whole seconds only."""
    store, _ = filled(8, keep_s=3)
    assert [b.index for b in store.seconds(MONO0 + 3.5, MONO0 + 7.0)] == [4, 5, 6]
    assert not store.seconds(MONO0 + 100, MONO0 + 200)


@pytest.mark.parametrize("start,end", [(2.0, 9.0), (3.5, 6.5), (0.2, 0.7), (4.5, 5.2), (4.6, 4.9), (7.5, 30.0),
                                       (-5.0, 0.5), (0.0, 12.0), (11.0, 12.0)])
def test_seconds_are_the_whole_seconds_of_the_span_as_in_memory(start, end):
    """store.seconds picks what seconds_of picks from every bucket in memory (the overlapped ones if none is whole)."""
    store, seconds = filled(12, keep_s=4)
    picked = store.seconds(MONO0 + start, MONO0 + end)
    want = seconds_of(seconds, MONO0 + start, MONO0 + end)
    assert [b.index for b in picked] == [b.index for b in want] and len(picked) == len(want)
    assert [b.to_dict() for b in picked] == [b.to_dict() for b in want]


def test_keep_must_hold_a_second():
    with pytest.raises(ValueError):
        BucketStore(keep_s=0)


def test_the_journal_gets_the_buckets_as_it_writes_them(tmp_path):
    """BucketDicts is a list to json and to the journal, read from the store when written, with ``t`` on the run's clock."""
    store, seconds = filled(6, keep_s=2)
    dicts = BucketDicts(store, t0=MONO0 - 10.0)
    assert len(dicts) == 6 and dicts[0]["t"] == 10.0 and dicts[5]["index"] == 5
    journal = JournalFile(tmp_path / "j.json", {"events": []})
    journal.finish({"load": {"buckets": dicts}})
    written = json.loads((tmp_path / "j.json").read_text())["load"]["buckets"]
    assert [b["index"] for b in written] == list(range(6)) and written[2]["t"] == 12.0
    assert written[3]["latency"] == seconds[3].to_dict()["latency"]
