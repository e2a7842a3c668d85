"""Every fault kind applied to and reverted from real containers and the real Toxiproxy, twice over."""

from __future__ import annotations

import http.client
import time

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.errors import ApplyFailed, TargetNotFound
from chaoskit.faults.base import TargetRef
from chaoskit.faults.catalogue import build, from_record
from tests.support import wait_until

pytestmark = pytest.mark.docker


@pytest.fixture
def backends(engine, toxiproxy) -> Backends:
    # The session's engine connection, behind the Docker target backend faults use.
    return Backends(toxiproxy_url=toxiproxy.api_url, targets=DockerBackend(engine))


@pytest.fixture
def sleeper(run_container):
    """A container that runs until killed; sh and coreutils inside for the hogs."""
    return run_container("debian:bookworm-slim", ["sleep", "600"], tmpfs={"/data": "size=64m"}, init=False)


def ref(container) -> TargetRef:
    return TargetRef(id=container.id, name=container.name)


def state(engine, container) -> dict:
    return engine.inspect(container.id)["State"]


def cycle(fault, backends):
    """prepare, record, apply twice; then revert twice from a rebuilt record (as `rollback` would)."""
    fault.prepare(backends)
    record = fault.record()
    fault.apply(backends)
    fault.apply(backends)
    return from_record(record)


@pytest.mark.parametrize("kind", ["container.kill", "container.stop", "container.restart"])
def test_container_down_faults_revert_to_running(kind, engine, backends, sleeper):
    """kill/stop take the container down (restart bounces it); revert leaves it running."""
    fault = build(kind, {"timeout": 0} if kind != "container.kill" else {}, ref(sleeper))
    started_at = state(engine, sleeper)["StartedAt"]
    rebuilt = cycle(fault, backends)
    if kind == "container.restart":
        assert state(engine, sleeper)["StartedAt"] != started_at
    else:
        assert state(engine, sleeper)["Running"] is False
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert state(engine, sleeper)["Running"] is True


def test_pause_freezes_and_revert_unpauses(engine, backends, sleeper):
    """pause leaves the container paused; revert unpauses it."""
    rebuilt = cycle(build("container.pause", {}, ref(sleeper)), backends)
    assert state(engine, sleeper)["Paused"] is True
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert state(engine, sleeper)["Paused"] is False


def test_a_paused_container_can_be_killed_and_both_reverts_leave_it_running(engine, backends, sleeper):
    """worker-crash.yaml's hang-then-crash: kill while paused; the pause's revert finds nothing to unpause."""
    pause = build("container.pause", {}, ref(sleeper))
    kill = build("container.kill", {}, ref(sleeper))
    pause.apply(backends)
    kill.apply(backends)
    assert state(engine, sleeper)["Running"] is False
    pause.revert(backends)
    kill.revert(backends)
    assert state(engine, sleeper)["Running"] is True and state(engine, sleeper)["Paused"] is False


def test_disconnect_partitions_and_revert_restores_alias(engine, backends, run_container, network):
    """disconnect removes the container from the network; revert reconnects it under its alias."""
    target = run_container("debian:bookworm-slim", ["sleep", "600"], network=network)
    engine.client.api.disconnect_container_from_network(target.id, network)
    engine.client.api.connect_container_to_network(target.id, network, aliases=["cache"])
    rebuilt = cycle(build("container.disconnect", {"network": network}, ref(target)), backends)
    assert network not in engine.inspect(target.id)["NetworkSettings"]["Networks"]
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert "cache" in engine.inspect(target.id)["NetworkSettings"]["Networks"][network]["Aliases"]


def test_disconnect_from_a_network_it_is_not_on_is_refused(backends, sleeper):
    """A partition from a network the container is not on fails before anything is applied."""
    with pytest.raises(TargetNotFound, match="not on network"):
        build("container.disconnect", {"network": "nowhere"}, ref(sleeper)).prepare(backends)


def test_process_kill_by_name_and_revert_restarts(engine, backends, sleeper):
    """Killing the container's main process by name takes it down; revert starts it again."""
    rebuilt = cycle(build("process.kill", {"name": "sleep", "signal": "SIGKILL"}, ref(sleeper)), backends)
    wait_until(lambda: not state(engine, sleeper)["Running"], what="container to exit")
    rebuilt.revert(backends)
    assert state(engine, sleeper)["Running"] is True


def test_process_kill_of_a_missing_name_is_refused(backends, sleeper):
    """No process of that name: TargetNotFound at prepare, nothing applied."""
    with pytest.raises(TargetNotFound, match="no process named"):
        build("process.kill", {"name": "no-such-process"}, ref(sleeper)).prepare(backends)


def hog_processes(engine, container, fault) -> list:
    import psutil

    procs = [psutil.Process(pid) for pid in engine.pids(container.id)]
    return [p for p in procs if f"chaoskit-hog-{fault.token}" in " ".join(p.cmdline())]


def test_cpu_hog_burns_cpu_until_reverted(engine, backends, sleeper):
    """A CPU hog's processes accumulate CPU time (a busy loop, however loaded the machine); revert leaves none."""
    fault = build("process.cpu_hog", {"workers": 2}, ref(sleeper))
    rebuilt = cycle(fault, backends)
    wait_until(lambda: len(hog_processes(engine, sleeper, fault)) >= 2, what="two hogs")
    hogs = hog_processes(engine, sleeper, fault)
    before = sum(p.cpu_times().user + p.cpu_times().system for p in hogs)
    time.sleep(1.0)
    burned = sum(p.cpu_times().user + p.cpu_times().system for p in hogs) - before
    assert burned > 0.1
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert hog_processes(engine, sleeper, fault) == []


def test_memory_hog_holds_memory_until_reverted(engine, backends, sleeper):
    """A 64 MB memory hog raises the container's RSS by that much; revert gives it back."""
    import psutil

    def rss_mb() -> float:
        return sum(psutil.Process(pid).memory_info().rss for pid in engine.pids(sleeper.id)) / 2**20

    base = rss_mb()
    rebuilt = cycle(build("process.memory_hog", {"megabytes": 64}, ref(sleeper)), backends)
    wait_until(lambda: rss_mb() > base + 60, what="hog to hold 64 MB")
    rebuilt.revert(backends)
    wait_until(lambda: rss_mb() < base + 10, what="memory to come back")


def test_disk_fill_to_percent_and_revert_frees(engine, backends, sleeper):
    """disk.fill takes a small filesystem in the container to 95% at once; revert frees it."""
    from chaoskit.adapters.host import container_path_on_host, filesystem_usage

    host_dir = container_path_on_host(engine.inspect(sleeper.id), "/data")
    fault = build("disk.fill", {"path": "/data", "percent": 0.95}, ref(sleeper))
    rebuilt = cycle(fault, backends)
    assert filesystem_usage(host_dir).used_fraction >= 0.95
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert filesystem_usage(host_dir).used_fraction < 0.05


def test_disk_fill_refuses_a_large_filesystem_without_force(backends, sleeper):
    """The container's root filesystem (the host's disk) is over the safety cap: refused, nothing written."""
    with pytest.raises(ApplyFailed, match="safety cap"):
        build("disk.fill", {"path": "/tmp", "percent": 0.9}, ref(sleeper)).prepare(backends)


def get(port: int, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


TOXIC_FAULTS = {
    "network.latency": {"latency_ms": 300},
    "network.bandwidth": {"rate_kbps": 1},
    "network.timeout": {"timeout_ms": 0},
    "network.reset_peer": {"timeout_ms": 0},
    "network.slicer": {"average_size": 1, "size_variation": 0, "delay_us": 100000},
    "network.limit_data": {"bytes": 1},
    "network.slow_close": {"delay_ms": 100},
}


@pytest.mark.parametrize("kind", sorted(TOXIC_FAULTS))
def test_toxic_faults_add_and_remove_exactly_their_toxic(kind, toxiproxy, web, backends):
    """Each toxic fault adds one toxic of its type to the proxy; revert removes it and traffic is normal."""
    fault = build(kind, {"proxy": "web", **TOXIC_FAULTS[kind]})
    rebuilt = cycle(fault, backends)
    toxics = toxiproxy.client.proxy("web").toxics
    assert [t.type for t in toxics] == [fault.toxic_type]
    assert toxiproxy.toxics_seen_independently("web") == {f"chaoskit-{fault.token}"}
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert toxiproxy.client.proxy("web").toxics == ()
    assert get(web.port) == 200


def test_latency_fault_is_felt_by_the_client(web, backends):
    """A 300 ms latency fault shows in client round trips and is gone after revert."""
    def round_trip() -> float:
        start = time.perf_counter()
        get(web.port)
        return time.perf_counter() - start

    rebuilt = cycle(build("network.latency", {"proxy": "web", "latency_ms": 300}), backends)
    assert round_trip() >= 0.3
    rebuilt.revert(backends)
    assert round_trip() < 0.1


def test_network_down_refuses_connections_until_reverted(web, backends):
    """network.down disables the proxy (connections fail); revert enables it again."""
    rebuilt = cycle(build("network.down", {"proxy": "web"}), backends)
    with pytest.raises(OSError):
        get(web.port, timeout=2)
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert get(web.port) == 200


def test_missing_proxy_is_refused_before_anything_is_applied(backends, toxiproxy):
    """A network fault on a proxy that does not exist fails at prepare with TargetNotFound."""
    with pytest.raises(TargetNotFound, match="no-such-proxy"):
        build("network.latency", {"proxy": "no-such-proxy", "latency_ms": 10}).prepare(backends)
