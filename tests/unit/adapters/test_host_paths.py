"""Where a path inside a container lives on the host: what a disk fill records so its revert outlives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.adapters.host import HostFiles, container_path_on_host, live_view
from chaoskit.adapters.target_backend import NetworkAttachment
from chaoskit.errors import BackendError

LAYER = "/var/lib/docker/overlay2/abc"
ATTRS = {
    "Name": "/db",
    "State": {"Pid": 4242},
    "Mounts": [{"Type": "volume", "Destination": "/var/lib/postgresql", "Source": "/volumes/pg/_data"}],
    "HostConfig": {"Tmpfs": {"/run/scratch": "size=64m"}},
    "GraphDriver": {"Data": {"UpperDir": f"{LAYER}/diff", "MergedDir": f"{LAYER}/merged"}},
}


def test_a_volume_path_is_its_source() -> None:
    """A path under a mount maps to the mount's source on the host."""
    assert container_path_on_host(ATTRS, "/var/lib/postgresql/data") == Path("/volumes/pg/_data/data")


def test_the_containers_own_filesystem_is_its_writable_layer_not_proc() -> None:
    """A path in the container's own filesystem is recorded in its overlay upper dir, which a restart keeps."""
    assert container_path_on_host(ATTRS, "/tmp") == Path(f"{LAYER}/diff/tmp")


def test_a_tmpfs_is_reached_through_the_running_process_only() -> None:
    """A tmpfs exists only in the container's mount namespace: /proc/PID/root while it runs, an error when not."""
    assert container_path_on_host(ATTRS, "/run/scratch/x") == Path("/proc/4242/root/run/scratch/x")
    with pytest.raises(BackendError, match="tmpfs"):
        container_path_on_host({**ATTRS, "State": {"Pid": 0}}, "/run/scratch")


def test_without_an_overlay_layer_the_process_root_is_the_fallback() -> None:
    """A storage driver without an UpperDir leaves /proc/PID/root, and nothing when stopped."""
    bare = {**ATTRS, "GraphDriver": {}}
    assert container_path_on_host(bare, "/tmp") == Path("/proc/4242/root/tmp")
    with pytest.raises(BackendError, match="cannot reach"):
        container_path_on_host({**bare, "State": {}}, "/tmp")


def test_a_layer_path_is_used_as_it_is_when_its_merged_view_is_not_mounted(tmp_path) -> None:
    """Only a mounted merged/ view replaces the layer path; any other path is left alone."""
    layer = tmp_path / "diff" / "tmp" / "f"
    assert live_view(layer) == layer
    assert live_view(Path("/srv/data/f")) == Path("/srv/data/f")


def test_usage_of_a_directory_the_fill_will_create_is_its_nearest_parent(tmp_path) -> None:
    """A fill location whose directory does not exist yet (a stopped container's layer) is measured at its parent."""
    usage = HostFiles().filesystem_usage(str(tmp_path / "not" / "yet" / "fill"))
    assert usage.total_bytes > 0


def test_a_network_attachment_survives_its_record() -> None:
    """An attachment written to the ledger (lists) reads back equal; unknown keys from a newer record are ignored."""
    attachment = NetworkAttachment(aliases=("cache",), ipv4_address="172.30.0.7", links=("peer:upstream",),
                                   address="172.30.0.7")
    assert NetworkAttachment.from_dict({**attachment.to_dict(), "mac": "x"}) == attachment
