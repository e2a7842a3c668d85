"""Applying a fault, recording it and reverting it: one act, written once.

Every caller that touches the world with a fault (the run loop, the monkey,
``chaoskit rollback``, the benches) goes through :class:`FaultAct`, so the
ledger's invariant lives here and nowhere else:

* the fault is recorded in the ledger (fsync'd) *before* it is applied;
* a fault whose apply failed is still reverted like any other (it may have
  half-happened), so an act counts as applied once its apply was attempted;
* it is marked reverted only *after* its revert returned; a failed revert is
  recorded as such and the entry stays pending for ``chaoskit rollback``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError, TargetNotFound
from chaoskit.faults.base import Fault
from chaoskit.faults.catalogue import from_record
from chaoskit.run.ledger import FaultRecord, Ledger, LedgerEntry

__all__ = ["FaultAct", "in_parallel"]

T = TypeVar("T")


class FaultAct:
    """One fault against one ledger: :meth:`apply` records then applies, :meth:`revert` reverts then marks.

    Not thread-safe on its own: one act is applied and reverted by one thread
    at a time (many acts may run in parallel; the ledger locks its file).
    """

    def __init__(self, fault: Fault, backends: Backends, ledger: Ledger, run_id: str,
                 entry_id: str | None = None):
        self.fault = fault
        self.backends = backends
        self.ledger = ledger
        self.run_id = run_id
        self.entry_id = entry_id  # set once recorded: from then on the ledger holds it until reverted
        self.reverted = False

    @classmethod
    def from_entry(cls, entry: LedgerEntry, ledger: Ledger) -> FaultAct:
        """The act a pending ledger entry stands for, rebuilt from its record (``chaoskit rollback``)."""
        record = dict(entry.revert)
        backends = Backends.from_record(record)
        return cls(from_record(record), backends, ledger, entry.run_id, entry_id=entry.id)

    @property
    def recorded(self) -> bool:
        return self.entry_id is not None

    @property
    def pending(self) -> bool:
        """Recorded and not reverted yet: what a stop must still revert."""
        return self.recorded and not self.reverted

    def record(self) -> str:
        """Durably record the fault (what reverting it needs, and where its backends are); returns the entry id.

        Once only: an act already recorded keeps its entry.
        """
        if self.entry_id is not None:
            return self.entry_id
        revert = {**self.fault.record(), **self.backends.record()}
        self.entry_id = self.ledger.record_pending(FaultRecord(
            run_id=self.run_id, fault=self.fault.kind, revert=revert, target=self.fault.target_label))
        return self.entry_id

    def apply(self, how: Callable[[], None] | None = None) -> None:
        """Record, then apply: the fault's own :meth:`~chaoskit.faults.base.Fault.apply`, or ``how``.

        ``how`` is for a caller that delivers the fault another way with the
        same revert (the monkey signals a container's main process from the
        host, and reverts by starting the container). Errors propagate; the act
        stays recorded, so it is reverted like any other.
        """
        self.record()
        if how is None:
            self.fault.apply(self.backends)
        else:
            how()

    def revert(self, *, on_gone: Callable[[TargetNotFound], None] | None = None) -> bool:
        """Revert, then mark the entry reverted; False if there was nothing to do (never recorded, or done).

        A failed revert (a ChaoskitError) is recorded in the ledger and raised.
        With ``on_gone``, a target that no longer exists (TargetNotFound) is
        handed to it and counts as reverted: nothing is left that the fault
        could break.
        """
        if not self.pending:
            return False
        assert self.entry_id is not None
        try:
            self.fault.revert(self.backends)
        except TargetNotFound as exc:
            if on_gone is None:
                self.ledger.record_revert_failure(self.entry_id, str(exc))
                raise
            on_gone(exc)
        except ChaoskitError as exc:
            self.ledger.record_revert_failure(self.entry_id, str(exc))
            raise
        self.ledger.mark_reverted(self.entry_id)
        self.reverted = True
        return True


def in_parallel(work: Callable[[T], None], items: Sequence[T], max_workers: int = 32,
                thread_name_prefix: str = "chaoskit") -> list[BaseException | None]:
    """Run ``work`` on every item at once (bounded) and wait for all; each item's exception, or None.

    Reverts go this way: 20 container starts one after the other would take
    seconds, and every item is tried whatever happens to the others.
    """
    if len(items) <= 1:
        errors: list[BaseException | None] = []
        for item in items:
            try:
                work(item)
                errors.append(None)
            except Exception as exc:  # noqa: BLE001 - handed back to the caller, like a future's exception
                errors.append(exc)
        return errors
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items)), thread_name_prefix=thread_name_prefix) as pool:
        return [f.exception() for f in [pool.submit(work, item) for item in items]]
