"""chaoskit's pytest plugin (entry point ``pytest11``): resilience checks inside a project's own tests.

    def test_cache_outage_is_tolerated(chaoskit_run):
        outcome = chaoskit_run("experiments/cache-down.yaml", vars={"rate": 100})
        assert outcome.tolerated, outcome.summary

``chaoskit_run`` runs an experiment exactly as ``chaoskit run`` does (the
host's ledger, or ``$CHAOSKIT_LEDGER``, so ``chaoskit rollback`` sees its
faults; a guard; the journal; the verdict), and at teardown reverts anything
its runs still have recorded there, whatever happened in the test. Mark such tests
``@pytest.mark.chaoskit`` to select them (``pytest -m chaoskit``).

pytest loads this module in every run of a project that installs chaoskit,
so it imports nothing at module level beyond pytest: the verdict types, the
loader, the run loop (numpy, scipy) and the Docker SDK are imported by the
fixture, when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaoskit.verdict import Outcome, Verdict

__all__ = ["ChaosResult", "chaoskit_run"]


@dataclass(frozen=True)
class ChaosResult:
    outcome: Outcome
    journal: Path

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    @property
    def tolerated(self) -> bool:
        from chaoskit.verdict import Verdict

        return self.outcome.verdict is Verdict.TOLERATED

    @property
    def summary(self) -> str:
        """The verdict and every reason, for assertion messages."""
        return "; ".join([self.outcome.verdict.name, *self.outcome.reasons]) + f" (journal: {self.journal})"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaoskit: a resilience check that injects faults through chaoskit")


@pytest.fixture
def chaoskit_run(tmp_path: Path) -> Iterator[Callable[..., ChaosResult]]:
    """Run an experiment file and return its verdict; faults are rolled back at teardown whatever happens."""
    from chaoskit.adapters.probe_plugins import probe_signatures
    from chaoskit.faults.catalogue import signatures
    from chaoskit.log import hide
    from chaoskit.model.loader import load_experiment
    from chaoskit.run.ledger import Ledger
    from chaoskit.run.reverting import revert_pending
    from chaoskit.run.wiring import run_experiment

    ledger = Ledger()
    run_ids: list[str] = []

    def run(path: str | Path, vars: Mapping[str, Any] | None = None, seed: int | None = None) -> ChaosResult:
        experiment = load_experiment(path, variables=dict(vars or {}), fault_params=signatures(),
                                     probe_params=probe_signatures())
        hide(experiment.secrets)
        journal = tmp_path / f"{Path(path).stem}.journal.json"
        outcome = run_experiment(experiment, journal, seed=seed, ledger_path=str(ledger.path))
        run_ids.append(outcome.run_id)
        return ChaosResult(outcome.verdict, journal)

    yield run
    failed = [line for run_id in run_ids for line in revert_pending(ledger, run_id=run_id, force=True).failed]
    if failed:
        pytest.fail(f"chaoskit could not revert: {'; '.join(failed)}; run `chaoskit rollback --ledger {ledger.path}`")
