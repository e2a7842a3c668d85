"""While any load generator runs the process is tuned (short GIL switch interval, frozen heap, CPUs awake when asked); the last one to stop undoes it."""

from __future__ import annotations

import gc
import os
import struct
import sys

import pytest

from chaoskit.measure import tuning
from chaoskit.measure.tuning import GIL_SWITCH_INTERVAL_S, keep_cpus_awake, let_cpus_sleep, tune_process, untune_process


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


def _open_paths() -> list[str]:
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the fd listdir itself used, closed meanwhile
    return paths


def test_cpus_stay_awake_until_the_last_generator_that_asked_stops(tmp_path, monkeypatch):
    """The request is a file kept open with 0 written to it; overlapping generators close it with the last."""
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"\xff" * 4)
    monkeypatch.setattr(tuning, "CPU_LATENCY_DEVICE", str(device))
    keep_cpus_awake()
    keep_cpus_awake()
    assert device.read_bytes() == struct.pack("=i", 0)
    let_cpus_sleep()
    assert str(device) in _open_paths()
    let_cpus_sleep()
    assert str(device) not in _open_paths()


def test_a_refused_cpu_latency_request_holds_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tuning, "CPU_LATENCY_DEVICE", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        keep_cpus_awake()
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    monkeypatch.setattr(tuning, "CPU_LATENCY_DEVICE", str(device))
    keep_cpus_awake()  # the count did not keep the refused one: this one opens the file
    assert str(device) in _open_paths() and device.read_bytes() == struct.pack("=i", 0)
    let_cpus_sleep()
    assert str(device) not in _open_paths()
