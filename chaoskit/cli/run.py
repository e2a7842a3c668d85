"""``chaoskit run FILE`` and ``chaoskit rollback``: one experiment, and what a crashed one left applied."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from chaoskit.cli.common import (
    LEDGER_OPTION,
    TOXIPROXY_OPTION,
    VAR_OPTION,
    default_journal_path,
    handle_errors,
    load_experiment,
    parse_vars,
)
from chaoskit.cli.exits import ExitCode

if TYPE_CHECKING:
    from chaoskit.run.reverting import RollbackReport

__all__ = ["echo_report", "rollback", "run"]


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@VAR_OPTION
@click.option("--dry-run", is_flag=True, help="Validate, resolve targets and show the plan; apply nothing.")
@click.option("--journal", "journal_path", default=None, metavar="PATH",
              help="Where to write the run's journal (default: journals/NAME-TIMESTAMP.json).")
@click.option("--seed", type=int, default=None, help="Seed for target selection (default: drawn and recorded).")
@LEDGER_OPTION
@TOXIPROXY_OPTION
@handle_errors
def run(file: str, variables: tuple[str, ...], dry_run: bool, journal_path: str | None, seed: int | None,
        ledger_path: str | None, toxiproxy_url: str | None) -> None:
    """Run one experiment: baseline, fault, revert, recovery; exit with the verdict's code.

    Faults are recorded in the ledger before they are applied; Ctrl-C or
    SIGTERM reverts them and still writes the journal.

    \b
    Examples:
      chaoskit run experiments/cache-down.yaml
      chaoskit run experiments/cache-latency.yaml --var fault=60s --dry-run
      chaoskit run experiments/cache-down.yaml --journal out/cache.json && chaoskit report out/cache.json
    """
    from chaoskit.log import masked
    from chaoskit.run.wiring import plan_experiment, run_experiment

    experiment = load_experiment(file, parse_vars(variables), toxiproxy_url)
    if dry_run:
        for line in plan_experiment(experiment, seed=seed, ledger_path=ledger_path):
            click.echo(masked(line))
        return
    outcome = run_experiment(experiment, journal_path=journal_path or default_journal_path(file), seed=seed,
                             ledger_path=ledger_path, live=sys.stderr.isatty())
    click.echo(f"{outcome.verdict.verdict.name}: {experiment.title}")
    for reason in outcome.verdict.reasons:
        click.echo(f"  {masked(reason)}")
    click.echo(f"journal: {outcome.journal_path}")
    sys.exit(outcome.verdict.exit_code)


@click.command()
@LEDGER_OPTION
@click.option("--force", is_flag=True, help="Also revert the faults of runs still in progress (they revert their own).")
@click.option("--forget", "forget", multiple=True, metavar="ID",
              help="Drop a pending entry or an unreadable line from the ledger on purpose; nothing is reverted.")
@handle_errors
def rollback(ledger_path: str | None, force: bool, forget: tuple[str, ...]) -> None:
    """Revert every fault a crashed or killed run left applied. Safe to run twice.

    Every entry is tried whatever happens to the others. A target that no
    longer exists is reported as gone and marked; an entry that cannot be
    read or reverted is named and stays pending. Faults of a run still in
    progress are left to it unless --force. Exits 6 (ERROR) if anything is
    still applied or unreadable afterwards.

    \b
    Examples:
      chaoskit rollback
      CHAOSKIT_LEDGER=/tmp/ci-ledger.jsonl chaoskit rollback
      chaoskit rollback --forget line-3f2a9c0e11b4   # after checking by hand that it is not applied
    """
    from chaoskit.run.ledger import Ledger
    from chaoskit.run.registry import known_ledgers
    from chaoskit.run.reverting import revert_pending

    ledger = Ledger(ledger_path)
    if forget:
        for name in forget:
            try:
                click.echo(f"forgotten: {ledger.forget(name)}")
            except KeyError as exc:
                click.echo(f"chaoskit: error: {exc.args[0]}", err=True)
                sys.exit(ExitCode.USAGE)
        return
    report = revert_pending(ledger, force=force)
    echo_report(report)
    for path in known_ledgers():
        other = Ledger(path)
        if path != ledger.path.resolve() and (other.pending() or other.problems()):
            click.echo(f"chaoskit: note: {path} holds faults too: `chaoskit rollback --ledger {path}`", err=True)
    if not report.clean:
        sys.exit(ExitCode.ERROR)


def echo_report(report: RollbackReport) -> None:
    """What a rollback did, one line each; names the ledger it read when there was nothing to do."""
    for line in report.reverted:
        click.echo(f"reverted: {line}")
    for line in report.gone:
        click.echo(f"gone (marked reverted): {line}")
    for line in report.live:
        click.echo(f"chaoskit: error: left to its run: {line}", err=True)
    for line in report.failed:
        click.echo(f"chaoskit: error: still applied: {line}", err=True)
    for line in report.problems:
        click.echo(f"chaoskit: error: unreadable: {line}", err=True)
    if report.empty:
        click.echo(f"nothing to roll back in {report.ledger}")
