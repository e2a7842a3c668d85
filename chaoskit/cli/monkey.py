"""``chaoskit monkey CONFIG``: run the Chaos Monkey of a config file.

Thin: parse, load the config, wire the backends, ledger, journal and load,
run :class:`~chaoskit.schedule.monkey.Monkey`, print the kills and exit with
the worst verdict's code (0 when nothing was killed).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import click

from chaoskit.cli.common import (
    LEDGER_OPTION,
    TOXIPROXY_OPTION,
    default_journal_path,
    handle_errors,
    parse_duration_option,
    parse_vars,
    with_toxiproxy,
)

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
    toxiproxy_url: str | None = None,
) -> Any:
    """Load ``config_path`` and run the monkey; returns its :class:`MonkeyReport`."""
    from dataclasses import asdict

    from chaoskit.adapters.backends import Backends
    from chaoskit.errors import ChaoskitError
    from chaoskit.run.guard import guarded
    from chaoskit.run.ledger import Ledger
    from chaoskit.schedule.monkey import Monkey
    from chaoskit.schedule.monkey_config import MonkeySettings, load_monkey_config
    from chaoskit.journal import MonkeyJournal
    from chaoskit.schedule.monkey_observer import SteadyStateObserver

    config = with_toxiproxy(load_monkey_config(config_path, variables=variables), toxiproxy_url)
    if seed is None:
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
    env = config.environment
    kubernetes = asdict(env.kubernetes) if env.kubernetes else None
    backends = Backends(env.docker_host, env.toxiproxy_url, kubernetes=kubernetes)
    load = None
    if config.load is not None:
        if duration_s is None:
            raise ChaoskitError("a monkey config with a load: block needs --duration "
                                "(the load generator keeps every second of measurements in memory)")
        from chaoskit.adapters.host import machine_steal_s
        from chaoskit.measure.loadgen import LoadGenerator
        from chaoskit.run.wiring import validity_limits

        load = LoadGenerator(config.load, max_duration_s=duration_s + config.baseline_s + config.recovery_budget_s + 60,
                             validity=validity_limits(config.load, config.steady_state), steal_time=machine_steal_s)
    effective_leash = config.policy.leashed if leashed is None else leashed
    header = {"title": config.title, "source": str(config_path), "seed": seed, "leashed": effective_leash,
              "time_scale": time_scale, "ignore_schedule": ignore_schedule, "duration_s": duration_s,
              "config": config}
    journal = MonkeyJournal(journal_path, header)
    observer = SteadyStateObserver(config.steady_state, backends, env.compose_project, load)
    settings = MonkeySettings(seed=seed, leashed=leashed, time_scale=time_scale, duration_s=duration_s,
                              ignore_schedule=ignore_schedule)
    ledger = Ledger(ledger_path)
    with guarded(ledger.path, journal.run_id, journal.path):  # the dead-man switch: kills reverted if this dies
        return Monkey(config, backends, ledger, journal, settings, observer=observer).run()


@click.command("monkey")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="Override a variable of the config file (repeatable).")
@click.option("--seed", type=int, default=None,
              help="Seed of every decision (same seed, config and observations: same kills). Default: the file's, "
                   "else drawn and recorded in the journal.")
@click.option("--duration", "duration_s", callback=parse_duration_option, default=None, metavar="DURATION",
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
@LEDGER_OPTION
@TOXIPROXY_OPTION
@handle_errors
def monkey(config: str, variables: tuple[str, ...], seed: int | None, duration_s: float | None,
           leashed: bool | None, time_scale: float, ignore_schedule: bool, journal_path: str | None,
           ledger_path: str | None, toxiproxy_url: str | None) -> None:
    """Run the Chaos Monkey of CONFIG: kill opted-in containers at random, within limits, and judge each kill.

    Only containers carrying the config's opt-in labels are eligible, grouped
    (by compose service by default); each group is killed with a probability
    derived from its mean time between kills, never more often than the
    minimum, only inside the schedule window, never more than max_concurrent
    at once, and never while the steady state is already violated. Every kill
    is recorded in the ledger first, restarted after its downtime, and judged
    TOLERATED / FAILURE / NOT_RECOVERED with its time to recover. Ctrl-C or
    SIGTERM starts every killed container again and writes the journal.

    \b
    Examples:
      chaoskit monkey experiments/monkey.yaml --duration 10m
      chaoskit monkey experiments/monkey.yaml --unleashed --ignore-schedule --time-scale 60 --duration 5m
    """
    report = run_monkey(config, variables=parse_vars(variables), seed=seed, duration_s=duration_s, leashed=leashed,
                        time_scale=time_scale, ignore_schedule=ignore_schedule,
                        journal_path=journal_path or default_journal_path(config), ledger_path=ledger_path,
                        toxiproxy_url=toxiproxy_url)
    for kill in report.kills:
        ttr = f"{kill['time_to_recover_s']:.1f}s" if kill.get("time_to_recover_s") is not None else "-"
        click.echo(f"kill {kill['number']}: {kill['container']} ({kill['group']}): {kill['verdict']}, "
                   f"time to recover {ttr}")
    click.echo(f"{report.verdict.name}: {report.reasons[0] if report.reasons else ''}")
    for reason in report.reasons[1:]:
        click.echo(f"  {reason}")
    click.echo(f"journal: {report.journal_path}")
    sys.exit(report.exit_code)
