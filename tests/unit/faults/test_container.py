"""Container faults against the fake target backend: what each asks of the backend, and idempotence."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import TargetNotFound
from chaoskit.faults.catalogue import build, from_record
from chaoskit.targets import Container
from chaoskit.testing import FakeTargetBackend

API = Container("id-api-1", "api-1", labels={"com.docker.compose.service": "api"}, networks=("back", "front"))


@pytest.fixture
def backend() -> FakeTargetBackend:
    return FakeTargetBackend([API])


def test_kill_twice_kills_once_and_revert_starts_it_again(backend: FakeTargetBackend) -> None:
    """container.kill signals a running target once; its revert, rebuilt from the record, starts it once."""
    fault = build("container.kill", {"signal": "term"}, backend.ref("api-1"))
    fault.apply(Backends(targets=backend))
    fault.apply(Backends(targets=backend))
    assert [c for c in backend.calls if c[0] == "kill"] == [("kill", "api-1", "SIGTERM")]
    rebuilt = from_record(fault.record())
    rebuilt.revert(Backends(targets=backend))
    rebuilt.revert(Backends(targets=backend))
    assert backend.state_of("api-1") == "running" and backend.operations().count("start") == 1


@pytest.mark.parametrize("kind", ["container.stop", "container.restart"])
def test_grace_period_defaults_to_ten_seconds(backend: FakeTargetBackend, kind: str) -> None:
    """stop and restart pass the default grace period when none is given."""
    build(kind, {}, backend.ref("api-1")).apply(Backends(targets=backend))
    assert backend.calls[-1] == (kind.split(".")[1], "api-1", 10.0)


def test_revert_unpauses_a_paused_target_rather_than_starting_it(backend: FakeTargetBackend) -> None:
    """The shared revert of down-taking faults unpauses a paused target."""
    backend.pause(backend.ref("api-1"))
    build("container.stop", {}, backend.ref("api-1")).revert(Backends(targets=backend))
    assert backend.operations()[-1] == "unpause" and backend.state_of("api-1") == "running"


def test_pause_is_idempotent_both_ways(backend: FakeTargetBackend) -> None:
    """Pausing twice pauses once; unpausing a target that is not paused does nothing."""
    fault = build("container.pause", {}, backend.ref("api-1"))
    for _ in range(2):
        fault.apply(Backends(targets=backend))
    for _ in range(2):
        fault.revert(Backends(targets=backend))
    assert [op for op in backend.operations() if op in ("pause", "unpause")] == ["pause", "unpause"]


def test_disconnect_records_the_attachment_and_reattaches_with_it(backend: FakeTargetBackend) -> None:
    """container.disconnect keeps the network attachment in its record and reattaches with it."""
    fault = build("container.disconnect", {"network": "back"}, backend.ref("api-1"))
    fault.prepare(Backends(targets=backend))
    record = fault.record()
    assert record["state"]["attachment"]["aliases"] == ["api"]
    fault.apply(Backends(targets=backend))
    assert "back" not in backend.attached["id-api-1"]
    from_record(record).revert(Backends(targets=backend))
    assert backend.attached["id-api-1"]["back"] == ("api",)
    assert "reattach" in backend.operations()


def test_disconnect_record_with_aliases_only_still_reconnects(backend: FakeTargetBackend) -> None:
    """A ledger record from before attachments were kept ({aliases}) reconnects with those aliases."""
    fault = build("container.disconnect", {"network": "back"}, backend.ref("api-1"))
    fault.prepare(Backends(targets=backend))
    record = {**fault.record(), "state": {"aliases": ["api"]}}
    fault.apply(Backends(targets=backend))
    from_record(record).revert(Backends(targets=backend))
    assert backend.attached["id-api-1"]["back"] == ("api",)


def test_disconnect_from_a_network_the_target_is_not_on_fails_before_the_record(backend: FakeTargetBackend) -> None:
    """prepare refuses a network the target is not on, listing the ones it is on."""
    with pytest.raises(TargetNotFound, match="it is on: back, front"):
        build("container.disconnect", {"network": "nowhere"}, backend.ref("api-1")).prepare(Backends(targets=backend))
