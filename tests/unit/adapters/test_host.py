"""The guard before a container's process is signalled from the host, with real host processes (no engine).

A PID the engine reported may since belong to another process; that process is
not in the container's cgroup, which is what these processes stand for.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from chaoskit.adapters.host import container_process, count_processes, fill_file, signal_container_process
from chaoskit.adapters.target_backend import ProcessMatch

A_CONTAINER = "0" * 64  # no process on the host is in a cgroup named after it


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_process_outside_the_container_is_not_signalled(bystander):
    """A PID whose process is not in the container's cgroup gets no signal, and the call says so."""
    assert signal_container_process(A_CONTAINER, bystander.pid, "SIGKILL") is False
    assert bystander.poll() is None


def test_a_process_outside_the_container_is_not_offered(bystander):
    """container_process refuses a PID whose process is not the container's."""
    assert container_process(A_CONTAINER, bystander.pid) is None


def test_a_gone_process_is_not_signalled():
    """A PID with no process any more: nothing is sent, no error."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert signal_container_process(A_CONTAINER, proc.pid, "SIGKILL") is False
    assert container_process(A_CONTAINER, proc.pid) is None


def test_no_pid_is_not_a_process():
    """The engine's Pid of a stopped container is 0: never a process to signal."""
    assert container_process(A_CONTAINER, 0) is None


def test_fill_file_leaves_an_existing_file_as_it_is(tmp_path) -> None:
    """A second fill of the same file allocates nothing more (apply is idempotent)."""
    target = tmp_path / "fill"
    fill_file(target, 4096)
    fill_file(target, 1 << 20)
    assert target.stat().st_size == 4096


def test_processes_match_by_name_and_marker_but_never_chaoskit_itself(bystander) -> None:
    """count_processes over given PIDs matches name and command-line marker; chaoskit's own process never."""
    pids = [bystander.pid, os.getpid()]
    assert count_processes(pids, ProcessMatch(name="sleep")) == 1
    assert count_processes(pids, ProcessMatch(cmdline_contains="sleep 60")) == 1
    assert count_processes(pids, ProcessMatch(cmdline_contains="pytest")) == 0
