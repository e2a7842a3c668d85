"""``chaoskit monkey CONFIG``: the click command (registered on the main group by chaoskit.cli).

Thin: parse, load the config, wire the backends, ledger, journal and load,
run :class:`~chaoskit.schedule.monkey.Monkey`, print the kills and exit with
the worst verdict's code (0 when nothing was killed).
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

__all__ = ["monkey", "run_monkey"]


def run_monkey(
    config_path: str | Path,
    *,
    variables: dict[str, Any] | None = None,
    seed: int | None = None,
    duration_s: float | None = None,
    leashed: bool | None = None,
    time_scale: float = 1.0,
    ignore_schedule: bool = False,
    journal_path: str | Path | None = None,
    ledger_path: str | None = None,
) -> Any:
    """Load ``config_path`` and run the monkey; returns its :class:`MonkeyReport` (game days call this too)."""
    from chaoskit.adapters.backends import Backends
    from chaoskit.errors import ChaoskitError
    from chaoskit.run.ledger import Ledger
    from chaoskit.schedule.monkey import Monkey, SteadyStateObserver
    from chaoskit.schedule.monkey_config import load_monkey_config
    from chaoskit.journal import MonkeyJournal

    config = load_monkey_config(config_path, variables=variables)
    if seed is None:
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    env = config.environment
    backends = Backends(env.docker_host, env.toxiproxy_url)
    load = None
    if config.load is not None:
        if duration_s is None:
            raise ChaoskitError("a monkey config with a load: block needs --duration "
                                "(the load generator keeps every second of measurements in memory)")
        from chaoskit.measure.loadgen import LoadGenerator
        from chaoskit.run.session import validity_limits

        load = LoadGenerator(config.load, max_duration_s=duration_s + config.baseline_s + config.recovery_budget_s + 60,
                             validity=validity_limits(config.load, config.steady_state))
    effective_leash = config.policy.leashed if leashed is None else leashed
    header = {"title": config.title, "source": str(config_path), "seed": seed, "leashed": effective_leash,
              "time_scale": time_scale, "ignore_schedule": ignore_schedule, "duration_s": duration_s,
              "config": config}
    journal = MonkeyJournal(journal_path, header)
    observer = SteadyStateObserver(config.steady_state, backends, env.compose_project, load)
    return Monkey(config, backends, Ledger(ledger_path), journal, seed=seed, leashed=leashed, time_scale=time_scale,
                  duration_s=duration_s, ignore_schedule=ignore_schedule, observer=observer).run()


def _default_journal_path(config_path: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return str(Path("journals") / f"{Path(config_path).stem}-{stamp}.json")


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from chaoskit.model.units import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if seconds <= 0:
        raise click.BadParameter("expected a duration > 0")
    return seconds


@click.command("monkey")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="Override a variable of the config file (repeatable).")
@click.option("--seed", type=int, default=None,
              help="Seed of every decision (same seed, config and observations: same kills). Default: the file's, "
                   "else drawn and recorded in the journal.")
@click.option("--duration", "duration_s", callback=_duration, default=None, metavar="DURATION",
              help="Stop after this long (10m, 1h), then wait for the kills in flight to be judged. "
                   "Default: until SIGINT/SIGTERM.")
@click.option("--leashed/--unleashed", default=None,
              help="Leashed: log what would be killed, kill nothing. Default: the file's `leashed:` (true for a new config).")
@click.option("--time-scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Run the schedule clock this many times faster (60: a 10m mean time between kills becomes 10s). "
                   "Downtime, probes and recovery budgets stay in real seconds.")
@click.option("--ignore-schedule", is_flag=True,
              help="Treat the schedule window as always open (demos and CI; the other limits still apply).")
@click.option("--journal", "journal_path", default=None, metavar="PATH",
              help="Where to write the monkey's journal (default: journals/NAME-TIMESTAMP.json).")
@click.option("--ledger", "ledger_path", default=None, metavar="PATH",
              help="Rollback ledger (default: $CHAOSKIT_LEDGER or /var/lib/chaoskit/ledger.jsonl).")
def monkey(config: str, variables: tuple[str, ...], seed: int | None, duration_s: float | None,
           leashed: bool | None, time_scale: float, ignore_schedule: bool, journal_path: str | None,
           ledger_path: str | None) -> None:
    """Run the Chaos Monkey of CONFIG: kill opted-in containers at random, within limits, and judge each kill.

    Only containers carrying the config's opt-in labels are eligible, grouped
    (by compose service by default); each group is killed with a probability
    derived from its mean time between kills, never more often than the
    minimum, only inside the schedule window, never more than max_concurrent
    at once, and never while the steady state is already violated. Every kill
    is recorded in the ledger first, restarted after its downtime, and judged
    TOLERATED / FAILURE / NOT_RECOVERED with its time to recover. Ctrl-C or
    SIGTERM starts every killed container again and writes the journal.
    """
    from chaoskit.cli import handle_errors  # at call time: chaoskit.cli imports this module

    handle_errors(_monkey)(config, variables, seed, duration_s, leashed, time_scale, ignore_schedule,
                           journal_path, ledger_path)


def _monkey(config: str, variables: tuple[str, ...], seed: int | None, duration_s: float | None,
            leashed: bool | None, time_scale: float, ignore_schedule: bool, journal_path: str | None,
            ledger_path: str | None) -> None:
    from chaoskit.model.source import parse_cli_vars

    try:
        overrides = parse_cli_vars(variables)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from exc
    report = run_monkey(config, variables=overrides, seed=seed, duration_s=duration_s, leashed=leashed,
                        time_scale=time_scale, ignore_schedule=ignore_schedule,
                        journal_path=journal_path or _default_journal_path(config), ledger_path=ledger_path)
    for kill in report.kills:
        ttr = f"{kill['time_to_recover_s']:.1f}s" if kill.get("time_to_recover_s") is not None else "-"
        click.echo(f"kill {kill['number']}: {kill['container']} ({kill['group']}): {kill['verdict']}, "
                   f"time to recover {ttr}")
    click.echo(f"{report.verdict.name}: {report.reasons[0] if report.reasons else ''}")
    for reason in report.reasons[1:]:
        click.echo(f"  {reason}")
    click.echo(f"journal: {report.journal_path}")
    sys.exit(report.exit_code)
