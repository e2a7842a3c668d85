"""Counters of each process, summed over the stack from the shared directory."""

from __future__ import annotations

from pathlib import Path

from timeline.counters import Counters, read_snapshots, sum_snapshots


def test_known_names_start_at_zero(tmp_path: Path):
    """A counter that never moved is still reported, as 0."""
    counters = Counters("api", "a1", 100.0, names=["fallbacks"])
    counters.write(str(tmp_path))
    assert read_snapshots(str(tmp_path))[0]["counters"] == {"fallbacks": 0}


def test_totals_include_dead_processes(tmp_path: Path):
    """A killed replica's last counts still count, so totals never go backwards."""
    old = Counters("api", "a1", 100.0)
    old.add("fallbacks", 3)
    old.write(str(tmp_path))
    restarted = Counters("api", "a1", 200.0)
    restarted.add("fallbacks", 1)
    restarted.write(str(tmp_path))
    worker = Counters("worker", "w1", 100.0)
    worker.add("jobs_done", 5)
    worker.write(str(tmp_path))
    snapshots = read_snapshots(str(tmp_path))
    summed = sum_snapshots(snapshots, now=snapshots[0]["updated"])  # type: ignore[arg-type]
    assert summed["total"] == {"fallbacks": 4, "jobs_done": 5}
    assert summed["by_role"]["api"] == {"fallbacks": 4}  # type: ignore[index]


def test_live_lists_only_fresh_processes():
    """A process that has not written for a while is not live."""
    snaps = [
        {"role": "api", "process": "a", "updated": 100.0, "counters": {}},
        {"role": "api", "process": "b", "updated": 90.0, "counters": {}},
    ]
    assert sum_snapshots(snaps, now=101.0)["live"] == ["api:a"]


def test_unreadable_files_are_skipped(tmp_path: Path):
    """Half a file (a crash mid-write) does not break /metrics."""
    (tmp_path / "api-x-1.json").write_text("{trunc")
    assert read_snapshots(str(tmp_path)) == []
