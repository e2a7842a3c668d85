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

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes shared by every command; verdict codes come from chaoskit.run.verdict.
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
