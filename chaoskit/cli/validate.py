"""``chaoskit validate FILE...``: check experiment, game-day and monkey files without touching anything."""

from __future__ import annotations

import sys
from typing import Any

import click

from chaoskit.cli.common import JSON_OPTION, VAR_OPTION, echo_json, handle_errors, load_experiment, parse_vars
from chaoskit.cli.exits import ExitCode
from chaoskit.errors import ExperimentInvalid

__all__ = ["validate", "validate_file"]


def validate_file(path: str, overrides: dict[str, Any]) -> tuple[str, str]:
    """(kind, one-line summary) of a valid file; raises ExperimentInvalid with every problem otherwise."""
    from pathlib import Path

    from chaoskit.schedule.gameday import is_gameday, load_gameday
    from chaoskit.schedule.monkey_config import is_monkey_config, load_monkey_config

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""  # the loader reports it with the path
    if is_monkey_config(text):
        config = load_monkey_config(path, variables=overrides)
        return "monkey", f"monkey config, {'leashed' if config.policy.leashed else 'UNLEASHED'}"
    if is_gameday(text):
        day = load_gameday(path)
        for entry in day.entries:
            load_experiment(str(entry.experiment), {**day.variables, **entry.variables, **overrides})
        return "gameday", f"game day, {len(day.entries)} experiment(s), each valid"
    experiment = load_experiment(path, overrides)
    return "experiment", (f"{experiment.title} ({len(experiment.method)} fault step(s), "
                          f"{len(experiment.steady_state.probes)} probe(s))")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@VAR_OPTION
@JSON_OPTION
@handle_errors
def validate(files: tuple[str, ...], variables: tuple[str, ...], as_json: bool) -> None:
    """Validate experiment, game-day and monkey files without touching anything.

    Every problem names file:line and key; exits 2 if any file is invalid.

    \b
    Examples:
      chaoskit validate experiments/*.yaml
      chaoskit validate experiments/cache-down.yaml --var fault=60s
      chaoskit validate --json experiments/gameday.yaml | jq '.[].problems'
    """
    overrides = parse_vars(variables)
    results = []
    for path in files:
        try:
            kind, summary = validate_file(path, overrides)
        except ExperimentInvalid as exc:
            results.append({"file": path, "valid": False, "kind": None, "summary": None, "problems": exc.problems})
            if not as_json:
                for problem in exc.problems:
                    click.echo(f"chaoskit: invalid: {problem}", err=True)
            continue
        results.append({"file": path, "valid": True, "kind": kind, "summary": summary, "problems": []})
        if not as_json:
            click.echo(f"ok: {path}: {summary}")
    if as_json:
        echo_json(results)
    if not all(r["valid"] for r in results):
        sys.exit(ExitCode.USAGE)
