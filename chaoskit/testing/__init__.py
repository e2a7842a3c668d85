"""Helpers for testing code built on chaoskit (and chaoskit itself), without Docker, Toxiproxy or real time.

Public API, like ``structlog.testing``: import from ``chaoskit.testing``; the
underscore modules behind it are not. What there is:

* the world: :class:`FakeTargetBackend` (targets, their processes, networks and
  files; use it as ``Backends(targets=FakeTargetBackend(...))``) and
  :class:`FakeProcess`;
* time: :class:`FakeClock`, moved only by its ``sleep``;
* a run: :class:`FakeFaults` builds :class:`FakeFault` instances that record
  every apply and revert (:class:`FaultCall`) and fail when told to;
  :class:`FakeProbes` decides what probes see; :class:`JournalCapture` keeps
  the journal in memory. Together they drive
  :class:`chaoskit.run.runner.Runner` through baseline, fault, revert and
  recovery in milliseconds::

    clock = FakeClock()
    faults = FakeFaults(ledger)
    probes = FakeProbes(lambda probe: {"status": 500 if faults.active else 200})
    runner = Runner(experiment, Backends(), ledger, JournalCapture(), clock=clock, sleep=clock.sleep,
                    build_fault=faults, observe_probe=probes)
    outcome = runner.run()

Each helper is small and independent: add new ones in a module beside them
and name them here.
"""

from chaoskit.testing._run import FakeClock, FakeFault, FakeFaults, FakeProbes, FaultCall, JournalCapture
from chaoskit.testing._targets import FakeProcess, FakeTargetBackend

__all__ = [
    "FakeClock",
    "FakeFault",
    "FakeFaults",
    "FakeProbes",
    "FakeProcess",
    "FakeTargetBackend",
    "FaultCall",
    "JournalCapture",
]
