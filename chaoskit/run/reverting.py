"""Reverting what a ledger holds: one code path for ``chaoskit rollback``, ``chaoskit halt`` and a run's guard.

Nothing here stops at the first trouble: every pending entry is tried (in
parallel, through :meth:`FaultAct.from_entry`), and each ends in one of the
report's lists, so one bad record never keeps the others applied:

* ``reverted``: its revert returned; marked reverted (``by`` who);
* ``gone``: its target no longer exists (a removed container, a deleted
  proxy); nothing is left that the fault could break, so it is marked too;
* ``failed``: its record cannot be rebuilt, or its revert failed; it stays
  pending and is named;
* ``live``: it belongs to a run still in progress, which reverts its own
  faults; left alone unless ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chaoskit.errors import ChaoskitError, TargetNotFound
from chaoskit.log import get_logger
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.ledger import Ledger, LedgerEntry

__all__ = ["RollbackReport", "revert_pending"]

log = get_logger("chaoskit.rollback")


@dataclass
class RollbackReport:
    ledger: Path
    reverted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    live: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing is left applied, or unreadable, in this ledger."""
        return not (self.failed or self.live or self.problems)

    @property
    def empty(self) -> bool:
        return self.clean and not (self.reverted or self.gone)


def revert_pending(ledger: Ledger, *, run_id: str | None = None, force: bool = False,
                   by: str = "rollback") -> RollbackReport:
    """Revert every pending entry (of one run, if given); what happened to each. Idempotent."""
    report = RollbackReport(ledger.path)
    if run_id is None:
        report.problems = [p.describe(ledger.path) for p in ledger.problems()]
    todo: list[LedgerEntry] = []
    for entry in ledger.pending(run_id):
        if entry.owner_alive() and not force:
            report.live.append(f"{entry.describe()}: its run is in progress and reverts it itself "
                               f"(`--force` to revert it anyway)")
        else:
            todo.append(entry)
    in_parallel(lambda entry: _revert_one(ledger, entry, by, report), todo, thread_name_prefix="chaoskit-rollback")
    return report


def _revert_one(ledger: Ledger, entry: LedgerEntry, by: str, report: RollbackReport) -> None:
    try:
        act = FaultAct.from_entry(entry, ledger, by=by)
    except ValueError as exc:
        report.failed.append(f"{entry.describe()} [{entry.id}]: {exc}; forget it with "
                             f"`chaoskit rollback --forget {entry.id}` once it is dealt with")
        log.error("fault.unreadable", id=entry.id, error=str(exc))
        return
    gone: list[str] = []

    def note_gone(exc: TargetNotFound) -> None:
        act.by = f"{by}: target gone"
        gone.append(f"{act.fault.describe()}: {exc}")

    try:
        act.revert(on_gone=note_gone)
    except ChaoskitError as exc:
        report.failed.append(f"{entry.describe()} [{entry.id}]: {exc}")
        log.error("fault.revert_failed", fault=act.fault.describe(), error=str(exc), by=by)
        return
    if gone:
        report.gone.extend(gone)
        log.warning("fault.target_gone", fault=act.fault.describe(), by=by)
    else:
        report.reverted.append(act.fault.describe())
        log.info("fault.reverted", fault=act.fault.describe(), by=by)
