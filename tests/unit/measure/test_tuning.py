"""While any load generator runs the process is tuned (short GIL switch interval, frozen heap); the last one to stop undoes it."""

from __future__ import annotations

import gc
import sys

from chaoskit.measure.tuning import GIL_SWITCH_INTERVAL_S, tune_process, untune_process


def test_overlapping_generators_restore_the_process_with_the_last():
    assert gc.get_freeze_count() == 0
    before = sys.getswitchinterval()
    assert before > GIL_SWITCH_INTERVAL_S
    kept = [object() for _ in range(10)]  # tracked containers are what gets frozen
    kept.append([kept])
    tune_process()  # say the monkey's generator
    tune_process()  # and a run's, started while the first runs
    assert gc.get_freeze_count() > 0 and sys.getswitchinterval() == GIL_SWITCH_INTERVAL_S
    untune_process()  # the first stops before the second: nothing is undone yet
    assert gc.get_freeze_count() > 0 and sys.getswitchinterval() == GIL_SWITCH_INTERVAL_S
    untune_process()
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == before
