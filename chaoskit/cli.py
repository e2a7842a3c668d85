"""The ``chaoskit`` command: parse, configure logging, call the library, map errors to exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from chaoskit import __version__
from chaoskit import log as chaoslog
from chaoskit.errors import ChaoskitError, ExperimentInvalid
from chaoskit.report.command import report, write_report
from chaoskit.schedule.monkey_command import monkey

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes shared by every command; verdict codes come from chaoskit.verdict.
EXIT_OK = 0
EXIT_USAGE = 2  # bad input: invalid experiment, unknown option, missing target
EXIT_ERROR = 6  # chaoskit could not do its job: engine or Toxiproxy down, revert failed


def handle_errors(fn: F) -> F:
    """Turn chaoskit's errors into one line on stderr and an exit code; tracebacks only with -v."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ExperimentInvalid as exc:
            for problem in exc.problems:
                click.echo(f"chaoskit: invalid: {problem}", err=True)
            sys.exit(EXIT_USAGE)
        except ChaoskitError as exc:
            if click.get_current_context().find_root().params.get("verbose"):
                raise
            click.echo(f"chaoskit: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="chaoskit")
@click.option("--log-format", type=click.Choice(["console", "json"]), default=None,
              help="Log rendering on stderr. Default: console on a terminal, JSON lines otherwise.")
@click.option("-v", "--verbose", count=True, help="Debug logging, and tracebacks on errors.")
def main(log_format: str | None, verbose: int) -> None:
    """chaoskit: inject faults, measure steady state, tell a tolerated fault from a failure.

    A fault is one component deviating from its spec (a killed cache, a slow
    database, a full disk); a failure is the system as a whole no longer
    serving its users. chaoskit injects faults into Docker containers, disks
    and networks (through Toxiproxy), measures the service from the client's
    side under load, and says which one you got.

    \b
    Exit codes:
      0  success / TOLERATED
      1  FAILURE: a steady-state hypothesis broke during the fault
      2  bad input: invalid experiment, option or selector
      3  NOT_RECOVERED: steady state did not come back after the revert
      4  ABORTED: the steady state did not hold before the fault, or interrupted
      5  INCONCLUSIVE: the measurement itself was not valid
      6  ERROR: chaoskit could not run (engine or Toxiproxy down, revert failed)
    """
    chaoslog.configure(log_format, verbose)  # type: ignore[arg-type]


@main.command()
@click.option("--docker-host", default=None, help="Docker engine URL (default: DOCKER_HOST or the local socket).")
@click.option("--toxiproxy", "toxiproxy_url", default="http://127.0.0.1:8474", show_default=True,
              help="Toxiproxy API URL.")
@handle_errors
def doctor(docker_host: str | None, toxiproxy_url: str) -> None:
    """Check that the Docker engine and Toxiproxy answer, and print their versions."""
    from chaoskit.adapters.docker_engine import DockerEngine
    from chaoskit.adapters.toxiproxy import ToxiproxyClient

    engine = DockerEngine.connect(docker_host)
    report = {"docker": engine.version().get("Version"), "docker_api": engine.version().get("ApiVersion"),
              "toxiproxy": ToxiproxyClient(toxiproxy_url).version()}
    click.echo(json.dumps(report))


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    from chaoskit.model.source import parse_cli_vars

    try:
        return parse_cli_vars(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from exc


def _load(path: str, variables: dict[str, Any]):
    from chaoskit.faults.catalogue import signatures
    from chaoskit.model.loader import load_experiment

    return load_experiment(path, variables=variables, fault_params=signatures())


VAR_OPTION = click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
                          help="Override a variable of the experiment file (repeatable).")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@VAR_OPTION
@handle_errors
def validate(files: tuple[str, ...], variables: tuple[str, ...]) -> None:
    """Validate experiment, game-day and monkey files without touching anything.

    Every problem names file:line and key; exits 2 if any file is invalid.
    """
    from pathlib import Path

    from chaoskit.schedule.gameday import is_gameday, load_gameday
    from chaoskit.schedule.monkey_config import is_monkey_config, load_monkey_config

    overrides = _parse_vars(variables)
    invalid = 0
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # the loader reports it with the path
        try:
            if is_monkey_config(text):
                config = load_monkey_config(path, variables=overrides)
                summary = f"monkey config, {'leashed' if config.policy.leashed else 'UNLEASHED'}"
            elif is_gameday(text):
                day = load_gameday(path)
                for entry in day.entries:
                    _load(str(entry.experiment), {**day.variables, **entry.variables, **overrides})
                summary = f"game day, {len(day.entries)} experiment(s), each valid"
            else:
                experiment = _load(path, overrides)
                summary = (f"{experiment.title} ({len(experiment.method)} fault step(s), "
                           f"{len(experiment.steady_state.probes)} probe(s))")
        except ExperimentInvalid as exc:
            invalid += 1
            for problem in exc.problems:
                click.echo(f"chaoskit: invalid: {problem}", err=True)
            continue
        click.echo(f"ok: {path}: {summary}")
    if invalid:
        sys.exit(EXIT_USAGE)


@main.command()
def faults() -> None:
    """List the fault catalogue: every fault type with its parameters."""
    from chaoskit.faults.catalogue import CATALOGUE

    for kind, cls in CATALOGUE.items():
        sig = cls.signature
        target = {"required": "target: required", "optional": "target: optional (host without)",
                  "none": "no target"}[sig.target]
        click.echo(f"{kind}  [{target}]")
        click.echo(f"    {sig.doc}")
        for spec in sig.params:
            click.echo(f"    - {spec.describe()}")
        for group in sig.one_of:
            click.echo(f"    (exactly one of: {', '.join(group)})")


@main.command()
@click.argument("selector")
@click.option("--project", default=None, help="Compose project to scope a service selector to.")
@click.option("--seed", type=int, default=None, help="Seed for count/percent picks (same seed, same pick).")
@click.option("--docker-host", default=None, help="Docker engine URL (default: DOCKER_HOST or the local socket).")
@click.option("--kubeconfig", default=None, help="Select pods of a Kubernetes cluster (this kubeconfig) instead.")
@click.option("--namespace", default=None, help="Kubernetes namespace of the pods (implies the cluster).")
@handle_errors
def targets(selector: str, project: str | None, seed: int | None, docker_host: str | None,
            kubeconfig: str | None, namespace: str | None) -> None:
    """Show what SELECTOR resolves to now, e.g. 'service=api count=1 max_fraction=0.5'."""
    from chaoskit.adapters.backends import Backends
    from chaoskit.errors import TargetNotFound
    from chaoskit.run.observe import resolve
    from chaoskit.targets.selector import parse_selector

    try:
        parsed = parse_selector(selector)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SELECTOR") from exc
    try:
        kubernetes = {"kubeconfig": kubeconfig, "namespace": namespace} if kubeconfig or namespace else None
        selection = resolve(Backends(docker_host, kubernetes=kubernetes), parsed, project, seed)
    except TargetNotFound as exc:
        click.echo(f"chaoskit: no target: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for container in selection.chosen:
        click.echo(container.describe())
    click.echo(f"{len(selection.chosen)} of {selection.candidates} candidate(s)", err=True)
    for note in selection.notes:
        click.echo(f"note: {note}", err=True)


def _default_journal_path(experiment_path: str) -> str:
    from datetime import datetime, timezone
    from pathlib import Path

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return str(Path("journals") / f"{Path(experiment_path).stem}-{stamp}.json")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@VAR_OPTION
@click.option("--dry-run", is_flag=True, help="Validate, resolve targets and show the plan; apply nothing.")
@click.option("--journal", "journal_path", default=None, metavar="PATH",
              help="Where to write the run's journal (default: journals/NAME-TIMESTAMP.json).")
@click.option("--seed", type=int, default=None, help="Seed for target selection (default: drawn and recorded).")
@click.option("--ledger", "ledger_path", default=None, metavar="PATH",
              help="Rollback ledger (default: $CHAOSKIT_LEDGER or /var/lib/chaoskit/ledger.jsonl).")
@handle_errors
def run(file: str, variables: tuple[str, ...], dry_run: bool, journal_path: str | None, seed: int | None,
        ledger_path: str | None) -> None:
    """Run one experiment: baseline, fault, revert, recovery; exit with the verdict's code.

    Faults are recorded in the ledger before they are applied; Ctrl-C or
    SIGTERM reverts them and still writes the journal.
    """
    from chaoskit.run.session import plan_experiment, run_experiment

    experiment = _load(file, _parse_vars(variables))
    if dry_run:
        for line in plan_experiment(experiment, seed=seed, ledger_path=ledger_path):
            click.echo(line)
        return
    outcome = run_experiment(experiment, journal_path=journal_path or _default_journal_path(file), seed=seed,
                             ledger_path=ledger_path, live=sys.stderr.isatty())
    click.echo(f"{outcome.verdict.verdict.name}: {experiment.title}")
    for reason in outcome.verdict.reasons:
        click.echo(f"  {reason}")
    click.echo(f"journal: {outcome.journal_path}")
    sys.exit(outcome.verdict.exit_code)


@main.command()
@click.option("--ledger", "ledger_path", default=None, metavar="PATH",
              help="Rollback ledger (default: $CHAOSKIT_LEDGER or /var/lib/chaoskit/ledger.jsonl).")
@handle_errors
def rollback(ledger_path: str | None) -> None:
    """Revert every fault a crashed or killed run left applied. Safe to run twice."""
    from chaoskit.run.session import rollback_pending

    reverted, failed = rollback_pending(ledger_path)
    for line in reverted:
        click.echo(f"reverted: {line}")
    for line in failed:
        click.echo(f"chaoskit: error: still applied: {line}", err=True)
    if not reverted and not failed:
        click.echo("nothing to roll back")
    if failed:
        sys.exit(EXIT_ERROR)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@VAR_OPTION
@click.option("--now", is_flag=True, help="Run at once even if the file has a cron schedule.")
@click.option("--journal-dir", default=None, metavar="DIR",
              help="Where the journals go (default: journals/gameday-TIMESTAMP/).")
@click.option("--continue-on-error", is_flag=True, default=None, help="Go on after an experiment ends in ERROR.")
@click.option("--ledger", "ledger_path", default=None, metavar="PATH", help="Rollback ledger.")
@handle_errors
def gameday(file: str, variables: tuple[str, ...], now: bool, journal_dir: str | None,
            continue_on_error: bool | None, ledger_path: str | None) -> None:
    """Run a game day: the experiments FILE lists, in order, then a table of verdicts and a report.

    Continues past FAILURE, stops on ERROR (unless --continue-on-error), and
    on Ctrl-C reverts the running experiment's faults and ends the day. With a
    cron `schedule:` in FILE it waits for the next time it fires (--now: don't).
    Exits with the worst verdict's code.
    """
    import dataclasses
    import time
    from datetime import datetime, timezone
    from pathlib import Path

    from chaoskit.run.session import run_experiment
    from chaoskit.schedule.gameday import EntryResult, load_gameday, next_fire, run_gameday

    overrides = _parse_vars(variables)
    day = load_gameday(file)
    if continue_on_error is not None:
        day = dataclasses.replace(day, continue_on_error=continue_on_error)
    experiments = [(entry, _load(str(entry.experiment), {**day.variables, **entry.variables, **overrides}))
                   for entry in day.entries]
    if day.schedule and not now:
        fire = next_fire(day.schedule, datetime.now().astimezone())
        click.echo(f"{day.title}: waiting for {fire.isoformat()} ({day.schedule})", err=True)
        time.sleep(max(0.0, (fire - datetime.now().astimezone()).total_seconds()))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(journal_dir or Path("journals") / f"gameday-{stamp}")
    loaded = {entry.experiment: experiment for entry, experiment in experiments}

    def run_entry(entry, journal_path: Path) -> EntryResult:
        experiment = loaded[entry.experiment]
        click.echo(f"-> {experiment.title}", err=True)
        outcome = run_experiment(experiment, journal_path, seed=entry.seed, ledger_path=ledger_path,
                                 live=sys.stderr.isatty())
        return EntryResult(entry, outcome.verdict.verdict, outcome.verdict.reasons, journal_path, experiment.title)

    def show(result: EntryResult) -> None:
        click.echo(f"   {result.verdict.name}: {result.reasons[0] if result.reasons else ''}", err=True)

    verdict, results, journal = run_gameday(day, out_dir, run_entry, on_result=show)
    _verdict_table(day.title, results)
    _, html = write_report([journal], "html")
    write_report([journal], "junit", out_dir / "junit.xml")
    click.echo(f"game day verdict: {verdict.name}")
    click.echo(f"report: {html}  (journal: {journal}, JUnit: {out_dir / 'junit.xml'})")
    sys.exit(verdict.exit_code)


def _verdict_table(title: str, results: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("experiment", "verdict", "why"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(r.title, r.verdict.name, r.reasons[0] if r.reasons else "")
    Console(width=160).print(table)


main.add_command(report)
main.add_command(monkey)
