"""Asking the chaoskit node agent for node-local work, through ``FaultAction`` objects in the API.

One custom resource type serves every action (not one per fault kind): the
controller writes the desired action in ``spec`` (``kill``, ``signal``,
``freeze``) with the container to act on, the agent on ``spec.node`` carries
it out and writes what it observed in ``status``. One-shot actions are
deleted once answered; a ``freeze`` stays while it is applied (the recorded
state a restarted controller or the agent's dead-man switch reads) until the
controller sets ``spec.revert`` and the agent answers ``Reverted``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chaoskit.adapters.kubernetes.api import ACTION_GROUP, ACTION_VERSION, KubeApi
from chaoskit.errors import BackendError

__all__ = ["AgentChannel"]

_POLL_S = 0.05


class AgentChannel:
    def __init__(self, api: KubeApi, namespace: str, timeout_s: float = 20.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.api, self.namespace, self.timeout_s = api, namespace, timeout_s
        self.clock, self.sleep = clock, sleep

    def request(self, where: Mapping[str, str], action: str, extra: Mapping[str, Any] | None = None,
                keep: bool = False, lease: str | None = None) -> dict[str, Any]:
        """Create the action for the target's node and wait for its answer; the observed status.

        ``keep``: leave the object in place (a freeze, until reverted).
        """
        name = f"{action}-{uuid.uuid4().hex[:10]}"
        spec = {"node": where["node"], "action": action, "podUID": where["pod_uid"],
                "containerID": where["container_id"], **(extra or {}), **({"lease": lease} if lease else {})}
        self.api.create_action(self.namespace, {
            "apiVersion": f"{ACTION_GROUP}/{ACTION_VERSION}", "kind": "FaultAction",
            "metadata": {"name": name, "labels": self.labels(where, action)},
            "spec": spec,
        })
        try:
            return self.wait(name, ("Done", "Applied"))
        finally:
            if not keep:
                self.api.delete_action(self.namespace, name)

    def kept(self, where: Mapping[str, str], action: str) -> list[dict[str, Any]]:
        """The kept actions of this kind on this container, whatever their phase."""
        selector = ",".join(f"{k}={v}" for k, v in self.labels(where, action).items())
        return self.api.list_actions(self.namespace, selector)

    def applied(self, where: Mapping[str, str], action: str) -> list[dict[str, Any]]:
        """The kept actions of this kind on this container that are applied and not reverted."""
        return [a for a in self.kept(where, action)
                if (a.get("status") or {}).get("phase") == "Applied" and not (a.get("spec") or {}).get("revert")]

    def revert(self, name: str) -> None:
        """Ask the agent to undo a kept action, wait until it has, and remove the object."""
        self.api.patch_action(self.namespace, name, {"spec": {"revert": True}})
        self.wait(name, ("Reverted",))
        self.api.delete_action(self.namespace, name)

    def wait(self, name: str, phases: tuple[str, ...]) -> dict[str, Any]:
        deadline = self.clock() + self.timeout_s
        while True:
            status = self.api.read_action(self.namespace, name).get("status") or {}
            if status.get("phase") in phases:
                return dict(status)
            if status.get("phase") == "Failed":
                raise BackendError(f"node agent on {status.get('agent', '?')}: {status.get('message', 'failed')}")
            if self.clock() > deadline:
                raise BackendError(f"no chaoskit node agent answered FaultAction {self.namespace}/{name} within "
                                   f"{self.timeout_s:g}s: is the agent DaemonSet running (compose/kubernetes/agent)?")
            self.sleep(_POLL_S)

    @staticmethod
    def labels(where: Mapping[str, str], action: str) -> dict[str, str]:
        # By pod UID and container name, which outlive a restart of the container (its id does not).
        return {"chaoskit.io/node": where["node"], "chaoskit.io/action": action,
                "chaoskit.io/pod-uid": where["pod_uid"], "chaoskit.io/container": where["container"]}
