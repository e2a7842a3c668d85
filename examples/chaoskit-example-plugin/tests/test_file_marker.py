"""example.file_marker on chaoskit's fake target backend: what it asks the target to do, and its revert."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import RevertFailed
from chaoskit.faults.catalogue import catalogue, from_record
from chaoskit.targets.container import Container, TargetRef
from chaoskit.testing import FakeTargetBackend
from chaoskit_example_plugin import FileMarker


@pytest.fixture
def backend() -> FakeTargetBackend:
    return FakeTargetBackend([Container("c1", "web-1", state="running")])


def marker(backend: FakeTargetBackend, **params: str) -> FileMarker:
    return FileMarker(params=FileMarker.signature.parse({"path": "/tmp/maintenance", **params}),
                      target=backend.ref("web-1"))


def test_chaoskit_finds_the_installed_plugin():
    """The entry point makes the fault part of chaoskit's catalogue, under its kind, from this distribution."""
    found = catalogue()
    assert found.faults["example.file_marker"] is FileMarker
    assert found.origins["example.file_marker"].startswith("chaoskit-example-plugin ")


def test_apply_writes_the_file_through_exec(backend):
    """prepare looks, apply writes the content to the path; both through the target backend's exec."""
    fault = marker(backend, content="down for maintenance")
    fault.prepare(Backends(targets=backend))
    fault.apply(Backends(targets=backend))
    script = [call[2] for call in backend.calls if call[0] == "exec"][-1]
    assert script[-2:] == ("/tmp/maintenance", "down for maintenance")


def test_revert_from_the_record_removes_the_file(backend):
    """The fault rebuilt from its ledger record (as `chaoskit rollback` does) removes the file, twice safely."""
    fault = marker(backend)
    fault.apply(Backends(targets=backend))
    rebuilt = from_record(fault.record())
    rebuilt.revert(Backends(targets=backend))
    rebuilt.revert(Backends(targets=backend))
    assert [call[2] for call in backend.calls if call[0] == "exec"][-1] == ("rm", "-f", "/tmp/maintenance")


def test_revert_on_a_stopped_target_stays_pending(backend):
    """A stopped target cannot run rm: revert fails, so the ledger keeps the fault for a later rollback."""
    fault = marker(backend)
    backend.stop(backend.ref("web-1"), 0)
    with pytest.raises(RevertFailed, match="start it, then run `chaoskit rollback` again"):
        fault.revert(Backends(targets=backend))


def test_revert_on_a_removed_target_is_done(backend):
    """A target that no longer exists took the file with it: nothing to revert."""
    fault = FileMarker(params=FileMarker.signature.parse({"path": "/tmp/m"}), target=TargetRef("gone", "gone-1"))
    fault.revert(Backends(targets=backend))
