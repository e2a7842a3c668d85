"""``chaoskit halt``: the kill switch. Stops every run in progress on the host and reverts every fault it knows."""

from __future__ import annotations

import os
import signal
import sys
import time

import click

from chaoskit.cli.common import handle_errors
from chaoskit.cli.exits import ExitCode
from chaoskit.cli.run import echo_report

__all__ = ["halt"]


@click.command()
@click.option("--grace", type=click.FloatRange(0, 300), default=10.0, show_default=True, metavar="SECONDS",
              help="How long runs get to revert their own faults and write their journals after SIGTERM.")
@handle_errors
def halt(grace: float) -> None:
    """Stop every chaoskit run and monkey on this host, then revert every pending fault in every known ledger.

    Runs get SIGTERM (they revert, write their journals and exit ABORTED);
    one still alive after --grace gets SIGKILL (its guard reverts). Then every
    ledger named in the host's index is rolled back, runs in progress or not.
    Exits 6 (ERROR) if anything is still applied or unreadable.

    \b
    Examples:
      chaoskit halt
      chaoskit halt --grace 2
    """
    from chaoskit.run.ledger import Ledger
    from chaoskit.run.registry import known_ledgers, live_runs
    from chaoskit.run.reverting import revert_pending

    runs = live_runs()
    for run in runs:
        click.echo(f"stopping: run {run.run_id} (pid {run.pid}, ledger {run.ledger})")
        _signal(run.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(run.alive() for run in runs) and time.monotonic() < deadline:
        time.sleep(0.1)
    for run in runs:
        if run.alive():
            click.echo(f"killing: run {run.run_id} (pid {run.pid}) did not stop within {grace:g}s", err=True)
            _signal(run.pid, signal.SIGKILL)
    clean = True
    for path in known_ledgers():
        report = revert_pending(Ledger(path), force=True, by="halt")
        echo_report(report)
        clean = clean and report.clean
    if not clean:
        sys.exit(ExitCode.ERROR)


def _signal(pid: int, signum: signal.Signals) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
