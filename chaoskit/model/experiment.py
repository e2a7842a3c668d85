"""An experiment, as frozen data: what to break, how to watch, how long each phase lasts.

Built only by :mod:`chaoskit.model.loader` (which validates everything first);
the run loop, the monkey and the reports read it and never change it. All
durations are seconds (float).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.model.load import LoadSpec
from chaoskit.model.probes import Hypothesis
from chaoskit.model.stop import StopCondition
from chaoskit.targets.selector import Selector

__all__ = ["DEFAULT_TOXIPROXY_URL", "Action", "Environment", "Experiment", "FaultStep", "Phases"]

DEFAULT_TOXIPROXY_URL = "http://127.0.0.1:8474"


@dataclass(frozen=True)
class KubernetesEnvironment:
    """A Kubernetes cluster as the target backend: pods of ``namespace`` (the selectors' default).

    ``kubeconfig`` None: $KUBECONFIG or ~/.kube/config; ``agent_namespace``: where
    the node agents run and their fault actions are created.
    """

    namespace: str = "default"
    kubeconfig: str | None = None
    context: str | None = None
    agent_namespace: str = "chaoskit-system"


@dataclass(frozen=True)
class Environment:
    """Where the targets live: the Docker engine (None: the environment's default) or a Kubernetes cluster,
    compose project, Toxiproxy.

    ``require_labels``: labels every fault target must carry (an opt-in such as ``chaoskit.enabled=true``).
    """

    docker_host: str | None = None
    compose_project: str | None = None
    toxiproxy_url: str = DEFAULT_TOXIPROXY_URL
    require_labels: Mapping[str, str] = field(default_factory=dict)
    kubernetes: KubernetesEnvironment | None = None


@dataclass(frozen=True)
class Safety:
    """How a run is watched: its guard reverts its faults once the run is silent for ``dead_man`` seconds."""

    dead_man: float = 10.0


DEAD_MAN_BOUNDS = (1.0, 300.0)  # seconds: long enough to ride out a stall, short enough to matter


@dataclass(frozen=True)
class Phases:
    """Seconds spent in each phase. ``recovery`` is also the budget for the steady state to come back."""

    warmup: float = 5.0
    baseline: float = 15.0
    fault: float = 30.0
    recovery: float = 30.0

    @property
    def total(self) -> float:
        return self.warmup + self.baseline + self.fault + self.recovery


@dataclass(frozen=True)
class FaultStep:
    """One fault of the method: applied ``start`` s into the fault phase, reverted after ``duration`` s.

    ``duration`` None: reverted at the end of the fault phase. ``params`` are
    typed and hold the fault's defaults; network faults name their proxy in
    ``params["proxy"]``; container, process and disk faults use ``target``.
    """

    fault: str
    params: Mapping[str, Any] = field(default_factory=dict)
    target: Selector | None = None
    start: float = 0.0
    duration: float | None = None
    name: str = ""
    # Where the step is in its file, for preflight messages ("file:line: method[0]: ...").
    line: int | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return self.name or self.fault


@dataclass(frozen=True)
class Action:
    """An extra rollback action, played after every fault was reverted (see ``ACTION_SIGNATURES``)."""

    type: str
    params: Mapping[str, Any] = field(default_factory=dict)
    target: Selector | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Experiment:
    title: str
    steady_state: Hypothesis
    method: tuple[FaultStep, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    environment: Environment = Environment()
    variables: Mapping[str, Any] = field(default_factory=dict)
    load: LoadSpec | None = None
    rollbacks: tuple[Action, ...] = ()
    phases: Phases = Phases()
    stop_conditions: tuple[StopCondition, ...] = ()
    safety: Safety = Safety()
    # Seed for target selection (None: the run draws one and records it in the journal).
    seed: int | None = None
    source: str = ""
    # Values never written to journals or logs (chaoskit.model.secrets); out of repr so no message shows them.
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
