"""revert_pending: every entry tried, each ending in one list; nothing blocks the others."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from chaoskit.run.ledger import FaultRecord, Ledger
from chaoskit.run.ledger_lines import encode
from chaoskit.run.registry import process_started
from chaoskit.run.reverting import revert_pending


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_an_unreadable_record_is_named_and_the_run_goes_on(tmp_path: Path) -> None:
    """An entry whose fault kind is unknown is named with its id and stays pending; problems are listed too."""
    path = tmp_path / "l.jsonl"
    with path.open("wb") as out:
        out.write(encode({"op": "pending", "id": "e1", "run_id": "r", "fault": "warp.drive", "target": "",
                          "revert": {"kind": "warp.drive", "token": "t"}, "at": 1.0, "pid": _dead_pid(), "host": ""}))
        out.write(b"{corrupt\n")
    report = revert_pending(Ledger(path))
    assert len(report.failed) == 1 and "[e1]" in report.failed[0] and "--forget e1" in report.failed[0]
    assert len(report.problems) == 1 and "--forget line-" in report.problems[0]
    assert not report.clean and Ledger(path).pending()


def test_faults_of_a_live_run_are_left_to_it_unless_forced(tmp_path: Path) -> None:
    """An entry whose owner still runs (this process) is not reverted without force."""
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.record_pending(FaultRecord("r", "warp.drive", {"kind": "warp.drive", "token": "t"}))
    report = revert_pending(ledger)
    assert len(report.live) == 1 and not report.failed and "--force" in report.live[0]
    forced = revert_pending(ledger, force=True)
    assert not forced.live and len(forced.failed) == 1  # tried: its record cannot be rebuilt


def test_a_reused_pid_is_not_the_owner(tmp_path: Path) -> None:
    """A pid that runs another process now (different start time) does not make an entry live."""
    from chaoskit.run.registry import process_alive

    assert process_alive(os.getpid(), "", process_started(os.getpid())) is True
    assert process_alive(os.getpid(), "", -1.0) is False
