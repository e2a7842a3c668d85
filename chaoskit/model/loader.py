"""Load and validate an experiment file: every problem found, each with file:line and key path.

    experiment = load_experiment("experiments/cache-down.yaml",
                                 variables=parse_cli_vars(["latency=300"]),
                                 fault_params=catalogue_signatures)

Validation collects *all* problems (unknown keys with a did-you-mean, wrong
types, bad durations, undefined variables, unknown fault types, bad fault
parameters, write audits that cannot work (no request captures ids), inconsistent timings,
references to probes or load requests that do not exist) and
raises :class:`chaoskit.errors.ExperimentInvalid` with the list; nothing is
built from an invalid file, so an invalid file applies no fault.

``fault_params`` maps each fault type to its :class:`FaultSignature` (or a bare
list of ParamSpecs); without it, fault types and parameters are checked only
for shape (what ``chaoskit validate`` does before the catalogue is wired in).
``probe_params`` maps each plugin probe type to its :class:`ProbeSignature`;
without it, only the built-in probe types are known.
"""

from __future__ import annotations

import re
from dataclasses import replace
from collections.abc import Mapping, Sequence
from os import fspath
from pathlib import Path
from typing import Any

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.log import redact
from chaoskit.model.actions import ACTION_SIGNATURES
from chaoskit.model.checker import describe_kind, suggest
from chaoskit.model.experiment import (
    DEAD_MAN_BOUNDS,
    DEFAULT_TOXIPROXY_URL,
    Action,
    Environment,
    KubernetesEnvironment,
    Experiment,
    FaultStep,
    Phases,
    Safety,
)
from chaoskit.model.load_loader import LoadChecker
from chaoskit.model.params import FaultSignature, ParamSpec, param_table
from chaoskit.model.plugin_probe import ProbeSignature
from chaoskit.model.probe_loader import ProbeChecker
from chaoskit.model.probes import Hypothesis
from chaoskit.model.source import Located, read_source
from chaoskit.model.stop import MetricStop, ProbeStop, StopCondition, parse_metric_stop

# ExperimentChecker is shared with the monkey config, which has an environment, a load and a steady state too.
__all__ = ["ExperimentChecker", "load_experiment", "parse_experiment"]

TOP_KEYS = (
    "title",
    "description",
    "tags",
    "variables",
    "environment",
    "seed",
    "phases",
    "load",
    "steady_state",
    "method",
    "rollbacks",
    "stop_conditions",
    "safety",
)
SAFETY_KEYS = ("dead_man",)
ENVIRONMENT_KEYS = ("docker_host", "compose_project", "toxiproxy_url", "require_label", "kubernetes")
KUBERNETES_KEYS = ("namespace", "kubeconfig", "context", "agent_namespace")
PHASE_KEYS = ("warmup", "baseline", "fault", "recovery")
STEP_KEYS = ("fault", "name", "target", "proxy", "params", "start", "duration")
ACTION_KEYS = ("type", "target", "proxy", "params")
_FAULT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\Z")


def load_experiment(
    path: str | Path,
    *,
    variables: Mapping[str, Any] | None = None,
    fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None,
    probe_params: Mapping[str, ProbeSignature] | None = None,
) -> Experiment:
    """Read, substitute, validate and build; ``ExperimentInvalid`` lists every problem."""
    source = fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentInvalid([Problem(source, None, "", f"cannot read the file: {exc}")]) from exc
    return parse_experiment(text, source=source, variables=variables, fault_params=fault_params,
                            probe_params=probe_params)


def parse_experiment(
    text: str,
    *,
    source: str = "<string>",
    variables: Mapping[str, Any] | None = None,
    fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None,
    probe_params: Mapping[str, ProbeSignature] | None = None,
) -> Experiment:
    """Like :func:`load_experiment`, from text (``source`` names it in problems)."""
    secrets: set[str] = set()
    root, resolved, problems = read_source(text, source, variables, secrets=secrets)
    checker = ExperimentChecker(source, problems, None if fault_params is None else param_table(fault_params),
                                probe_params)
    experiment = checker.experiment(root, resolved) if root is not None else None
    secrets |= checker.secrets  # plugin probes' parameters declared secret
    if checker.problems or experiment is None:
        # A message shows what a value became: not a secret that was substituted into it.
        shown = [replace(p, message=redact(p.message, frozenset(secrets))) for p in checker.problems]
        raise ExperimentInvalid(sorted(shown, key=lambda p: (p.line or 0, p.key)))
    return replace(experiment, secrets=frozenset(secrets))


class ExperimentChecker(LoadChecker, ProbeChecker):
    """The checker for a whole experiment; ``faults`` (fault type -> signature) checks steps, None their shape only."""

    def __init__(self, source: str, problems: list[Problem], faults: dict[str, FaultSignature] | None,
                 probe_types: Mapping[str, ProbeSignature] | None = None):
        super().__init__(source, problems, probe_types)
        self.faults = faults

    # -- the experiment ----------------------------------------------------------------

    def experiment(self, root: Located, variables: dict[str, Any]) -> Experiment | None:
        top = self.mapping(root, TOP_KEYS, required=("title", "steady_state", "method"))
        if top is None:
            return None
        title = self.text(top["title"]) if "title" in top else None
        description = self.text(top["description"], nonempty=False) if "description" in top else ""
        tags = self.strings(top["tags"]) if "tags" in top else ()
        environment = self.environment(top["environment"]) if "environment" in top else Environment()
        seed = self.number(top["seed"], minimum=0, integer=True) if "seed" in top else None
        phases = self.phases(top["phases"]) if "phases" in top else Phases()
        load = self.load(top["load"]) if "load" in top else None
        project = environment.compose_project if environment else None
        hypothesis = (
            self.hypothesis(top["steady_state"], project, has_load="load" in top, load=load)
            if "steady_state" in top
            else None
        )
        required = environment.require_labels if environment else {}
        method = self.method(top["method"], phases, project, required) if "method" in top else None
        rollbacks = self.rollbacks(top["rollbacks"], project) if "rollbacks" in top else ()
        stops = (
            self.stop_conditions(top["stop_conditions"], hypothesis, has_load="load" in top)
            if "stop_conditions" in top
            else ()
        )
        safety = self.safety(top["safety"]) if "safety" in top else Safety()
        if self.count():
            return None
        assert title is not None and hypothesis is not None and method is not None
        return Experiment(
            title=title,
            description=description or "",
            tags=tags or (),
            environment=environment or Environment(),
            variables=variables,
            steady_state=hypothesis,
            load=load,
            method=method,
            rollbacks=rollbacks or (),
            phases=phases or Phases(),
            stop_conditions=stops or (),
            safety=safety or Safety(),
            seed=seed,
            source=self.source,
        )

    def environment(self, node: Located) -> Environment | None:
        keys = self.mapping(node, ENVIRONMENT_KEYS)
        if keys is None:
            return None
        before = self.count()
        docker_host = self.text(keys["docker_host"]) if "docker_host" in keys else None
        project = self.text(keys["compose_project"]) if "compose_project" in keys else None
        toxiproxy = self.url(keys["toxiproxy_url"]) if "toxiproxy_url" in keys else DEFAULT_TOXIPROXY_URL
        required = self.required_labels(keys["require_label"]) if "require_label" in keys else {}
        if docker_host is not None and not re.match(r"(unix|tcp|ssh|npipe)://", docker_host):
            self.problem(keys["docker_host"], f"expected unix://, tcp:// or ssh:// address; got {docker_host!r}")
        kubernetes = self.kubernetes(keys["kubernetes"]) if "kubernetes" in keys else None
        if self.count() != before:
            return None
        return Environment(docker_host, project, (toxiproxy or DEFAULT_TOXIPROXY_URL).rstrip("/"), required, kubernetes)

    def kubernetes(self, node: Located) -> KubernetesEnvironment | None:
        keys = self.mapping(node, KUBERNETES_KEYS)
        if keys is None:
            return None
        return KubernetesEnvironment(**{key: self.text(value) for key, value in keys.items()})

    def safety(self, node: Located) -> Safety | None:
        keys = self.mapping(node, SAFETY_KEYS)
        if keys is None or "dead_man" not in keys:
            return None if keys is None else Safety()
        low, high = DEAD_MAN_BOUNDS
        seconds = self.duration(keys["dead_man"])
        if seconds is not None and not low <= seconds <= high:
            self.problem(keys["dead_man"], f"expected a duration from {low:g}s to {high:g}s; got {keys['dead_man'].value!r}")
            return None
        return None if seconds is None else Safety(dead_man=seconds)

    def phases(self, node: Located) -> Phases | None:
        keys = self.mapping(node, PHASE_KEYS)
        if keys is None:
            return None
        before = self.count()
        values = {name: self.duration(keys[name], positive=name in ("baseline", "fault")) for name in keys}
        if self.count() != before:
            return None
        return Phases(**values)  # type: ignore[arg-type]

    # -- method and rollbacks -------------------------------------------------------------

    def method(self, node: Located, phases: Phases | None, project: str | None,
               required: Mapping[str, str]) -> tuple[FaultStep, ...] | None:
        items = self.items(node, nonempty=True)
        if items is None:
            return None
        before = self.count()
        steps = tuple(self.step(item, phases, project, required) for item in items)
        return steps if self.count() == before else None  # type: ignore[return-value]

    def step(self, node: Located, phases: Phases | None, project: str | None,
             required: Mapping[str, str]) -> FaultStep | None:
        keys = self.mapping(node, STEP_KEYS, required=("fault",))
        if keys is None:
            return None
        before = self.count()
        fault = self.fault_type(keys["fault"], self.faults, "fault type") if "fault" in keys else None
        signature = self.faults.get(fault) if (self.faults is not None and fault is not None) else None
        name = self.text(keys["name"]) if "name" in keys else ""
        start = self.duration(keys["start"]) if "start" in keys else 0.0
        duration = self.duration(keys["duration"], positive=True) if "duration" in keys else None
        target, params = self.target_and_params(node, keys, fault, signature, project, default_state="running")
        target = self.guard_fault_target(node, keys, fault, signature, target, params, required)
        if phases is not None and start is not None:
            if start >= phases.fault:
                self.problem(keys["start"], f"starts at {start:g}s, after the fault phase ({phases.fault:g}s) is over")
            elif duration is not None and start + duration > phases.fault + 1e-9:
                self.problem(
                    keys["duration"],
                    f"runs to {start + duration:g}s, past the end of the fault phase ({phases.fault:g}s)",
                )
        if self.count() != before:
            return None
        return FaultStep(fault, params, target, start, duration, name or "", node.line)  # type: ignore[arg-type]

    def rollbacks(self, node: Located, project: str | None) -> tuple[Action, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        actions = []
        for item in items:
            keys = self.mapping(item, ACTION_KEYS, required=("type",))
            if keys is None:
                continue
            kind = self.fault_type(keys["type"], ACTION_SIGNATURES, "rollback action") if "type" in keys else None
            signature = ACTION_SIGNATURES.get(kind) if kind else None
            state = None if kind and kind.startswith("container.") else "running"
            target, params = self.target_and_params(item, keys, kind, signature, project, default_state=state)
            actions.append(Action(kind, params, target, item.line))  # type: ignore[arg-type]
        return tuple(actions) if self.count() == before else None

    def fault_type(self, node: Located, known: Mapping[str, FaultSignature] | None, what: str) -> str | None:
        name = node.value
        if not isinstance(name, str) or not _FAULT_NAME.match(name):
            self.problem(node, f"expected a {what} name like container.kill; got {describe_kind(name)}")
            return None
        if known is not None and name not in known:
            self.problem(
                node, f"unknown {what} {name!r}{suggest(name, sorted(known))} (known: {', '.join(sorted(known))})"
            )
            return None
        return name

    # -- stop conditions -------------------------------------------------------------------

    def stop_conditions(
        self, node: Located, hypothesis: Hypothesis | None, has_load: bool
    ) -> tuple[StopCondition, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        conditions: list[StopCondition] = []
        for item in items:
            condition: StopCondition | None
            if isinstance(item.value, str):
                condition = self.metric_stop(item, has_load)
            else:
                keys = self.mapping(item, ("when", "probe", "failures", "consecutive"))
                if keys is None:
                    continue
                if ("when" in keys) == ("probe" in keys):
                    self.problem(
                        item, "expected either when: 'METRIC OP VALUE [for DURATION]' or probe: NAME (with failures: N)"
                    )
                    continue
                if "when" in keys:
                    if "failures" in keys or "consecutive" in keys:
                        self.problem(item, "failures and consecutive go with probe:, not when:")
                    condition = self.metric_stop(keys["when"], has_load)
                else:
                    condition = self.probe_stop(keys, hypothesis)
            if condition is not None:
                conditions.append(condition)
        return tuple(conditions) if self.count() == before else None

    def metric_stop(self, node: Located, has_load: bool) -> MetricStop | None:
        if not isinstance(node.value, str):
            self.problem(node, f"expected a condition like 'error_rate > 0.5 for 3s'; got {describe_kind(node.value)}")
            return None
        condition = self.convert(node, parse_metric_stop)
        if condition is not None and not has_load:
            self.problem(node, f"{condition.metric} is measured on the load: block, and there is none")
            return None
        return condition

    def probe_stop(self, keys: dict[str, Located], hypothesis: Hypothesis | None) -> ProbeStop | None:
        name = self.text(keys["probe"])
        failures = self.number(keys["failures"], minimum=1, integer=True) if "failures" in keys else 1
        consecutive = self.boolean(keys["consecutive"]) if "consecutive" in keys else True
        if consecutive is None:
            return None
        if name is not None and hypothesis is not None and hypothesis.probe(name) is None:
            names = [p.name for p in hypothesis.probes]
            self.problem(
                keys["probe"],
                f"no steady-state probe named {name!r}{suggest(name, names)} (probes: {', '.join(repr(n) for n in names)})",
            )
            return None
        if name is None or failures is None:
            return None
        return ProbeStop(name, failures, consecutive)
