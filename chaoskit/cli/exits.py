"""Every exit code of the ``chaoskit`` command, in one table.

The verdicts' codes come from :class:`chaoskit.verdict.Verdict` (``chaoskit
run`` exits with its verdict's); the table adds the two that are no verdict:
0 for a command that did its job and 2 for bad input.
"""

from __future__ import annotations

import enum

from chaoskit.verdict import Verdict

__all__ = ["ExitCode", "exit_code_help"]


class ExitCode(enum.IntEnum):
    OK = Verdict.TOLERATED.exit_code
    FAILURE = Verdict.FAILURE.exit_code
    USAGE = 2
    NOT_RECOVERED = Verdict.NOT_RECOVERED.exit_code
    ABORTED = Verdict.ABORTED.exit_code
    INCONCLUSIVE = Verdict.INCONCLUSIVE.exit_code
    ERROR = Verdict.ERROR.exit_code


_MEANING = {
    ExitCode.OK: "success / TOLERATED",
    ExitCode.FAILURE: "FAILURE: a steady-state hypothesis broke during the fault",
    ExitCode.USAGE: "bad input: invalid experiment, option or selector",
    ExitCode.NOT_RECOVERED: "NOT_RECOVERED: steady state did not come back after the revert",
    ExitCode.ABORTED: "ABORTED: the steady state did not hold before the fault, or interrupted",
    ExitCode.INCONCLUSIVE: "INCONCLUSIVE: the measurement itself was not valid",
    ExitCode.ERROR: "ERROR: chaoskit could not run (engine or Toxiproxy down, revert failed)",
}


def exit_code_help() -> str:
    """The table as the main ``--help`` shows it (one code a line)."""
    return "\n".join(f"  {int(code)}  {_MEANING[code]}" for code in ExitCode)
