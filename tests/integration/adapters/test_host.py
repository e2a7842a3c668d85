"""A real container's main process signalled by its host PID, and that PID refused once another process holds it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest

from chaoskit.adapters.host import container_process, signal_container_process
from tests.support import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(90)]

IMAGE = "debian:bookworm-slim"


def test_a_container_killed_by_its_host_pid_is_recorded_down_by_the_engine(run_container, engine):
    """SIGKILL to the main process from the host, no API call: the engine records the exit (137) by itself."""
    container = run_container(IMAGE, ["sleep", "infinity"], network_mode="none")
    pid = container.attrs["State"]["Pid"]
    main = container_process(container.id, pid)
    assert main is not None and main.name() == "sleep"
    assert signal_container_process(container.id, pid, "SIGKILL") is True
    wait_until(lambda: not engine.inspect(container.id)["State"]["Running"], what="the engine recording the exit")
    state = engine.inspect(container.id)["State"]
    assert state["ExitCode"] == 137 and not state["OOMKilled"]


def test_the_old_pid_of_a_dead_container_is_not_signalled_when_reused(run_container, engine):
    """The container's main PID handed to a host process after the container died: no signal reaches that process."""
    container = run_container(IMAGE, ["sleep", "infinity"], network_mode="none")
    pid = container.attrs["State"]["Pid"]
    container.kill()
    wait_until(lambda: not psutil.pid_exists(pid), what=f"pid {pid} free", timeout_s=20)
    squatter = _spawn_with_pid(pid)
    try:
        assert container_process(container.id, pid) is None
        assert signal_container_process(container.id, pid, "SIGKILL") is False
        assert squatter.poll() is None, "the process now holding the pid was killed"
    finally:
        squatter.kill()
        squatter.wait()


def _spawn_with_pid(pid: int, attempts: int = 200) -> subprocess.Popen:
    """A host process that gets ``pid`` (the kernel hands out ns_last_pid + 1 next; other forks may get there first)."""
    last_pid = Path("/proc/sys/kernel/ns_last_pid")
    for _ in range(attempts):
        last_pid.write_text(str(pid - 1))
        proc = subprocess.Popen(["sleep", "60"])
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    pytest.skip(f"could not get pid {pid} for a host process in {attempts} attempts (a busy machine forks meanwhile)")
