"""chaoskit's exceptions: one tree, each message a user can act on.

    ChaoskitError
    ├── ExperimentInvalid        the file failed validation (every problem, with file:line and key)
    ├── TargetNotFound           a selector matched nothing, or fewer than required
    ├── BackendError             the Docker engine, Toxiproxy or Prometheus refused an operation
    │   ├── EngineUnavailable    the Docker engine did not answer
    │   ├── ToxiproxyUnavailable the Toxiproxy server did not answer
    │   ├── HttpUnavailable      an HTTP endpoint (a probe's, a rollback's) gave no answer
    │   ├── PrometheusUnavailable the Prometheus server did not answer
    │   └── CommandTimedOut      a command in a target overran its timeout and was killed
    ├── FaultError
    │   ├── ApplyFailed          a fault could not be applied (nothing of it is left applied)
    │   └── RevertFailed         a fault could not be reverted (it stays pending in the ledger)
    ├── MeasurementError         the measurement itself could not be made
    │   ├── LoadGeneratorFailed  the load generator could not start (TLS failures among them) or its thread died
    │   └── ProtocolError        a response was not HTTP/1.x the load generator can follow
    ├── LedgerNotClean           un-reverted faults from an earlier run are in the ledger
    ├── JournalUnreadable        a journal file is missing, not a journal, or malformed (names file and what)
    └── Aborted                  a signal or a stop condition ended the run

Library errors (docker, requests, OSError) are translated at the adapter
boundary with ``raise ... from exc`` so callers only ever see this tree.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Aborted",
    "ApplyFailed",
    "BackendError",
    "ChaoskitError",
    "CommandTimedOut",
    "EngineUnavailable",
    "ExperimentInvalid",
    "FaultError",
    "HttpUnavailable",
    "JournalUnreadable",
    "LedgerNotClean",
    "LoadGeneratorFailed",
    "MeasurementError",
    "Problem",
    "PrometheusUnavailable",
    "ProtocolError",
    "RevertFailed",
    "TargetNotFound",
    "ToxiproxyUnavailable",
]


class ChaoskitError(Exception):
    """Base of every error chaoskit raises on purpose; its str() is the one line shown to users."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what was expected."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ExperimentInvalid(ChaoskitError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class TargetNotFound(ChaoskitError):
    pass


class BackendError(ChaoskitError):
    pass


class EngineUnavailable(BackendError):
    pass


class ToxiproxyUnavailable(BackendError):
    pass


class HttpUnavailable(BackendError):
    pass


class PrometheusUnavailable(BackendError):
    pass


class CommandTimedOut(BackendError):
    pass


class FaultError(ChaoskitError):
    pass


class ApplyFailed(FaultError):
    pass


class RevertFailed(FaultError):
    pass


class MeasurementError(ChaoskitError):
    pass


class LoadGeneratorFailed(MeasurementError):
    """The load generator could not start or its thread died: the measurement is not valid."""


class ProtocolError(MeasurementError):
    """The bytes received are not an HTTP/1.x response the parser can follow."""


class LedgerNotClean(ChaoskitError):
    pass


class JournalUnreadable(ChaoskitError):
    pass


class Aborted(ChaoskitError):
    pass
