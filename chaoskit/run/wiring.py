"""Wiring for one run: the experiment, the backends, the ledger, the journal, the load and the runner.

The CLI, game days and the pytest plugin all start runs through here, so a
run started any of those ways is preflighted, recorded and reverted alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.log import get_logger
from chaoskit.measure.validity import ValidityLimits
from chaoskit.model.experiment import Experiment
from chaoskit.model.load import LoadSpec
from chaoskit.model.probes import LATENCY_METRICS, Hypothesis, LoadProbe
from chaoskit.model.tolerance import AllOf, Threshold, Tolerance
from chaoskit.targets.container import Container
from chaoskit.journal import RunJournal
from chaoskit.run.guard import guarded
from chaoskit.run.ledger import Ledger
from chaoskit.run.observe import containers_of
from chaoskit.run.runner import Runner
from chaoskit.verdict import Outcome

__all__ = ["RunOutcome", "blast_radius", "environment_versions", "plan_experiment", "run_experiment"]

log = get_logger("chaoskit.run")


@dataclass(frozen=True)
class RunOutcome:
    verdict: Outcome
    journal_path: Path
    run_id: str = ""


def backends_for(experiment: Experiment) -> Backends:
    env = experiment.environment
    kubernetes = asdict(env.kubernetes) if env.kubernetes else None
    return Backends(env.docker_host, env.toxiproxy_url, kubernetes=kubernetes)


def environment_versions(backends: Backends) -> dict[str, Any]:
    """Engine and Toxiproxy versions for the journal; one that does not answer is noted, not fatal here."""
    versions: dict[str, Any] = {}
    try:
        info = backends.engine.version()
        versions["docker"] = {"version": info.get("Version"), "api": info.get("ApiVersion")}
    except ChaoskitError as exc:
        versions["docker"] = {"unavailable": str(exc)}
    try:
        versions["toxiproxy"] = {"version": backends.toxiproxy.version(), "url": backends.toxiproxy_url}
    except ChaoskitError as exc:
        versions["toxiproxy"] = {"unavailable": str(exc)}
    return versions


def _runner(experiment: Experiment, journal_path: Path | None, seed: int | None, ledger_path: str | None,
            progress: Callable[..., None] | None = None) -> Runner:
    backends = backends_for(experiment)
    journal = RunJournal(experiment, journal_path, environment=environment_versions(backends))
    load = None
    if experiment.load is not None:
        from chaoskit.adapters.host import machine_steal_s
        from chaoskit.measure.loadgen import LoadGenerator

        load = LoadGenerator(experiment.load, validity=validity_limits(experiment.load, experiment.steady_state),
                             steal_time=machine_steal_s)
    runner = Runner(experiment, backends, Ledger(ledger_path), journal, load=load,
                    seed=seed if seed is not None else experiment.seed)
    if progress is not None:
        runner.progress = progress
    journal.bind_clock(runner.elapsed)
    return runner


def validity_limits(load: LoadSpec | None, hypothesis: Hypothesis) -> ValidityLimits:
    """How late the generator may dispatch before its measurement is distrusted (runs and the monkey alike).

    Lateness matters relative to what is judged: 5 ms of dispatch lag would
    blur a 10 ms SLO but is noise against a 500 ms one. So the allowed lag
    p99 is a tenth of the tightest absolute latency threshold, and never
    below the generator's own default. ``load.max_lag`` overrides both:
    tighter for a demanding SLO, looser for a machine known to stall.
    """
    default = ValidityLimits()
    if load is not None and load.max_lag_s is not None:
        return replace(default, max_lag_p99_s=load.max_lag_s)
    thresholds = [
        tolerance.max
        for probe in hypothesis.probes if isinstance(probe, LoadProbe) and probe.metric in LATENCY_METRICS
        for check in probe.checks
        for tolerance in _parts(check.tolerance) if isinstance(tolerance, Threshold) and tolerance.max is not None
    ]
    if not thresholds:
        return default
    return replace(default, max_lag_p99_s=max(default.max_lag_p99_s, min(thresholds) / 10))


def _parts(tolerance: Tolerance) -> list[Tolerance]:
    return [p for part in tolerance.parts for p in _parts(part)] if isinstance(tolerance, AllOf) else [tolerance]


def plan_experiment(experiment: Experiment, seed: int | None = None, ledger_path: str | None = None) -> list[str]:
    """A dry run: preflight (ledger, backends, targets, probes) and the faults it would apply; nothing is applied."""
    runner = _runner(experiment, None, seed, ledger_path)  # a dry run writes no journal
    try:
        runner.preflight(claim=False)
        probes = runner.steady.readings.describe()
    finally:
        runner.steady.readings.close()
    lines = [f"plan: {experiment.title} (seed {runner.seed})"]
    phases = experiment.phases
    lines.append(f"phases: warmup {phases.warmup:g}s, baseline {phases.baseline:g}s, fault {phases.fault:g}s, "
                 f"recovery {phases.recovery:g}s")
    for planned in runner.planned:
        end = f"for {planned.step.duration:g}s" if planned.step.duration is not None else "until the fault phase ends"
        lines.append(f"  at +{planned.step.start:g}s {end}: {planned.fault.describe()}")
    if probes:
        lines += ["plugin probes (each prepared):", *probes]
    return lines + blast_radius(runner)


def blast_radius(runner: Runner) -> list[str]:
    """"N of M containers": what the planned faults hit of what their selectors could reach, per step and in all."""
    in_scope: dict[str | None, list[Container]] = {}
    lines: list[str] = []
    hit: set[str] = set()
    for step in runner.experiment.method:
        if step.target is None:
            continue
        scope = step.target.project
        containers = in_scope.setdefault(scope, containers_of(runner.backends, scope))
        chosen = {p.fault.target.id for p in runner.planned if p.step is step and p.fault.target is not None}
        hit |= chosen
        matched = sum(step.target.matches(c) for c in containers)
        where = f"project {scope}" if scope else "the engine"
        lines.append(f"  {step.label}: {len(chosen)} of {len(containers)} containers in {where} "
                     f"({matched} matched '{step.target}')")
    if not lines:
        return ["blast radius: no containers (no fault has a target)"]
    reachable = {c.id for containers in in_scope.values() for c in containers}
    return [f"blast radius: {len(hit)} of {len(reachable)} containers", *lines]


def run_experiment(experiment: Experiment, journal_path: str | Path, seed: int | None = None,
                   ledger_path: str | None = None, live: bool = False) -> RunOutcome:
    progress = None
    display = None
    if live:
        from chaoskit.run.progress import LiveDisplay

        display = LiveDisplay(experiment.title)
        progress = display.update
    runner = _runner(experiment, Path(journal_path), seed, ledger_path, progress)
    run_id = runner.journal.run_id
    try:
        with guarded(runner.ledger.path, run_id, Path(journal_path), experiment.safety.dead_man):
            if display is not None:
                display.start()
            outcome = runner.run()  # its preflight claims the ledger
    finally:
        runner.ledger.release(run_id)
        if display is not None:
            display.stop()
    return RunOutcome(outcome, Path(journal_path), run_id)
