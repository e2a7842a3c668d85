"""The ``chaoskit`` command: parse, configure logging, call the library, map errors to exit codes.

One module per command group (``run`` and ``rollback``, ``validate``,
``faults``, ``probes`` and ``targets``, ``doctor``, ``gameday``, ``monkey``, ``report``);
the exit codes live in :mod:`chaoskit.cli.exits`, the shared options and the
error handling in :mod:`chaoskit.cli.common`. The library is imported inside
the commands, so ``chaoskit --help`` costs click and nothing else.
"""

from __future__ import annotations

import click

from chaoskit import __version__
from chaoskit import log as chaoslog
from chaoskit.cli import doctor, gameday, halt, listing, monkey, report, run, validate
from chaoskit.cli.exits import ExitCode, exit_code_help

__all__ = ["ExitCode", "main"]

_HELP = f"""chaoskit: inject faults, measure steady state, tell a tolerated fault from a failure.

A fault is one component deviating from its spec (a killed cache, a slow
database, a full disk); a failure is the system as a whole no longer
serving its users. chaoskit injects faults into Docker containers, disks
and networks (through Toxiproxy), measures the service from the client's
side under load, and says which one you got.

\b
Examples:
  chaoskit doctor                               # do the engine and Toxiproxy answer?
  chaoskit validate experiments/*.yaml          # check files, touch nothing
  chaoskit run experiments/cache-down.yaml      # one experiment; exits with its verdict
  chaoskit rollback                             # revert what a killed run left applied
  chaoskit halt                                 # stop every run on this host and revert everything

\b
Exit codes:
{exit_code_help()}

\b
Environment:
  DOCKER_HOST             Docker engine (default: the local socket)
  CHAOSKIT_TOXIPROXY_URL  Toxiproxy API where a file names none (default: http://127.0.0.1:8474)
  CHAOSKIT_LEDGER         rollback ledger (default: ledger.jsonl in the state directory)
  CHAOSKIT_HOME           state directory: ledger, index of ledgers, runs in progress
                          (default: /var/lib/chaoskit if writable, else ~/.local/state/chaoskit)
  NO_COLOR                no colour in logs and tables

\b
Shell completion (bash; zsh_source and fish_source for the others):
  eval "$(_CHAOSKIT_COMPLETE=bash_source chaoskit)"    # in ~/.bashrc
"""


@click.group(help=_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="chaoskit")
@click.option("--log-format", type=click.Choice(["console", "json"]), default=None,
              help="Log rendering on stderr. Default: console on a terminal, JSON lines otherwise.")
@click.option("-v", "--verbose", count=True, help="Debug logging, and tracebacks on errors.")
def main(log_format: str | None, verbose: int) -> None:
    chaoslog.configure(log_format, verbose)  # type: ignore[arg-type]


# The modules stay importable under their names (chaoskit.cli.report is the module, not the command).
for _command in (run.run, validate.validate, listing.faults, listing.probes, listing.targets, run.rollback, gameday.gameday,
                 monkey.monkey, report.report, doctor.doctor, halt.halt):
    main.add_command(_command)
