"""Resolving a selector against the targets that exist: from their descriptions to the ones to hit.

Pure: no engine, no clock. Randomness comes from the ``rng`` passed in (or a
seed), and candidates are sorted by name before the draw, so the same seed over
the same containers picks the same ones whatever order the engine listed them in.

The blast-radius cap ``max_fraction`` counts a service's replicas *in the
selector's state* (running, by default) among all the containers given, not
only the matched ones: with one of two api replicas already down, ``0.5``
allows none, because killing the last one is an outage, not an experiment.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chaoskit.errors import TargetNotFound
from chaoskit.targets.container import Container
from chaoskit.targets.selector import Selector

__all__ = ["Selection", "ServiceKey", "group_by_service", "select", "service_key"]

# How many existing containers a TargetNotFound message lists before "...".
_LISTED = 12


@dataclass(frozen=True, order=True)
class ServiceKey:
    """A compose service (project, service) or a Kubernetes workload (namespace, "Deployment/api");
    anything else is its own group."""

    project: str | None
    service: str

    def __str__(self) -> str:
        return f"{self.project}/{self.service}" if self.project else self.service


def service_key(container: Container) -> ServiceKey:
    if container.owner:
        return ServiceKey(container.namespace, container.owner)
    if container.compose_service:
        return ServiceKey(container.compose_project, container.compose_service)
    return ServiceKey(None, container.name)


def group_by_service(containers: Iterable[Container]) -> dict[ServiceKey, tuple[Container, ...]]:
    """Containers grouped by compose service, groups and members sorted by name."""
    groups: dict[ServiceKey, list[Container]] = {}
    for container in containers:
        groups.setdefault(service_key(container), []).append(container)
    return {
        key: tuple(sorted(members, key=lambda c: (c.name, c.id)))
        for key, members in sorted(groups.items(), key=lambda item: (item[0].project or "", item[0].service))
    }


@dataclass(frozen=True)
class Selection:
    """The containers picked, how many were candidates, and why fewer than wanted (if so)."""

    selector: Selector
    chosen: tuple[Container, ...]
    candidates: int
    notes: tuple[str, ...] = ()

    def by_service(self) -> dict[ServiceKey, tuple[Container, ...]]:
        return group_by_service(self.chosen)


def select(containers: Sequence[Container], selector: Selector, rng: random.Random | int | None = None) -> Selection:
    """Pick the containers ``selector`` asks for; ``TargetNotFound`` when none can be picked."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    candidates = sorted((c for c in containers if selector.matches(c)), key=lambda c: (c.name, c.id))
    if not candidates:
        raise TargetNotFound(_nothing_matched(selector, containers))

    wanted = selector.wanted(len(candidates))
    limit = wanted if selector.max_count is None else min(wanted, selector.max_count)
    replicas = _replicas(selector, containers)
    allowed = _allowed_per_service(selector, replicas)

    chosen: list[Container] = []
    taken: Counter[ServiceKey] = Counter()
    for container in rng.sample(candidates, len(candidates)):
        if len(chosen) >= limit:
            break
        key = service_key(container)
        if allowed is not None and taken[key] >= allowed[key]:
            continue
        chosen.append(container)
        taken[key] += 1

    notes = _cap_notes(selector, wanted, len(chosen), allowed, replicas, candidates)
    if not chosen:
        raise TargetNotFound(
            f"selector '{selector}' matched {len(candidates)} container(s) but the blast-radius cap allows none: {'; '.join(notes)}"
        )
    return Selection(selector, tuple(sorted(chosen, key=lambda c: (c.name, c.id))), len(candidates), notes)


def _replicas(selector: Selector, containers: Sequence[Container]) -> Counter[ServiceKey]:
    return Counter(service_key(c) for c in containers if selector.state is None or c.state == selector.state)


def _allowed_per_service(selector: Selector, replicas: Counter[ServiceKey]) -> dict[ServiceKey, int] | None:
    if selector.max_fraction is None:
        return None
    # floor: "never more than half" of 3 replicas is 1, of 1 replica is 0.
    return {key: math.floor(selector.max_fraction * n + 1e-9) for key, n in replicas.items()}


def _cap_notes(
    selector: Selector,
    wanted: int,
    got: int,
    allowed: dict[ServiceKey, int] | None,
    replicas: Counter[ServiceKey],
    candidates: Sequence[Container],
) -> tuple[str, ...]:
    if got >= wanted:
        return ()
    notes = []
    if selector.max_count is not None and selector.max_count < wanted:
        notes.append(f"max_count {selector.max_count} allows {selector.max_count} of {wanted} wanted")
    if allowed is not None:
        matched = Counter(service_key(c) for c in candidates)
        for key in sorted(matched):
            if allowed[key] < matched[key]:
                notes.append(
                    f"max_fraction {selector.max_fraction:g} allows {allowed[key]} of {key}'s "
                    f"{replicas[key]} {selector.state or ''} replica(s)".replace("  ", " ")
                )
    return tuple(notes)


def _nothing_matched(selector: Selector, containers: Sequence[Container]) -> str:
    message = f"selector '{selector}' matched no container"
    if selector.state is not None:
        other_state = [c for c in containers if Selector(**{**selector.as_dict(), "state": None}).matches(c)]
        if other_state:
            shown = ", ".join(c.describe() for c in other_state[:_LISTED])
            return f"{message} in state {selector.state}; these match in another state: {shown}"
    if not containers:
        return f"{message}: no containers exist"
    services = sorted({str(service_key(c)) for c in containers if c.compose_service or c.owner})
    names = sorted(c.describe() for c in containers)
    listed = ", ".join(names[:_LISTED]) + (f", ... ({len(names) - _LISTED} more)" if len(names) > _LISTED else "")
    hint = f"; services: {', '.join(services)}" if services else ""
    return f"{message}; containers: {listed}{hint}"
