"""The Docker target backend against the real engine: listing, states, networks and processes by match."""

from __future__ import annotations

import pytest

from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.adapters.target_backend import ProcessMatch, TargetBackend
from chaoskit.targets.container import TargetRef
from tests.support import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

IMAGE = "debian:bookworm-slim"


@pytest.fixture
def backend(engine) -> DockerBackend:
    return DockerBackend(engine)


def test_docker_backend_is_a_target_backend(backend) -> None:
    """DockerBackend honours the TargetBackend protocol."""
    assert isinstance(backend, TargetBackend)


def test_targets_are_listed_by_project_and_their_state_follows_the_engine(backend, run_container) -> None:
    """list_targets filters on the compose project label; state reads running, paused and stopped."""
    project = "chaoskit-test-backend"
    container = run_container(IMAGE, ["sleep", "600"], labels={"com.docker.compose.project": project},
                              network_mode="none")
    listed = backend.list_targets(project)
    assert [c.id for c in listed] == [container.id]
    target = listed[0].ref()
    assert backend.state(target) == "running"
    backend.pause(target)
    assert backend.state(target) == "paused"
    backend.unpause(target)
    backend.kill(target, "SIGKILL")
    wait_until(lambda: backend.state(target) == "stopped", what="the kill to be seen")


def test_networks_leave_out_the_engines_own_short_id_alias(backend, run_container, network) -> None:
    """networks() gives each network's aliases without the short id the engine adds by itself."""
    container = run_container(IMAGE, ["sleep", "600"], network=network)
    target = TargetRef(container.id, container.name)
    backend.disconnect(target, network)
    assert network not in backend.networks(target)
    backend.connect(target, network, ["db"])
    assert backend.networks(target)[network] == ("db",)


def test_processes_are_counted_and_signalled_by_match(backend, run_container) -> None:
    """count_processes and signal_processes find a container's processes by name, none once it stopped."""
    container = run_container(IMAGE, ["sh", "-c", "sleep 600 & sleep 601 & wait"], network_mode="none", init=False)
    target = TargetRef(container.id, container.name)
    sleeps = ProcessMatch(name="sleep")
    wait_until(lambda: backend.count_processes(target, sleeps) == 2, what="two sleeps")
    # The shell's own command line holds "sleep 601" too: name and marker together single out the one sleep.
    assert backend.count_processes(target, ProcessMatch(cmdline_contains="sleep 601")) == 2
    second = ProcessMatch(name="sleep", cmdline_contains="601")
    assert backend.signal_processes(target, second, "SIGKILL") == 1
    wait_until(lambda: backend.count_processes(target, sleeps) == 1, what="one sleep left")
    backend.stop(target, 0)
    assert backend.count_processes(target, sleeps) == 0
