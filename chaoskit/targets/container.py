"""A container as selection sees it (a plain description, parsed from Docker's JSON), and the ref a fault keeps.

The adapter lists containers and hands the raw dicts to :meth:`Container.from_inspect`
(``GET /containers/{id}/json``, the SDK's ``container.attrs``) or
:meth:`Container.from_summary` (``GET /containers/json``, one call for all
containers, what the monkey uses to stay fast over hundreds of them). Both
ignore keys they do not know, so a newer engine does not break parsing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["COMPOSE_PROJECT_LABEL", "COMPOSE_SERVICE_LABEL", "Container", "TargetRef"]

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_NUMBER_LABEL = "com.docker.compose.container-number"

# "Up 3 seconds (healthy)", "Up 2 minutes (health: starting)", "Up 1 hour (unhealthy)".
_SUMMARY_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


@dataclass(frozen=True)
class TargetRef:
    """The one target a fault instance acts on, as its ledger record keeps it.

    ``id`` is what the target backend addresses it by (a Docker container id);
    ``name`` is for people. ``where`` holds whatever else a backend needs to
    find the target again from the record alone (a Kubernetes namespace, pod
    UID, container name and node, say); Docker needs nothing more than the id.
    """

    id: str
    name: str
    where: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, **({"where": dict(self.where)} if self.where else {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetRef:
        return cls(id=data["id"], name=data["name"], where=dict(data.get("where") or {}))


@dataclass(frozen=True)
class Container:
    """What selection needs to know about one container; no handle to the engine."""

    id: str
    name: str
    image: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    # Docker's state: created, running, paused, restarting, removing, exited, dead.
    state: str = "running"
    # healthy, unhealthy, starting, or None when the container has no healthcheck.
    health: str | None = None
    networks: tuple[str, ...] = ()
    pid: int | None = None
    # Kubernetes only: the pod's namespace, its owning workload ("Deployment/api"), and what its ref records.
    namespace: str | None = None
    owner: str | None = None
    where: Mapping[str, str] = field(default_factory=dict)

    @property
    def compose_project(self) -> str | None:
        return self.labels.get(COMPOSE_PROJECT_LABEL)

    @property
    def compose_service(self) -> str | None:
        return self.labels.get(COMPOSE_SERVICE_LABEL)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def ref(self) -> TargetRef:
        """What a fault on this container records."""
        return TargetRef(self.id, self.name, dict(self.where))

    def describe(self) -> str:
        """``chaoskit-api-1 (chaoskit/api, running, healthy)`` for messages and tables."""
        facts = ([f"{self.compose_project}/{self.compose_service}"] if self.compose_service
                 else [f"{self.namespace}/{self.owner}"] if self.owner else [])
        facts.append(self.state)
        if self.health:
            facts.append(self.health)
        return f"{self.name} ({', '.join(facts)})"

    @classmethod
    def from_inspect(cls, attrs: Mapping[str, Any]) -> Container:
        """From ``docker inspect`` JSON (the SDK's ``Container.attrs``)."""
        config = attrs.get("Config") or {}
        state = attrs.get("State") or {}
        health = (state.get("Health") or {}).get("Status") or None
        pid = state.get("Pid") or None  # 0 when not running
        return cls(
            id=attrs.get("Id", ""),
            name=(attrs.get("Name") or "").lstrip("/"),
            image=config.get("Image") or attrs.get("Image", ""),
            labels=dict(config.get("Labels") or {}),
            state=state.get("Status", "unknown"),
            health=health,
            networks=_network_names(attrs),
            pid=pid,
        )

    @classmethod
    def from_summary(cls, attrs: Mapping[str, Any]) -> Container:
        """From one item of the container list (``docker ps`` JSON, the SDK's sparse list)."""
        names = attrs.get("Names") or []
        match = _SUMMARY_HEALTH.search(attrs.get("Status") or "")
        health = None if match is None else "starting" if match.group(1) == "health: starting" else match.group(1)
        return cls(
            id=attrs.get("Id", ""),
            name=names[0].lstrip("/") if names else "",
            image=attrs.get("Image", ""),
            labels=dict(attrs.get("Labels") or {}),
            state=attrs.get("State", "unknown"),
            health=health,
            networks=_network_names(attrs),
            pid=None,  # the list does not carry it
        )


def _network_names(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return tuple(sorted(networks))
