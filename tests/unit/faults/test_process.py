"""Process faults against the fake target backend: matching by name or by marker, never by PIDs."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import TargetNotFound
from chaoskit.faults.catalogue import build, from_record
from chaoskit.targets import Container
from chaoskit.testing import FakeProcess, FakeTargetBackend


@pytest.fixture
def backend() -> FakeTargetBackend:
    backend = FakeTargetBackend([Container("id-w", "worker-1")])
    backend.add_process("worker-1", FakeProcess("python3", "python3 worker.py"))
    backend.add_process("worker-1", FakeProcess("sleep", "sleep 9"))
    return backend


def test_kill_by_name_signals_only_matching_processes(backend: FakeTargetBackend) -> None:
    """process.kill signals the processes with that name and no other."""
    fault = build("process.kill", {"name": "python3", "signal": "SIGTERM"}, backend.ref("worker-1"))
    fault.prepare(Backends(targets=backend))
    fault.apply(Backends(targets=backend))
    python, sleep = backend.processes["id-w"]
    assert python.signals == ["SIGTERM"] and sleep.signals == []


def test_kill_of_a_name_nothing_has_fails_in_prepare(backend: FakeTargetBackend) -> None:
    """prepare refuses a name no process of the target has, before anything is recorded."""
    with pytest.raises(TargetNotFound, match="no process named 'nginx' in worker-1"):
        build("process.kill", {"name": "nginx"}, backend.ref("worker-1")).prepare(Backends(targets=backend))


def test_kill_revert_starts_a_target_whose_main_process_died(backend: FakeTargetBackend) -> None:
    """process.kill's revert starts the target if it stopped, and leaves a running one alone."""
    fault = build("process.kill", {"name": "python3"}, backend.ref("worker-1"))
    fault.revert(Backends(targets=backend))
    assert "start" not in backend.operations()
    backend.kill(backend.ref("worker-1"), "SIGKILL")
    fault.revert(Backends(targets=backend))
    assert backend.operations()[-1] == "start"


def test_cpu_hog_starts_workers_under_timeout_once_and_revert_kills_them(backend: FakeTargetBackend) -> None:
    """process.cpu_hog execs one marked, time-limited shell per worker, once; revert SIGKILLs exactly those."""
    fault = build("process.cpu_hog", {"workers": 2, "max_duration": "1m"}, backend.ref("worker-1"))
    fault.apply(Backends(targets=backend))
    fault.apply(Backends(targets=backend))
    execs = [c for c in backend.calls if c[0] == "exec"]
    assert len(execs) == 2
    argv = execs[0][2]
    assert argv[:4] == ("timeout", "60", "sh", "-c") and f"chaoskit-hog-{fault.token}" in argv[4]
    from_record(fault.record()).revert(Backends(targets=backend))
    hogs = [p for p in backend.processes["id-w"] if "chaoskit-hog" in p.cmdline]
    assert [p.signals for p in hogs] == [["SIGKILL"], ["SIGKILL"]]
    assert backend.processes["id-w"][0].signals == []


def test_memory_hog_holds_the_megabytes_for_its_max_duration(backend: FakeTargetBackend) -> None:
    """process.memory_hog's script reads that many MiB and holds them until max_duration (default 600 s)."""
    fault = build("process.memory_hog", {"megabytes": 64}, backend.ref("worker-1"))
    fault.apply(Backends(targets=backend))
    script = backend.calls[-1][2][4]
    assert "head -c 64M /dev/zero; sleep 600" in script and backend.calls[-1][2][1] == "600"
