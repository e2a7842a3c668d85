"""The heap is frozen while any load generator runs, and thawed when the last one stops."""

from __future__ import annotations

import gc

from chaoskit.measure.loadgen import freeze_heap, thaw_heap


def test_nested_freezes_thaw_with_the_last():
    assert gc.get_freeze_count() == 0
    kept = [object() for _ in range(10)]  # tracked containers are what gets frozen
    kept.append([kept])
    freeze_heap()
    freeze_heap()
    assert gc.get_freeze_count() > 0
    thaw_heap()
    assert gc.get_freeze_count() > 0, "one generator still runs"
    thaw_heap()
    assert gc.get_freeze_count() == 0
