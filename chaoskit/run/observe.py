"""Taking one observation of a probe: the side-effecting half of a steady-state check.

Each probe type yields the *subjects* its checks judge (see
:mod:`chaoskit.model.probes`); judging them is pure
(:func:`chaoskit.model.tolerance.evaluate_checks`). Load probes are not
observed here: their subjects come from the load generator's windows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoskit.adapters import http
from chaoskit.adapters.backends import Backends
from chaoskit.errors import BackendError, HttpUnavailable, TargetNotFound
from chaoskit.model.probes import CommandProbe, ContainerProbe, HttpProbe, Probe, ToxiproxyProbe
from chaoskit.model.tolerance import Judgement, evaluate_checks
from chaoskit.targets.container import Container
from chaoskit.targets.resolve import Selection, select
from chaoskit.targets.selector import Selector

__all__ = ["ProbeReading", "containers_of", "observe", "resolve"]


@dataclass(frozen=True)
class ProbeReading:
    probe: str
    subjects: Mapping[str, Any]
    judgement: Judgement


def containers_of(backends: Backends, project: str | None) -> list[Container]:
    """Every container of the compose project (or on the engine), as pure descriptions."""
    return backends.targets.list_targets(project)


def resolve(backends: Backends, selector: Selector, project: str | None, rng: random.Random | int | None) -> Selection:
    selector = selector.with_default_project(project)
    return select(containers_of(backends, selector.namespace or selector.project), selector, rng)


def observe(probe: Probe, backends: Backends, project: str | None,
            baseline: Mapping[str, Any] | None = None, self_baseline: bool = False) -> ProbeReading:
    """Observe ``probe`` once and judge it; a probe that cannot observe is a violation, said in its reason.

    ``self_baseline``: relative tolerances compare the observation with itself (while the baseline is measured).
    """
    try:
        readings = _subjects(probe, backends, project)
    except (BackendError, TargetNotFound) as exc:
        return ProbeReading(probe.name, {}, Judgement(False, str(exc)))
    # A probe over several containers holds only if it holds for each.
    judged = [(subjects, evaluate_checks(probe.checks, subjects, subjects if self_baseline else baseline))
              for subjects in readings]
    subjects, judgement = next(((s, j) for s, j in judged if not j.ok and not j.inconclusive), None) or judged[0]
    if "error" in subjects and not judgement.ok:
        judgement = Judgement(False, f"{judgement.reason} ({subjects['error']})", judgement.inconclusive)
    return ProbeReading(probe.name, subjects, judgement)


def _subjects(probe: Probe, backends: Backends, project: str | None) -> list[dict[str, Any]]:
    if isinstance(probe, HttpProbe):
        return [_http(probe)]
    if isinstance(probe, ToxiproxyProbe):
        state = backends.toxiproxy.proxy(probe.proxy)
        return [{"enabled": state.enabled, "toxics": len(state.toxics)}]
    if isinstance(probe, ContainerProbe):
        chosen = resolve(backends, probe.target, project, None).chosen
        return [{"state": c.state, "health": c.health, "name": c.name} for c in chosen]
    if isinstance(probe, CommandProbe):
        cmd = ["sh", "-c", probe.cmd] if isinstance(probe.cmd, str) else list(probe.cmd)
        results = []
        for container in resolve(backends, probe.target, project, None).chosen:
            code, output = backends.targets.exec(container.ref(), cmd, timeout_s=probe.timeout_s)
            results.append({"exit_code": code, "output": output, "name": container.name})
        return results
    raise TypeError(f"probe type {probe.type!r} is not observed directly")


def _http(probe: HttpProbe) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        answer = http.request(probe.method, probe.url, headers=probe.headers, json=probe.json,
                              timeout_s=probe.timeout_s, tls=probe.tls)
    except HttpUnavailable as exc:
        # No answer is an observation, not an error: status 0 fails any status check.
        return {"status": 0, "latency": time.perf_counter() - start, "body": "", "error": str(exc)}
    return {"status": answer.status, "latency": answer.elapsed_s, "body": answer.text}
