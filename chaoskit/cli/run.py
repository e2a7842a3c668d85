"""``chaoskit run FILE`` and ``chaoskit rollback``: one experiment, and what a crashed one left applied."""

from __future__ import annotations

import sys

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

__all__ = ["rollback", "run"]


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
@handle_errors
def rollback(ledger_path: str | None) -> None:
    """Revert every fault a crashed or killed run left applied. Safe to run twice.

    Exits 6 (ERROR) if a fault is still applied afterwards.

    \b
    Examples:
      chaoskit rollback
      CHAOSKIT_LEDGER=/tmp/ci-ledger.jsonl chaoskit rollback
    """
    from chaoskit.run.wiring import rollback_pending

    reverted, failed = rollback_pending(ledger_path)
    for line in reverted:
        click.echo(f"reverted: {line}")
    for line in failed:
        click.echo(f"chaoskit: error: still applied: {line}", err=True)
    if not reverted and not failed:
        click.echo("nothing to roll back")
    if failed:
        sys.exit(ExitCode.ERROR)
