"""chaoskit.testing is public API: __all__ names every public helper, and the helpers behave as documented."""

from __future__ import annotations

import inspect

import pytest

from chaoskit import testing
from chaoskit.errors import Aborted
from chaoskit.faults.catalogue import build
from chaoskit.testing import FakeClock, FakeFaults, JournalCapture


def test_all_lists_exactly_the_public_helpers() -> None:
    """__all__ names every public class the package offers, each documented, and nothing else."""
    offered = {name for name, obj in vars(testing).items() if not name.startswith("_") and inspect.isclass(obj)}
    assert set(testing.__all__) == offered
    assert all(getattr(testing, name).__doc__ for name in testing.__all__)


def test_fake_clock_moves_only_when_slept_on_and_can_interrupt() -> None:
    """sleep advances now (at least min_sleep); wall is epoch + now; interrupt_at raises Aborted once."""
    clock = FakeClock(epoch=1000.0, min_sleep=0.5, interrupt_at=2.0)
    clock.sleep(0.0)
    assert clock() == 0.5 and clock.wall() == 1000.5
    with pytest.raises(Aborted, match="SIGTERM"):
        clock.sleep(2.0)
    clock.sleep(1.0)  # only once
    assert clock() == 3.5


def test_fake_faults_fail_when_told_and_note_every_call() -> None:
    """A fault told to fail its revert fails that many times, then reverts; each call is noted in order."""
    faults = FakeFaults(revert_failures=1)
    fault = faults("anything", {"x": 1})
    fault.apply(None)  # type: ignore[arg-type]
    assert faults.active
    with pytest.raises(Exception, match="told to fail"):
        fault.revert(None)  # type: ignore[arg-type]
    fault.revert(None)  # type: ignore[arg-type]
    assert [c.action for c in faults.calls] == ["apply", "revert", "revert"] and not faults.active
    assert fault.record()["kind"] == "fake.fault"


def test_journal_capture_keeps_events_in_order_on_the_bound_clock() -> None:
    """Events carry the bound clock's time; finish keeps the verdict."""
    journal = JournalCapture()
    clock = FakeClock(3.0)
    journal.bind_clock(clock)
    journal.event("fault.applied", fault="x")
    journal.finish("verdict", "facts")
    assert journal.events == [{"t": 3.0, "event": "fault.applied", "fault": "x"}]
    assert journal.names() == ["fault.applied"] and journal.finished == {"verdict": "verdict", "facts": "facts",
                                                                          "load": None, "prometheus": None}


def test_the_fake_fault_is_not_in_the_catalogue() -> None:
    """A fake fault cannot be named in an experiment file: it exists only where a test builds it."""
    with pytest.raises(Exception):
        build("fake.fault", {})
