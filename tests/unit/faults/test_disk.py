"""disk.fill against the fake target backend: how much it fills, the safety cap, a revert from the record."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ApplyFailed
from chaoskit.faults.catalogue import build, from_record
from chaoskit.faults.disk import bytes_to_fill
from chaoskit.targets import Container
from chaoskit.testing import FakeTargetBackend

MIB = 1 << 20


@pytest.fixture
def backend() -> FakeTargetBackend:
    return FakeTargetBackend([Container("id-db", "postgres-1")], disk_total=100 * MIB, disk_free=60 * MIB)


def test_fill_to_a_percentage_then_revert_from_the_record(backend: FakeTargetBackend) -> None:
    """A fill to 95% allocates what leaves 5% free, once; the rebuilt fault removes the same file."""
    fault = build("disk.fill", {"path": "/var/lib/postgresql", "percent": "95%"}, backend.ref("postgres-1"))
    fault.prepare(Backends(targets=backend))
    record = fault.record()
    fault.apply(Backends(targets=backend))
    fault.apply(Backends(targets=backend))
    location = f"id-db:/var/lib/postgresql/.chaoskit-fill-{fault.token}"
    assert record["state"] == {"fill_file": location}
    assert backend.files == {location: 55 * MIB}
    from_record(record).revert(Backends(targets=backend))
    assert backend.files == {}


def test_filesystems_over_the_cap_are_refused_unless_forced(backend: FakeTargetBackend) -> None:
    """A filesystem larger than max_filesystem_bytes is refused in prepare; force: true fills it anyway."""
    with pytest.raises(ApplyFailed, match="over the safety cap of 50 MiB"):
        build("disk.fill", {"path": "/data", "bytes": "1MiB", "max_filesystem_bytes": "50MiB"},
              backend.ref("postgres-1")).prepare(Backends(targets=backend))
    build("disk.fill", {"path": "/data", "bytes": "1MiB", "max_filesystem_bytes": "50MiB", "force": True},
          backend.ref("postgres-1")).prepare(Backends(targets=backend))


def test_bytes_to_fill_never_asks_for_more_than_is_free() -> None:
    """A percentage or a size is turned into bytes, bounded by the free space."""
    assert bytes_to_fill(100, 40, 0.9, None) == 30
    assert bytes_to_fill(100, 40, None, 10) == 10
    assert bytes_to_fill(100, 40, None, 1000) == 40
    assert bytes_to_fill(100, 5, 0.9, None) == 0


def test_the_cap_is_checked_again_at_apply(backend: FakeTargetBackend) -> None:
    """A filesystem that grew over the cap between prepare and apply (another volume mounted) is not filled."""
    fault = build("disk.fill", {"path": "/data", "percent": 0.9, "max_filesystem_bytes": "200MiB"},
                  backend.ref("postgres-1"))
    fault.prepare(Backends(targets=backend))
    backend.disk_total, backend.disk_free = 1 << 30, 1 << 29
    with pytest.raises(ApplyFailed, match="over the safety cap of 200 MiB"):
        fault.apply(Backends(targets=backend))
    assert backend.files == {}
