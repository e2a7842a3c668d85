"""Reverts give back what was there, against the real engine and the real Toxiproxy.

A proxy disabled before ``network.down`` stays disabled; a partitioned
container comes back with its pinned address, aliases and links; a fill file
in a container's own filesystem is removed even after the container restarted.
"""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import docker.errors
import docker.types
import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.adapters.host import filesystem_usage
from chaoskit.errors import BackendError, TargetNotFound
from chaoskit.faults.base import TargetRef
from chaoskit.faults.catalogue import build, from_record
from tests.conftest import TEST_LABELS

pytestmark = [pytest.mark.docker, pytest.mark.timeout(180)]

IMAGE = "debian:bookworm-slim"
MIB = 1 << 20


@pytest.fixture
def backends(engine, toxiproxy) -> Backends:
    return Backends(toxiproxy_url=toxiproxy.api_url, targets=DockerBackend(engine))


def ref(container) -> TargetRef:
    return TargetRef(id=container.id, name=container.name)


def cycle(fault, backends):
    """prepare, record, apply; the fault rebuilt from its record, as `rollback` would revert it."""
    fault.prepare(backends)
    record = fault.record()
    fault.apply(backends)
    return from_record(record)


def test_network_down_leaves_a_proxy_that_was_disabled_disabled(toxiproxy, web, backends):
    """A proxy someone disabled before the fault is still disabled after the revert; an enabled one is enabled."""
    toxiproxy.client.set_enabled("web", False)
    rebuilt = cycle(build("network.down", {"proxy": "web"}), backends)
    assert rebuilt.state == {"was_enabled": False}
    rebuilt.revert(backends)
    assert toxiproxy.client.proxy("web").enabled is False
    toxiproxy.client.set_enabled("web", True)
    rebuilt = cycle(build("network.down", {"proxy": "web"}), backends)
    assert toxiproxy.client.proxy("web").enabled is False
    rebuilt.revert(backends)
    assert toxiproxy.client.proxy("web").enabled is True


def test_proxy_names_cannot_reach_another_endpoint(toxiproxy, web):
    """'../reset' would reach POST /reset (enabling every proxy, removing every toxic) and 'web/toxics' the toxic
    list; both are refused, and a name with ? or # is one segment (a 404, not the 'web' proxy)."""
    from chaoskit.adapters.toxiproxy import Toxic

    toxiproxy.client.add_toxic("web", Toxic(name="keep", type="latency", attributes={"latency": 10}))
    toxiproxy.client.set_enabled("web", False)
    for name in ("../reset", "..", "web/toxics"):
        with pytest.raises(BackendError, match="addressed safely"):
            toxiproxy.client.set_enabled(name, True)
    for name in ("web?x=1", "web#x", "web%2Ftoxics"):
        with pytest.raises(TargetNotFound):
            toxiproxy.client.proxy(name)
    state = toxiproxy.client.proxy("web")
    assert [t.name for t in state.toxics] == ["keep"] and state.enabled is False


@pytest.fixture
def subnet_network(engine):
    """A bridge network with a configured subnet (where pinned addresses are allowed)."""
    for _ in range(20):
        subnet = f"172.{random.randint(20, 31)}.{random.randint(0, 255)}.0/24"
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        try:
            net = engine.client.networks.create(f"chaoskit-test-{uuid.uuid4().hex[:8]}", ipam=ipam, labels=TEST_LABELS)
        except docker.errors.APIError:  # another network (another session's) has that subnet
            continue
        yield net.name, subnet.rsplit(".", 1)[0]
        net.reload()
        for container in net.containers:
            container.remove(force=True, v=True)
        net.remove()
        return
    pytest.fail("no free /24 for a test network")


def test_disconnect_reattaches_with_the_pinned_address_aliases_and_links(engine, backends, run_container, subnet_network):
    """After the revert the container has the same configured IPv4 address, aliases and links on the network."""
    network, prefix = subnet_network
    peer = run_container(IMAGE, ["sleep", "600"], network=network)
    target = run_container(IMAGE, ["sleep", "600"], network_mode="none")
    api = engine.client.api
    api.disconnect_container_from_network(target.id, "none")
    api.connect_container_to_network(target.id, network, aliases=["cache"], ipv4_address=f"{prefix}.77",
                                     links=[(peer.name, "upstream")])

    def attached() -> dict:
        return engine.inspect(target.id)["NetworkSettings"]["Networks"][network]

    before = attached()
    rebuilt = cycle(build("container.disconnect", {"network": network}, ref(target)), backends)
    assert network not in engine.inspect(target.id)["NetworkSettings"]["Networks"]
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    after = attached()
    assert after["IPAMConfig"]["IPv4Address"] == f"{prefix}.77" and after["IPAddress"] == f"{prefix}.77"
    assert "cache" in after["Aliases"]
    assert after["Links"] == before["Links"] and after["Links"]


def test_disk_fill_in_the_containers_own_filesystem_is_removed_after_a_restart(engine, backends, run_container):
    """The fill is recorded at its host path (the writable layer), so a revert after the container restarted
    (a new PID, a new /proc/PID/root) still removes the file and the space comes back."""
    container = run_container(IMAGE, ["sleep", "600"])
    fault = build("disk.fill", {"path": "/tmp", "bytes": "256MiB", "force": True}, ref(container))
    rebuilt = cycle(fault, backends)
    location = Path(rebuilt.state["fill_file"])
    upper = Path(engine.inspect(container.id)["GraphDriver"]["Data"]["UpperDir"])
    assert location == upper / "tmp" / f".chaoskit-fill-{fault.token}" and not str(location).startswith("/proc/")
    assert os.stat(location).st_blocks * 512 >= 256 * MIB
    filled_free = filesystem_usage(upper).free_bytes
    code, listing = engine.exec(container.id, ["ls", "-a", "/tmp"])
    assert f".chaoskit-fill-{fault.token}" in listing

    container.restart(timeout=0)
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert not location.exists()
    code, listing = engine.exec(container.id, ["ls", "-a", "/tmp"])
    assert code == 0 and ".chaoskit-fill" not in listing
    # The disk is shared with other work: allow it 64 MiB of other writes meanwhile.
    assert filesystem_usage(upper).free_bytes >= filled_free + 192 * MIB


def test_disk_fill_is_removed_from_a_stopped_container(engine, backends, run_container):
    """With the container stopped (its overlay unmounted) the revert removes the file from the layer directly."""
    container = run_container(IMAGE, ["sleep", "600"])
    rebuilt = cycle(build("disk.fill", {"path": "/var/tmp", "bytes": "16MiB", "force": True}, ref(container)), backends)
    location = Path(rebuilt.state["fill_file"])
    assert location.exists()
    container.stop(timeout=0)
    rebuilt.revert(backends)
    assert not location.exists()
    container.start()
    code, listing = engine.exec(container.id, ["ls", "-a", "/var/tmp"])
    assert code == 0 and ".chaoskit-fill" not in listing
