"""What every command shares: error handling, the common options, loading an experiment, JSON output.

Importing this module imports click and nothing heavy: the library is
imported inside the functions that need it, so ``chaoskit --help`` and
``chaoskit validate`` pay only for what they use.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from chaoskit.cli.exits import ExitCode
from chaoskit.errors import ChaoskitError, EngineUnavailable, ExperimentInvalid, ToxiproxyUnavailable
from chaoskit.log import masked

if TYPE_CHECKING:
    from chaoskit.model.experiment import Experiment

__all__ = [
    "DOCKER_HOST_OPTION",
    "JSON_OPTION",
    "LEDGER_OPTION",
    "TOXIPROXY_OPTION",
    "VAR_OPTION",
    "checkout_hint",
    "checkout_root",
    "default_journal_path",
    "echo_json",
    "handle_errors",
    "load_experiment",
    "parse_duration_option",
    "parse_vars",
    "with_toxiproxy",
]

_F = TypeVar("_F", bound=Callable[..., Any])

VAR_OPTION = click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
                          help="Override a variable of the file (repeatable).")
LEDGER_OPTION = click.option("--ledger", "ledger_path", default=None, metavar="PATH", envvar="CHAOSKIT_LEDGER",
                             help="Rollback ledger (env CHAOSKIT_LEDGER; default: ledger.jsonl in the state directory, "
                                  "/var/lib/chaoskit if writable, else ~/.local/state/chaoskit).")
DOCKER_HOST_OPTION = click.option("--docker-host", default=None, envvar="DOCKER_HOST",
                                  help="Docker engine URL (env DOCKER_HOST; default: the local socket).")
TOXIPROXY_OPTION = click.option("--toxiproxy", "toxiproxy_url", default=None, metavar="URL",
                                envvar="CHAOSKIT_TOXIPROXY_URL",
                                help="Toxiproxy API URL where the file does not name one (env CHAOSKIT_TOXIPROXY_URL; "
                                     "default: http://127.0.0.1:8474).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")


def checkout_root() -> Path | None:
    """The source checkout chaoskit runs from, if it does (not an installed package): setup.sh is beside it."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "setup.sh").is_file() and (root / "pyproject.toml").is_file() else None


def checkout_hint() -> str:
    """A hint naming setup.sh, for an engine or Toxiproxy that did not answer; empty outside a checkout."""
    root = checkout_root()
    if root is None:
        return ""
    script = "./setup.sh" if root == Path.cwd().resolve() else str(root / "setup.sh")
    return f" ({script} starts the engine and Toxiproxy)"


def handle_errors(fn: _F) -> _F:
    """Turn chaoskit's errors into one line on stderr and an exit code; tracebacks only with -v."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ExperimentInvalid as exc:
            for problem in exc.problems:
                click.echo(f"chaoskit: invalid: {problem}", err=True)
            sys.exit(ExitCode.USAGE)
        except ChaoskitError as exc:
            if click.get_current_context().find_root().params.get("verbose"):
                raise
            hint = checkout_hint() if isinstance(exc, EngineUnavailable | ToxiproxyUnavailable) else ""
            click.echo(f"chaoskit: error: {masked(str(exc))}{hint}", err=True)
            sys.exit(ExitCode.ERROR)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug in chaoskit: ERROR, never FAILURE's exit code, and one line
            if click.get_current_context().find_root().params.get("verbose"):
                raise
            click.echo(f"chaoskit: internal error: {type(exc).__name__}: {masked(str(exc))} (-v shows the traceback)", err=True)
            sys.exit(ExitCode.ERROR)

    return wrapper  # type: ignore[return-value]


def parse_vars(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--var KEY=VALUE`` pairs as a mapping; a malformed pair is a usage error."""
    from chaoskit.model.source import parse_cli_vars

    try:
        return parse_cli_vars(pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--var") from exc


def parse_duration_option(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Click callback: ``10m`` -> 600.0; a duration must be positive."""
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


def load_experiment(path: str, variables: dict[str, Any], toxiproxy_url: str | None = None) -> Experiment:
    """Load and validate one experiment file against the fault catalogue and the plugins' probes
    (ExperimentInvalid if it is not); its secrets are hidden from the logs from now on."""
    from chaoskit.adapters.probe_plugins import probe_signatures
    from chaoskit.faults.catalogue import signatures
    from chaoskit.log import hide
    from chaoskit.model.loader import load_experiment as load

    experiment = load(path, variables=variables, fault_params=signatures(), probe_params=probe_signatures())
    hide(experiment.secrets)
    return with_toxiproxy(experiment, toxiproxy_url)


def with_toxiproxy(experiment: Any, toxiproxy_url: str | None) -> Any:
    """``experiment`` (or a monkey config) aimed at ``toxiproxy_url`` unless its environment names its own."""
    from chaoskit.model.experiment import DEFAULT_TOXIPROXY_URL

    env = experiment.environment
    if toxiproxy_url is None or env.toxiproxy_url != DEFAULT_TOXIPROXY_URL:
        return experiment
    return dataclasses.replace(experiment, environment=dataclasses.replace(env, toxiproxy_url=toxiproxy_url))


def default_journal_path(source_path: str) -> str:
    """``journals/NAME-TIMESTAMP.json`` for the experiment or config at ``source_path``."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return str(Path("journals") / f"{Path(source_path).stem}-{stamp}.json")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def echo_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (dataclasses as objects, anything else unknown as its str)."""
    click.echo(json.dumps(value, default=_plain, indent=2))
