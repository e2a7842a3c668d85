"""chaoskit's exceptions: one tree, each message a user can act on.

    ChaoskitError
    ├── ExperimentInvalid        the file failed validation (every problem, with file:line and key)
    ├── TargetNotFound           a selector matched nothing, or fewer than required
    ├── BackendError             the Docker engine, Toxiproxy or Prometheus refused an operation
    │   ├── EngineUnavailable    the Docker engine did not answer
    │   ├── ToxiproxyUnavailable the Toxiproxy server did not answer
    │   └── PrometheusUnavailable the Prometheus server did not answer
    ├── FaultError
    │   ├── ApplyFailed          a fault could not be applied (nothing of it is left applied)
    │   └── RevertFailed         a fault could not be reverted (it stays pending in the ledger)
    ├── LedgerNotClean           un-reverted faults from an earlier run are in the ledger
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
    "EngineUnavailable",
    "ExperimentInvalid",
    "FaultError",
    "LedgerNotClean",
    "Problem",
    "PrometheusUnavailable",
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


class PrometheusUnavailable(BackendError):
    pass


class FaultError(ChaoskitError):
    pass


class ApplyFailed(FaultError):
    pass


class RevertFailed(FaultError):
    pass


class LedgerNotClean(ChaoskitError):
    pass


class Aborted(ChaoskitError):
    pass
