"""``chaoskit gameday FILE``: the experiments a game-day file lists, in order, then a verdict table and reports."""

from __future__ import annotations

import sys
from typing import Any

import click

from chaoskit.cli.common import LEDGER_OPTION, TOXIPROXY_OPTION, VAR_OPTION, handle_errors, load_experiment, parse_vars
from chaoskit.log import masked

__all__ = ["gameday"]


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@VAR_OPTION
@click.option("--now", is_flag=True, help="Run at once even if the file has a cron schedule.")
@click.option("--journal-dir", default=None, metavar="DIR",
              help="Where the journals go (default: journals/gameday-TIMESTAMP/).")
@click.option("--continue-on-error", is_flag=True, default=None, help="Go on after an experiment ends in an ERROR it did not expect.")
@LEDGER_OPTION
@TOXIPROXY_OPTION
@handle_errors
def gameday(file: str, variables: tuple[str, ...], now: bool, journal_dir: str | None,
            continue_on_error: bool | None, ledger_path: str | None, toxiproxy_url: str | None) -> None:
    """Run a game day: the experiments FILE lists, in order, then a table of verdicts and a report.

    Each entry may say the verdict it expects (`expect: FAILURE`; without it,
    TOLERATED). Continues past FAILURE, stops on an unexpected ERROR (unless
    --continue-on-error), and on Ctrl-C reverts the running experiment's
    faults and ends the day. With a cron `schedule:` in FILE it waits for the
    next time it fires (--now: don't).

    \b
    Exit code (the worst surprise's, by verdict severity):
      0  every verdict as expected ("8 of 8 as expected"), whatever they were
      1  an unexpected FAILURE, or a weakness gone (TOLERATED where another
         verdict was expected: update the expectation)
      2  invalid game-day or experiment file: nothing ran
      3  an unexpected NOT_RECOVERED
      4  an unexpected ABORTED, or an entry that never ran
      5  an unexpected INCONCLUSIVE
      6  an unexpected ERROR

    \b
    Examples:
      chaoskit gameday experiments/gameday.yaml --now
      chaoskit gameday experiments/gameday.yaml --now --journal-dir out/ --continue-on-error
    """
    import dataclasses
    from datetime import datetime, timezone
    from pathlib import Path

    from chaoskit.run.wiring import run_experiment
    from chaoskit.schedule.gameday import EntryResult, load_gameday, run_gameday

    overrides = parse_vars(variables)
    day = load_gameday(file)
    if continue_on_error is not None:
        day = dataclasses.replace(day, continue_on_error=continue_on_error)
    loaded = {entry.experiment: load_experiment(str(entry.experiment),
                                                {**day.variables, **entry.variables, **overrides}, toxiproxy_url)
              for entry in day.entries}
    if day.schedule and not now:
        _wait_for(day.title, day.schedule)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(journal_dir or Path("journals") / f"gameday-{stamp}")

    def run_entry(entry: Any, journal_path: Path) -> EntryResult:
        experiment = loaded[entry.experiment]
        click.echo(f"-> {experiment.title}", err=True)
        outcome = run_experiment(experiment, journal_path, seed=entry.seed, ledger_path=ledger_path,
                                 live=sys.stderr.isatty())
        return EntryResult(entry, outcome.verdict.verdict, outcome.verdict.reasons, journal_path, experiment.title)

    def show(result: EntryResult) -> None:
        surprise = f" (a surprise: expected {result.entry.expect.name})" if result.verdict is not result.entry.expect else ""
        click.echo(f"   {result.verdict.name}{surprise}: {masked(result.reasons[0]) if result.reasons else ''}", err=True)

    secrets = frozenset().union(*(experiment.secrets for experiment in loaded.values()))
    outcome, journal = run_gameday(day, out_dir, run_entry, on_result=show, secrets=secrets)
    _summarize(day.title, outcome, journal, out_dir)
    sys.exit(outcome.exit_code)


def _wait_for(title: str, schedule: str) -> None:
    """Sleep until the game day's cron schedule next fires."""
    import time
    from datetime import datetime

    from chaoskit.schedule.gameday import next_fire

    fire = next_fire(schedule, datetime.now().astimezone())
    click.echo(f"{title}: waiting for {fire.isoformat()} ({schedule})", err=True)
    time.sleep(max(0.0, (fire - datetime.now().astimezone()).total_seconds()))


def _summarize(title: str, outcome: Any, journal: Any, out_dir: Any) -> None:
    """The verdict table, the HTML and JUnit reports, and the tally with its surprises."""
    from chaoskit.cli.report import write_report

    _verdict_table(title, outcome.results)
    _, html = write_report([journal], "html")
    write_report([journal], "junit", out_dir / "junit.xml")
    click.echo(f"game day: {outcome.tally} (worst verdict {outcome.verdict.name})")
    for surprise in outcome.surprises:
        click.echo(f"  surprise: {surprise.describe()}")
    click.echo(f"report: {html}  (journal: {journal}, JUnit: {out_dir / 'junit.xml'})")


def _verdict_table(title: str, results: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("experiment", "expected", "verdict", "why"):
        table.add_column(column, overflow="fold")
    for r in results:
        expected = r.entry.expect.name + ("" if r.verdict is r.entry.expect else "  (surprise)")
        table.add_row(r.title, expected, r.verdict.name, masked(r.reasons[0]) if r.reasons else "")
    Console(width=160).print(table)  # rich itself honours NO_COLOR and a stdout that is no terminal
